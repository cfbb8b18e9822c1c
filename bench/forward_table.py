#!/usr/bin/python3
"""The table of bench/run_forward.sh: sbt (each weight kernel) vs PyTorch and ONNX Runtime
medians per model, attention variant, batch and thread count, from
results/forward_jv-{dense,sbt}_{sbt,torch,ort}.json (ort optional).

Usage: forward_table.py RESULTS_DIR > RESULTS_DIR/forward.md
"""
import json
import os
import sys

IMPLS = ["forward", "forward-ternary-f32", "forward-ternary-i8"]


def load(res, name, peer):
    path = os.path.join(res, f"forward_{name}_{peer}.json")
    return json.load(open(path))["benchmarks"] if os.path.exists(path) else []


def fmt(v, spec):
    return format(v, spec) if v is not None else "-"


def main():
    res = sys.argv[1]
    print("# Forward latency: libsbt vs PyTorch CPU and ONNX Runtime (same model, weights, input, threads)\n")
    print("Made by `bench/run_forward.sh` (table: `bench/forward_table.py`). Median of the repetitions, "
          "microseconds per forward call of the whole batch. sbt: `sbt-bench`, the frozen forward-only graph "
          "(`sbt_model_graph_build_infer`, sparse weights frozen once), its ternary weights on each kernel: "
          "sgemm (dense), add/sub with float activations (ternary f32), add/sub with int8 activations "
          "(ternary i8; a dense model's weights are not ternary and stay on sgemm, so its three sbt columns "
          "are the same computation). PyTorch: float32, eval mode, `torch.inference_mode`, the same "
          "effective weights. ONNX Runtime (onnxruntime-node, CPU): the dense float ONNX export of the frozen "
          "graph (`sbt_onnx_export`). `max abs diff` compares each peer's output with sbt's on the same input.\n")
    print("| model | attention | batch | threads | sbt dense (us) | sbt ternary f32 (us) | sbt ternary i8 (us) "
          "| torch (us) | ORT (us) | torch / best sbt | ORT / best sbt | MACs per window (exact) "
          "| max abs diff torch, ORT |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in ["jv-dense", "jv-sbt"]:
        runs = load(res, name, "sbt") + load(res, name, "torch") + load(res, name, "ort")
        med = {b["run_name"]: b for b in runs if b.get("aggregate_name") == "median"}
        for run, tm in med.items():
            if not run.startswith("torch/"):
                continue
            rest = run[len("torch/"):]
            ours = [med.get(f"{impl}/{rest}") for impl in IMPLS]
            if not ours[0]:
                continue
            om = med.get(f"ort/{rest}")
            parts = dict(p.split(":") for p in rest.split("/")[1:])
            best = min(x["real_time"] for x in ours if x)
            times = " | ".join(fmt(x["real_time"] if x else None, ".1f") for x in ours)
            ort_t = om["real_time"] if om else None
            print(f"| {name} | {parts['attn']} | {parts['batch']} | {parts['threads']} | {times} | "
                  f"{tm['real_time']:.1f} | {fmt(ort_t, '.1f')} | {tm['real_time'] / best:.2f} | "
                  f"{fmt(ort_t / best if ort_t else None, '.2f')} | {ours[0]['macs_exact']:.0f} | "
                  f"{tm['max_abs_diff_vs_sbt']:.2g}, {fmt(om['max_abs_diff_vs_sbt'] if om else None, '.2g')} |")
    ctx = json.load(open(os.path.join(res, "forward_jv-sbt_sbt.json")))["context"]
    load_avg = ", ".join(f"{x:.1f}" for x in ctx["load_avg"])
    print(f"\nMachine: {ctx['host_name']}, {ctx['num_cpus']} CPUs, load average {load_avg} when the sbt side "
          f"ran (above {ctx['num_cpus']}: other processes shared the cores, so the 2-thread rows are "
          f"oversubscribed and noisy; the 1-thread rows are the comparable ones). Counters refused: "
          f"{', '.join(ctx.get('counters_refused', {})) or 'none'}; counted: "
          f"{', '.join(ctx.get('counters_counted', {}))}.")


if __name__ == "__main__":
    main()
