// .npy files <-> onnxruntime-node tensors (shared by run_ort.js and bench_ort.js).
'use strict';
const fs = require('fs');

// NumPy dtype descriptors <-> ORT tensor types and typed arrays (little-endian only).
const kTypes = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array], '<i2': ['int16', Int16Array],
  '|i1': ['int8', Int8Array], '|u1': ['uint8', Uint8Array], '<u8': ['uint64', BigUint64Array],
  '<u4': ['uint32', Uint32Array], '<u2': ['uint16', Uint16Array], '|b1': ['bool', Uint8Array],
};

function loadNpy(ort, file) {
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

module.exports = { loadNpy, saveNpy };
