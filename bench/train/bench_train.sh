#!/bin/bash
# Training step time of nnaccel against PyTorch 1.13 (Debian's python3-torch) on the same
# resnet-s, batch, optimizer and thread count (bench_train_torch.py says what "the same" covers),
# fp32 and bf16. Rounds alternate the two frameworks (and which goes first) so that load from
# other processes hits both alike; each figure is the median over rounds of each run's median
# step time. Writes a "## Training (resnet-s, ..., N threads, ...)" section of bench/RESULTS.md
# (below the marker line; the section with the same title is replaced) and prints it.
#
#   bench/train/bench_train.sh            # ROUNDS=3 STEPS=60 THREADS=2 by default
#   ROUNDS=5 STEPS=100 bench/train/bench_train.sh
#
# Environment: NNACCEL (the binary, default build/tools/nnaccel/nnaccel), ROUNDS, STEPS (timed
# steps per run, after 10 untimed ones), THREADS, BATCH, OMP_WAIT_POLICY (default passive: on a
# shared machine the default spinning policy measures mostly how long one thread waits for the
# other; on idle cores run it again with OMP_WAIT_POLICY=default, libgomp's own; both frameworks use libgomp, so
# both get the same policy; each policy has its own section), RESULTS (the file to write).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
nnaccel=${NNACCEL:-$root/build/tools/nnaccel/nnaccel}
rounds=${ROUNDS:-3}
steps=${STEPS:-60}
threads=${THREADS:-2}
batch=${BATCH:-64}
results=${RESULTS:-$root/bench/RESULTS.md}
policy=${OMP_WAIT_POLICY:-passive}
# "default": libgomp's own policy (threads spin a while, then sleep), which nnaccel keeps.
if [ "$policy" = default ]; then unset OMP_WAIT_POLICY; else export OMP_WAIT_POLICY=$policy; fi
warmup=10
total=$((steps + warmup))

[ -x "$nnaccel" ] || { echo "no nnaccel binary at $nnaccel (build it or set NNACCEL)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The first images of Fashion-MNIST's training set as a .npy folder: no test split, so nnaccel
# does not evaluate, and enough images that the run ends by --max-steps inside one epoch.
/usr/bin/python3 - "$work/data" $(((total + 1) * batch)) <<'EOF'
import gzip, os, sys
import numpy as np
out, n = sys.argv[1], int(sys.argv[2])
d = "/usr/share/datasets/fashion-mnist"
x = np.frombuffer(gzip.open(f"{d}/train-images-idx3-ubyte.gz").read(), np.uint8, offset=16)
y = np.frombuffer(gzip.open(f"{d}/train-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
os.makedirs(out)
np.save(f"{out}/inputs.npy", np.ascontiguousarray(x.reshape(-1, 28, 28)[:n]))
np.save(f"{out}/labels.npy", y[:n].astype(np.int64))
EOF

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log="$work/runs.txt"
: >"$log"

# precision [layout] -> median ms (the first step, which creates the kernels, excluded)
run_nnaccel() {
  "$nnaccel" train --arch resnet-s --data "$work/data" --epochs 1 --max-steps "$total" \
    --batch "$batch" --threads "$threads" --nesterov --precision "$1" --layout "${2:-blocked}" \
    --out "$work/m.onnx" | sed -n 's/.*, \([0-9.]*\) ms\/step median).*/\1/p'
}
# The activations plain NCHW f32 between layers: the trainer before blocked activations.
run_nnaccel_plain() { run_nnaccel "$1" plain; }
run_torch() {
  /usr/bin/python3 "$here/bench_train_torch.py" --threads "$threads" --batch "$batch" \
    --steps "$steps" --warmup "$warmup" --precision "$1" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["median_step_ms"])'
}

for ((r = 1; r <= rounds; r++)); do
  for precision in fp32 bf16; do
    if ((r % 2)); then order="nnaccel nnaccel_plain torch"; else order="torch nnaccel_plain nnaccel"; fi
    for fw in $order; do
      ms=$(run_$fw "$precision")
      echo "$r $precision $fw $ms" | tee -a "$log" >&2
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 - "$log" "$results" <<EOF
import re, statistics, subprocess, sys, datetime
log, results = sys.argv[1], sys.argv[2]
runs = {}
for line in open(log):
    r, precision, fw, ms = line.split()
    runs.setdefault((precision, fw), []).append(float(ms))
med = {k: statistics.median(v) for k, v in runs.items()}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
           "unknown")
ncpu = sum(1 for l in open("/proc/cpuinfo") if l.startswith("processor"))
commit = subprocess.run(["git", "-C", "$root", "rev-parse", "--short", "HEAD"],
                        capture_output=True, text=True).stdout.strip()
per_epoch = 60000 // $batch
def rounds_of(p, fw):
    return " / ".join(f"{v:.1f}" for v in runs[(p, fw)])
def row(p):
    n, q, t = med[(p, "nnaccel")], med[(p, "nnaccel_plain")], med[(p, "torch")]
    return (f"| {p} | {n:.1f} ms ({rounds_of(p, 'nnaccel')}) | {q:.1f} ms "
            f"({rounds_of(p, 'nnaccel_plain')}) | {t:.1f} ms ({rounds_of(p, 'torch')}) | "
            f"**{n / t:.2f}** | {n * per_epoch / 1000:.0f} s |")
plural = "s" if $threads > 1 else ""
title = (f"## Training (resnet-s, batch $batch, $threads thread{plural}, "
         f"OMP_WAIT_POLICY=$policy, vs PyTorch 1.13)")
section = f"""{title}

CPU: {cpu}, {ncpu} vCPUs; {datetime.date.today()}, commit {commit}. Load average
{"$load_before"} before, {"$load_after"} after (a shared machine: above ~0.5 other work ran
beside the benchmark); figures are medians of alternating rounds. OMP_WAIT_POLICY=$policy
for both frameworks.

Command: \`OMP_WAIT_POLICY=$policy ROUNDS=$rounds STEPS=$steps THREADS=$threads bench/train/bench_train.sh\` (the same
resnet-s in PyTorch: bench/train/bench_train_torch.py; SGD Nesterov momentum 0.9, weight decay
5e-4, Fashion-MNIST; nnaccel: \`nnaccel train --arch resnet-s --max-steps {$total} --nesterov
--precision P\`, its median excludes the first step; "plain" adds \`--layout plain\`, the trainer
before activations were kept blocked; PyTorch: {$steps} steps after {$warmup} untimed; PyTorch bf16
is torch.autocast("cpu", torch.bfloat16)).

| precision | nnaccel median step (rounds) | nnaccel plain layout | PyTorch median step (rounds) | nnaccel / PyTorch | nnaccel epoch (937 steps) |
|---|---|---|---|---|---|
{row("fp32")}
{row("bf16")}

bf16 over fp32 per epoch (ratio of the median step times; an epoch is 937 equal steps):
nnaccel **{med[("fp32", "nnaccel")] / med[("bf16", "nnaccel")]:.2f}x** (plain layout
{med[("fp32", "nnaccel_plain")] / med[("bf16", "nnaccel_plain")]:.2f}x), PyTorch
{med[("fp32", "torch")] / med[("bf16", "torch")]:.2f}x. Blocked over plain layout: fp32
{med[("fp32", "nnaccel_plain")] / med[("fp32", "nnaccel")]:.2f}x, bf16
{med[("bf16", "nnaccel_plain")] / med[("bf16", "nnaccel")]:.2f}x.
"""
sys.path.insert(0, "$root/bench/quant")
from results_section import write_section  # one writer of RESULTS.md sections below the marker
heading, _, body = section.partition("\n\n")
write_section(results, heading[len("## "):], body.split("\n"))
print(section)
EOF
