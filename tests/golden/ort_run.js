#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime (onnxruntime-node) on one float32 input.
//
// Usage: node ort_run.js MODEL.onnx INPUT.f32 OUTPUT.f32 DIM... [-- NAME FILE.f32 D0,D1,... ...]
//
// INPUT.f32 holds raw little-endian float32 values of shape DIM...; the model's first
// input is fed with it and its first output written to OUTPUT.f32 the same way. After
// "--", each triple feeds another input (e.g. masks) by name.
// onnxruntime-node is looked up in .deps/node of the repository (scripts/setup-debian.sh)
// unless ORT_NODE_MODULES names another node_modules directory. Exit 1 on any error.
'use strict';
const fs = require('fs');
const path = require('path');

async function main() {
  const args = process.argv.slice(2);
  const cut = args.indexOf('--');
  const [model, input, output, ...dims] = cut < 0 ? args : args.slice(0, cut);
  const extra = cut < 0 ? [] : args.slice(cut + 1);
  if (!model || !input || !output || dims.length === 0) {
    console.error('usage: ort_run.js MODEL.onnx INPUT.f32 OUTPUT.f32 DIM...');
    process.exit(2);
  }
  const modules = process.env.ORT_NODE_MODULES ||
    path.join(__dirname, '..', '..', '.deps', 'node', 'node_modules');
  const ort = require(path.join(modules, 'onnxruntime-node'));
  const tensor = (file, shape) => {
    const bytes = fs.readFileSync(file);
    const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new Error(`${file}: ${data.length} floats, shape needs ${count}`);
    return new ort.Tensor('float32', Float32Array.from(data), shape);
  };
  const session = await ort.InferenceSession.create(model, {logSeverityLevel: 3});
  const feeds = {[session.inputNames[0]]: tensor(input, dims.map(Number))};
  for (let i = 0; i + 2 < extra.length; i += 3) {
    feeds[extra[i]] = tensor(extra[i + 1], extra[i + 2].split(',').map(Number));
  }
  const result = await session.run(feeds);
  const y = result[session.outputNames[0]];
  fs.writeFileSync(output, Buffer.from(Float32Array.from(y.data).buffer));
}

main().catch((e) => {
  console.error(`ort_run: ${e.message || e}`);
  process.exit(1);
});
