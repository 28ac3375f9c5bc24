#!/usr/bin/python3
"""Independent float reference for featviz's forward pass.

Writes tests/golden/<model-basename>.json for the store's three quantized
MobileNets.  Everything here is written from the TFLite schema
(tensorflow/lite/schema/schema.fbs) and the BMP file format, not from the C
engine, so the engine's tests compare against something that can disagree
with it.

What it does, per model:
  1. reads the .tflite flatbuffer with a small struct-based reader below;
  2. dequantizes every constant tensor to float (q - zero_point) * scale;
  3. decodes the model's photo (24-bit uncompressed BMP, parsed here), resizes
     it to the model's input size with half-pixel-centre bilinear
     interpolation (torch.nn.functional.interpolate, align_corners=False,
     antialias=False), and maps pixels p to s*(p - z) using the input tensor's
     quantization (for these models (p - 128)/128);
  4. runs the graph in float64 (the golden numbers) and again in float32 (to
     measure how far float32 summation order alone can move the logits);
     intermediate activation quantization is ignored, as in the engine.

Usage (from the repository root, takes well under a minute):
    /usr/bin/python3 scripts/golden_reference.py
Paths: FEATVIZ_MODELS / FEATVIZ_IMAGES, defaulting to ../shared/models and
../shared/images relative to the repository root.
"""

import hashlib
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.environ.get("FEATVIZ_MODELS") or os.path.join(REPO, "..", "shared", "models")
IMAGES_DIR = os.environ.get("FEATVIZ_IMAGES") or os.path.join(REPO, "..", "shared", "images")
OUT_DIR = os.path.join(REPO, "tests", "golden")

# One photo per model; the remaining .bmp photos are only reported (top-1).
MODELS = [
    ("mobilenet_v2_1.0_224_quant.tflite", "cat.bmp"),
    ("mobilenet_v1_0.75_192_quant.tflite", "grace_hopper.bmp"),
    ("mobilenet_v1_0.25_128_quant.tflite", "dragonfly.bmp"),
]

SIG_DIGITS = 7  # float64 golden values rounded to 7 significant digits


# --------------------------------------------------------------------------
# Minimal flatbuffer reader (little-endian, as the format specifies).
# A table starts with an int32 soffset to its vtable (vtable = table - soffset);
# the vtable holds uint16 [vtable bytes, table bytes, field0 offset, ...], an
# offset of 0 (or a field past the vtable's end) meaning "absent, use default".
# Offsets to sub-tables, vectors and strings are uint32 relative to where the
# offset itself is stored; vectors/strings begin with a uint32 element count.
# --------------------------------------------------------------------------
class Table:
    __slots__ = ("buf", "pos", "vt", "vt_len")

    def __init__(self, buf, pos):
        if pos < 0 or pos + 4 > len(buf):
            raise ValueError("table offset out of range")
        self.buf = buf
        self.pos = pos
        self.vt = pos - struct.unpack_from("<i", buf, pos)[0]
        if self.vt < 0 or self.vt + 4 > len(buf):
            raise ValueError("vtable offset out of range")
        self.vt_len = struct.unpack_from("<H", buf, self.vt)[0]

    def _field(self, fid):
        o = 4 + 2 * fid
        if o + 2 > self.vt_len:
            return 0
        return struct.unpack_from("<H", self.buf, self.vt + o)[0]

    def scalar(self, fid, fmt, default=0):
        o = self._field(fid)
        if not o:
            return default
        return struct.unpack_from("<" + fmt, self.buf, self.pos + o)[0]

    def _deref(self, fid):
        o = self._field(fid)
        if not o:
            return None
        p = self.pos + o
        return p + struct.unpack_from("<I", self.buf, p)[0]

    def table(self, fid):
        p = self._deref(fid)
        return None if p is None else Table(self.buf, p)

    def vector_raw(self, fid):
        """(start, count) of a vector, or None if absent."""
        p = self._deref(fid)
        if p is None:
            return None
        return p + 4, struct.unpack_from("<I", self.buf, p)[0]

    def vector(self, fid, fmt):
        v = self.vector_raw(fid)
        if v is None:
            return []
        start, n = v
        return list(struct.unpack_from("<%d%s" % (n, fmt), self.buf, start))

    def tables(self, fid):
        v = self.vector_raw(fid)
        if v is None:
            return []
        start, n = v
        out = []
        for i in range(n):
            p = start + 4 * i
            out.append(Table(self.buf, p + struct.unpack_from("<I", self.buf, p)[0]))
        return out

    def string(self, fid):
        v = self.vector_raw(fid)
        if v is None:
            return None
        start, n = v
        return self.buf[start:start + n].decode("utf-8", "replace")

    def bytes(self, fid):
        v = self.vector_raw(fid)
        if v is None:
            return b""
        start, n = v
        return self.buf[start:start + n]


# BuiltinOperator codes used by the store's models (schema.fbs enum).
OP_ADD, OP_AVERAGE_POOL_2D, OP_CONV_2D, OP_DEPTHWISE_CONV_2D = 0, 1, 3, 4
OP_RESHAPE, OP_SOFTMAX = 22, 25
OP_NAMES = {OP_ADD: "ADD", OP_AVERAGE_POOL_2D: "AVERAGE_POOL_2D", OP_CONV_2D: "CONV_2D",
            OP_DEPTHWISE_CONV_2D: "DEPTHWISE_CONV_2D", OP_RESHAPE: "RESHAPE",
            OP_SOFTMAX: "SOFTMAX"}
# TensorType enum -> numpy dtype.
TENSOR_TYPES = {0: np.float32, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8, 7: np.int16}
# ActivationFunctionType: NONE=0, RELU=1, RELU_N1_TO_1=2, RELU6=3.
ACT_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


def parse_model(buf):
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer (identifier %r)" % buf[4:8])
    root = Table(buf, struct.unpack_from("<I", buf, 0)[0])
    # Model: version 0, operator_codes 1, subgraphs 2, description 3, buffers 4.
    opcodes = []
    for oc in root.tables(1):
        # OperatorCode: field 0 is the (now "deprecated_") byte code; newer
        # writers also store an int32 builtin_code as field 3. The real code
        # is the larger of the two (the byte saturates at 127).
        opcodes.append(max(oc.scalar(0, "b", 0), oc.scalar(3, "i", 0)))
    buffers = [b.bytes(0) for b in root.tables(4)]
    subgraphs = root.tables(2)
    if not subgraphs:
        raise ValueError("model has no subgraph")
    sg = subgraphs[0]
    tensors = []
    for t in sg.tables(0):
        # Tensor: shape 0, type 1, buffer 2, name 3, quantization 4.
        q = t.table(4)
        scale, zp, qdim = [], [], 0
        if q is not None:
            # QuantizationParameters: min 0, max 1, scale 2, zero_point 3,
            # details_type 4, details 5, quantized_dimension 6.
            scale = q.vector(2, "f")
            zp = q.vector(3, "q")
            qdim = q.scalar(6, "i", 0)
        tensors.append(dict(shape=t.vector(0, "i"), type=t.scalar(1, "b", 0),
                            buffer=t.scalar(2, "I", 0), name=t.string(3) or "",
                            scale=scale, zero_point=zp, qdim=qdim))
    ops = []
    for o in sg.tables(3):
        # Operator: opcode_index 0, inputs 1, outputs 2, builtin_options_type 3,
        # builtin_options 4.
        code = opcodes[o.scalar(0, "I", 0)]
        ops.append(dict(code=code, inputs=o.vector(1, "i"), outputs=o.vector(2, "i"),
                        opt_type=o.scalar(3, "B", 0), opts=o.table(4)))
    return dict(tensors=tensors, buffers=buffers, ops=ops,
                inputs=sg.vector(1, "i"), outputs=sg.vector(2, "i"))


def op_options(op):
    """Decode the builtin options of the ops we run (field ids from schema.fbs)."""
    t, code = op["opts"], op["code"]
    if code == OP_CONV_2D:  # Conv2DOptions (union type 1)
        return dict(padding=t.scalar(0, "b"), stride_w=t.scalar(1, "i"), stride_h=t.scalar(2, "i"),
                    act=t.scalar(3, "b"), dil_w=t.scalar(4, "i", 1), dil_h=t.scalar(5, "i", 1))
    if code == OP_DEPTHWISE_CONV_2D:  # DepthwiseConv2DOptions (union type 2)
        return dict(padding=t.scalar(0, "b"), stride_w=t.scalar(1, "i"), stride_h=t.scalar(2, "i"),
                    depth_multiplier=t.scalar(3, "i"), act=t.scalar(4, "b"),
                    dil_w=t.scalar(5, "i", 1), dil_h=t.scalar(6, "i", 1))
    if code == OP_AVERAGE_POOL_2D:  # Pool2DOptions (union type 5)
        return dict(padding=t.scalar(0, "b"), stride_w=t.scalar(1, "i"), stride_h=t.scalar(2, "i"),
                    filter_w=t.scalar(3, "i"), filter_h=t.scalar(4, "i"), act=t.scalar(5, "b"))
    if code == OP_ADD:  # AddOptions (union type 11)
        return dict(act=t.scalar(0, "b") if t is not None else 0)
    if code == OP_SOFTMAX:  # SoftmaxOptions (union type 9)
        return dict(beta=t.scalar(0, "f", 0.0) if t is not None else 1.0)
    if code == OP_RESHAPE:  # ReshapeOptions (union type 17)
        return dict(new_shape=t.vector(0, "i") if t is not None else [])
    raise ValueError("unsupported op code %d" % code)


def dequantize(model, ti):
    """Float64 numpy array of a constant tensor: scale * (q - zero_point)."""
    t = model["tensors"][ti]
    raw = model["buffers"][t["buffer"]]
    dt = TENSOR_TYPES[t["type"]]
    n = int(np.prod(t["shape"])) if t["shape"] else 1
    if len(raw) != n * np.dtype(dt).itemsize:
        raise ValueError("tensor %s: buffer has %d bytes, shape %s needs %d"
                         % (t["name"], len(raw), t["shape"], n * np.dtype(dt).itemsize))
    q = np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<")).astype(np.float64)
    q = q.reshape(t["shape"])
    if dt == np.float32 or not t["scale"]:
        return q
    scale = np.asarray(t["scale"], np.float64)
    zp = np.asarray(t["zero_point"] or [0] * len(scale), np.float64)
    if len(scale) > 1:  # per-channel along quantized_dimension
        bshape = [1] * q.ndim
        bshape[t["qdim"]] = len(scale)
        scale, zp = scale.reshape(bshape), zp.reshape(bshape)
    return scale * (q - zp)


# --------------------------------------------------------------------------
# Ops, on NCHW torch tensors.
# --------------------------------------------------------------------------
def same_pad(in_size, k, stride, dil):
    out = -(-in_size // stride)
    total = max((out - 1) * stride + (k - 1) * dil + 1 - in_size, 0)
    return total // 2, total - total // 2


def pad_for(x, padding, kh, kw, sh, sw, dh, dw):
    if padding == 1:  # VALID
        return x, (0, 0, 0, 0)
    top, bottom = same_pad(x.shape[2], kh, sh, dh)
    left, right = same_pad(x.shape[3], kw, sw, dw)
    return F.pad(x, (left, right, top, bottom)), (left, right, top, bottom)


def activation(x, act):
    if act == 0:
        return x
    if act == 1:
        return torch.clamp(x, min=0.0)
    if act == 2:
        return torch.clamp(x, -1.0, 1.0)
    if act == 3:
        return torch.clamp(x, 0.0, 6.0)
    raise ValueError("unsupported fused activation %d" % act)


def conv_sequential(xp, wt, b, stride, dil, groups):
    """Convolution summing the taps one at a time, in the order a plain NHWC
    scalar loop would (kh, kw, then input channel), accumulator in x's dtype,
    bias added last.  Same maths as F.conv2d, different rounding; used only
    to measure how far summation order moves float32 results."""
    n, cin, hp, wp = xp.shape
    cout, cpg, kh, kw = wt.shape
    sh, sw = stride
    dh, dw = dil
    oh = (hp - ((kh - 1) * dh + 1)) // sh + 1
    ow = (wp - ((kw - 1) * dw + 1)) // sw + 1
    acc = torch.zeros((n, cout, oh, ow), dtype=xp.dtype)
    assert groups in (1, cin) and cpg == cin // groups, "only plain and depthwise convs"
    opg = cout // groups
    for i in range(kh):
        for j in range(kw):
            tap = xp[:, :, i * dh: i * dh + (oh - 1) * sh + 1: sh, j * dw: j * dw + (ow - 1) * sw + 1: sw]
            if groups == 1:
                for c in range(cin):
                    acc += wt[:, c, i, j].view(1, cout, 1, 1) * tap[:, c:c + 1]
            else:  # depthwise: output channel k reads input channel k // mult
                src = tap.repeat_interleave(opg, dim=1) if opg > 1 else tap
                acc += wt[:, 0, i, j].view(1, cout, 1, 1) * src
    if b is not None:
        acc += b.view(1, cout, 1, 1)
    return acc


def run_graph(model, x_nhwc, dtype, post=None, sequential=False):
    """Run the graph; return (pre-softmax logits, softmax, per-op records).

    post(tensor_index, y) -> y, if given, rewrites each op output (a hook for
    one-off checks, e.g. simulating activation quantization; unused here).
    sequential=True sums convolutions and pooling windows tap by tap
    (conv_sequential) instead of with torch's kernels."""
    conv = conv_sequential if sequential else (
        lambda xp, wt, b, stride, dil, groups: F.conv2d(xp, wt, b, stride=stride, dilation=dil, groups=groups))
    tens = model["tensors"]
    vals = {model["inputs"][0]: torch.from_numpy(x_nhwc).to(dtype).permute(0, 3, 1, 2)}
    consts = {}

    def const(ti):
        if ti not in consts:
            consts[ti] = torch.from_numpy(dequantize(model, ti)).to(dtype)
        return consts[ti]

    records, logits, probs = [], None, None
    for i, op in enumerate(model["ops"]):
        code, o = op["code"], op_options(op)
        ins = op["inputs"]
        if code in (OP_CONV_2D, OP_DEPTHWISE_CONV_2D):
            x = vals[ins[0]]
            w = const(ins[1])  # conv: [O, kh, kw, I]; depthwise: [1, kh, kw, I*mult]
            b = const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
            kh, kw = w.shape[1], w.shape[2]
            xp, _ = pad_for(x, o["padding"], kh, kw, o["stride_h"], o["stride_w"], o["dil_h"], o["dil_w"])
            if code == OP_CONV_2D:
                wt, groups = w.permute(0, 3, 1, 2).contiguous(), 1
            else:
                cin = x.shape[1]
                if w.shape[3] != cin * o["depth_multiplier"]:
                    raise ValueError("depthwise channels %d != %d*%d" % (w.shape[3], cin, o["depth_multiplier"]))
                # TFLite output channel c*mult + m reads input channel c, which
                # is exactly torch's grouped-conv channel order.
                wt, groups = w.permute(3, 0, 1, 2).contiguous(), cin
            y = conv(xp, wt, b, (o["stride_h"], o["stride_w"]), (o["dil_h"], o["dil_w"]), groups)
            y = activation(y, o["act"])
        elif code == OP_ADD:
            a, c = vals.get(ins[0]), vals.get(ins[1])
            a = a if a is not None else to_nchw(const(ins[0]))
            c = c if c is not None else to_nchw(const(ins[1]))
            y = activation(a + c, o["act"])
        elif code == OP_AVERAGE_POOL_2D:
            x = vals[ins[0]]
            kh, kw, sh, sw = o["filter_h"], o["filter_w"], o["stride_h"], o["stride_w"]
            xp, (l, r, t, btm) = pad_for(x, o["padding"], kh, kw, sh, sw, 1, 1)
            if sequential:
                ones_w = torch.ones((x.shape[1], 1, kh, kw), dtype=dtype)
                s = conv_sequential(xp, ones_w, None, (sh, sw), (1, 1), x.shape[1])
            else:
                s = F.avg_pool2d(xp, (kh, kw), (sh, sw)) * (kh * kw)
            # TFLite SAME pooling averages over the in-image taps only.
            ones = F.pad(torch.ones((1, 1) + tuple(x.shape[2:]), dtype=dtype), (l, r, t, btm))
            cnt = F.avg_pool2d(ones, (kh, kw), (sh, sw)) * (kh * kw)
            y = activation(s / cnt, o["act"])
        elif code == OP_RESHAPE:
            x = vals[ins[0]]
            shape = tens[op["outputs"][0]]["shape"]
            if o["new_shape"] and list(o["new_shape"]) != list(shape) and -1 not in o["new_shape"]:
                raise ValueError("reshape new_shape %s != output shape %s" % (o["new_shape"], shape))
            y = to_nchw(to_nhwc(x).reshape(shape))
        elif code == OP_SOFTMAX:
            x = to_nhwc(vals[ins[0]])
            logits = x.reshape(-1)
            y = to_nchw(torch.softmax(x * o["beta"], dim=-1))
            probs = y.reshape(-1)
        else:
            raise ValueError("unsupported op %d" % code)
        out = op["outputs"][0]
        nhwc = to_nhwc(y)
        declared = tens[out]["shape"]
        if list(nhwc.shape) != list(declared):
            raise ValueError("op %d (%s): computed shape %s, tensor %s declares %s"
                             % (i, OP_NAMES.get(code), list(nhwc.shape), tens[out]["name"], declared))
        if post is not None:
            y = post(out, y)
        vals[out] = y
        records.append(dict(op_index=i, op=OP_NAMES[code], tensor=tens[out]["name"], nhwc=nhwc))
    if logits is None:
        raise ValueError("no SOFTMAX op")
    return logits, probs, records


def to_nhwc(x):
    return x.permute(0, 2, 3, 1) if x.dim() == 4 else x


def to_nchw(x):
    return x.permute(0, 3, 1, 2) if x.dim() == 4 else x


# --------------------------------------------------------------------------
# Photo decoding and preprocessing.
# --------------------------------------------------------------------------
def read_bmp(path):
    """24-bit uncompressed BMP -> uint8 array [H, W, 3] in RGB order, top row first."""
    d = open(path, "rb").read()
    if len(d) < 54 or d[:2] != b"BM":
        raise ValueError("%s: not a BMP" % path)
    data_off = struct.unpack_from("<I", d, 10)[0]
    hdr_size, w, h, planes, bpp, comp = struct.unpack_from("<IiiHHI", d, 14)
    if hdr_size < 40 or bpp != 24 or comp != 0 or w <= 0 or h == 0:
        raise ValueError("%s: only 24-bit BI_RGB BMP supported (bpp %d, compression %d)" % (path, bpp, comp))
    bottom_up = h > 0
    h = abs(h)
    stride = (w * 3 + 3) // 4 * 4  # rows are padded to a multiple of 4 bytes
    if data_off + stride * h > len(d):
        raise ValueError("%s: truncated pixel data" % path)
    rows = np.frombuffer(d, np.uint8, stride * h, data_off).reshape(h, stride)[:, :w * 3]
    img = rows.reshape(h, w, 3)[:, :, ::-1]  # BGR -> RGB
    if bottom_up:
        img = img[::-1]
    return np.array(img, copy=True)  # contiguous and writable


def resize_bilinear_explicit(img, oh, ow):
    """Half-pixel-centre bilinear resize written out in float64 numpy.

    src = (dst + 0.5) * (in / out) - 0.5, clamped below at 0; the two taps are
    floor(src) and floor(src) + 1 (clamped to in - 1), weighted by the
    fractional part.  Used only to cross-check torch.interpolate.
    """
    def axis(n_in, n_out):
        src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
        i0 = np.floor(src).astype(np.int64)
        i0 = np.minimum(i0, n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0
    y0, y1, fy = axis(img.shape[0], oh)
    x0, x1, fx = axis(img.shape[1], ow)
    im = img.astype(np.float64)
    top = im[y0][:, x0] * (1 - fx)[None, :, None] + im[y0][:, x1] * fx[None, :, None]
    bot = im[y1][:, x0] * (1 - fx)[None, :, None] + im[y1][:, x1] * fx[None, :, None]
    return top * (1 - fy)[:, None, None] + bot * fy[:, None, None]


def preprocess(img, model, dtype):
    """Photo [H,W,3] uint8 -> model input [1,h,w,3] numpy float, in `dtype`."""
    t = model["tensors"][model["inputs"][0]]
    _, ih, iw, ic = t["shape"]
    assert ic == 3
    p = torch.from_numpy(img).to(dtype).permute(2, 0, 1)[None]
    r = F.interpolate(p, size=(ih, iw), mode="bilinear", align_corners=False, antialias=False)
    r = r[0].permute(1, 2, 0)
    s, z = t["scale"][0], t["zero_point"][0]
    x = (r - z) * s
    return x[None].numpy(), (s, z, ih, iw)


# --------------------------------------------------------------------------
def rnd(v, digits=SIG_DIGITS):
    v = float(v)
    if v == 0.0 or not math.isfinite(v):
        return v
    return float("%.*g" % (digits, v))


# Sanity expectations (reader bugs show up here first): each photo's top-1
# with the two stronger models, and at least a top-5 hit with the weak
# MobileNet v1 0.25 (about 40% ImageNet top-1).
EXPECTED = {
    "cat.bmp": {"Egyptian cat", "tabby, tabby cat", "tiger cat"},
    "grace_hopper.bmp": {"military uniform"},
    "dragonfly.bmp": {"dragonfly, darning needle, devil's darning needle, sewing needle, "
                      "snake feeder, snake doctor, mosquito hawk, skeeter hawk"},
}
WEAK_MODELS = {"mobilenet_v1_0.25_128_quant.tflite"}


def check_bias_scales(model):
    """TFLite requires bias scale = input scale * weight scale; a reader that
    wires the wrong tensors or misreads quantization fails this."""
    worst = 0.0
    for op in model["ops"]:
        if op["code"] in (OP_CONV_2D, OP_DEPTHWISE_CONV_2D) and len(op["inputs"]) > 2:
            t = [model["tensors"][i] for i in op["inputs"][:3]]
            want = t[0]["scale"][0] * np.asarray(t[1]["scale"], np.float64)
            worst = max(worst, float(np.max(np.abs(np.asarray(t[2]["scale"]) / want - 1))))
    if worst > 1e-5:
        raise ValueError("bias scale != input scale * weight scale (rel. error %g)" % worst)
    return worst


def layer_stats(records, picks):
    out = []
    for k in picks:
        r = records[k]
        v = r["nhwc"].reshape(-1).double()
        out.append(dict(op_index=r["op_index"], op=r["op"], tensor=r["tensor"],
                        shape=list(r["nhwc"].shape), mean=float(v.mean()),
                        mean_abs=float(v.abs().mean()), max_abs=float(v.abs().max()),
                        first8=v[:8].tolist()))
    return out


def compare(l64, s64, l32, s32):
    """Differences of a float32 run from the float64 golden run."""
    d = np.abs(l32 - l64)
    maxlog = float(np.abs(l64).max())
    la, lr = 0.0, 0.0
    for a, b in zip(s64, s32):
        diffs = [abs(a["mean"] - b["mean"]), abs(a["mean_abs"] - b["mean_abs"]),
                 abs(a["max_abs"] - b["max_abs"])]
        diffs += [abs(x - y) for x, y in zip(a["first8"], b["first8"])]
        la = max(la, max(diffs))
        lr = max(lr, max(diffs) / max(a["max_abs"], 1e-30))
    return dict(logits_max_abs_diff=rnd(d.max(), 3), logits_rms_diff=rnd(np.sqrt((d ** 2).mean()), 3),
                logits_max_abs_diff_over_max_abs_logit=rnd(d.max() / maxlog, 3),
                layers_max_abs_diff=rnd(la, 3), layers_max_diff_over_layer_max_abs=rnd(lr, 3))


def main():
    torch.set_num_threads(1)  # 2 shared cores; single-threaded is deterministic too
    labels = [l.rstrip("\n") for l in open(os.path.join(MODELS_DIR, "imagenet_labels.txt"))]
    if len(labels) != 1001:
        raise ValueError("expected 1001 labels, got %d" % len(labels))
    bmps = sorted(f for f in os.listdir(IMAGES_DIR) if f.lower().endswith(".bmp"))
    photos = {f: read_bmp(os.path.join(IMAGES_DIR, f)) for f in bmps}
    os.makedirs(OUT_DIR, exist_ok=True)
    failures = []
    for model_file, photo in MODELS:
        path = os.path.join(MODELS_DIR, model_file)
        buf = open(path, "rb").read()
        model = parse_model(buf)
        check_bias_scales(model)
        img = photos[photo]

        x64, (s, z, ih, iw) = preprocess(img, model, torch.float64)
        # Cross-check torch's resize against the explicit formula.
        explicit = (resize_bilinear_explicit(img, ih, iw) - z) * s
        resize_err = float(np.abs(explicit - x64[0]).max())
        if resize_err > 1e-9:
            raise ValueError("torch resize differs from the explicit formula by %g" % resize_err)

        logits, probs, records = run_graph(model, x64, torch.float64)
        n = len(records)
        picks = sorted(set(range(0, n, 5)) | set(range(max(0, n - 4), n)))
        l64, s64 = logits.numpy(), layer_stats(records, picks)

        # float32 variants, for the tolerance (see tests/golden/README.md):
        x32, _ = preprocess(img, model, torch.float32)
        variants = {}
        for name, xin, seq in (
                ("torch_float32", x32, False),  # torch kernels, float32 resize too
                ("sequential_float32", x32, True),  # plain tap-by-tap sums, float32
                ("torch_float32_on_float64_input", x64.astype(np.float32), False)):
            lg, _, rec = run_graph(model, xin, torch.float32, sequential=seq)
            variants[name] = compare(l64, s64, lg.double().numpy(), layer_stats(rec, picks))
        # The tap-by-tap float64 run is an independent convolution: it must agree.
        lseq, _, _ = run_graph(model, x64, torch.float64, sequential=True)
        seq64 = float((lseq - logits).abs().max())
        if seq64 > 1e-9:
            raise ValueError("tap-by-tap convolution differs from torch by %g" % seq64)

        p = probs.numpy()
        top5 = [dict(index=int(k), probability=rnd(p[k], 6), label=labels[k])
                for k in np.argsort(-p, kind="stable")[:5]]

        others = {}
        for f in bmps:
            xo, _ = preprocess(photos[f], model, torch.float64)
            _, po, _ = run_graph(model, xo, torch.float64)
            po = po.numpy()
            order = np.argsort(-po, kind="stable")
            others[f] = dict(index=int(order[0]), probability=rnd(po[order[0]], 6), label=labels[order[0]])
            if f in EXPECTED:
                hits = [labels[k] in EXPECTED[f] for k in order[:5]]
                ok = any(hits) if model_file in WEAK_MODELS else hits[0]
                if not ok:
                    failures.append("%s on %s: top-1 %s" % (model_file, f, labels[order[0]]))

        layers = [dict(l, mean=rnd(l["mean"]), mean_abs=rnd(l["mean_abs"]), max_abs=rnd(l["max_abs"]),
                       first8=[rnd(a) for a in l["first8"]]) for l in s64]
        out = dict(
            model=model_file,
            model_sha256=hashlib.sha256(buf).hexdigest(),
            photo=photo,
            photo_size_hw=list(img.shape[:2]),
            input_size_hw=[ih, iw],
            input_quantization=dict(scale=s, zero_point=z),
            preprocessing=(
                "BMP 24-bit decoded to RGB uint8 (bottom-up rows, BGR, rows padded to 4 bytes); "
                "converted to float 0..255; resized to %dx%d (HxW, aspect ratio not kept, no crop) "
                "with bilinear interpolation, half-pixel centres (src = (dst+0.5)*in/out - 0.5, "
                "clamped below at 0; taps floor(src) and floor(src)+1, clamped to in-1), no "
                "antialiasing (torch interpolate align_corners=False, antialias=False); then "
                "x = %r*(p - %d) per channel, no rounding to uint8." % (ih, iw, s, z)),
            computation=("float64 execution of dequantized weights (uint8: scale*(q-zero_point); "
                         "int32 bias: bias scale*q); activation quantization ignored; "
                         "values rounded to %d significant digits." % SIG_DIGITS),
            num_ops=n,
            logits_are="input of the final SOFTMAX op, %d values" % len(l64),
            logits=[rnd(a) for a in l64.tolist()],
            top5=top5,
            layers_note=("output of ops 0,5,10,... and the last 4; shape NHWC; mean, mean of abs, "
                         "max of abs over the whole tensor; first8 = first 8 values in NHWC order"),
            layers=layers,
            float32_vs_float64=variants,
            top1_all_bmp_photos=others,
        )
        dst = os.path.join(OUT_DIR, os.path.splitext(model_file)[0] + ".json")
        with open(dst, "w") as fh:
            json.dump(out, fh, indent=1)
            fh.write("\n")
        print("%s (%s): %d ops -> %s" % (model_file, photo, n, os.path.relpath(dst, REPO)))
        for t in top5:
            print("   %4d  %.5f  %s" % (t["index"], t["probability"], t["label"]))
        for name, v in variants.items():
            print("   %-31s %s" % (name, v))
        print("   top-1 of all .bmp:", {f: v["label"].split(",")[0] for f, v in others.items()})
        sys.stdout.flush()
    if failures:
        print("SANITY FAILED (reader bug?):\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
