#!/usr/bin/env bash
# nnaccel's demo on its built-in default model: installs what is missing, builds, then describes
# models/tiny_cnn.onnx (a small Fashion-MNIST classifier) and runs it on 8 shipped test images,
# comparing the predictions with the true labels and the logits with PyTorch's.
#
#   scripts/demo.sh            outputs go to out/demo/
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/deps.sh
scripts/build.sh build
nnaccel=build/tools/nnaccel/nnaccel
out=out/demo

echo
echo "== nnaccel inspect models/tiny_cnn.onnx"
"$nnaccel" inspect models/tiny_cnn.onnx
echo
echo "== nnaccel run models/tiny_cnn.onnx on models/tiny_cnn_input.npy (8 Fashion-MNIST test images)"
"$nnaccel" run models/tiny_cnn.onnx --input image=models/tiny_cnn_input.npy --out "$out"
echo
/usr/bin/python3 - "$out/logits.npy" <<'PY'
import sys
import numpy as np
classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]
logits = np.load(sys.argv[1])
labels = np.load("models/tiny_cnn_labels.npy")
expected = np.load("models/tiny_cnn_expected.npy")
pred = logits.argmax(1)
for i, (p, t) in enumerate(zip(pred, labels)):
    print(f"image {i}: predicted {classes[p]:12s} true {classes[t]:12s} {'ok' if p == t else 'WRONG'}")
print(f"{int((pred == labels).sum())} of {len(labels)} correct")
diff = float(np.abs(logits - expected).max())
rel = float(np.linalg.norm(logits - expected) / np.linalg.norm(expected))
print(f"logits vs PyTorch: max abs diff {diff:.3g}, rel L2 {rel:.3g}")
sys.exit(0 if rel <= 1e-4 else 1)
PY
