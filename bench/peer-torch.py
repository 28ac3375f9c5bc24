#!/usr/bin/python3
# peer-torch.py — the benchmark's PyTorch peer (issue 11's reference: "PyTorch 1.13 CPU, one
# thread"), measured on this host in the bench's run instead of quoted from the issue.
#
#   /usr/bin/python3 bench/peer-torch.py [--googlenet G.onnx] [--mobilenet M.onnx]
#       [--mobilenet-layer TENSOR] [--mobilenet-input SCALE,OFFSET] [--threads 1] [--ms 4000]
#       [--check IMAGE] [--check-only] [--serve] [--labels models/imagenet_labels.txt]
#
# It reads each ONNX file with the `onnx` package and runs its graph with torch ops: a small
# interpreter whose nodes are prepared once (weights as float32 contiguous NCHW torch tensors,
# frozen, the ops bound to their attributes) and then run as a list of closures. Ops:
# Conv (groups, explicit pads or auto_pad SAME_UPPER/SAME_LOWER/VALID, strides, dilations),
# Relu, Clip (ReLU6), MaxPool (pads, ceil_mode), AveragePool, GlobalAveragePool, LRN, Concat,
# Gemm, MatMul, Flatten, Reshape, Transpose, Dropout/Identity, Softmax, Add/Sub/Mul/Div (tensors
# or constants). Anything else: a message naming the op on stderr, exit status 2.
#
# Workloads, each the median ms over at least --ms of samples after a warm-up:
#   googlenet_infer_224 / mobilenet_v2_infer_224   224×224 inference, torch.no_grad, whole graph
#   googlenet_step_b1 / mobilenet_v2_step_b1       the Lucid step at 128×128, batch 1 (as
#       bench/workloads.mjs): FFT parameterization (rfft-space params, 1/f scaling, irfft2),
#       Lucid's color decorrelation, sigmoid, Lucid's standard transforms (pad 12 of 0.5,
#       jitter 8, scale, rotate, jitter 4; interpolate and affine_grid + grid_sample, bilinear;
#       then a bilinear resize back to 128×128, as featviz's transforms end),
#       the model's input range, the graph up to the objective's tensor only, loss = −mean of
#       the channel, backward to the params, torch.optim.Adam(lr 0.05).
#       GoogLeNet: inception_4c/output channel 97; MobileNet v2: expanded_conv_8/add channel 12
#       (--mobilenet-layer: its tensor in the ONNX bench/peer-ort.mjs's onnxFromModel writes;
#       by default the output of the graph's fifth Add node, which is that layer).
# Output: one JSON object on stdout:
#   {"torch": VERSION, "threads": N, "workloads": {NAME: {"ms", "n"}}, "check": {MODEL: top-1}}
# With --serve it times nothing itself: it prints that object's torch, threads and check with
# "ready": true, then answers each stdin line "NAME K" (K runs of workload NAME; a step keeps
# its state) with one line {"ms": [...]}, until stdin closes (bench/peer-torch.mjs torchServer).
#
# What it cannot do: read TFLite (MobileNet comes as the ONNX onnxFromModel writes); ONNX ops
# beyond the list above; featviz's render-only tricks (the objective's channel pruning through
# concats, the redirected ReLU of the first steps): this is the plain PyTorch program.
import argparse
import json
import math
import os
import random
import statistics
import sys
import time

def _threads_arg(argv):
    for i, a in enumerate(argv):
        if a == '--threads' and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith('--threads='):
            return a.split('=', 1)[1]
    return '1'


# Debian's torch does its GEMMs in OpenBLAS (pthreads build), whose thread pool torch.set_num_threads
# does not reach: its count is read from the environment when the library loads, so before the imports.
for _v in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ[_v] = _threads_arg(sys.argv[1:])

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # the bench runs without torch: say so and leave
    sys.stderr.write(f"peer-torch: {e} (run it with /usr/bin/python3: Debian's python3-torch, python3-onnx)\n")
    sys.exit(3)


class PeerError(Exception):
    pass


# ==== the ONNX graph as torch ops =========================================================

def attrs_of(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def same_pads(size, k, s, d, lower):
    """ONNX auto_pad SAME_*: (before, after) for one axis of input `size`."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    small = total // 2
    return (total - small, small) if lower else (small, total - small)


class Graph:
    """An ONNX graph prepared once: run(x, upto=None) → the tensor named `upto` (default: the output)."""

    def __init__(self, path):
        model = onnx.load(path)
        g = model.graph
        self.meta = {p.key: p.value for p in model.metadata_props}
        self.consts = {}
        for t in g.initializer:
            a = numpy_helper.to_array(t)
            self.consts[t.name] = torch.from_numpy(np.ascontiguousarray(a.astype(np.float32) if a.dtype.kind == 'f' else a))
        for n in g.node:  # Constant nodes are constants
            if n.op_type == 'Constant':
                self.consts[n.output[0]] = torch.from_numpy(np.ascontiguousarray(numpy_helper.to_array(attrs_of(n)['value'])))
        inputs = [i for i in g.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise PeerError(f"{path}: {len(inputs)} graph inputs, one expected")
        self.input = inputs[0].name
        self.input_shape = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim]
        self.output = g.output[0].name
        self.nodes = [n for n in g.node if n.op_type != 'Constant']
        self.producer = {o: i for i, n in enumerate(self.nodes) for o in n.output}
        # an NHWC input transposed to NCHW by the first node (onnxFromModel's): NCHW goes in after it
        self.nchw_input = self.input
        first = self.nodes[0]
        if first.op_type == 'Transpose' and list(first.input) == [self.input] and list(attrs_of(first).get('perm', [])) == [0, 3, 1, 2]:
            self.nchw_input = first.output[0]
        self.ops = [self.prepare(n) for n in self.nodes]
        self.plans = {}

    def const(self, name):
        return self.consts.get(name)

    def prepare(self, n):
        """One node → a function of its input tensors (constants already bound)."""
        op, a = n.op_type, attrs_of(n)
        c = [self.const(x) if x else None for x in n.input]
        if op == 'Conv':
            w = c[1].float().contiguous()
            b = c[2].float().contiguous() if len(c) > 2 and c[2] is not None else None
            k = list(w.shape[2:])
            s = list(a.get('strides', [1, 1]))
            d = list(a.get('dilations', [1, 1]))
            groups = a.get('group', 1)
            auto = a.get('auto_pad', b'NOTSET')
            auto = auto.decode() if isinstance(auto, bytes) else auto
            if auto in ('SAME_UPPER', 'SAME_LOWER'):
                lower = auto == 'SAME_LOWER'

                def conv(x):
                    ph = same_pads(x.shape[2], k[0], s[0], d[0], lower)
                    pw = same_pads(x.shape[3], k[1], s[1], d[1], lower)
                    if ph[0] == ph[1] and pw[0] == pw[1]:
                        return F.conv2d(x, w, b, s, (ph[0], pw[0]), d, groups)
                    return F.conv2d(F.pad(x, (pw[0], pw[1], ph[0], ph[1])), w, b, s, 0, d, groups)
                return conv
            p = list(a.get('pads', [0, 0, 0, 0])) if auto in ('NOTSET', '') else [0, 0, 0, 0]
            if p[0] == p[2] and p[1] == p[3]:
                return lambda x: F.conv2d(x, w, b, s, (p[0], p[1]), d, groups)
            return lambda x: F.conv2d(F.pad(x, (p[1], p[3], p[0], p[2])), w, b, s, 0, d, groups)
        if op == 'Relu':
            return F.relu
        if op == 'Clip':
            lo = a.get('min', c[1].item() if len(c) > 1 and c[1] is not None else -math.inf)
            hi = a.get('max', c[2].item() if len(c) > 2 and c[2] is not None else math.inf)
            if lo == 0 and hi == 6:
                return F.relu6
            return lambda x: torch.clamp(x, lo, hi)
        if op in ('MaxPool', 'AveragePool'):
            k = list(a['kernel_shape'])
            s = list(a.get('strides', [1, 1]))
            p = list(a.get('pads', [0, 0, 0, 0]))
            ceil = bool(a.get('ceil_mode', 0))
            auto = a.get('auto_pad', b'NOTSET')
            auto = auto.decode() if isinstance(auto, bytes) else auto
            if auto not in ('NOTSET', 'VALID', '') or p[0] != p[2] or p[1] != p[3]:
                raise PeerError(f"{op} {n.name or n.output[0]}: auto_pad {auto} / pads {p} not supported")
            if auto == 'VALID':
                p = [0, 0, 0, 0]
            if op == 'MaxPool':
                return lambda x: F.max_pool2d(x, k, s, (p[0], p[1]), 1, ceil)
            cip = bool(a.get('count_include_pad', 0))
            return lambda x: F.avg_pool2d(x, k, s, (p[0], p[1]), ceil, cip)
        if op == 'GlobalAveragePool':
            return lambda x: torch.mean(x, (2, 3), keepdim=True)
        if op == 'LRN':  # ONNX: x / (bias + alpha/size · Σ x²)^beta; torch's the same (alpha over the window's mean)
            size, alpha, beta, bias = a['size'], a.get('alpha', 1e-4), a.get('beta', 0.75), a.get('bias', 1.0)
            return lambda x: F.local_response_norm(x, size, alpha, beta, bias)
        if op == 'Concat':
            axis = a['axis']
            return lambda *xs: torch.cat(xs, axis)
        if op == 'Gemm':
            if a.get('transA', 0):
                raise PeerError('Gemm transA not supported')
            alpha, beta = a.get('alpha', 1.0), a.get('beta', 1.0)
            w = c[1].float()
            w = (w if a.get('transB', 0) else w.t()).contiguous() * alpha
            b = c[2].float().contiguous() * beta if len(c) > 2 and c[2] is not None else None
            return lambda x, *_: F.linear(x, w, b)
        if op == 'MatMul':
            if c[1] is not None:
                w = c[1].float().contiguous()
                return lambda x, *_: torch.matmul(x, w)
            return torch.matmul
        if op == 'Flatten':
            axis = a.get('axis', 1)
            return lambda x: torch.flatten(x, axis)
        if op == 'Reshape':
            if c[1] is None:
                raise PeerError('Reshape with a computed shape not supported')
            shape = [int(v) for v in c[1].tolist()]
            return lambda x, *_: x.reshape([x.shape[i] if v == 0 else v for i, v in enumerate(shape)])
        if op == 'Transpose':
            perm = list(a['perm'])
            return lambda x: x.permute(perm)
        if op in ('Dropout', 'Identity'):
            return lambda x, *_: x
        if op == 'Softmax':
            axis = a.get('axis', -1)
            return lambda x: F.softmax(x, axis)
        if op in ('Add', 'Sub', 'Mul', 'Div'):
            fn = {'Add': torch.add, 'Sub': torch.sub, 'Mul': torch.mul, 'Div': torch.div}[op]
            if c[1] is not None:
                k1 = c[1].float().contiguous()
                return lambda x, *_: fn(x, k1)
            if c[0] is not None:
                k0 = c[0].float().contiguous()
                return lambda _, y: fn(k0, y)
            return fn
        raise PeerError(f"ONNX op {op} (node {n.name or n.output[0]}) not supported by peer-torch.py")

    def plan(self, upto, feed):
        """The nodes that `upto` needs, in order, from the tensor `feed`; per node the tensors it reads last."""
        key = (upto, feed)
        if key in self.plans:
            return self.plans[key]
        if upto not in self.producer:
            raise PeerError(f"no node makes tensor {upto!r}")
        need, stack = set(), [upto]
        while stack:
            t = stack.pop()
            if t == feed or t in self.consts or t not in self.producer:
                continue
            i = self.producer[t]
            if i in need:
                continue
            need.add(i)
            stack.extend(x for x in self.nodes[i].input if x)
        order = sorted(need)
        last = {}
        for i in order:
            for x in self.nodes[i].input:
                last[x] = i
        steps = []
        for i in order:
            n = self.nodes[i]
            args = [x for x in n.input if x and x not in self.consts]
            drop = [x for x in set(args) if last.get(x) == i and x != upto]
            steps.append((self.ops[i], args, n.output[0], drop))
        self.plans[key] = steps
        return steps

    def run(self, x, upto=None, nchw=True):
        feed = self.nchw_input if nchw else self.input
        env = {feed: x}
        for fn, args, out, drop in self.plan(upto or self.output, feed):
            env[out] = fn(*[env[a] for a in args])
            for d in drop:  # a tensor's last reader has run: let it go
                env.pop(d, None)
        return env[upto or self.output]


def input_range(g, override=None):
    """(scale, offset, bgr): network channel k = offset + 255·scale · image channel (bgr ? 2 − k : k), image in [0, 1]
    — featviz's mapping (src/render.c "input range"; src/onnx.c read_metadata)."""
    if override:
        return override
    fmt, rng = g.meta.get('Image.BitmapPixelFormat'), g.meta.get('Image.NominalPixelRange')
    ranges = {'NominalRange_0_255': (1.0, 0.0), 'Normalized_0_1': (1 / 255, 0.0), 'Normalized_1_1': (2 / 255, -1.0),
              'NominalRange_16_235': (219 / 255, 16.0)}
    if fmt in ('Bgr8', 'Rgb8') and rng in ranges:
        s, o = ranges[rng]
        return ([s] * 3, [o] * 3, fmt == 'Bgr8')
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # featviz's guess when nothing is said
    return ([1 / (255 * v) for v in std], [-m / v for m, v in zip(mean, std)], False)


def to_network(img, rng):
    """img [N, 3, H, W] in [0, 1] → the network's input, NCHW."""
    scale, offset, bgr = rng
    span = torch.tensor([255 * v for v in scale], dtype=torch.float32).view(1, 3, 1, 1)
    off = torch.tensor(offset, dtype=torch.float32).view(1, 3, 1, 1)
    if bgr:
        img = img.flip(1)
    return img * span + off


# ==== Lucid's step ===========================================================================

# Lucid's color correlation (lucid.optvis.param.color), square root of its SVD
COLOR_CORRELATION_SVD_SQRT = np.asarray([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32)
COLOR = COLOR_CORRELATION_SVD_SQRT / np.max(np.linalg.norm(COLOR_CORRELATION_SVD_SQRT, axis=0))
SCALES = [1 + (i - 5) / 50 for i in range(11)]
ANGLES = list(range(-10, 11)) + 5 * [0]  # Lucid's random_rotate choices (as featviz's transform.c)


def rfft2d_freqs(h, w):
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[: w // 2 + (2 if w % 2 else 1)]
    return np.sqrt(fx * fx + fy * fy)


class LucidStep:
    def __init__(self, graph, layer, channel, rng, size=128, batch=1, lr=0.05, decay_power=1.0, seed=0):
        self.g, self.layer, self.channel, self.rng, self.size = graph, layer, channel, rng, size
        torch.manual_seed(seed)
        self.pick = random.Random(seed)
        h = w = size
        freqs = rfft2d_freqs(h, w)
        scale = 1.0 / np.maximum(freqs, 1.0 / max(w, h)) ** decay_power * np.sqrt(w * h)
        self.scale = torch.from_numpy(scale.astype(np.float32))  # [h, w//2 + 1], broadcast over real and imag
        self.spectrum = (0.01 * torch.randn(batch, 3, h, freqs.shape[1], 2)).requires_grad_()
        self.color = torch.from_numpy(COLOR.reshape(3, 3, 1, 1).copy())  # out channel d = Σ_c C[d, c] · in c
        self.opt = torch.optim.Adam([self.spectrum], lr=lr)
        self.span = torch.tensor([255 * v for v in rng[0]], dtype=torch.float32).view(1, 3, 1, 1)
        self.objective = None

    def image(self):
        spec = torch.view_as_complex(self.spectrum) * self.scale
        x = torch.fft.irfft2(spec, s=(self.size, self.size)) / 4.0
        x = F.conv2d(x, self.color)  # Lucid's _linear_decorelate_color: t @ C.T per pixel
        return torch.sigmoid(x)

    def jitter(self, x, d):
        oy, ox = self.pick.randint(0, d), self.pick.randint(0, d)
        return x[:, :, oy:oy + x.shape[2] - d, ox:ox + x.shape[3] - d]

    def transform(self, x):
        x = F.pad(x, (12, 12, 12, 12), value=0.5)
        x = self.jitter(x, 8)
        s = self.pick.choice(SCALES)
        x = F.interpolate(x, size=(int(s * x.shape[2]), int(s * x.shape[3])), mode='bilinear', align_corners=False)
        a = math.radians(self.pick.choice(ANGLES))
        theta = torch.tensor([[[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]]], dtype=x.dtype)
        grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
        x = self.jitter(x, 4)
        # back to the render size, as featviz's transforms end (src/transform.h): the network
        # then runs on the same 128×128 pixels on both sides (Lucid's own loop skips this and
        # runs on 126–154 px, about 1.2× the pixels)
        return F.interpolate(x, size=(self.size, self.size), mode='bilinear', align_corners=False)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        x = to_network(self.transform(self.image()), self.rng)
        act = self.g.run(x, self.layer)
        loss = -act[:, self.channel].mean()
        loss.backward()
        self.opt.step()
        self.objective = -loss.item()


# ==== timing, the photo check, the command line ===========================================

def measure(fn, ms, warm_ms=500, warm_min=3, min_runs=5):
    t0 = time.perf_counter()
    k = 0
    while k < warm_min or (time.perf_counter() - t0) * 1e3 < warm_ms:
        fn()
        k += 1
    ts = []
    start = time.perf_counter()
    while len(ts) < min_runs or (time.perf_counter() - start) * 1e3 < ms:
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return {"ms": round(statistics.median(ts), 2), "n": len(ts)}


def photo(path, size=224):
    """The photo as featviz's CLI sees it: bilinear resize with half-pixel centres, no antialias, back to 8 bits."""
    from PIL import Image
    with Image.open(path) as im:
        rgb = np.asarray(im.convert('RGB'), dtype=np.float32)
    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1).unsqueeze(0)
    x = F.interpolate(x, size=(size, size), mode='bilinear', align_corners=False)
    return torch.clamp(torch.floor(x + 0.5), 0, 255) / 255.0


def top1(graph, rng, img, labels):
    with torch.no_grad():
        p = graph.run(to_network(img, rng)).flatten()
    i = int(torch.argmax(p))
    off = 1 if labels and len(labels) == p.numel() + 1 else 0  # labels with a background class, a 1000-class output
    lab = labels[i + off] if labels and 0 <= i + off < len(labels) else None
    return {"index": i, "label": lab, "p": round(float(p[i]), 4)}


def parse_range(s):
    sc, of = (float(v) for v in s.split(','))
    return ([sc] * 3, [of] * 3, False)


def workload_fns(models):
    """NAME -> a function that runs workload NAME once, and the Lucid steps by name (each made on
    its first run, so only what is asked for is built; it keeps its state between runs)."""
    fns, steps = {}, {}
    for name, g, rng, layer, channel in models:
        key = f'{name}_step_b1'

        def step_fn(key=key, g=g, layer=layer, channel=channel, rng=rng):
            if key not in steps:
                steps[key] = LucidStep(g, layer, channel, rng)
            steps[key].step()
        x = to_network(torch.rand(1, 3, 224, 224), rng)

        def infer(g=g, x=x):
            with torch.no_grad():
                return g.run(x)
        fns[key], fns[f'{name}_infer_224'] = step_fn, infer
    return fns, steps


def serve(models, out):
    fns, _ = workload_fns(models)
    print(json.dumps({"ready": True, **out}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        name, k = parts[0], int(parts[1]) if len(parts) > 1 else 1
        if name not in fns:
            print(json.dumps({"error": f"no workload {name}"}), flush=True)
            continue
        ms = []
        for _ in range(k):
            t = time.perf_counter()
            fns[name]()
            ms.append((time.perf_counter() - t) * 1e3)
        print(json.dumps({"ms": ms}), flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="PyTorch peer of featviz's named workloads (issue 11)")
    ap.add_argument('--googlenet', help='GoogLeNet BVLC ONNX file')
    ap.add_argument('--mobilenet', help="MobileNet v2 ONNX file (bench/peer-ort.mjs's onnxFromModel)")
    ap.add_argument('--mobilenet-layer', help="the objective's tensor (default: the fifth Add's output, expanded_conv_8/add)")
    ap.add_argument('--mobilenet-input', default='0.0078125,-1', help="SCALE,OFFSET of featviz's MobileNet v2 input (RGB)")
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--ms', type=float, default=4000, help='ms of samples per workload, after warm-up')
    ap.add_argument('--check', metavar='IMAGE', help='top-1 of this photo at 224 for each model')
    ap.add_argument('--check-only', action='store_true', help='the check, no timing')
    ap.add_argument('--labels', default=os.path.join(here, '..', 'models', 'imagenet_labels.txt'))
    ap.add_argument('--only', help='comma-separated workload names to time (default: all of the given models)')
    ap.add_argument('--serve', action='store_true',
                    help='no timing of its own: a ready line, then per stdin line "NAME K" K runs of workload NAME and '
                         'one JSON line {"ms": [...]} (bench/peer-torch.mjs interleaves them with featviz\'s samples)')
    o = ap.parse_args()
    if not o.googlenet and not o.mobilenet:
        ap.error('give --googlenet and/or --mobilenet')
    torch.set_num_threads(o.threads)
    labels = None
    if os.path.exists(o.labels):
        with open(o.labels) as f:
            labels = [line.rstrip('\n') for line in f]
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "workloads": {}}
    models = []
    if o.googlenet:
        g = Graph(o.googlenet)
        models.append(('googlenet', g, input_range(g), 'inception_4c/output', 97))
    if o.mobilenet:
        m = Graph(o.mobilenet)
        layer = o.mobilenet_layer
        if not layer:
            adds = [n.output[0] for n in m.nodes if n.op_type == 'Add']
            if len(adds) < 5:
                raise PeerError(f'{o.mobilenet}: {len(adds)} Add nodes; MobileNet v2 has 10 (give --mobilenet-layer)')
            layer = adds[4]
        models.append(('mobilenet_v2', m, input_range(m, parse_range(o.mobilenet_input)), layer, 12))
    if o.check:
        img = photo(o.check)
        out["check"] = {name: top1(g, rng, img, labels) for name, g, rng, _, _ in models}
        out["check_image"] = o.check
    if o.check_only:
        print(json.dumps(out))
        return
    if o.serve:
        serve(models, out)
        return
    only = set(o.only.split(',')) if o.only else None
    fns, steps = workload_fns(models)
    for name, fn in fns.items():
        if only and name not in only:
            continue
        r = measure(fn, o.ms)
        if name in steps:
            s = steps[name]
            r["objective_after"], r["layer"], r["channel"] = round(s.objective, 4), s.layer, s.channel
        out["workloads"][name] = r
    print(json.dumps(out))


if __name__ == '__main__':
    try:
        main()
    except PeerError as e:
        sys.stderr.write(f"peer-torch: {e}\n")
        sys.exit(2)
    except (OSError, onnx.checker.ValidationError, RuntimeError, ValueError) as e:
        sys.stderr.write(f"peer-torch: {type(e).__name__}: {e}\n")
        sys.exit(1)
