#!/bin/bash
# Runs the nnaccel CLI on every malformed model of the bad-input corpus and checks the contract
# for bad input: exit status 2, exactly one line on stderr, and no output file left behind.
# Usage: tests/bad_input/run_cli.sh path/to/nnaccel
set -u
nnaccel=${1:?usage: run_cli.sh path/to/nnaccel}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! /usr/bin/python3 "$here/make_bad_models.py" "$work/corpus" >/dev/null; then
  echo "run_cli.sh: could not generate the corpus (needs /usr/bin/python3 with onnx)" >&2
  exit 1
fi

failures=0
checked=0
# expect NAME OUTDIR COMMAND...: runs the command with a time limit and checks the contract
# (OUTDIR, when given, must hold no files afterwards).
expect() {
  local name=$1 outdir=$2
  shift 2
  local status lines
  timeout 60 "$@" >"$work/stdout" 2>"$work/stderr"
  status=$?
  lines=$(wc -l <"$work/stderr")
  checked=$((checked + 1))
  if [ "$status" -ne 2 ] || [ "$lines" -ne 1 ]; then
    echo "FAIL $name: exit status $status, $lines stderr lines: $(head -c 300 "$work/stderr")"
    failures=$((failures + 1))
  elif [ -n "$outdir" ] && [ -d "$outdir" ] && [ -n "$(ls -A "$outdir")" ]; then
    echo "FAIL $name: left files in $outdir: $(ls "$outdir")"
    failures=$((failures + 1))
  fi
}

while IFS=$'\t' read -r name stage _required _fragment; do
  model="$work/corpus/$name/model.onnx"
  out="$work/out_$name"
  expect "run $name" "$out" "$nnaccel" run "$model" -o "$out"
  if [ "$stage" = load ]; then
    expect "inspect $name" "" "$nnaccel" inspect "$model"
  fi
done <"$work/corpus/MANIFEST"

# Fuzzer regressions: they may load, but must never crash (status 0 or 2, one stderr line at most).
if [ -d "$here/regressions" ]; then
  for f in "$here"/regressions/*; do
    [ -f "$f" ] || continue
    timeout 60 "$nnaccel" --max-memory 256M inspect "$f" >/dev/null 2>"$work/stderr"
    status=$?
    checked=$((checked + 1))
    if { [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; } || [ "$(wc -l <"$work/stderr")" -gt 1 ]; then
      echo "FAIL regression $(basename "$f"): exit status $status: $(head -c 300 "$work/stderr")"
      failures=$((failures + 1))
    fi
  done
fi

# Files that are not there or not files.
expect "missing model" "$work/out_missing" "$nnaccel" run "$work/absent.onnx" -o "$work/out_missing"
expect "folder as model" "" "$nnaccel" inspect "$work"
expect "bad input file" "$work/out_badin" "$nnaccel" run "$work/corpus/cycle/model.onnx" \
  -i x="$work/absent.npy" -o "$work/out_badin"

# Bad values of bench's options, on a model that is fine: each is one line and exit status 2.
/usr/bin/python3 - "$work/relu.onnx" <<'PY'
import sys
from onnx import TensorProto, helper, save
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), sys.argv[1])
PY
for flags in "--threads -1" "--threads 100000" "--threads two" "--precision fp64" \
    "--precision FP32" "--iters 0" "--iters -3" "--warmup -1" "--batch 0" "--batch -2" \
    "--shape x=1,-4" "--shape y=1,4"; do
  # shellcheck disable=SC2086  # the flags are meant to split
  expect "bench $flags" "" "$nnaccel" bench "$work/relu.onnx" $flags
  # The message must be about that flag, not some other failure that also exits 2.
  if ! grep -q -- "${flags%% *}" "$work/stderr"; then
    echo "FAIL bench $flags: the message does not name ${flags%% *}: $(head -c 300 "$work/stderr")"
    failures=$((failures + 1))
  fi
done
expect "bench missing input file" "" "$nnaccel" bench "$work/relu.onnx" --input x="$work/absent.npy"

# train and eval: bad flags, data and checkpoints (exit 2, one line, no model written).
mkdir -p "$work/out_train" "$work/ckpt_empty" "$work/ckpt_bad" "$work/npy_nolabels"
printf 'NNACKPT1garbage' >"$work/ckpt_bad/checkpoint.nnackpt"
cp "$work/corpus/cycle/model.onnx" "$work/npy_nolabels/inputs.npy" 2>/dev/null
tm="$work/out_train/m.onnx"
expect "train without arch or model" "$work/out_train" "$nnaccel" train --data fashion-mnist --out "$tm"
expect "train unknown arch" "$work/out_train" "$nnaccel" train --arch vgg --data fashion-mnist --out "$tm"
expect "train missing data" "$work/out_train" "$nnaccel" train --arch mlp --data "$work/absent" --out "$tm"
expect "train data without labels" "$work/out_train" "$nnaccel" train --arch mlp --data "$work/npy_nolabels" --out "$tm"
expect "train bad precision" "$work/out_train" "$nnaccel" train --arch mlp --data fashion-mnist --precision fp16 --out "$tm"
expect "train bad layout" "$work/out_train" "$nnaccel" train --arch mlp --data fashion-mnist --layout nhwc --out "$tm"
expect "train bad optimizer" "$work/out_train" "$nnaccel" train --arch mlp --data fashion-mnist --optimizer lion --out "$tm"
expect "train bad freeze regex" "$work/out_train" "$nnaccel" train --arch mlp --data fashion-mnist --freeze '([' --out "$tm"
expect "train zero batch" "$work/out_train" "$nnaccel" train --arch mlp --data fashion-mnist --batch 0 --out "$tm"
expect "train resume without checkpoint" "$work/out_train" "$nnaccel" train --arch mlp --data fashion-mnist \
  --checkpoint-dir "$work/ckpt_empty" --resume --out "$tm"
expect "train resume corrupt checkpoint" "$work/out_train" "$nnaccel" train --arch mlp --data fashion-mnist \
  --checkpoint-dir "$work/ckpt_bad" --resume --out "$tm"
expect "train model not onnx" "$work/out_train" "$nnaccel" train --model "$work/ckpt_bad/checkpoint.nnackpt" \
  --data fashion-mnist --out "$tm"
expect "eval missing model" "" "$nnaccel" eval "$work/absent.onnx" --data fashion-mnist
expect "eval missing data" "" "$nnaccel" eval "$work/corpus/cycle/model.onnx" --data "$work/absent"

# quantize and compare: bad models, data, shapes, flags and state files (exit 2, one line, no model
# written).
tiny="$here/../../models/tiny_cnn.onnx"
mkdir -p "$work/out_q" "$work/q_empty" "$work/q_badshape" "$work/q_state_dir"
/usr/bin/python3 - "$work/q_badshape/0.npy" <<'PY'
import sys
import numpy as np
np.save(sys.argv[1], np.zeros((2, 3), dtype=np.float32))
PY
printf 'nnaccel-quantize-state 1\ngarbage\n' >"$work/q_garbage_state"
qo="$work/out_q/q.onnx"
expect "quantize missing model" "$work/out_q" "$nnaccel" quantize "$work/absent.onnx" --calib fashion-mnist --out "$qo"
expect "quantize model not onnx" "$work/out_q" "$nnaccel" quantize "$work/ckpt_bad/checkpoint.nnackpt" --calib fashion-mnist --out "$qo"
expect "quantize without calib" "$work/out_q" "$nnaccel" quantize "$tiny" --out "$qo"
expect "quantize missing data" "$work/out_q" "$nnaccel" quantize "$tiny" --calib "$work/absent" --out "$qo"
expect "quantize empty data folder" "$work/out_q" "$nnaccel" quantize "$tiny" --calib "$work/q_empty" --out "$qo"
expect "quantize wrong batch shape" "$work/out_q" "$nnaccel" quantize "$tiny" --calib "$work/q_badshape" --out "$qo"
expect "quantize unknown input name" "$work/out_q" "$nnaccel" quantize "$tiny" --calib "nope=$work/q_badshape" --out "$qo"
expect "quantize garbage state" "$work/out_q" "$nnaccel" quantize "$tiny" --calib fashion-mnist --calib-state "$work/q_garbage_state" --out "$qo"
expect "quantize state is a folder" "$work/out_q" "$nnaccel" quantize "$tiny" --calib fashion-mnist --calib-state "$work/q_state_dir" --out "$qo"
expect "quantize out is the model" "" "$nnaccel" quantize "$tiny" --calib fashion-mnist --out "$tiny"
expect "quantize out folder missing" "" "$nnaccel" quantize "$tiny" --calib fashion-mnist --out "$work/absent/q.onnx"
expect "quantize nothing to quantize" "$work/out_q" "$nnaccel" quantize "$work/relu.onnx" --dynamic --op-types MatMul --out "$qo"
for flags in "--calib-size 0" "--calib-size -5" "--scheme int4" "--activations u16" "--method median" \
    "--percentile 20 --method percentile" "--percentile 99" "--op-types Relu" "--threads -1" \
    "--per-channel --per-tensor" "--calib-size many" "--weight-budget 1.5" "--weight-budget 0" \
    "--weight-budget nan" "--weight-budget 0.3 --per-tensor" "--weight-budget 0.3 --dynamic"; do
  # shellcheck disable=SC2086  # the flags are meant to split
  expect "quantize $flags" "$work/out_q" "$nnaccel" quantize "$tiny" --calib fashion-mnist $flags --out "$qo"
  if ! grep -q -- "${flags%% *}" "$work/stderr"; then
    echo "FAIL quantize $flags: the message does not name ${flags%% *}: $(head -c 300 "$work/stderr")"
    failures=$((failures + 1))
  fi
done
expect "compare missing model" "" "$nnaccel" compare "$tiny" "$work/absent.onnx" --data fashion-mnist
expect "compare missing data" "" "$nnaccel" compare "$tiny" "$tiny" --data "$work/absent"
expect "compare wrong batch shape" "" "$nnaccel" compare "$tiny" "$tiny" --data "$work/q_badshape"
expect "compare different inputs" "" "$nnaccel" compare "$tiny" "$work/relu.onnx" --data fashion-mnist
for flags in "--iters 0" "--batch 0" "--threads -2"; do
  # shellcheck disable=SC2086
  expect "compare $flags" "" "$nnaccel" compare "$tiny" "$tiny" --data fashion-mnist $flags
done

echo "run_cli.sh: $checked checks, $failures failed"
[ "$failures" -eq 0 ]
