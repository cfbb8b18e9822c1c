#!/usr/bin/python3
"""The table of bench/run_forward.sh: sbt vs PyTorch medians per model, attention variant,
batch and thread count, from results/forward_jv-{dense,sbt}_{sbt,torch}.json.

Usage: forward_table.py RESULTS_DIR > RESULTS_DIR/forward.md
"""
import json
import os
import sys

res = sys.argv[1]
print("# Forward latency: libsbt vs PyTorch CPU (same model, weights, input, threads)\n")
print("Made by `bench/run_forward.sh` (table: `bench/forward_table.py`). Median of 9 repetitions, "
      "microseconds per forward call of the whole batch. sbt: `sbt-bench`, the frozen forward-only graph "
      "(`sbt_model_graph_build_infer`, sparse weights frozen once), its ternary weights on each kernel: "
      "sgemm (dense), add/sub with float activations (ternary f32), add/sub with int8 activations "
      "(ternary i8; a dense model's weights are not ternary and stay on sgemm). PyTorch: float32, eval mode, `torch.inference_mode`, "
      "the same effective weights. `max abs diff` compares the two outputs on the same input.\n")
print("| model | attention | batch | threads | sbt dense (us) | sbt ternary f32 (us) | sbt ternary i8 (us) | "
      "torch (us) | torch / sbt dense | torch / best sbt | MACs per window (exact) | max abs diff |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
IMPLS = ["forward", "forward-ternary-f32", "forward-ternary-i8"]
for name in ["jv-dense", "jv-sbt"]:
    s = json.load(open(os.path.join(res, f"forward_{name}_sbt.json")))["benchmarks"]
    t = json.load(open(os.path.join(res, f"forward_{name}_torch.json")))["benchmarks"]
    med = {b["run_name"]: b for b in s + t if b.get("aggregate_name") == "median"}
    for run, tm in med.items():
        if not run.startswith("torch/"):
            continue
        rest = run[len("torch/"):]
        ours = [med.get(f"{impl}/{rest}") for impl in IMPLS]
        if not ours[0]:
            continue
        parts = dict(p.split(":") for p in rest.split("/")[1:])
        times = [f"{o['real_time']:.1f}" if o else "-" for o in ours]
        best = min(o["real_time"] for o in ours if o)
        print(f"| {name} | {parts['attn']} | {parts['batch']} | {parts['threads']} | {' | '.join(times)} | "
              f"{tm['real_time']:.1f} | {tm['real_time'] / ours[0]['real_time']:.2f} | {tm['real_time'] / best:.2f} | "
              f"{ours[0]['macs_exact']:.0f} | {tm['max_abs_diff_vs_sbt']:.2g} |")
ctx = json.load(open(os.path.join(res, "forward_jv-sbt_sbt.json")))["context"]
load = ", ".join(f"{x:.1f}" for x in ctx["load_avg"])
print(f"\nMachine: {ctx['host_name']}, {ctx['num_cpus']} CPUs, load average {load} when the sbt side ran "
      f"(above {ctx['num_cpus']}: other processes shared the cores, so the 2-thread rows are oversubscribed "
      f"and noisy; the 1-thread rows are the comparable ones). Counters refused: "
      f"{', '.join(ctx.get('counters_refused', {})) or 'none'}; counted: "
      f"{', '.join(ctx.get('counters_counted', {}))}.")
