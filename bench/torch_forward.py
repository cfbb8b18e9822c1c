#!/usr/bin/python3
"""PyTorch CPU peer of sbt-bench: the forward pass of the same model, same weights, same
input batch and same thread count, timed the same way, written as Google Benchmark JSON.

Usage: torch_forward.py DUMP_DIR [--threads 1,2] [--repetitions 9] [--min-time 0.05] --json OUT.json

DUMP_DIR is what `sbt-bench MODEL --attn all --batch B --dump DUMP_DIR` wrote: one folder
attn-<variant>/ per attention variant with config.txt, manifest.txt ("name dims..." per
tensor) and NAME.f32 (raw little-endian float32): every model tensor, each Linear's
effective weight (<layer>.effective: for a sparse-binary layer alpha * sign(W) * mask,
frozen, as an inference runtime holds it), the Q/K/V masks, the input batch (input.x) and
sbt's output for it (output.ours). The model is the float32 twin of
tests/golden/torch_encoder.py in eval mode (BatchNorm with running statistics). Before
timing, its output is compared with sbt's (max |difference| goes into the JSON context).

Each thread count runs in its own process with OMP_NUM_THREADS and OPENBLAS_NUM_THREADS
set before torch is imported, plus torch.set_num_threads(n). Run names are
torch/<model>/attn:<variant>/batch:<B>/threads:<n>, those of sbt-bench with "forward"
replaced by "torch", so that compare.py can put them side by side:
    compare.py benchmarksfiltered sbt.json forward torch.json torch
"""
import argparse
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import time


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump_dir")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--repetitions", type=int, default=9)
    ap.add_argument("--min-time", type=float, default=0.05)
    ap.add_argument("--name", default="", help="model name in run names (default: the dump folder's name)")
    ap.add_argument("--json", required=True)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def read_folder(folder):
    import numpy as np
    import torch
    cfg, p = {}, {}
    with open(os.path.join(folder, "config.txt")) as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                cfg[k] = v
    with open(os.path.join(folder, "manifest.txt")) as f:
        for line in f:
            parts = line.split()
            if parts:
                shape = [int(s) for s in parts[1:]]
                data = np.fromfile(os.path.join(folder, parts[0] + ".f32"), dtype="<f4").reshape(shape)
                p[parts[0]] = torch.from_numpy(data.copy())
    return cfg, p


def build_forward(cfg, p):
    import torch
    import torch.nn.functional as F
    d, h, layers = int(cfg["d_model"]), int(cfg["heads"]), int(cfg["layers"])
    dh, eps, attn = d // h, float(cfg["norm_eps"]), cfg["attention"]
    include_last = cfg.get("attn_include_last", "0") == "1"

    def lin(name, x):
        return F.linear(x, p[name + ".effective"], p[name + ".bias"])

    def norm(name, x):
        if cfg["norm"] == "layer":
            return F.layer_norm(x, (d,), p[name + ".gamma"], p[name + ".beta"], eps)
        if cfg["norm"] == "batch":
            scale = p[name + ".gamma"] / torch.sqrt(p[name + ".running_var"] + eps)
            return (x - p[name + ".running_mean"]) * scale + p[name + ".beta"]
        return x

    def heads(x):
        b, t, _ = x.shape
        return x.view(b, t, h, dh).transpose(1, 2)

    def attention(layer, x):
        def proj(which):
            y = lin(f"layer{layer}.{which}", x)
            if attn == "qkv-mask":
                y = y * p[f"attn.{which}_mask"]
            return heads(y)
        v = proj("v")
        if attn == "self":
            ctx = v
        else:
            q, k = proj("q"), proj("k")
            t = x.shape[1]
            if attn == "step-t":
                keys = t if include_last or t == 1 else t - 1
                s = q[:, :, -1:] @ k[:, :, :keys].transpose(-1, -2) / math.sqrt(dh)
                last = torch.softmax(s, -1) @ v[:, :, :keys]
                ctx = torch.cat([v[:, :, :-1], last], 2)
            else:
                ctx = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), -1) @ v
        b, _, t, _ = ctx.shape
        return lin(f"layer{layer}.out", ctx.transpose(1, 2).reshape(b, t, d))

    def pe_of(t):
        if cfg["pos"] == "learned":
            return p["pos.table"][:t]
        pe = torch.zeros(t, d)
        pos = torch.arange(t, dtype=torch.float64)[:, None]
        freq = torch.exp(-torch.arange(0, d, 2, dtype=torch.float64) * math.log(10000.0) / d)
        pe[:, 0::2] = torch.sin(pos * freq).float()
        pe[:, 1::2] = torch.cos(pos * freq)[:, : d // 2].float()
        return pe

    pe = pe_of(p["input.x"].shape[1])

    def forward(x):
        z = lin("input", x) * math.sqrt(d) + pe
        for layer in range(layers):
            z = norm(f"layer{layer}.norm1", z + attention(layer, z))
            f = lin(f"layer{layer}.ff2", torch.relu(lin(f"layer{layer}.ff1", z)))
            z = norm(f"layer{layer}.norm2", z + f)
        z = torch.relu(z)
        if cfg["task"] == "classify":
            return lin("head", z).mean(1)
        return lin("head", z[:, -1])

    return forward


def time_runs(fn, x, repetitions, min_time):
    import torch
    with torch.inference_mode():
        fn(x), fn(x)
        t0 = time.perf_counter()
        fn(x)
        once = max(time.perf_counter() - t0, 1e-9)
        iters = max(1, math.ceil(min_time / once))
        real, cpu = [], []
        for _ in range(repetitions):
            r0, c0 = time.perf_counter(), time.process_time()
            for _ in range(iters):
                fn(x)
            real.append((time.perf_counter() - r0) / iters)
            cpu.append((time.process_time() - c0) / iters)
    return iters, real, cpu


def child(args):
    import torch
    torch.set_num_threads(args.child)
    out = []
    for variant in sorted(os.listdir(args.dump_dir)):
        folder = os.path.join(args.dump_dir, variant)
        if not variant.startswith("attn-") or not os.path.isdir(folder):
            continue
        cfg, p = read_folder(folder)
        fn = build_forward(cfg, p)
        x = p["input.x"]
        with torch.inference_mode():
            diff = float((fn(x) - p["output.ours"]).abs().max())
        iters, real, cpu = time_runs(fn, x, args.repetitions, args.min_time)
        out.append({"variant": variant[5:], "batch": x.shape[0], "iterations": iters, "real": real, "cpu": cpu,
                    "max_abs_diff": diff})
    json.dump({"torch": torch.__version__, "runs": out}, sys.stdout)


def entries(name, family, instance, threads, r, reps):
    run = f"torch/{name}/attn:{r['variant']}/batch:{r['batch']}/threads:{threads}"
    base = {"family_index": family, "per_family_instance_index": instance, "run_name": run,
            "repetitions": reps, "threads": threads, "time_unit": "us", "batch": r["batch"],
            "max_abs_diff_vs_sbt": r["max_abs_diff"]}
    for i in range(reps):
        yield dict(base, name=run, run_type="iteration", repetition_index=i, iterations=r["iterations"],
                   real_time=r["real"][i] * 1e6, cpu_time=r["cpu"][i] * 1e6)
    if reps < 2:
        return
    for agg in ["mean", "median", "stddev", "cv"]:
        f = {"mean": statistics.mean, "median": statistics.median, "stddev": statistics.stdev,
             "cv": lambda v: statistics.stdev(v) / statistics.mean(v)}[agg]
        scale = 1.0 if agg == "cv" else 1e6
        yield dict(base, name=f"{run}_{agg}", run_type="aggregate", aggregate_name=agg,
                   aggregate_unit="percentage" if agg == "cv" else "time", iterations=reps,
                   real_time=f(r["real"]) * scale, cpu_time=f(r["cpu"]) * scale)


def main():
    args = parse_args(sys.argv[1:])
    if args.child:
        return child(args)
    name = args.name or os.path.basename(os.path.normpath(args.dump_dir))
    benchmarks, diffs, version = [], {}, None
    for family, threads in enumerate(int(t) for t in args.threads.split(",")):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
        res = subprocess.run([sys.executable, __file__, args.dump_dir, "--child", str(threads), "--repetitions",
                              str(args.repetitions), "--min-time", str(args.min_time), "--json", "-"],
                             env=env, check=True, capture_output=True, text=True)
        got = json.loads(res.stdout)
        version = got["torch"]
        for instance, r in enumerate(got["runs"]):
            benchmarks.extend(entries(name, family, instance, threads, r, args.repetitions))
            diffs[r["variant"]] = r["max_abs_diff"]
    context = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host_name": socket.gethostname(),
               "executable": __file__, "num_cpus": os.cpu_count(), "mhz_per_cpu": 0,
               "cpu_scaling_enabled": False, "caches": [], "load_avg": list(os.getloadavg()),
               "library_version": f"torch {version}", "library_build_type": "release",
               "json_schema_version": 1, "peer": "PyTorch CPU, float32, eval mode, torch.inference_mode",
               "model": os.path.abspath(args.dump_dir), "python": platform.python_version(),
               "max_abs_diff_vs_sbt": diffs}
    text = json.dumps({"context": context, "benchmarks": benchmarks}, indent=1)
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.json)
    for v, dmax in diffs.items():
        print(f"torch_forward: {v}: max |torch - sbt| = {dmax:.3g}")


if __name__ == "__main__":
    main()
