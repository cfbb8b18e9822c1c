#!/usr/bin/env bash
# Training throughput of libsbt against PyTorch: runs bench/train_throughput (built
# beforehand, this script builds nothing) and bench/torch_train_throughput.py on the same
# data, initial weights, batch size and thread counts, and writes
#   bench/results/train_throughput.json  (Google Benchmark JSON; compare.py reads it)
#   bench/results/train_throughput.md    (a short table)
#
# Usage: bench/run_train_throughput.sh [BUILD_DIR]     (default: build)
# Environment: SBT_DATA (data root, default /work/shared/data), THREADS (default "1 2"),
#   EPOCHS (epochs per run including the warm-up; default 11 JapaneseVowels, 5 synthetic),
#   SYNTH_CASES (default 1000), PYTHON (default /usr/bin/python3), RESULTS (output folder).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bin="$build/bench/train_throughput"
python=${PYTHON:-/usr/bin/python3}
threads=${THREADS:-1 2}
results=${RESULTS:-$here/results}
export SBT_DATA=${SBT_DATA:-$(cd "$here/../.." && pwd)/shared/data}

if [ ! -x "$bin" ]; then
    echo "run_train_throughput: $bin not found; build first (cmake --build $build)" >&2
    exit 1
fi
mkdir -p "$results"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Other work on the machine ruins thread-scaling numbers: measure how busy the CPUs are
# (all processes, over 2 s) before starting, warn, and record it in the results.
cpu_busy() {
    local a b tot=0 k
    read -r -a a </proc/stat
    sleep 2
    read -r -a b </proc/stat
    for k in 1 2 3 4 5 6 7 8; do tot=$((tot + b[k] - a[k])); done
    echo $((100 * (tot - (b[4] - a[4]) - (b[5] - a[5])) / (tot > 0 ? tot : 1)))
}
busy=$(cpu_busy)
if [ "$busy" -gt 10 ]; then
    echo "run_train_throughput: warning: the CPUs are already ${busy}% busy; results will be low and noisy" >&2
fi
read -r -a stat_start </proc/stat

epoch_args=()
[ -n "${EPOCHS:-}" ] && epoch_args=(--epochs "$EPOCHS")
synth_args=(--synth-cases "${SYNTH_CASES:-1000}")

# One process per thread count on both sides, with the same thread environment.
# The first run also dumps the data and the initial model for the PyTorch side.
first=1
for n in $threads; do
    dump_args=()
    [ $first = 1 ] && dump_args=(--dump "$tmp/data")
    first=0
    echo "== sbt, $n thread(s)" >&2
    OMP_NUM_THREADS=$n OPENBLAS_NUM_THREADS=$n "$bin" --threads "$n" "${epoch_args[@]}" "${synth_args[@]}" \
        "${dump_args[@]}" >>"$tmp/results.jsonl"
done
for n in $threads; do
    echo "== PyTorch, $n thread(s)" >&2
    "$python" "$here/torch_train_throughput.py" --data-dir "$tmp/data" --threads "$n" "${epoch_args[@]}" \
        >>"$tmp/results.jsonl"
    if [ "$n" -gt 1 ]; then
        # PyTorch with its OpenMP pool at n threads but OpenBLAS single-threaded: often
        # faster here, so the comparison uses whichever PyTorch setup is faster.
        echo "== PyTorch, $n thread(s), OpenBLAS 1 thread" >&2
        "$python" "$here/torch_train_throughput.py" --data-dir "$tmp/data" --threads "$n" --blas-threads 1 \
            "${epoch_args[@]}" >>"$tmp/results.jsonl"
    fi
done

# CPU time used during the runs by processes other than ours (busy ticks in /proc/stat
# minus our children's user+sys time), as a percentage of the machine's capacity.
read -r -a stat_end </proc/stat
ticks=$(getconf CLK_TCK)
total=0
for k in 1 2 3 4 5 6 7 8; do total=$((total + stat_end[k] - stat_start[k])); done
busy_ticks=$((total - (stat_end[4] - stat_start[4]) - (stat_end[5] - stat_start[5])))
times >"$tmp/times"   # in this shell: the second line is our children's user and sys time
children=$(tail -1 "$tmp/times")
foreign=$("$python" -c '
import re, sys
total, busy, ticks, times = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ours = sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", times))
print(max(0, round(100.0 * (busy / ticks - ours) / (total / ticks))) if total else 0)
' "$total" "$busy_ticks" "$ticks" "$children")
if [ "$foreign" -gt 10 ]; then
    echo "run_train_throughput: warning: other processes used ${foreign}% of the CPUs during the run" >&2
fi

"$python" - "$tmp/results.jsonl" "$results" "$bin" "$busy" "$foreign" <<'EOF'
import datetime, json, os, platform, socket, subprocess, sys

lines_path, out_dir, executable, busy, foreign = sys.argv[1:6]
rows = [json.loads(l) for l in open(lines_path) if l.strip()]

def pkg_version(name):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True,
                              text=True).stdout.strip() or None
    except OSError:
        return None

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

def mhz():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("cpu MHz"):
                return int(float(line.split(":", 1)[1]))
    except OSError:
        pass
    return 0

def impl_name(r):
    if r["impl"] == "torch" and r.get("blas_threads") and r["blas_threads"] != r["threads"]:
        return "torch_blas%d" % r["blas_threads"]
    return r["impl"]

sbt = [r for r in rows if r["impl"] == "sbt"]
torch_rows = [r for r in rows if r["impl"] == "torch"]
context = {
    "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    "host_name": socket.gethostname(),
    "executable": executable,
    "num_cpus": os.cpu_count(),
    "mhz_per_cpu": mhz(),
    "cpu_scaling_enabled": False,
    "caches": [],
    "load_avg": list(os.getloadavg()),
    "library_build_type": "release",
    "cpu_model": cpu_model(),
    "sbt_version": sbt[0]["sbt_version"] if sbt else None,
    "openblas": sbt[0]["openblas"] if sbt else None,
    "openblas_package": pkg_version("libopenblas0-pthread"),
    "torch_version": torch_rows[0]["torch_version"] if torch_rows else None,
    "torch_package": pkg_version("python3-torch"),
    "numpy_version": torch_rows[0]["numpy_version"] if torch_rows else None,
    "python_version": platform.python_version(),
    "torch_blas_library": torch_rows[0]["torch_blas_library"] if torch_rows else None,
    "torch_matmul_512_gmacs_1thread": next((t["torch_sgemm_gmacs"] for t in torch_rows if t["threads"] == 1),
                                           None),
    "cpu_busy_percent_before_run": int(busy),
    "cpu_percent_used_by_others_during_run": int(foreign),
    "note": "one benchmark per (workload, implementation, threads): iterations = timed epochs "
            "(first epoch dropped as warm-up), real_time/cpu_time = median epoch in ms, "
            "items_per_second = training samples per second",
}

benchmarks = []
for i, r in enumerate(rows):
    name = "train/%s/%s/threads:%d" % (r["workload"], impl_name(r), r["threads"])
    b = {
        "name": name, "family_index": i, "per_family_instance_index": 0, "run_name": name,
        "run_type": "iteration", "repetitions": 1, "repetition_index": 0, "threads": r["threads"],
        "iterations": r["epochs_timed"],
        "real_time": r["median_epoch_seconds"] * 1e3, "cpu_time": r["median_epoch_cpu_seconds"] * 1e3,
        "time_unit": "ms", "items_per_second": r["samples_per_second"],
        "cases": r["cases"], "batch": r["batch"], "first_loss": r["first_loss"], "last_loss": r["last_loss"],
    }
    if r["impl"] == "sbt":
        b.update({"sgemm_gmacs": r["sgemm_gmacs"], "achieved_gmacs": r["achieved_gmacs"],
                  "macs_per_sample_train": r["macs_per_sample_train"], "params": r["params"]})
    else:
        b["blas_threads"] = r["blas_threads"]
    benchmarks.append(b)

with open(os.path.join(out_dir, "train_throughput.json"), "w") as f:
    json.dump({"context": context, "benchmarks": benchmarks}, f, indent=2)
    f.write("\n")

md = ["# Training throughput: libsbt vs PyTorch", "",
      "%s, %s, %d CPUs; sbt %s, PyTorch %s (OpenBLAS %s). Median over timed epochs "
      "(first epoch dropped); samples/s of training (forward, backward, clip, Adam), no validation." %
      (context["date"], context["cpu_model"], context["num_cpus"], context["sbt_version"],
       context["torch_version"], context["openblas_package"]), "",
      "| workload | threads | sbt samples/s | PyTorch samples/s | sbt / PyTorch | sgemm GMAC/s | sbt GMAC/s (% of sgemm) |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
for s in sbt:
    same = [t for t in torch_rows if t["workload"] == s["workload"] and t["threads"] == s["threads"]]
    best = max(same, key=lambda t: t["samples_per_second"]) if same else None
    if best:
        tv = "%.0f" % best["samples_per_second"]
        if len(same) > 1:
            tv += " (OpenBLAS %d thr.)" % best["blas_threads"]
        ratio = "%.2fx" % (s["samples_per_second"] / best["samples_per_second"])
    else:
        tv, ratio = "-", "-"
    md.append("| %s (%d x %d x %d) | %d | %.0f | %s | %s | %.1f | %.1f (%.0f%%) |" % (
        s["workload"], s["cases"], s["length"], s["channels"], s["threads"], s["samples_per_second"], tv,
        ratio, s["sgemm_gmacs"], s["achieved_gmacs"], 100.0 * s["achieved_gmacs"] / s["sgemm_gmacs"]))
md += ["", "PyTorch's BLAS: %s (its own 512^3 matmul at 1 thread: %s GMAC/s). CPUs busy before the run: %s%%; "
       "used by other processes during it: %s%%." %
       (context["torch_blas_library"], "%.1f" % context["torch_matmul_512_gmacs_1thread"]
        if context["torch_matmul_512_gmacs_1thread"] else "-", busy, foreign)]
md += ["", "PyTorch at more than one thread is run twice (OpenBLAS with the same thread count, and "
       "OpenBLAS single-threaded); the table shows the faster. All runs:", "",
       "| benchmark | samples/s | median epoch ms | first / last epoch loss |", "| --- | ---: | ---: | --- |"]
for b in benchmarks:
    md.append("| %s | %.0f | %.1f | %.3f / %.3f |" % (b["name"], b["items_per_second"], b["real_time"],
                                                     b["first_loss"], b["last_loss"]))
md += ["", "MACs per training sample are counted from the graph (Linear and MatMul, forward plus the "
       "backward products that run); sbt GMAC/s = samples/s x that count. sgemm: 512x512x512 in the "
       "same process and thread count.", ""]
with open(os.path.join(out_dir, "train_throughput.md"), "w") as f:
    f.write("\n".join(md))
print("\n".join(md))
EOF
