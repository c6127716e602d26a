#!/usr/bin/env bash
# nnaccel's demo on its built-in default model: installs what is missing, builds, then takes
# models/fashion_mnist_cnn.onnx (a residual CNN trained by `nnaccel train`, 93.47% on the
# Fashion-MNIST test set), quantizes it to int8 (static, calibrated on 1,024 training images), and
# evaluates both on the 10,000 test images: accuracy, file and weight bytes, and latency side by
# side (the int8 model runs on integer kernels).
#
#   scripts/demo.sh            outputs go to out/demo/
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/deps.sh
scripts/build.sh build
nnaccel=build/tools/nnaccel/nnaccel
out=out/demo
model=models/fashion_mnist_cnn.onnx
mkdir -p "$out"

echo
echo "== nnaccel inspect $model"
"$nnaccel" inspect "$model"
echo
echo "== nnaccel quantize $model --calib fashion-mnist --out $out/fashion_mnist_cnn_int8.onnx"
"$nnaccel" quantize "$model" --calib fashion-mnist --calib-size 1024 \
  --out "$out/fashion_mnist_cnn_int8.onnx"
echo
echo "== nnaccel compare (A: fp32, B: int8) on the 10,000 Fashion-MNIST test images"
"$nnaccel" compare "$model" "$out/fashion_mnist_cnn_int8.onnx" --data fashion-mnist --batch 32
