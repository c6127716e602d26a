#!/usr/bin/python3
"""Times one of peer_models.py's models in Debian's PyTorch (called by bench_peers.py).

  bench_torch.py SPEC.json

SPEC: {"model" (a peer_models name), "inputs": {name: .npy}, "threads", "warmup", "iters",
"rounds", "max_seconds", "output"}. Two modes, each with `warmup` untimed runs then `rounds`
rounds of `iters` timed runs (fewer when the last warm-up run says they would take over
max_seconds), under torch.no_grad():
  eager:  the model as PyTorch ships it (nn.Module, eval mode);
  frozen: torch.jit.freeze(torch.jit.script(model)) (torch.jit.trace when scripting fails) and
          torch.jit.optimize_for_inference.
Prints {"eager": {...}, "frozen": {...}} with round_medians_ms, median_ms (median of the round
medians), min_ms, iters and, for frozen, how it was compiled; saves eager's output to SPEC.output.
"""
import json
import statistics
import sys
import time

import numpy as np
import torch

import peer_models


def timed(fn, x, warmup, iters, rounds, max_seconds):
    with torch.no_grad():
        # At least one warm-up run: its time plans the rest. Warm-up stops at a quarter of the
        # budget.
        begin = time.perf_counter()
        for _ in range(max(1, warmup)):
            start = time.perf_counter()
            out = fn(x)
            last = time.perf_counter() - start
            if time.perf_counter() - begin > max_seconds / 4:
                break
        left = max_seconds - (time.perf_counter() - begin)
        iters = max(1, min(iters, int(left / (last * rounds))))
        medians, best = [], float("inf")
        for _ in range(rounds):
            ms = []
            for _ in range(iters):
                start = time.perf_counter()
                out = fn(x)
                ms.append((time.perf_counter() - start) * 1e3)
            medians.append(statistics.median(ms))
            best = min(best, min(ms))
    return {"round_medians_ms": medians, "median_ms": statistics.median(medians),
            "min_ms": best, "iters": iters}, out


def frozen(model, x):
    """(compiled module, how): scripting keeps control flow; tracing is the fallback."""
    try:
        compiled, how = torch.jit.script(model), "script"
    except Exception:  # noqa: BLE001  (any scripting failure means: trace instead)
        with torch.no_grad():
            compiled, how = torch.jit.trace(model, x), "trace"
    compiled = torch.jit.freeze(compiled.eval())
    return torch.jit.optimize_for_inference(compiled), how


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    torch.set_num_threads(spec["threads"])
    torch.set_num_interop_threads(1)
    name = spec["model"]
    model = peer_models.build(name)
    x = torch.from_numpy(np.load(spec["inputs"][peer_models.input_name(name)]))
    args = (spec["warmup"], spec["iters"], spec["rounds"], spec["max_seconds"])
    result = {}
    result["eager"], out = timed(model, x, *args)
    if spec.get("output"):
        np.save(spec["output"], out.numpy())
    compiled, how = frozen(model, x)
    result["frozen"], _ = timed(compiled, x, *args)
    result["frozen"]["compiled_with"] = how
    print(json.dumps(result))


if __name__ == "__main__":
    main()
