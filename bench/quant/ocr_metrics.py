#!/usr/bin/python3
"""Accuracy of an int8 PaddleOCR model against its fp32 original on held-out images (called by
ocr_quant.sh, which runs both models with `nnaccel run`).

  ocr_metrics.py KIND FP32.npy INT8.npy HELDOUT_DIR [--dict KEYS.txt] [--json OUT.json]

KIND: rec, cls or det. Prints one JSON object:
  all kinds: sqnr_db (10 log10 of signal power over error power, fp32 as the signal), cosine,
    argmax_agreement (fraction of positions along the last axis' leading dims where the two
    argmaxes agree: rec per time step, cls per image; for det a per-row argmax, kept for
    uniformity), max_abs_diff;
  rec: CTC greedy decoding (blank 0, the dictionary, then space) of both: text_agreement (decoded
    strings equal), disagreements_with_blank (of the time steps whose argmax differs, the fraction
    where one of the two is the blank), and against the rendered texts: exact-line accuracy and character accuracy
    (1 - edit distance / length) for fp32 and int8;
  cls: accuracy of fp32 and int8 against the rotation labels;
  det: the binarized maps at PaddleOCR's threshold 0.3: pixel agreement and IoU of the text pixels.
"""
import argparse
import json
import os

import numpy as np


def base_metrics(ref, q):
    ref64, q64 = ref.astype(np.float64), q.astype(np.float64)
    err = np.sum((ref64 - q64) ** 2)
    signal = np.sum(ref64 ** 2)
    sqnr = float("inf") if err == 0 else float(10 * np.log10(signal / err))
    denom = np.linalg.norm(ref64) * np.linalg.norm(q64)
    cosine = float(np.sum(ref64 * q64) / denom) if denom > 0 else 1.0
    agree = float(np.mean(np.argmax(ref, axis=-1) == np.argmax(q, axis=-1)))
    return {"shape": list(ref.shape), "sqnr_db": sqnr, "cosine": cosine,
            "argmax_agreement": agree, "max_abs_diff": float(np.max(np.abs(ref64 - q64)))}


def ctc_decode(probs, charset):
    texts = []
    for row in np.argmax(probs, axis=-1):
        out, prev = [], -1
        for idx in row:
            if idx != prev and idx != 0:
                out.append(charset[idx - 1] if idx - 1 < len(charset) else "?")
            prev = idx
        texts.append("".join(out))
    return texts


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def text_scores(decoded, truth):
    # PaddleOCR's dictionary has a space class; a line's outer spaces are not part of its text.
    decoded = [d.strip() for d in decoded]
    exact = np.mean([d == t for d, t in zip(decoded, truth)])
    chars = sum(len(t) for t in truth)
    errors = sum(edit_distance(d, t) for d, t in zip(decoded, truth))
    return float(exact), float(1 - errors / max(chars, 1))


def score(kind, fp32_path, int8_path, heldout, dict_path=""):
    """The metrics above as a dict (FP32_PATH, INT8_PATH: the two models' outputs, .npy)."""
    ref, q = np.load(fp32_path), np.load(int8_path)
    if ref.shape != q.shape:
        raise SystemExit(f"ocr_metrics: shapes differ: fp32 {ref.shape}, int8 {q.shape}")
    result = {"kind": kind, **base_metrics(ref, q)}
    if kind == "rec" and dict_path:
        with open(dict_path, encoding="utf-8") as f:
            charset = [line.rstrip("\n") for line in f] + [" "]
        with open(os.path.join(heldout, "texts.json"), encoding="utf-8") as f:
            truth = json.load(f)
        d32, d8 = ctc_decode(ref, charset), ctc_decode(q, charset)
        result["text_agreement"] = float(np.mean([a == b for a, b in zip(d32, d8)]))
        # CTC: a step where one side says blank and the other a character often only moves a
        # character by one step, leaving the decoded text unchanged.
        a32, a8 = np.argmax(ref, -1), np.argmax(q, -1)
        differ = a32 != a8
        result["disagreements_with_blank"] = (
            float(np.mean((a32[differ] == 0) | (a8[differ] == 0))) if differ.any() else 0.0)
        result["fp32_line_accuracy"], result["fp32_char_accuracy"] = text_scores(d32, truth)
        result["int8_line_accuracy"], result["int8_char_accuracy"] = text_scores(d8, truth)
        result["examples"] = [{"truth": t, "fp32": a, "int8": b}
                              for t, a, b in list(zip(truth, d32, d8))[:6]]
    elif kind == "cls":
        labels = np.load(os.path.join(heldout, "labels.npy"))
        result["fp32_accuracy"] = float(np.mean(np.argmax(ref, -1) == labels))
        result["int8_accuracy"] = float(np.mean(np.argmax(q, -1) == labels))
    elif kind == "det":
        m32, m8 = ref > 0.3, q > 0.3
        result["mask_agreement"] = float(np.mean(m32 == m8))
        union = np.sum(m32 | m8)
        result["mask_iou"] = float(np.sum(m32 & m8) / union) if union else 1.0
        result["fp32_text_fraction"] = float(np.mean(m32))
    return result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["rec", "cls", "det"])
    p.add_argument("fp32")
    p.add_argument("int8")
    p.add_argument("heldout")
    p.add_argument("--dict", default="")
    p.add_argument("--json", default="")
    args = p.parse_args()
    result = score(args.kind, args.fp32, args.int8, args.heldout, args.dict)
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
