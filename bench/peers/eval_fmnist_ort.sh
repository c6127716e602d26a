#!/usr/bin/env bash
# Top-1 accuracy of a Fashion-MNIST classifier (float or QDQ ONNX) on the 10,000 test images of
# Debian's dataset-fashion-mnist, in onnxruntime-node 1.30 and in nnaccel, side by side: the check
# that a model gives the same accuracy in both runtimes.
#
#   bench/peers/eval_fmnist_ort.sh MODEL.onnx [--nnaccel PATH]
#
# Needs what compare.sh needs (scripts/deps.sh --peers; npm once, cached in bench/peers/.cache).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=$here/.cache
nnaccel=$root/build/tools/nnaccel/nnaccel
py=/usr/bin/python3
model=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nnaccel) nnaccel=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    -*) echo "eval_fmnist_ort.sh: unknown argument '$1'" >&2; exit 2 ;;
    *) model=$(realpath "$1"); shift ;;
  esac
done
[[ -n $model && -f $model ]] || { echo "eval_fmnist_ort.sh: give a model file" >&2; exit 2; }

# shellcheck source=setup.sh
source "$here/setup.sh"
peers_setup eval_fmnist_ort.sh

data=$cache/fmnist
if [[ ! -f $data/labels.npy ]]; then
  mkdir -p "$data"
  "$py" - "$data" <<'PY'
import gzip, sys
import numpy as np
d = "/usr/share/datasets/fashion-mnist/"
with gzip.open(d + "t10k-images-idx3-ubyte.gz") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
with gzip.open(d + "t10k-labels-idx1-ubyte.gz") as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
np.save(sys.argv[1] + "/images.npy", (images / 255.0).astype(np.float32))
np.save(sys.argv[1] + "/labels.npy", labels)
PY
fi
printf 'onnxruntime 1.30: '
node "$here/eval_fmnist_ort.js" "$cache" "$model" "$data/images.npy" "$data/labels.npy"
printf 'nnaccel:          '
"$nnaccel" eval "$model" --data fashion-mnist
