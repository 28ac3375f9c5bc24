#!/usr/bin/python3
"""torchvision_models.py — torchvision's classification architectures as ONNX,
with seeded random weights, and PyTorch's logits for them.

    scripts/torchvision_models.py export OUT_DIR          the models and their input images (cached)
    scripts/torchvision_models.py golden OUT_DIR GOLDEN   also PyTorch's logits, written to GOLDEN
    scripts/torchvision_models.py refusals OUT_DIR        the heavy architectures the test leaves out

For each architecture of ARCHS: torch.manual_seed(seed), the model with
random weights (pretrained ones cannot be downloaded here) whose
BatchNormalization running statistics and affine parameters are randomized
too, exported with torch.onnx.export at a small input size and the opset
given (some with training=PRESERVE, which keeps BatchNormalization nodes for
the loader to fold), next to OUT_DIR/ARCH.bmp, a seeded noise photo at that
size, and OUT_DIR/ARCH.json (size, opset, a checksum of the weights). The
logits in GOLDEN are PyTorch's for that photo under torchvision's ImageNet
normalization; tests/torchvision.test.mjs runs featviz on the same files and
compares logit for logit. PyTorch is a test-time tool only (Debian's
python3-torch 1.13 and python3-torchvision 0.14; scripts/setup.sh installs
them); the engine never needs it.

A model already in OUT_DIR with a sidecar from this script's version is kept,
so a second run costs only the import of torch.
"""
import hashlib
import io
import json
import os
import struct
import sys
import warnings

# (architecture, input size, opset, keep BatchNormalization nodes, constructor arguments)
ARCHS = [
    ("alexnet", 224, 13, False, {}),
    ("densenet121", 64, 14, False, {}),
    ("efficientnet_b0", 64, 13, False, {}),
    ("efficientnet_v2_s", 64, 17, False, {}),
    ("googlenet", 64, 11, False, {"aux_logits": False, "init_weights": True}),
    ("inception_v3", 96, 12, False, {"aux_logits": False, "init_weights": True}),
    ("mnasnet0_5", 64, 11, False, {}),
    ("mobilenet_v2", 64, 11, False, {}),
    ("mobilenet_v3_large", 64, 13, False, {}),
    ("mobilenet_v3_small", 64, 14, False, {}),
    ("regnet_x_400mf", 64, 15, False, {}),
    ("regnet_y_400mf", 64, 16, True, {}),
    ("resnet18", 64, 13, True, {}),
    ("resnext50_32x4d", 64, 14, False, {}),
    ("shufflenet_v2_x0_5", 64, 13, False, {}),
    ("shufflenet_v2_x1_0", 64, 11, True, {}),
    ("squeezenet1_0", 64, 12, False, {}),
    ("squeezenet1_1", 64, 17, False, {}),
]
# Architectures featviz refuses (ops it does not run): checked in the test for
# the message naming the op.
REFUSED = [
    ("convnext_tiny", 64, 14, False, {}),
]
# Too large for the test's time (0.1–0.5 GB of random weights each); `refusals`
# runs them once and prints what featviz says (recorded in tests/golden/README.md).
HEAVY = [
    ("vgg11", 224, 13, False, {}),
    ("wide_resnet50_2", 64, 13, False, {}),
    ("resnet50", 64, 17, False, {}),
    ("vit_b_16", 224, 14, False, {}),
    ("swin_t", 224, 14, False, {}),
    ("maxvit_t", 224, 14, False, {}),
]
VERSION = 1  # bump when the export changes, to invalidate cached models
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def seed_of(arch):
    return int.from_bytes(hashlib.sha256(arch.encode()).digest()[:4], "little") & 0x7FFFFFFF


def noise_image(arch, size):
    """A seeded photo: smooth colour gradients plus noise, as rows of RGB bytes."""
    import numpy as np

    rng = np.random.RandomState(seed_of(arch))
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
    base = np.stack([128 + 90 * np.sin(6 * x + 1), 128 + 90 * np.cos(5 * y), 128 + 90 * np.sin(4 * (x + y))], -1)
    img = np.clip(base + rng.normal(0, 30, (size, size, 3)), 0, 255).astype(np.uint8)
    return img


def write_bmp(path, img):
    """24-bit bottom-up BMP (BGR rows padded to 4 bytes): what stb_image reads."""
    h, w, _ = img.shape
    row = (3 * w + 3) & ~3
    data = bytearray()
    for r in range(h - 1, -1, -1):
        line = img[r, :, ::-1].tobytes()
        data += line + b"\0" * (row - len(line))
    header = b"BM" + struct.pack("<IHHI", 54 + len(data), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    with open(path, "wb") as f:
        f.write(header + info + data)


def build(arch, kwargs):
    import torch
    from torchvision import models

    torch.manual_seed(seed_of(arch))
    m = models.get_model(arch, weights=None, **kwargs)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.running_mean.normal_(0, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0, 0.2)
    return m.eval()


def weights_sum(m):
    return float(sum(t.double().sum() for t in m.state_dict().values() if t.is_floating_point()))


def export(out, arch, size, opset, keep_bn, kwargs, force=False):
    """Writes OUT/ARCH.onnx, .bmp, .json unless current; returns (model or None, meta)."""
    import torch

    meta_path = os.path.join(out, arch + ".json")
    if not force and os.path.exists(meta_path) and os.path.exists(os.path.join(out, arch + ".onnx")):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("version") == VERSION:
            return None, meta
    m = build(arch, kwargs)
    x = torch.zeros(1, 3, size, size)
    buf = io.BytesIO()
    mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, x, buf, opset_version=opset, training=mode, input_names=["image"], output_names=["logits"])
    img = noise_image(arch, size)
    write_bmp(os.path.join(out, arch + ".bmp"), img)
    tmp = os.path.join(out, arch + ".onnx.tmp")
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, os.path.join(out, arch + ".onnx"))
    meta = {"version": VERSION, "arch": arch, "size": size, "opset": opset, "keep_bn": keep_bn,
            "weights_sum": weights_sum(m), "image_sha256": hashlib.sha256(img.tobytes()).hexdigest()}
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    return m, meta


def logits_of(m, arch, size):
    import numpy as np
    import torch

    img = noise_image(arch, size).astype(np.float32) / 255.0
    x = (img - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    x = torch.from_numpy(x.transpose(2, 0, 1)[None].copy())
    with torch.no_grad():
        return m(x)[0].double().tolist()


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("export", "golden", "refusals"):
        sys.exit(__doc__)
    cmd, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    if cmd == "export":
        for a in ARCHS + REFUSED:
            export(out, *a)
        return
    if cmd == "refusals":
        for a in HEAVY:
            export(out, *a)
            print(a[0], file=sys.stderr)
        return
    import torch
    import torchvision

    golden = {"torch": torch.__version__, "torchvision": torchvision.__version__, "normalization": {"mean": MEAN, "std": STD},
              "models": {}, "refused": [a[0] for a in REFUSED]}
    for arch, size, opset, keep_bn, kwargs in ARCHS:
        m, meta = export(out, arch, size, opset, keep_bn, kwargs, force=True)
        logits = logits_of(m, arch, size)
        golden["models"][arch] = {**{k: meta[k] for k in ("size", "opset", "keep_bn", "weights_sum", "image_sha256")},
                                  "logits": [float("%.7g" % v) for v in logits]}
        print(arch, "top", max(range(len(logits)), key=logits.__getitem__), file=sys.stderr)
    for a in REFUSED:
        export(out, *a)
    with open(sys.argv[3], "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
