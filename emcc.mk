# emcc.mk — the build: the same C engine as WebAssembly (Emscripten, SIMD)
# and natively (for sanitizers, fuzzing and fast unit runs).
#
#   make -f emcc.mk            wasm/featviz.wasm + native tests + wasm tests (asserts on) + the kernel benchmark
#   make -f emcc.mk wasm       wasm/featviz.wasm, wasm/featviz-threads.wasm and wasm/featviz-relaxed.wasm only
#   make -f emcc.mk fuzz       libFuzzer targets (clang) in build/fuzz/
#
# Third-party C comes from where its package installs it: kissfft from the
# npm package kissfft-js, stb_image / stb_image_write from Debian's libstb-dev.

EMCC       ?= emcc
CC_NATIVE  ?= gcc
CC_FUZZ    ?= clang
KISSFFT    ?= node_modules/kissfft-js/src
STB        ?= /usr/include/stb
# Debian's emscripten runs its acorn optimizer with Debian's node-acorn.
export NODE_PATH := /usr/share/nodejs
# Debian's emcc runs on the system Python (its frozen cache lives in /usr/share/emscripten).
export EMSDK_PYTHON := /usr/bin/python3

# ---- sources ---------------------------------------------------------------
ENGINE_SRC := $(sort $(wildcard src/*.c))
KERNEL_SRC := $(sort $(wildcard src/kernels/*.c))
THIRD_SRC  := $(KISSFFT)/kiss_fft.c $(KISSFFT)/tools/kiss_fftr.c
TEST_SRC   := $(sort $(wildcard tests/c/*_test.c))
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/*_fuzz.c))
HEADERS    := $(wildcard src/*.h src/kernels/*.h src/kernels/*.inc tests/c/*.h tests/fuzz/*.h)

# ---- flags, in named groups --------------------------------------------------
CFLAGS_COMMON  := -std=c11 -Wall -Wextra -Wno-unused-parameter -Isrc -I$(STB) \
                  -I$(KISSFFT) -I$(KISSFFT)/tools -Dkiss_fft_scalar=float
# Scalar references must stay scalar, so the benchmark's scalar-vs-SIMD is honest.
CFLAGS_KERNELS := -fno-vectorize -fno-slp-vectorize
# kissfft would malloc scratch on every transform of a length with a factor above 5 (224 = 32·7)
CFLAGS_THIRD   := -w -DKISS_FFT_USE_ALLOCA
# kissfft's own SIMD mode (4 transforms per call) under renamed symbols, for param.c (src/kissfft4.h)
CFLAGS_KISS4   := -std=c11 -I$(KISSFFT) -I$(KISSFFT)/tools -DUSE_SIMD -msse -include src/kissfft4.h
EMFLAGS_RELEASE := -O3 -msimd128 -DNDEBUG
# The wasm test programs: the release build's code with its asserts on (no -DNDEBUG).
EMFLAGS_TEST    := -O3 -msimd128
EMFLAGS_RELAXED := -mrelaxed-simd -DFV_RELAXED_SIMD
EMFLAGS_LINK   := -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=33554432 \
                  -sMAXIMUM_MEMORY=2147483648 -sTOTAL_STACK=1048576 -sERROR_ON_UNDEFINED_SYMBOLS=1
EMFLAGS_ENGINE := --no-entry -sEXPORTED_FUNCTIONS=@wasm/exports.json
# The threads build (wasm/featviz-threads.wasm, src/threads.h): Emscripten 3.1.6
# refuses -pthread with -sSTANDALONE_WASM ("does not support pthreads yet"), and
# its pthreads need its JS glue anyway. So the engine is compiled with the wasm
# features alone (atomics, bulk memory; no -pthread, no Emscripten pthread
# runtime) and linked against an imported shared memory: wasm-ld then makes the
# data segments passive and runs them from a start function (__wasm_init_memory)
# that initializes the memory once, guarded by an atomic flag, so a helper's
# instance over the same memory leaves it alone. Each instance starts with the
# same __stack_pointer: wasm/threads.js moves a helper's to its own stack with
# the exported stackRestore (Emscripten's compiler-rt) before it runs any C.
# There is no TLS. Libc stays Emscripten's single-threaded one: only thread 0
# calls it (helpers never malloc, print or set errno).
EMFLAGS_THREADS := -matomics -mbulk-memory
EMFLAGS_THREADS_LINK := -sIMPORTED_MEMORY=1 -Wl,--shared-memory -Wl,--export=stackRestore
NATIVE_FLAGS   := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
                  -fno-sanitize-recover=undefined -pthread
NATIVE_LIBS    := -lm -pthread
FUZZ_FLAGS     := -O1 -g -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
                  -fno-sanitize-recover=undefined -DFV_IMAGE_MAX_PIXELS=16384

# ---- objects ------------------------------------------------------------------
W_ENGINE := $(patsubst src/%.c,build/wasm/obj/%.o,$(ENGINE_SRC))
W_KERNEL := $(patsubst src/%.c,build/wasm/obj/%.o,$(KERNEL_SRC))
W_THIRD  := build/wasm/obj/kiss_fft.o build/wasm/obj/kiss_fftr.o build/wasm/obj/kiss4_fft.o build/wasm/obj/kiss4_fftr.o
W_OBJS   := $(W_ENGINE) $(W_KERNEL) $(W_THIRD)
N_ENGINE := $(patsubst src/%.c,build/native/obj/%.o,$(ENGINE_SRC))
N_KERNEL := $(patsubst src/%.c,build/native/obj/%.o,$(KERNEL_SRC))
N_THIRD  := build/native/obj/kiss_fft.o build/native/obj/kiss_fftr.o
N_OBJS   := $(N_ENGINE) $(N_KERNEL) $(N_THIRD)

# The optional relaxed-SIMD build: the kernels again with fused multiply-add
# (src/kernels/conv_family.h: fv_madd4), the rest shared with the plain build.
R_KERNEL := $(patsubst src/%.c,build/wasm-relaxed/obj/%.o,$(KERNEL_SRC))
R_OBJS   := $(W_ENGINE) $(R_KERNEL) $(W_THIRD)
R_TESTS  := $(patsubst %,build/wasm-relaxed/tests/%.wasm,kernels_conv_test kernels_misc_test graph_test)

# The wasm tests link their own objects, built with EMFLAGS_TEST: asserts run in wasm too.
# (Third-party objects hold none of our asserts: the release ones are shared.)
T_ENGINE := $(patsubst src/%.c,build/wasm-test/obj/%.o,$(ENGINE_SRC))
T_KERNEL := $(patsubst src/%.c,build/wasm-test/obj/%.o,$(KERNEL_SRC))
T_OBJS   := $(T_ENGINE) $(T_KERNEL) $(W_THIRD)
TR_KERNEL := $(patsubst src/%.c,build/wasm-relaxed-test/obj/%.o,$(KERNEL_SRC))
TR_OBJS  := $(T_ENGINE) $(TR_KERNEL) $(W_THIRD)

# The threads build: every object again with atomics and bulk memory (src/threads.h).
TH_OBJS  := $(patsubst build/wasm/%,build/wasm-threads/%,$(W_OBJS))

W_TESTS  := $(patsubst tests/c/%.c,build/wasm/tests/%.wasm,$(TEST_SRC))
N_TESTS  := $(patsubst tests/c/%.c,build/native/tests/%,$(TEST_SRC))
FUZZERS  := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
W_BENCH  := build/wasm/bench/kernels_bench.wasm build/wasm/bench/conv_bench.wasm build/wasm/bench/peak.wasm

.PHONY: all wasm native tests bench fuzz clean
all: wasm tests bench
wasm: wasm/featviz.wasm wasm/featviz-threads.wasm wasm/featviz-relaxed.wasm
native: build/native/libfv.a
tests: $(N_TESTS) $(W_TESTS) $(R_TESTS)
bench: $(W_BENCH)
fuzz: $(FUZZERS)

# ---- wasm ---------------------------------------------------------------------
$(W_ENGINE): build/wasm/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) $(EMFLAGS_RELEASE) -c $< -o $@
$(W_KERNEL): build/wasm/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) $(CFLAGS_KERNELS) $(EMFLAGS_RELEASE) -c $< -o $@
build/wasm/obj/kiss_fft.o: $(KISSFFT)/kiss_fft.c
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) $(CFLAGS_THIRD) $(EMFLAGS_RELEASE) -c $< -o $@
build/wasm/obj/kiss_fftr.o: $(KISSFFT)/tools/kiss_fftr.c
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) $(CFLAGS_THIRD) $(EMFLAGS_RELEASE) -c $< -o $@
build/wasm/obj/kiss4_fft.o: $(KISSFFT)/kiss_fft.c src/kissfft4.h
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_KISS4) $(CFLAGS_THIRD) $(EMFLAGS_RELEASE) -c $< -o $@
build/wasm/obj/kiss4_fftr.o: $(KISSFFT)/tools/kiss_fftr.c src/kissfft4.h
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_KISS4) $(CFLAGS_THIRD) $(EMFLAGS_RELEASE) -c $< -o $@

wasm/featviz.wasm: $(W_OBJS) wasm/exports.json
	$(EMCC) $(EMFLAGS_RELEASE) $(EMFLAGS_LINK) $(EMFLAGS_ENGINE) $(W_OBJS) -o $@

$(T_ENGINE): build/wasm-test/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) $(EMFLAGS_TEST) -c $< -o $@
$(T_KERNEL): build/wasm-test/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) $(CFLAGS_KERNELS) $(EMFLAGS_TEST) -c $< -o $@

build/wasm/tests/%.wasm: tests/c/%.c $(T_OBJS) $(HEADERS)
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) -Itests/c $(EMFLAGS_TEST) $(EMFLAGS_LINK) $< $(T_OBJS) -o $@

# ---- wasm, threads: the same compile rules with EMFLAGS_THREADS (see above) ----
$(filter-out build/wasm-threads/obj/kiss%,$(TH_OBJS)): build/wasm-threads/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) $(if $(findstring /kernels/,$@),$(CFLAGS_KERNELS)) $(EMFLAGS_RELEASE) $(EMFLAGS_THREADS) -c $< -o $@
build/wasm-threads/obj/kiss_fft.o: $(KISSFFT)/kiss_fft.c
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) $(CFLAGS_THIRD) $(EMFLAGS_RELEASE) $(EMFLAGS_THREADS) -c $< -o $@
build/wasm-threads/obj/kiss_fftr.o: $(KISSFFT)/tools/kiss_fftr.c
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) $(CFLAGS_THIRD) $(EMFLAGS_RELEASE) $(EMFLAGS_THREADS) -c $< -o $@
build/wasm-threads/obj/kiss4_fft.o: $(KISSFFT)/kiss_fft.c src/kissfft4.h
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_KISS4) $(CFLAGS_THIRD) $(EMFLAGS_RELEASE) $(EMFLAGS_THREADS) -c $< -o $@
build/wasm-threads/obj/kiss4_fftr.o: $(KISSFFT)/tools/kiss_fftr.c src/kissfft4.h
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_KISS4) $(CFLAGS_THIRD) $(EMFLAGS_RELEASE) $(EMFLAGS_THREADS) -c $< -o $@

wasm/featviz-threads.wasm: $(TH_OBJS) wasm/exports.json
	$(EMCC) $(EMFLAGS_RELEASE) $(EMFLAGS_LINK) $(EMFLAGS_THREADS_LINK) $(EMFLAGS_ENGINE) $(TH_OBJS) -o $@

# the benchmark's scalar-vs-SIMD kernel table (a WASI program that bench/bench.mjs runs)
build/wasm/bench/%.wasm: bench/%.c $(W_OBJS) $(HEADERS) $(wildcard bench/*.h)
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) $(EMFLAGS_RELEASE) $(EMFLAGS_LINK) $< $(W_OBJS) -o $@

# ---- wasm, relaxed SIMD: clang 14 writes the prototype encoding of the fused
# multiply-add; scripts/wasm-relaxed.mjs rewrites it to the final one. ----
$(R_KERNEL): build/wasm-relaxed/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) $(CFLAGS_KERNELS) $(EMFLAGS_RELEASE) $(EMFLAGS_RELAXED) -c $< -o $@

wasm/featviz-relaxed.wasm: $(R_OBJS) wasm/exports.json scripts/wasm-relaxed.mjs
	@mkdir -p build/wasm-relaxed
	$(EMCC) $(EMFLAGS_RELEASE) $(EMFLAGS_LINK) $(EMFLAGS_ENGINE) $(R_OBJS) -o build/wasm-relaxed/featviz.proto.wasm
	node scripts/wasm-relaxed.mjs build/wasm-relaxed/featviz.proto.wasm $@

$(TR_KERNEL): build/wasm-relaxed-test/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) $(CFLAGS_KERNELS) $(EMFLAGS_TEST) $(EMFLAGS_RELAXED) -c $< -o $@

build/wasm-relaxed/tests/%.wasm: tests/c/%.c $(TR_OBJS) $(HEADERS) scripts/wasm-relaxed.mjs
	@mkdir -p $(dir $@)
	$(EMCC) $(CFLAGS_COMMON) -Itests/c $(EMFLAGS_TEST) $(EMFLAGS_LINK) $< $(TR_OBJS) -o $(@:.wasm=.proto.wasm)
	node scripts/wasm-relaxed.mjs $(@:.wasm=.proto.wasm) $@

# ---- native (ASan + UBSan) -----------------------------------------------------------
$(N_ENGINE) $(N_KERNEL): build/native/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC_NATIVE) $(CFLAGS_COMMON) $(NATIVE_FLAGS) -c $< -o $@
build/native/obj/kiss_fft.o: $(KISSFFT)/kiss_fft.c
	@mkdir -p $(dir $@)
	$(CC_NATIVE) $(CFLAGS_COMMON) $(CFLAGS_THIRD) $(NATIVE_FLAGS) -c $< -o $@
build/native/obj/kiss_fftr.o: $(KISSFFT)/tools/kiss_fftr.c
	@mkdir -p $(dir $@)
	$(CC_NATIVE) $(CFLAGS_COMMON) $(CFLAGS_THIRD) $(NATIVE_FLAGS) -c $< -o $@
# stb 2.27 has memory-safe undefined behaviour (NULL+0 on an empty PNG IDAT, an
# oversized shift in its JPEG decoder; see src/image.c): those checks are waived
# for image.c, which holds stb (clang: a scoped pragma in image.c does the same).
build/native/obj/image.o: NATIVE_FLAGS += -fno-sanitize=pointer-overflow,nonnull-attribute,shift
# The archive is made afresh: `ar r` keeps members of sources that were deleted since.
build/native/libfv.a: $(N_OBJS)
	rm -f $@ && ar rcs $@ $^

build/native/tests/%: tests/c/%.c build/native/libfv.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC_NATIVE) $(CFLAGS_COMMON) -Itests/c $(NATIVE_FLAGS) $< build/native/libfv.a $(NATIVE_LIBS) -o $@

# ---- fuzzing (clang libFuzzer + ASan + UBSan; engine sources compiled in) ---------
build/fuzz/%: tests/fuzz/%.c $(ENGINE_SRC) $(KERNEL_SRC) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC_FUZZ) $(CFLAGS_COMMON) $(FUZZ_FLAGS) $< $(ENGINE_SRC) $(KERNEL_SRC) \
	  $(CFLAGS_THIRD) $(THIRD_SRC) $(NATIVE_LIBS) -o $@

clean:
	rm -rf build wasm/featviz.wasm wasm/featviz-threads.wasm wasm/featviz-relaxed.wasm
