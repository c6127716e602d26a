#!/usr/bin/env bash
# Side-by-side latency of nnaccel, ONNX Runtime (onnxruntime-node 1.30.0) and Debian's PyTorch
# 1.13 on seven real models (ResNet-18, MobileNetV2, a TransformerEncoder, PP-OCRv4 det/rec, PP-OCR
# v2 cls, Silero VAD) at batch 1 and a large batch; writes the table to bench/RESULTS.md. Method:
# bench_peers.py's header. About 10 minutes on 2 idle cores (16 under load average 9, most of it in the per-case time caps).
#
#   bench/peers/bench_peers.sh [--nnaccel PATH] [--threads T] [--rounds R] [--max-seconds S]
#                              [--only MODEL,...] [--note TEXT] [--out FILE]
#   bench/peers/bench_peers.sh --fast-vs-reference [--min-speedup X]
#       ResNet-18 batch 1, `nnaccel bench` against `nnaccel bench --reference`; exit status 1
#       below X (default 10)
#
# Setup as compare.sh (the network once, then bench/peers/.cache/; scripts/deps.sh --peers).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=$here/.cache
nnaccel=$root/build/tools/nnaccel/nnaccel
py=/usr/bin/python3   # Debian's PyTorch is installed for this interpreter only
results=$root/bench/RESULTS.md
command="bench/peers/bench_peers.sh${*:+ $(printf '%q ' "$@")}"
command=${command% }

args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nnaccel) nnaccel=$(realpath "$2"); shift 2 ;;
    --out) results=$(realpath -m "$2"); shift 2 ;;
    --threads|--rounds|--max-seconds|--only|--note|--min-speedup) args+=("$1" "$2"); shift 2 ;;
    --fast-vs-reference) args+=("$1"); shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bench_peers.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

# shellcheck source=setup.sh
source "$here/setup.sh"
peers_setup bench_peers.sh

cd "$here"
"$py" bench_peers.py "$cache" "$nnaccel" "$results" --command "$command" "${args[@]}"
