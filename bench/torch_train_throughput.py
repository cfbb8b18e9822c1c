#!/usr/bin/python3
"""PyTorch side of bench/train_throughput: the same encoder, data, initial weights,
batch size, optimizer and thread count as libsbt's trainer, timed the same way.

Usage: torch_train_throughput.py --data-dir DIR [--threads 1,2] [--workload NAME] [--epochs N]

DIR is what `train_throughput --dump DIR` wrote: one folder per workload with meta.txt
(key=value), x.f32 (raw series, n x length x channels), len.i32, y.i32, and the initial
model (manifest.txt: "name param|state dims..." per tensor, NAME.f32 each). The model is
the float32 twin of tests/golden/torch_encoder.py: input z-score (data.mean, data.std),
Linear(C->d) * sqrt(d), sinusoidal positions, post-norm layers (multi-head attention
with the padding mask, BatchNorm over the real steps only, FFN with ReLU), ReLU, per-step
head, masked mean over time, cross-entropy; Adam with global-norm clipping.

Each thread count runs in its own process with OMP_NUM_THREADS and OPENBLAS_NUM_THREADS
set before torch is imported (Debian's PyTorch calls OpenBLAS through libblas.so.3, whose
thread count torch.set_num_threads does not control), plus torch.set_num_threads(n).
--blas-threads 1 keeps OpenBLAS single-threaded while torch's own OpenMP pool uses n
threads (at 2 threads that avoids the two pools fighting over the 2 cores).

Prints one JSON object per line (one per workload and thread count) on stdout; progress
goes to stderr. The first epoch is a warm-up; the median of the others is reported.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = ["JapaneseVowels", "SyntheticSAD"]


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", required=True, help="what train_throughput --dump wrote")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--workload", choices=WORKLOADS, help="default: every workload in DIR")
    ap.add_argument("--epochs", type=int, default=0,
                    help="epochs including the warm-up (default: as in meta.txt)")
    ap.add_argument("--max-seconds", type=float, default=60.0,
                    help="stop a run early (after at least 2 epochs) once it has taken this long")
    ap.add_argument("--blas-threads", type=int, default=0,
                    help="OpenBLAS threads (default: the same as --threads)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def read_meta(folder):
    meta = {}
    with open(os.path.join(folder, "meta.txt")) as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                meta[k] = v
    return meta


def blas_library():
    """The BLAS shared object torch actually loaded (libblas.so.3 is an alternatives link)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.rsplit("/", 1)[-1]}
        return os.path.realpath(sorted(libs)[0]) if libs else None
    except OSError:
        return None


def matmul_gmacs(torch, n=512, seconds=0.5):
    """torch's own 512x512x512 float32 matmul rate, GMAC/s."""
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    reps, t0 = 0, time.perf_counter()
    while True:
        a @ b
        reps += 1
        t = time.perf_counter() - t0
        if t >= seconds and reps >= 5:
            return n ** 3 * reps / t / 1e9


def run_child(args):
    """Runs in a process whose thread environment is already set."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    threads = int(args.threads)
    blas_threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "0"))
    torch.set_num_threads(threads)
    blas_lib, sgemm = blas_library(), matmul_gmacs(torch)
    workloads = [args.workload] if args.workload else [
        w for w in WORKLOADS if os.path.isdir(os.path.join(args.data_dir, w))]
    if not workloads:
        sys.exit(f"torch_train_throughput: no workload folder in {args.data_dir}")

    for name in workloads:
        folder = os.path.join(args.data_dir, name)
        meta = read_meta(folder)
        n, length, channels = int(meta["n"]), int(meta["length"]), int(meta["channels"])
        d, heads, layers = int(meta["d_model"]), int(meta["heads"]), int(meta["layers"])
        batch = int(meta["batch"])
        epochs = args.epochs if args.epochs > 0 else int(meta["epochs"])
        eps, momentum = float(meta["norm_eps"]), float(meta["bn_momentum"])

        X = torch.from_numpy(np.fromfile(os.path.join(folder, "x.f32"), dtype="<f4")
                             .reshape(n, length, channels).copy())
        lens = torch.from_numpy(np.fromfile(os.path.join(folder, "len.i32"), dtype="<i4").astype(np.int64))
        Y = torch.from_numpy(np.fromfile(os.path.join(folder, "y.i32"), dtype="<i4").astype(np.int64))
        VALID = torch.arange(length)[None, :] < lens[:, None]

        params, state = {}, {}
        with open(os.path.join(folder, "manifest.txt")) as f:
            for line in f:
                parts = line.split()
                if not parts:
                    continue
                tname, kind, shape = parts[0], parts[1], [int(p) for p in parts[2:]]
                data = np.fromfile(os.path.join(folder, tname + ".f32"), dtype="<f4").reshape(shape)
                t = torch.from_numpy(data.copy())
                if kind == "param":
                    params[tname] = torch.nn.Parameter(t)
                else:
                    state[tname] = t
        p = {**params, **state}

        pe = torch.zeros(length, d)
        pos = torch.arange(length, dtype=torch.float64)[:, None]
        freq = torch.exp(-torch.arange(0, d, 2, dtype=torch.float64) * math.log(10000.0) / d)
        pe[:, 0::2] = torch.sin(pos * freq).float()
        pe[:, 1::2] = torch.cos(pos * freq)[:, : d // 2].float()
        dh = d // heads

        def lin(x, prefix):
            return F.linear(x, p[prefix + ".weight"], p[prefix + ".bias"])

        def batchnorm(x, w, count, prefix):
            # Statistics over the real steps only; padded rows are normalised with them too.
            mean = (x * w).sum(dim=(0, 1)) / count
            xc = x - mean
            var = (xc * xc * w).sum(dim=(0, 1)) / count
            with torch.no_grad():
                rm, rv = p[prefix + ".running_mean"], p[prefix + ".running_var"]
                c = float(count)
                rm.mul_(1.0 - momentum).add_(mean.detach(), alpha=momentum)
                rv.mul_(1.0 - momentum).add_(var.detach() * (c / (c - 1.0) if c > 1 else 1.0), alpha=momentum)
            return xc * torch.rsqrt(var + eps) * p[prefix + ".gamma"] + p[prefix + ".beta"]

        def attention(x, layer, key_add):
            b, t, _ = x.shape

            def split(part):
                return lin(x, f"layer{layer}.{part}").reshape(b, t, heads, dh).transpose(1, 2)

            q, k, v = split("q"), split("k"), split("v")
            scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dh)) + key_add
            ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
            return lin(ctx.transpose(1, 2).reshape(b, t, d), f"layer{layer}.out")

        def forward(x, valid, labels):
            w = valid.to(x.dtype)[:, :, None]
            count = w.sum()
            x = (x - p["data.mean"]) / p["data.std"] * w
            h = lin(x, "input") * math.sqrt(d) + pe
            key_add = (~valid).to(x.dtype)[:, None, None, :] * -1e9
            for layer in range(layers):
                h = batchnorm(h + attention(h, layer, key_add), w, count, f"layer{layer}.norm1")
                f = lin(torch.relu(lin(h, f"layer{layer}.ff1")), f"layer{layer}.ff2")
                h = batchnorm(h + f, w, count, f"layer{layer}.norm2")
            per_step = lin(torch.relu(h), "head")
            logits = (per_step * w).sum(dim=1) / w.sum(dim=1)
            return F.cross_entropy(logits, labels)

        plist = list(params.values())
        opt = torch.optim.Adam(plist, lr=float(meta["lr"]), betas=(float(meta["beta1"]), float(meta["beta2"])),
                               eps=float(meta["adam_eps"]))
        clip = float(meta["clip"])
        gen = torch.Generator().manual_seed(0)
        print(f"{name}, {threads} thread(s) (OpenBLAS {blas_threads}): torch {torch.__version__}, "
              f"{n} cases x {length} steps x {channels} channels, {sum(t.numel() for t in plist)} parameters; "
              f"BLAS {blas_lib}, 512^3 matmul {sgemm:.1f} GMAC/s", file=sys.stderr)

        walls, cpus, losses = [], [], []
        started = time.perf_counter()
        for epoch in range(epochs):
            if epoch >= 2 and time.perf_counter() - started > args.max_seconds:
                print(f"  stopping after {epoch} epochs (--max-seconds {args.max_seconds:g})", file=sys.stderr)
                break
            t0, c0 = time.perf_counter(), time.process_time()
            order = torch.randperm(n, generator=gen)
            total, batches = 0.0, 0
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                opt.zero_grad(set_to_none=True)
                loss = forward(X[idx], VALID[idx], Y[idx])
                loss.backward()
                if clip > 0:
                    torch.nn.utils.clip_grad_norm_(plist, clip)
                opt.step()
                total += loss.item()
                batches += 1
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            losses.append(total / batches)
            print(f"  epoch {epoch + 1}: {walls[-1]:.3f} s, loss {losses[-1]:.4f}", file=sys.stderr)

        wall, cpu = statistics.median(walls[1:]), statistics.median(cpus[1:])
        print(json.dumps({
            "kind": "train", "impl": "torch", "workload": name, "threads": threads,
            "blas_threads": blas_threads, "cases": n,
            "length": length, "channels": channels, "batch": batch, "epochs_timed": len(walls) - 1,
            "median_epoch_seconds": wall, "median_epoch_cpu_seconds": cpu, "samples_per_second": n / wall,
            "first_loss": losses[0], "last_loss": losses[-1], "epoch_seconds": walls,
            "torch_version": torch.__version__, "numpy_version": np.__version__,
            "torch_sgemm_gmacs": sgemm, "torch_blas_library": blas_lib,
        }), flush=True)


def main():
    args = parse_args(sys.argv[1:])
    if args.child:
        run_child(args)
        return
    if args.epochs and args.epochs < 2:
        sys.exit("torch_train_throughput: --epochs must be at least 2 (the first is a warm-up)")
    for n in [int(s) for s in args.threads.split(",") if s]:
        blas = args.blas_threads if args.blas_threads > 0 else n
        env = dict(os.environ, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(blas), MKL_NUM_THREADS=str(n))
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "--data-dir", args.data_dir,
               "--threads", str(n), "--epochs", str(args.epochs), "--max-seconds", str(args.max_seconds)]
        if args.workload:
            cmd += ["--workload", args.workload]
        rc = subprocess.call(cmd, env=env)
        if rc:
            sys.exit(rc)


if __name__ == "__main__":
    main()
