#!/usr/bin/env node
// ONNX Runtime peer of sbt-bench: the dense float ONNX export of the same model (weights,
// input batch, masks) timed like sbt-bench, written as Google Benchmark JSON.
//
// Usage: node ort_forward.js DUMP_DIR [--threads 1,2] [--repetitions 9] [--min-time 0.05]
//                            [--name NAME] --json OUT.json
//
// DUMP_DIR is what `sbt-bench MODEL --attn all --dump DUMP_DIR` wrote: attn-<variant>/ with
// model.onnx (sbt_onnx_export of the frozen graph, float32 weights), manifest.txt and the
// raw float32 input.x, feed.<name> (masks the model reads) and output.ours (sbt's output
// for that input). Before timing, ORT's output is compared with sbt's (max |difference|
// in the JSON context). A variant whose export was refused (onnx_refused.txt) is skipped
// and named. Run names: ort/<name>/attn:<variant>/batch:<B>/threads:<n> (sbt-bench's with
// "forward" replaced by "ort"). onnxruntime-node is looked up in .deps/node of the
// repository (scripts/setup-debian.sh) unless ORT_NODE_MODULES names another folder.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

function parseArgs(argv) {
  const o = {threads: '1', repetitions: 9, minTime: 0.05, name: '', json: '', dir: ''};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    if (a === '--threads') o.threads = v, i++;
    else if (a === '--repetitions') o.repetitions = parseInt(v, 10), i++;
    else if (a === '--min-time') o.minTime = parseFloat(v), i++;
    else if (a === '--name') o.name = v, i++;
    else if (a === '--json') o.json = v, i++;
    else if (!o.dir) o.dir = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!o.dir || !o.json || !(o.repetitions >= 1)) {
    console.error('usage: ort_forward.js DUMP_DIR [--threads 1,2] [--repetitions N] [--min-time S] --json OUT.json');
    process.exit(2);
  }
  return o;
}

function readFolder(dir) {
  const tensors = {};
  for (const line of fs.readFileSync(path.join(dir, 'manifest.txt'), 'utf8').split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (!parts[0]) continue;
    const bytes = fs.readFileSync(path.join(dir, parts[0] + '.f32'));
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    tensors[parts[0]] = {dims: parts.slice(1).map(Number), data};
  }
  return tensors;
}

const now = () => Number(process.hrtime.bigint()) * 1e-9;
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1e-6; };
const median = (v) => { const s = [...v].sort((a, b) => a - b), n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const stddev = (v) => { const m = mean(v); return v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0; };

async function timeVariant(ort, dir, threads, o) {
  const t = readFolder(dir);
  const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'),
      {intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all'});
  const feeds = {};
  for (const name of session.inputNames) {
    const src = name === session.inputNames[0] ? t['input.x'] : t['feed.' + name];
    if (!src) throw new Error(`${dir}: no data for the model's input ${name}`);
    feeds[name] = new ort.Tensor('float32', src.data, src.dims);
  }
  const run = () => session.run(feeds);
  const out = (await run())[session.outputNames[0]].data, ours = t['output.ours'].data;
  let diff = 0;
  for (let i = 0; i < ours.length; i++) diff = Math.max(diff, Math.abs(out[i] - ours[i]));
  await run();
  let iters = 1;
  for (;;) { // grow the calls per repetition until one run lasts min-time
    const t0 = now();
    for (let i = 0; i < iters; i++) await run();
    const el = now() - t0;
    if (el >= o.minTime || iters >= 1e9) break;
    iters = Math.ceil(iters * Math.min(Math.max(el > 0 ? 1.4 * o.minTime / el : 100, 2), 100));
  }
  const real = [], cpuT = [];
  for (let r = 0; r < o.repetitions; r++) {
    const r0 = now(), c0 = cpu();
    for (let i = 0; i < iters; i++) await run();
    real.push((now() - r0) / iters), cpuT.push((cpu() - c0) / iters);
  }
  return {batch: t['input.x'].dims[0], iters, real, cpu: cpuT, diff};
}

function entries(runName, family, instance, threads, r, reps) {
  const base = {family_index: family, per_family_instance_index: instance, run_name: runName, repetitions: reps,
                threads, time_unit: 'us', batch: r.batch, max_abs_diff_vs_sbt: r.diff};
  const out = [];
  for (let i = 0; i < reps; i++)
    out.push({name: runName, ...base, run_type: 'iteration', repetition_index: i, iterations: r.iters,
              real_time: r.real[i] * 1e6, cpu_time: r.cpu[i] * 1e6});
  if (reps < 2) return out;
  const f = {mean, median, stddev, cv: (v) => stddev(v) / mean(v)};
  for (const agg of ['mean', 'median', 'stddev', 'cv']) {
    const scale = agg === 'cv' ? 1 : 1e6;
    out.push({name: `${runName}_${agg}`, ...base, run_type: 'aggregate', aggregate_name: agg,
              aggregate_unit: agg === 'cv' ? 'percentage' : 'time', iterations: reps,
              real_time: f[agg](r.real) * scale, cpu_time: f[agg](r.cpu) * scale});
  }
  return out;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const modules = process.env.ORT_NODE_MODULES || path.join(__dirname, '..', '.deps', 'node', 'node_modules');
  const ort = require(path.join(modules, 'onnxruntime-node'));
  const name = o.name || path.basename(path.resolve(o.dir));
  const benchmarks = [], diffs = {}, refused = {};
  const variants = fs.readdirSync(o.dir).filter((v) => v.startsWith('attn-')).sort();
  const threadList = o.threads.split(',').map(Number);
  for (let family = 0; family < threadList.length; family++) {
    const threads = threadList[family];
    let instance = 0;
    for (const v of variants) {
      const dir = path.join(o.dir, v);
      if (!fs.existsSync(path.join(dir, 'model.onnx'))) {
        refused[v.slice(5)] = fs.existsSync(path.join(dir, 'onnx_refused.txt'))
          ? fs.readFileSync(path.join(dir, 'onnx_refused.txt'), 'utf8').trim() : 'no model.onnx';
        continue;
      }
      const r = await timeVariant(ort, dir, threads, o);
      diffs[v.slice(5)] = r.diff;
      const run = `ort/${name}/attn:${v.slice(5)}/batch:${r.batch}/threads:${threads}`;
      benchmarks.push(...entries(run, family, instance++, threads, r, o.repetitions));
    }
  }
  const context = {date: new Date().toISOString(), host_name: os.hostname(), executable: __filename,
                   num_cpus: os.cpus().length, mhz_per_cpu: os.cpus()[0] ? os.cpus()[0].speed : 0,
                   cpu_scaling_enabled: false, caches: [], load_avg: os.loadavg(),
                   library_version: `onnxruntime-node ${require(path.join(modules, 'onnxruntime-node', 'package.json')).version}`,
                   library_build_type: 'release', json_schema_version: 1,
                   peer: 'ONNX Runtime (onnxruntime-node), CPU, the dense float ONNX export (sbt_onnx_export)',
                   model: path.resolve(o.dir), max_abs_diff_vs_sbt: diffs, onnx_refused: refused};
  const tmp = o.json + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify({context, benchmarks}, null, 1));
  fs.renameSync(tmp, o.json);
  for (const [v, d] of Object.entries(diffs)) console.log(`ort_forward: ${v}: max |ort - sbt| = ${d.toPrecision(3)}`);
  for (const [v, why] of Object.entries(refused)) console.log(`ort_forward: ${v}: no ONNX export (${why})`);
}

main().catch((e) => { console.error(`ort_forward: ${e.message}`); process.exit(1); });
