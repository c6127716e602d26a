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

// NumPy dtype descriptors <-> ORT tensor types and typed arrays (little-endian only).
const kTypes = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array], '<i2': ['int16', Int16Array],
  '|i1': ['int8', Int8Array], '|u1': ['uint8', Uint8Array], '<u8': ['uint64', BigUint64Array],
  '<u4': ['uint32', Uint32Array], '<u2': ['uint16', Uint16Array], '|b1': ['bool', Uint8Array],
};

function loadNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order`);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)[1];
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const entry = kTypes[descr];
  if (!entry) throw new Error(`${file}: unsupported dtype ${descr}`);
  const [type, Ctor] = entry;
  const offset = start + headerLen;
  const count = dims.reduce((a, b) => a * b, 1);
  // Copy so the typed array is aligned whatever the header length.
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset + offset, count * Ctor.BYTES_PER_ELEMENT);
  const data = new Ctor(bytes.slice().buffer);
  return new ort.Tensor(type, type === 'bool' ? Uint8Array.from(data) : data, dims);
}

function saveNpy(tensor, file) {
  const descr = Object.keys(kTypes).find((k) => kTypes[k][0] === tensor.type);
  if (!descr) throw new Error(`output type ${tensor.type} cannot be saved`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';  // total length multiple of 64
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file + '.tmp', Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
  fs.renameSync(file + '.tmp', file);
}

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
      for (const [name, file] of Object.entries(entry.inputs)) feeds[name] = loadNpy(file);
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
