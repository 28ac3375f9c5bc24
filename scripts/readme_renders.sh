#!/usr/bin/env bash
# readme_renders.sh — makes the renders shown in README.md with the CLI (each
# writes its PNG and its manifest under docs/renders/). Run after npm run build.
set -euo pipefail
cd "$(dirname "$0")/.."
fv() { node bin/featviz.mjs render "$@"; }
out=docs/renders
fv --layer MobilenetV2/expanded_conv_2/add  --channel 5  --out $out/early-conv2-c5.png
fv --layer MobilenetV2/expanded_conv_5/add  --channel 20 --out $out/mid-conv5-c20.png
fv --layer MobilenetV2/expanded_conv_8/add  --channel 12 --out $out/mid-conv8-c12.png
fv --layer MobilenetV2/expanded_conv_12/add --channel 40 --out $out/late-conv12-c40.png
fv --layer MobilenetV2/expanded_conv_15/add --channel 7  --out $out/late-conv15-c7.png
fv --layer MobilenetV2/expanded_conv_8/add  --channel 12 --batch 4 --diversity 100 --out $out/diversity-conv8-c12.png
fv --objective class --class macaw --size 224 --out $out/class-macaw.png
# issue 12's parameterizations: an RGBA render, a CPPN drawn again at 256 px, a Laplacian pyramid, an aligned interpolation
fv --layer MobilenetV2/expanded_conv_8/add  --channel 12 --alpha --out $out/alpha-conv8-c12.png
fv --layer MobilenetV2/expanded_conv_8/add  --channel 12 --param cppn --size 96 --steps 384 --cppn-size 256 --out $out/cppn-conv8-c12.png
fv --layer MobilenetV2/expanded_conv_8/add  --channel 12 --param laplacian --out $out/laplacian-conv8-c12.png
fv --layer MobilenetV2/expanded_conv_8/add  --channel 12 --interpolate MobilenetV2/expanded_conv_8/add:40 --batch 6 --size 96 \
   --out $out/interpolate-conv8-c12-c40.png
