#!/usr/bin/env bash
# Static int8 quantization of the PaddleOCR models (PP-OCRv4 det and rec, PP-OCR v2 direction cls)
# with `nnaccel quantize`, calibrated on text-line and page images rendered here
# (bench/quant/render_ocr.py), scored against fp32 on held-out images never used for calibration:
# output SQNR, cosine, argmax agreement (rec: per time step, target >= 99%), CTC-decoded text and
# rotation accuracy, det text-mask agreement; plus `nnaccel compare`'s report. Writes the
# "Int8: PaddleOCR accuracy" section of bench/RESULTS.md (below bench_peers.py's marker).
#
#   bench/quant/ocr_quant.sh [--nnaccel PATH] [--only rec,cls,det] [--out FILE] [--no-results]
#                            [-- QUANTIZE_ARGS...]     default: ocr_quant.py DEFAULT_ARGS
#
# The models come from bench/peers/ (fetched once into bench/peers/.cache/, which needs the network
# the first time); images, int8 models and outputs go to bench/quant/.cache/ (gitignored). Needs
# /usr/bin/python3 with numpy, onnx and PIL, and the DejaVu and Noto CJK fonts: scripts/deps.sh
# --peers installs them. A few minutes on 2 cores (det calibration dominates). Exit status 1 when a
# model could not be quantized or run.
set -euo pipefail
quant=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$quant/../.." && pwd)
nnaccel=$root/build/tools/nnaccel/nnaccel
py=/usr/bin/python3
results=$root/bench/RESULTS.md
command="bench/quant/ocr_quant.sh${*:+ $(printf '%q ' "$@")}"
command=${command% }

args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nnaccel) nnaccel=$(realpath "$2"); shift 2 ;;
    --only) args+=("$1" "$2"); shift 2 ;;
    --out) results=$(realpath -m "$2"); shift 2 ;;
    --no-results) results=""; shift ;;
    --) break ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "ocr_quant.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

# bench/peers/setup.sh fetches the OCR models (and ONNX Runtime, used by bench_int8.sh).
here=$root/bench/peers
cache=$here/.cache
# shellcheck source-path=SCRIPTDIR source=../peers/setup.sh
source "$here/setup.sh"
peers_setup ocr_quant.sh

work=$quant/.cache
"$py" "$quant/render_ocr.py" "$work/data" \
  --dict "$cache/pkg/ocr-models/assets/ppocr_keys_v1.txt"
cd "$quant"
"$py" ocr_quant.py "$cache" "$work" "$nnaccel" --command "$command" \
  ${results:+--results "$results"} "${args[@]}" "$@"
