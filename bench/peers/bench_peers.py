#!/usr/bin/python3
"""Side-by-side latency of nnaccel, ONNX Runtime and PyTorch on the peer models (called by
bench_peers.sh, which installs what it needs and prepares the models first).

  bench_peers.py CACHE NNACCEL RESULTS.md [--threads T] [--rounds R] [--max-seconds S]
                 [--only MODEL[,MODEL...]] [--note TEXT] [--command TEXT]
  bench_peers.py CACHE NNACCEL --fast-vs-reference [--min-speedup X] [--threads T] [--rounds R]

Each case (model, batch) runs on the same seeded input files in all engines, T threads each:
  nnaccel: `nnaccel bench --json`, one process per round (each with its own warm-up);
  ORT:     bench_ort.js (onnxruntime-node, intra-op T, inter-op 1, all graph optimizations,
           sequential execution), one process doing every round after one warm-up;
  PyTorch: bench_torch.py (eager and frozen), like ORT; the OCR and VAD models exist only as ONNX.
A figure is the median over R rounds of each round's median. Every engine gets at most S seconds
per case: with slow runs it does fewer timed runs per round (marked * in the table); nnaccel is
skipped at a large batch when its batch-1 time says even one run per round would not fit.
Writes RESULTS.md and every figure to CACHE/bench/results.json.

--fast-vs-reference: ResNet-18 at batch 1, nnaccel's fast path against its reference interpreter
(`nnaccel bench` with and without --reference); exit status 1 if the speedup is under X.
"""
import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys

import numpy as np

import peer_models
import prepare_models

HERE = os.path.dirname(os.path.abspath(__file__))

# (model, batch). The OCR detector runs one page at a time (PaddleOCR batches only text lines,
# for rec and cls), so it has no large-batch case; the transformer's large batch is 8.
CASES = [
    ("resnet18", 1), ("resnet18", 32),
    ("mobilenet_v2", 1), ("mobilenet_v2", 32),
    ("transformer_encoder", 1), ("transformer_encoder", 8),
    ("ppocr_v4_det", 1),
    ("ppocr_v4_rec", 1), ("ppocr_v4_rec", 32),
    ("ppocr_v2_cls", 1), ("ppocr_v2_cls", 32),
    ("silero_vad", 1), ("silero_vad", 32),
]
# Which axis of each input is the batch (None: not batched). Silero's LSTM state is [2, batch, 64].
BATCH_AXIS = {("silero_vad", "h"): 1, ("silero_vad", "c"): 1, ("silero_vad", "sr"): None}
# Untimed runs and timed runs per round: fewer for the big cases (over ~50 ms a run in ORT).
SMALL_RUNS, BIG_RUNS = (3, 10), (2, 4)
BIG_CASES = {("resnet18", 32), ("mobilenet_v2", 32), ("transformer_encoder", 8),
             ("ppocr_v4_det", 1), ("ppocr_v4_rec", 32)}


def case_name(model, batch):
    return f"{model}_b{batch}"


def make_inputs(cache):
    """{(model, batch): (model path, {input name: .npy path}, {input name: shape})}: seeded
    inputs of prepare_models.py's kinds with the case's batch, written once to CACHE/bench/inputs."""
    prepare_models.set_cache(cache)
    models = {name: (path, inputs) for name, path, inputs in prepare_models.model_list()}
    result = {}
    for index, (model, batch) in enumerate(CASES):
        path, inputs = models[model]
        rng = np.random.default_rng(2000 + index)
        folder = os.path.join(cache, "bench", "inputs", case_name(model, batch))
        os.makedirs(folder, exist_ok=True)
        files, shapes = {}, {}
        for name, (shape, dtype, gen) in inputs.items():
            shape = list(shape)
            axis = BATCH_AXIS.get((model, name), 0)
            if axis is not None:
                shape[axis] = batch
            files[name] = os.path.join(folder, name + ".npy")
            shapes[name] = shape
            if not os.path.exists(files[name]):
                np.save(files[name], prepare_models.make_input(rng, shape, dtype, *gen))
        result[(model, batch)] = (path, files, shapes)
    return result


def run_json(cmd, timeout):
    """The JSON printed by CMD, or (None, last stderr line)."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines() or [f"exit status {r.returncode}"]
        return None, lines[-1][:200]
    return json.loads(r.stdout), None


def bench_nnaccel(nnaccel, model_path, files, threads, warmup, iters, rounds, max_seconds,
                  estimate_ms=None, reference=False):
    """Median of `rounds` `nnaccel bench` medians. Iterations are cut to fit max_seconds, from
    ESTIMATE_MS before the first round and from the measured median after it."""
    base = [nnaccel, "bench", model_path, "--threads", str(threads), "--json"]
    base += [f"--input={name}={path}" for name, path in files.items()]
    if reference:
        base.append("--reference")
    medians, first, spent_ms, fewest_iters = [], None, 0.0, iters
    for r in range(rounds):
        per_run = medians[-1] if medians else estimate_ms
        w, n = warmup, iters
        if per_run is not None:
            left_ms = max_seconds * 1000 - spent_ms
            fit = int(left_ms / (per_run * (rounds - r)))
            if fit < 2:
                if not medians:
                    return {"skipped": f"est. {per_run / 1000:.1f} s/run"}
                break
            w = min(warmup, max(1, fit // 4))
            n = max(1, min(iters, fit - w))
        out, error = run_json(base + ["--warmup", str(w), "--iters", str(n)],
                              timeout=max(600, 3 * max_seconds))
        if out is None:
            return {"error": error}
        first = first or out
        medians.append(out["median_ms"])
        spent_ms += out["mean_ms"] * (w + n)
        fewest_iters = min(fewest_iters, n)
    return {"median_ms": statistics.median(medians), "round_medians_ms": medians,
            "rounds": len(medians), "iters": fewest_iters, "executor": first["executor"],
            "peak_memory_bytes": first["peak_memory_bytes"]}


def bench_peer(script, cache, spec, spec_path):
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    cmd = (["node", script, cache, spec_path] if script.endswith(".js")
           else ["/usr/bin/python3", script, spec_path])
    out, error = run_json(cmd, timeout=max(600, 4 * spec["max_seconds"]))
    return out if out is not None else {"error": error}


def rel_l2(a_path, b_path):
    if not (os.path.exists(a_path) and os.path.exists(b_path)):
        return None
    a, b = np.load(a_path).astype(np.float64), np.load(b_path).astype(np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def cell(result, key="median_ms", iters=None):
    if result is None:
        return "n/a"
    if "skipped" in result:
        return f"skipped ({result['skipped']})"
    if "error" in result:
        return "error"
    text = f"{result[key]:.2f}"
    return text + ("*" if iters is not None and result.get("iters", iters) < iters else "")


def versions(cache, nnaccel):
    ort = json.load(open(os.path.join(cache, "ort", "node_modules", "onnxruntime-node",
                                      "package.json")))["version"]
    torch_version = subprocess.run(
        ["/usr/bin/python3", "-c", "import torch; print(torch.__version__)"],
        capture_output=True, text=True).stdout.strip()
    # Debian's PyTorch calls the system BLAS for Linear/matmul (convolutions go to oneDNN): say
    # which one, the figures depend on it.
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    kind = ("OpenBLAS" if "openblas" in blas else "BLIS" if "blis" in blas
            else "netlib reference BLAS" if "/blas/" in blas else "unknown BLAS")
    torch_version += f", BLAS {kind} ({blas})"
    root = os.path.dirname(os.path.dirname(HERE))
    commit = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()
    return ort, torch_version, commit


def run_cases(args):
    inputs = make_inputs(args.cache)
    only = set(args.only.split(",")) if args.only else None
    work = os.path.join(args.cache, "bench")
    os.makedirs(os.path.join(work, "out"), exist_ok=True)
    rows, batch1_ms = [], {}
    for model, batch in CASES:
        if only and model not in only:
            continue
        path, files, shapes = inputs[(model, batch)]
        name = case_name(model, batch)
        warmup, iters = BIG_RUNS if (model, batch) in BIG_CASES else SMALL_RUNS
        print(f"{name}: nnaccel", flush=True)
        estimate = batch1_ms.get(model)
        nna = bench_nnaccel(args.nnaccel, path, files, args.threads, warmup, iters, args.rounds,
                            args.max_seconds, estimate * batch if estimate else None)
        if batch == 1 and "median_ms" in nna:
            batch1_ms[model] = nna["median_ms"]
        spec = {"model": path, "inputs": files, "threads": args.threads, "warmup": warmup,
                "iters": iters, "rounds": args.rounds, "max_seconds": args.max_seconds,
                "output": os.path.join(work, "out", name + ".ort.npy")}
        print(f"{name}: onnxruntime", flush=True)
        ort = bench_peer(os.path.join(HERE, "bench_ort.js"), args.cache, spec,
                         os.path.join(work, name + ".ort.json"))
        torch = None
        if model in peer_models.TORCH_MODELS:
            print(f"{name}: pytorch", flush=True)
            spec = dict(spec, model=model, output=os.path.join(work, "out", name + ".torch.npy"))
            torch = bench_peer(os.path.join(HERE, "bench_torch.py"), args.cache, spec,
                               os.path.join(work, name + ".torch.json"))
            torch["ort_rel_l2"] = rel_l2(spec["output"], os.path.join(work, "out",
                                                                      name + ".ort.npy"))
        for engine, result in (("nnaccel", nna), ("ort", ort), ("torch", torch)):
            if result and "error" in result:
                print(f"  {engine}: error: {result['error']}", flush=True)
        rows.append({"model": model, "batch": batch, "shapes": shapes, "iters": iters,
                     "nnaccel": nna, "ort": ort, "torch": torch})
    return rows


def fast_vs_reference(args, fast=None):
    """(fast, reference) results of ResNet-18 at batch 1; FAST when already measured."""
    path, files, _ = make_inputs(args.cache)[("resnet18", 1)]
    warmup, iters = SMALL_RUNS
    if fast is None:
        fast = bench_nnaccel(args.nnaccel, path, files, args.threads, warmup, iters, args.rounds,
                             args.max_seconds)
    ref = bench_nnaccel(args.nnaccel, path, files, args.threads, warmup, iters, args.rounds,
                        args.max_seconds, reference=True)
    return fast, ref


def speedup_line(fast, ref):
    if "median_ms" not in fast or "median_ms" not in ref:
        return f"ResNet-18 batch 1: fast {cell(fast)} ms, reference {cell(ref)} ms"
    return (f"ResNet-18 batch 1: fast path {fast['median_ms']:.2f} ms "
            f"(executor '{fast['executor']}'), reference interpreter {ref['median_ms']:.2f} ms: "
            f"speedup {ref['median_ms'] / fast['median_ms']:.2f}x")


KEEP_MARKER = "<!-- Below: figures from other commands, kept by bench_peers.py. -->"


def write_results(args, rows, fast, ref):
    ort_version, torch_version, commit = versions(args.cache, args.nnaccel)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    executors = sorted({r["nnaccel"]["executor"] for r in rows if "executor" in r["nnaccel"]})
    out = ["# Peer benchmarks: nnaccel, ONNX Runtime, PyTorch", "",
           f"- Command: `{args.command}`",
           f"- Date: {now}; CPU: {cpu_model()} ({os.cpu_count()} logical CPUs in the machine, "
           f"{len(os.sched_getaffinity(0))} usable); {args.threads} threads for every engine",
           f"- nnaccel {commit} (`nnaccel bench`, executor reported: {', '.join(executors)}); "
           f"onnxruntime-node {ort_version} (CPU provider); PyTorch {torch_version} "
           "(Debian's /usr/bin/python3)",
           f"- Median over {args.rounds} rounds of each round's median latency, warm-up first; "
           f"at most {args.max_seconds:g} s per engine and case (* fewer timed runs per round "
           "than planned, to fit). Same input files for all engines. nnaccel/ORT > 1: nnaccel "
           "slower.",
           "- PyTorch eager: the nn.Module under no_grad; frozen: torch.jit.freeze(torch.jit."
           "script) + torch.jit.optimize_for_inference (traced: scripting failed, torch.jit.trace "
           "instead). n/a: the model exists only as ONNX."]
    if args.note:
        out.append(f"- Note: {args.note}")
    out += ["", "| model | batch | threads | nnaccel ms | ORT ms | nnaccel/ORT | "
            "PyTorch eager ms | PyTorch frozen ms |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        nna, ort, torch = r["nnaccel"], r["ort"], r["torch"]
        ratio = (f"{nna['median_ms'] / ort['median_ms']:.2f}"
                 if "median_ms" in nna and "median_ms" in ort else "-")
        eager = cell(torch.get("eager"), iters=r["iters"]) if torch and "eager" in torch else (
            "error" if torch else "n/a")
        frozen = cell(torch.get("frozen"), iters=r["iters"]) if torch and "frozen" in torch \
            else ("error" if torch else "n/a")
        if torch and torch.get("frozen", {}).get("compiled_with") == "trace":
            frozen += " (traced)"
        out.append(f"| {r['model']} | {r['batch']} | {args.threads} | "
                   f"{cell(nna, iters=r['iters'])} | {cell(ort, iters=r['iters'])} | {ratio} | "
                   f"{eager} | {frozen} |")
    out += ["", "Inputs (seeded random; the OCR detector gets a synthetic text page, images are in "
            "PaddleOCR's [-1, 1] scale):", ""]
    for r in rows:
        shapes = ", ".join(f"{n} {'x'.join(map(str, s)) or 'scalar'}"
                           for n, s in r["shapes"].items())
        out.append(f"- {r['model']} batch {r['batch']}: {shapes}")
    checks = [f"{r['model']} b{r['batch']} {r['torch']['ort_rel_l2']:.1e}" for r in rows
              if r["torch"] and r["torch"].get("ort_rel_l2") is not None]
    if checks:
        out += ["", "Harness check, PyTorch eager vs ORT outputs on the same input (rel L2): "
                + ", ".join(checks) + "."]
    errors = [f"{r['model']} b{r['batch']} {engine}: {res['error']}" for r in rows
              for engine, res in (("nnaccel", r["nnaccel"]), ("ORT", r["ort"]),
                                  ("PyTorch", r["torch"])) if res and "error" in res]
    if errors:
        out += ["", "Errors:", ""] + [f"- {e}" for e in errors]
    if fast is not None:
        out += ["", "## Fast path vs reference interpreter", "", speedup_line(fast, ref) +
                " (target: >= 10x; `bench/peers/bench_peers.sh --fast-vs-reference`)."]
    # Sections after KEEP_MARKER are measured by other commands: they are carried over as they are.
    kept = ""
    if os.path.exists(args.results):
        with open(args.results) as f:
            previous = f.read()
        if KEEP_MARKER in previous:
            kept = previous[previous.index(KEEP_MARKER):]
    tmp = args.results + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
        if kept:
            f.write("\n" + kept)
    os.replace(tmp, args.results)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cache")
    p.add_argument("nnaccel")
    p.add_argument("results", nargs="?")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--max-seconds", type=float, default=30)
    p.add_argument("--only", default="")
    p.add_argument("--note", default="")
    p.add_argument("--command", default=" ".join(map(shlex.quote, sys.argv)))
    p.add_argument("--fast-vs-reference", action="store_true")
    p.add_argument("--min-speedup", type=float, default=10.0)
    args = p.parse_args()
    if args.threads < 1 or args.rounds < 1 or args.max_seconds <= 0:
        p.error("--threads and --rounds must be at least 1, --max-seconds positive")
    if args.fast_vs_reference:
        fast, ref = fast_vs_reference(args)
        print(speedup_line(fast, ref))
        ok = "median_ms" in fast and "median_ms" in ref and \
            ref["median_ms"] >= args.min_speedup * fast["median_ms"]
        print(f"{'PASS' if ok else 'FAIL'}: target speedup {args.min_speedup:g}x")
        return 0 if ok else 1
    if not args.results:
        p.error("RESULTS.md is required")
    rows = run_cases(args)
    print("ResNet-18 batch 1: fast path vs reference", flush=True)
    fast = next((r["nnaccel"] for r in rows if (r["model"], r["batch"]) == ("resnet18", 1)),
                None)
    fast, ref = fast_vs_reference(args, fast)
    with open(os.path.join(args.cache, "bench", "results.json"), "w") as f:
        json.dump({"rows": rows, "fast": fast, "reference": ref}, f, indent=1)
    write_results(args, rows, fast, ref)
    print(open(args.results).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
