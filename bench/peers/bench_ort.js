#!/usr/bin/env node
// Times one model in onnxruntime-node (called by bench_peers.py).
//
//   node bench_ort.js CACHE SPEC.json
//
// SPEC: {"model", "inputs": {name: .npy}, "threads", "warmup", "iters", "rounds", "max_seconds",
// "output"}.
// Session: CPU provider, intraOpNumThreads = threads, interOpNumThreads 1, all graph
// optimizations, sequential execution. After `warmup` untimed runs, `rounds` rounds of `iters`
// timed runs (fewer iters when the last warm-up run says they would take over max_seconds: see
// planIters); prints {"round_medians_ms": [...], "median_ms": median of the round medians,
// "min_ms", "iters"} and saves the first output of the last run to SPEC.output (.npy) when given.
'use strict';
const fs = require('fs');
const path = require('path');
const { loadNpy, saveNpy } = require('./npy');

const cache = path.resolve(process.argv[2]);
const spec = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const ort = require(path.join(cache, 'ort', 'node_modules', 'onnxruntime-node'));

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Timed runs per round: as asked, or fewer to fit the time left, at least 1.
function planIters(lastRunMs, elapsedMs) {
  const leftMs = spec.max_seconds * 1000 - elapsedMs;
  const fit = Math.floor(leftMs / (lastRunMs * spec.rounds));
  return Math.max(1, Math.min(spec.iters, fit));
}

async function main() {
  const session = await ort.InferenceSession.create(spec.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: spec.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const feeds = {};
  for (const [name, file] of Object.entries(spec.inputs)) feeds[name] = loadNpy(ort, file);
  let results;
  const begin = process.hrtime.bigint();
  let lastMs = 0;
  // At least one warm-up run: its time plans the rest. Warm-up stops at a quarter of the budget.
  for (let i = 0; i < Math.max(1, spec.warmup); i++) {
    const start = process.hrtime.bigint();
    results = await session.run(feeds);
    lastMs = Number(process.hrtime.bigint() - start) / 1e6;
    if (Number(process.hrtime.bigint() - begin) / 1e6 > spec.max_seconds * 250) break;
  }
  const iters = planIters(lastMs, Number(process.hrtime.bigint() - begin) / 1e6);
  const roundMedians = [];
  let min = Infinity;
  for (let r = 0; r < spec.rounds; r++) {
    const ms = [];
    for (let i = 0; i < iters; i++) {
      const start = process.hrtime.bigint();
      results = await session.run(feeds);
      ms.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    roundMedians.push(median(ms));
    min = Math.min(min, ...ms);
  }
  if (spec.output) saveNpy(results[session.outputNames[0]], spec.output);
  await session.release();
  console.log(JSON.stringify({ round_medians_ms: roundMedians, median_ms: median(roundMedians),
                               min_ms: min, iters }));
}

main().catch((e) => {
  console.error(`bench_ort: ${spec.model}: ${e.message.split('\n')[0]}`);
  process.exitCode = 1;
});
