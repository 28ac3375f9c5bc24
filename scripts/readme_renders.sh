#!/usr/bin/env bash
# readme_renders.sh — makes the renders shown in README.md with the CLI (each
# writes its PNG and its manifest under docs/renders/). Run after npm run build.
set -euo pipefail
cd "$(dirname "$0")/.."
fv() { node bin/featviz.mjs render "$@"; }
out=docs/renders
models="${FEATVIZ_MODELS:-models}"
# GoogLeNet (the page's default, the Distill articles' network): channels from early to late
g="$models/googlenet_bvlc_int8.onnx"
fv "$g" --layer conv2/3x3           --channel 31  --out $out/googlenet-conv2-c31.png
fv "$g" --layer inception_3b/output --channel 208 --out $out/googlenet-3b-c208.png
fv "$g" --layer inception_4a/output --channel 476 --out $out/googlenet-4a-c476.png
fv "$g" --layer inception_4c/output --channel 97  --out $out/googlenet-4c-c97.png
fv "$g" --layer inception_4e/output --channel 330 --out $out/googlenet-4e-c330.png
fv "$g" --layer inception_4c/output --channel 97  --batch 4 --diversity 100 --out $out/googlenet-diversity-4c-c97.png
fv "$g" --objective class --class macaw --size 224 --out $out/googlenet-class-macaw.png
# MobileNet v2 (TFLite)
m="$models/mobilenet_v2_1.0_224_quant.tflite"
fv "$m" --layer MobilenetV2/expanded_conv_2/add  --channel 5  --out $out/early-conv2-c5.png
fv "$m" --layer MobilenetV2/expanded_conv_5/add  --channel 20 --out $out/mid-conv5-c20.png
fv "$m" --layer MobilenetV2/expanded_conv_8/add  --channel 12 --out $out/mid-conv8-c12.png
fv "$m" --layer MobilenetV2/expanded_conv_12/add --channel 40 --out $out/late-conv12-c40.png
fv "$m" --layer MobilenetV2/expanded_conv_15/add --channel 7  --out $out/late-conv15-c7.png
fv "$m" --layer MobilenetV2/expanded_conv_8/add  --channel 12 --batch 4 --diversity 100 --out $out/diversity-conv8-c12.png
fv "$m" --objective class --class macaw --size 224 --out $out/class-macaw.png
# the learned patch prior (models/prior-store.bin, made by setup.sh from the store's photos) at three weights
for w in 1 4 16; do
  fv "$m" --layer MobilenetV2/expanded_conv_8/add --channel 12 --prior-weight $w --out $out/prior-w$w-conv8-c12.png
done
# issue 12's parameterizations: an RGBA render, a CPPN drawn again at 256 px, a Laplacian pyramid, an aligned interpolation
fv "$m" --layer MobilenetV2/expanded_conv_8/add  --channel 12 --alpha --out $out/alpha-conv8-c12.png
fv "$m" --layer MobilenetV2/expanded_conv_8/add  --channel 12 --param cppn --size 96 --steps 384 --cppn-size 256 --out $out/cppn-conv8-c12.png
fv "$m" --layer MobilenetV2/expanded_conv_8/add  --channel 12 --param laplacian --out $out/laplacian-conv8-c12.png
fv "$m" --layer MobilenetV2/expanded_conv_8/add  --channel 12 --interpolate MobilenetV2/expanded_conv_8/add:40 --batch 6 --size 96 \
   --out $out/interpolate-conv8-c12-c40.png
