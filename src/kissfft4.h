/* kissfft4.h — kissfft built a second time in its own SIMD mode, for the
 * Fourier parameterization's 4-lane path (param.c, wasm SIMD builds only).
 *
 * kissfft's USE_SIMD makes kiss_fft_scalar a 4-float vector: every butterfly
 * runs 4 independent transforms, one per lane, with the same float operations
 * in the same order as the scalar build does for one. emcc.mk compiles
 * kiss_fft.c and kiss_fftr.c a second time with -DUSE_SIMD -msse (Emscripten's
 * SSE header on SIMD128) and `-include src/kissfft4.h`, which renames their
 * external symbols below, so both builds link into one module.
 *
 * The engine side (USE_SIMD undefined) gets the renamed API on wasm vectors:
 * a kiss4_cpx holds lane l's complex value in (r[l], i[l]), the layout of
 * kissfft's kiss_fft_cpx with __m128 members; real data is one v128 per sample.
 */
#ifndef FV_KISSFFT4_H
#define FV_KISSFFT4_H

#ifdef USE_SIMD
/* the second kissfft build: its external names */
#define kiss_fft_alloc kiss4_fft_alloc
#define kiss_fft kiss4_fft
#define kiss_fft_stride kiss4_fft_stride
#define kiss_fft_free kiss4_fft_free
#define kiss_fft_cleanup kiss4_fft_cleanup
#define kiss_fft_next_fast_size kiss4_fft_next_fast_size
#define kf_work kiss4_kf_work
#define kf_factor kiss4_kf_factor
#define kiss_fftr_alloc kiss4_fftr_alloc
#define kiss_fftr kiss4_fftr
#define kiss_fftri kiss4_fftri
#define kiss_fftr_free kiss4_fftr_free
#elif defined(__wasm_simd128__)
#include <stddef.h>
#include <wasm_simd128.h>

typedef struct {
  v128_t r, i;
} kiss4_cpx;

/* As kiss_fft_alloc / kiss_fftr_alloc (NULL mem: malloc'd; free with the _free). */
void *kiss4_fft_alloc(int nfft, int inverse_fft, void *mem, size_t *lenmem);
void *kiss4_fftr_alloc(int nfft, int inverse_fft, void *mem, size_t *lenmem);
void kiss4_fft_free(void *cfg);
void kiss4_fftr_free(void *cfg);
/* 4 complex transforms of length nfft, fin != fout */
void kiss4_fft(void *cfg, const kiss4_cpx *fin, kiss4_cpx *fout);
/* 4 real transforms of even length nfft: nfft samples <-> nfft/2 + 1 bins */
void kiss4_fftr(void *cfg, const v128_t *timedata, kiss4_cpx *freqdata);
void kiss4_fftri(void *cfg, const kiss4_cpx *freqdata, v128_t *timedata);
#endif

#endif
