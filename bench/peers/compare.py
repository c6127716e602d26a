#!/usr/bin/python3
"""Compares nnaccel's outputs with onnxruntime's (called by bench/peers/compare.sh).

  compare.py CACHE

For each model in CACHE/manifest.json: ORT's outputs from CACHE/out/ort/MODEL/outputs.json,
nnaccel's from CACHE/out/nnaccel/MODEL/outputs.json (or its error in CACHE/out/nnaccel/MODEL/error).
Prints model / rel L2 / max abs diff / result, the worst output of each model counting. PASS needs
rel L2 <= 1e-4 on every output, matching dtypes and shapes. Exit status 1 if any model fails.
"""
import json
import os
import sys

import numpy as np

TOLERANCE = 1e-4
CACHE = os.path.abspath(sys.argv[1])


def read_outputs(folder):
    path = os.path.join(folder, "outputs.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def last_line(path, default):
    if not os.path.exists(path):
        return default
    with open(path, errors="replace") as f:
        lines = [line.strip() for line in f if line.strip()]
    line = lines[-1] if lines else default
    return (line[len("nnaccel: "):] if line.startswith("nnaccel: ") else line)[:160]


def compare(ort_outputs, nna_outputs):
    """(rel L2, max abs diff, problem or None) of NNA_OUTPUTS against the reference ORT_OUTPUTS
    over all outputs, the worst of each."""
    worst_rel, worst_abs = 0.0, 0.0
    for name, ort_file in ort_outputs.items():
        if name not in nna_outputs:
            return None, None, f"nnaccel has no output '{name}'"
        ref, got = np.load(ort_file), np.load(nna_outputs[name])
        if ref.dtype != got.dtype:
            return None, None, f"output '{name}': dtype {got.dtype}, ORT {ref.dtype}"
        if ref.shape != got.shape:
            return None, None, f"output '{name}': shape {got.shape}, ORT {ref.shape}"
        ref64, got64 = ref.astype(np.float64), got.astype(np.float64)
        if not np.isfinite(got64).all() and not np.array_equal(np.isfinite(got64), np.isfinite(ref64)):
            return None, None, f"output '{name}': non-finite values where ORT has none"
        diff = np.nan_to_num(got64 - ref64)
        norm = np.linalg.norm(np.nan_to_num(ref64))
        rel = np.linalg.norm(diff) / norm if norm > 0 else np.linalg.norm(diff)
        worst_rel = max(worst_rel, float(rel))
        worst_abs = max(worst_abs, float(np.abs(diff).max()) if diff.size else 0.0)
    return worst_rel, worst_abs, None


def main():
    with open(os.path.join(CACHE, "manifest.json")) as f:
        manifest = json.load(f)
    rows, failed = [], 0
    for entry in manifest:
        name = entry["name"]
        ort_dir = os.path.join(CACHE, "out", "ort", name)
        nna_dir = os.path.join(CACHE, "out", "nnaccel", name)
        ort_outputs, nna_outputs = read_outputs(ort_dir), read_outputs(nna_dir)
        rel = mad = None
        if ort_outputs is None:
            result = "FAIL (onnxruntime did not run it)"
        elif nna_outputs is None:
            result = "FAIL nnaccel " + last_line(os.path.join(nna_dir, "error"), "no outputs")
        else:
            rel, mad, problem = compare(ort_outputs, nna_outputs)
            if problem:
                result = "FAIL " + problem
            else:
                result = "PASS" if rel <= TOLERANCE else "FAIL"
        failed += not result.startswith("PASS")
        rows.append((name, "-" if rel is None else f"{rel:.2e}", "-" if mad is None else f"{mad:.2e}",
                     result))
    widths = [max(len(r[i]) for r in rows + [("model", "rel L2", "max abs diff", "")])
              for i in range(3)]
    print(f"{'model':{widths[0]}}  {'rel L2':>{widths[1]}}  {'max abs diff':>{widths[2]}}  result")
    for r in rows:
        print(f"{r[0]:{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}")
    # The harness itself: for the models exported here, ORT must agree with PyTorch.
    checks = []
    for entry in manifest:
        ort_outputs = read_outputs(os.path.join(CACHE, "out", "ort", entry["name"]))
        torch_outputs = read_outputs(os.path.join(CACHE, "out", "torch", entry["name"]))
        if ort_outputs and torch_outputs:
            rel, _, problem = compare(torch_outputs, ort_outputs)
            checks.append(f"{entry['name']} {problem or f'{rel:.1e}'}")
    if checks:
        print("harness check, onnxruntime vs PyTorch rel L2: " + ", ".join(checks))
    print(f"{len(rows) - failed} passed, {failed} failed (PASS: rel L2 <= {TOLERANCE:g} against "
          "onnxruntime-node 1.30.0)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
