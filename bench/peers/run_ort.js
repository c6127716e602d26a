#!/usr/bin/env node
// Runs each model of the peer comparison in onnxruntime-node (called by bench/peers/compare.sh).
//
//   node run_ort.js CACHE
//
// Reads CACHE/manifest.json (see prepare_models.py), loads onnxruntime-node from
// CACHE/ort/node_modules, and writes every output to CACHE/out/ort/MODEL/OUTPUT.npy. A model ORT
// cannot run is reported on stderr and gives exit status 1; the others still run.
'use strict';
const fs = require('fs');
const path = require('path');

const cache = path.resolve(process.argv[2] || path.join(__dirname, '.cache'));
const ort = require(path.join(cache, 'ort', 'node_modules', 'onnxruntime-node'));

const { loadNpy, saveNpy } = require('./npy');

function safeName(name) {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function main() {
  const manifest = JSON.parse(fs.readFileSync(path.join(cache, 'manifest.json'), 'utf8'));
  let failures = 0;
  for (const entry of manifest) {
    const outDir = path.join(cache, 'out', 'ort', entry.name);
    fs.rmSync(outDir, { recursive: true, force: true });
    try {
      const session = await ort.InferenceSession.create(entry.model, {
        executionProviders: ['cpu'], intraOpNumThreads: 2, interOpNumThreads: 1,
      });
      const feeds = {};
      for (const [name, file] of Object.entries(entry.inputs)) feeds[name] = loadNpy(ort, file);
      const results = await session.run(feeds);
      fs.mkdirSync(outDir, { recursive: true });
      const outputs = {};
      for (const name of session.outputNames) {
        const file = path.join(outDir, safeName(name) + '.npy');
        saveNpy(results[name], file);
        outputs[name] = file;
      }
      fs.writeFileSync(path.join(outDir, 'outputs.json'), JSON.stringify(outputs, null, 1));
      console.log(`ort ${entry.name}: ${session.outputNames.length} output(s)`);
      await session.release();
    } catch (e) {
      console.error(`ort ${entry.name}: error: ${e.message}`);
      failures++;
    }
  }
  process.exitCode = failures ? 1 : 0;
}

main();
