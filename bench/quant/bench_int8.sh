#!/usr/bin/env bash
# Int8 latency and size: ResNet-18, MobileNetV2 and the Fashion-MNIST CNN quantized by
# `nnaccel quantize`, timed in one run (rounds alternating the engines, medians) at batch 1 and 32
# on 2 threads: nnaccel fp32, nnaccel int8, and ONNX Runtime 1.30 on the same fp32 file and on the
# same exported QDQ file. Targets (issue 10): int8/fp32 <= 0.60 at batch 1 and <= 0.40 at batch 32,
# nnaccel int8 faster than ORT int8. Also file and weight sizes, `nnaccel compare` on held-out
# inputs and the CNN's Fashion-MNIST top-1 accuracy, fp32 and int8. Method: bench_int8.py's header.
# Writes the "Int8: latency and size" section of bench/RESULTS.md (below bench_peers.py's marker).
#
#   bench/quant/bench_int8.sh [--nnaccel PATH] [--threads T] [--rounds R] [--max-seconds S]
#                             [--fashion MODEL] [--only resnet18,mobilenet_v2,fashion,transformer]
#                             [--ocr] [--out FILE] [--no-results] [-- QUANTIZE_ARGS...]
#
# --ocr: also PP-OCRv4 det/rec and v2 cls at batch 1, on the int8 files bench/quant/ocr_quant.sh
# made (run it first).
#
# Setup as bench/peers/compare.sh (the network once, then bench/peers/.cache/; scripts/deps.sh
# --peers). Work files go to bench/quant/.cache/. About 10 minutes on 2 busy cores with 3 rounds.
set -euo pipefail
quant=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$quant/../.." && pwd)
nnaccel=$root/build/tools/nnaccel/nnaccel
py=/usr/bin/python3   # Debian's PyTorch (the model export) is installed for this interpreter only
results=$root/bench/RESULTS.md
command="bench/quant/bench_int8.sh${*:+ $(printf '%q ' "$@")}"
command=${command% }

args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nnaccel) nnaccel=$(realpath "$2"); shift 2 ;;
    --fashion) args+=("$1" "$(realpath "$2")"); shift 2 ;;
    --threads|--rounds|--max-seconds|--only) args+=("$1" "$2"); shift 2 ;;
    --ocr) args+=("$1"); shift ;;
    --out) results=$(realpath -m "$2"); shift 2 ;;
    --no-results) results=""; shift ;;
    --) break ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench_int8.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

here=$root/bench/peers
cache=$here/.cache
# shellcheck source-path=SCRIPTDIR source=../peers/setup.sh
source "$here/setup.sh"
peers_setup bench_int8.sh

cd "$quant"
"$py" bench_int8.py "$cache" "$quant/.cache" "$nnaccel" --command "$command" \
  ${results:+--results "$results"} "${args[@]}" "$@"
