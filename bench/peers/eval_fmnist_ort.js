#!/usr/bin/env node
// Top-1 accuracy of a Fashion-MNIST classifier in onnxruntime-node (called by eval_fmnist_ort.sh).
//
//   node eval_fmnist_ort.js CACHE MODEL IMAGES.npy LABELS.npy
//
// IMAGES: float32 [N, 1, 28, 28] in [0, 1]; LABELS: int64 [N]. Runs batches of 500 on 2 threads
// and prints `accuracy: 92.31%` like `nnaccel eval`.
'use strict';
const path = require('path');
const { loadNpy } = require('./npy');

async function main() {
  const [cache, model, imagesFile, labelsFile] = process.argv.slice(2);
  const ort = require(path.join(path.resolve(cache), 'ort', 'node_modules', 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: 2, interOpNumThreads: 1,
  });
  const images = loadNpy(ort, imagesFile);
  const labels = loadNpy(ort, labelsFile).data;
  const [n, c, h, w] = images.dims;
  const per = c * h * w;
  const batch = 500;
  let correct = 0;
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const data = images.data.subarray(start * per, (start + count) * per);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [count, c, h, w]) };
    const out = (await session.run(feeds))[session.outputNames[0]];
    const classes = out.dims[1];
    for (let i = 0; i < count; i++) {
      let best = 0;
      for (let k = 1; k < classes; k++) {
        if (out.data[i * classes + k] > out.data[i * classes + best]) best = k;
      }
      if (BigInt(best) === BigInt(labels[start + i])) correct++;
    }
  }
  console.log(`accuracy: ${(100 * correct / n).toFixed(2)}%`);
}

main().catch((e) => { console.error(`eval_fmnist_ort: ${e.message}`); process.exit(2); });
