#!/usr/bin/env bash
# tests/tools/bench.sh TOOLS_DIR [DATA_DIR] - sbt-bench as a user runs it: a model file with
# every attention variant, a shape counted before training (the paper's SMD totals under
# --convention paper), Google Benchmark JSON that compare.py reads (U test included),
# counters this VM refuses named in the context, and bad input failing cleanly.
set -uo pipefail
source "$(dirname "$0")/lib/e2e.bash" "$@"
bench=$tools/sbt-bench
py=/usr/bin/python3
compare=/usr/share/benchmark/compare.py

"$tools/sbt-train" --synthetic --epochs 1 --d-model 16 --layers 1 --ffn 32 --quiet -o "$tmp/m.sbtm" >/dev/null
check "a small model trains" '[ -s "$tmp/m.sbtm" ]'

"$bench" "$tmp/m.sbtm" --attn all --batch 1,4 --repetitions 3 --min-time 0.005 \
    --counters PAPI_TOT_CYC,perf::TASK-CLOCK --json "$tmp/all.json" >"$tmp/all.out" 2>"$tmp/all.err"
check "sbt-bench MODEL --attn all exits 0" '[ $? -eq 0 ]'
check "the table names every variant" 'for v in full qkv-mask step-t self; do grep -q "^$v " "$tmp/all.out" || exit 1; done'
check "the table writes its units" 'grep -q "forward (us)" "$tmp/all.out" && grep -q "MACs/window" "$tmp/all.out"'
"$py" - "$tmp/all.json" >"$tmp/all.check" 2>&1 <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ctx, b = d["context"], d["benchmarks"]
for k in ["date", "host_name", "executable", "num_cpus", "mhz_per_cpu", "cpu_scaling_enabled", "caches",
          "load_avg", "library_version", "library_build_type", "model", "counters_refused", "counters_counted"]:
    assert k in ctx, k
assert ctx["json_schema_version"] == 1
# 4 variants x 2 batches x (3 repetitions + 4 aggregates)
assert len(b) == 4 * 2 * 7, len(b)
it = [e for e in b if e["run_type"] == "iteration"]
agg = [e for e in b if e["run_type"] == "aggregate"]
assert {e["aggregate_name"] for e in agg} == {"mean", "median", "stddev", "cv"}
for e in it:
    for k in ["params", "nonzero", "bits", "macs", "flops", "perf::TASK-CLOCK", "real_time", "cpu_time"]:
        assert k in e, k
    assert e["flops"] == 2 * e["macs"] and e["macs"] > 0 and e["real_time"] > 0
    assert e["perf::TASK-CLOCK"] > 0
# Step-T and self attention do less work than full attention on the same weights
macs = {e["run_name"].split("/")[2]: e["macs"] for e in it}
assert macs["attn:step-t"] < macs["attn:full"] and macs["attn:self"] < macs["attn:step-t"], macs
print("json ok", ctx["counters_refused"], ctx["counters_counted"])
EOF
check "the JSON holds the context, repetitions, aggregates and counters" 'grep -q "json ok" "$tmp/all.check" || { cat "$tmp/all.check" >&2; false; }'
if grep -q '"PAPI_TOT_CYC": "papi"' "$tmp/all.check"; then
    check "PAPI_TOT_CYC counted (a machine with a PMU)" 'true'
else
    check "PAPI_TOT_CYC refused, named with PAPI's reason" 'grep -q "cannot count PAPI_TOT_CYC: " "$tmp/all.err" && grep -q "PAPI_TOT_CYC" "$tmp/all.check"'
fi

# Counting before training: the paper's SMD SBT at keep 0.25 with its counting rules.
"$bench" --task anomaly --model sbt --keep 0.25 --attn step-t --norm none --channels 38 --outputs 38 \
    --length 200 --d-model 76 --convention paper --repetitions 2 --min-time 0 --counters none \
    --json "$tmp/smd.json" >"$tmp/smd.out"
check "a shape is counted and timed before training" '[ $? -eq 0 ]'
check "paper convention: 1,863,484 FLOPs, 129,808 bits (the paper's SMD totals)" \
    '"$py" -c "import json,sys; e=json.load(open(sys.argv[1]))[\"benchmarks\"][0]; sys.exit(not (e[\"macs\"]==1863484 and e[\"bits\"]==129808))" "$tmp/smd.json"'

# A forecaster (default variant step-t) over every variant, and every weight kernel: each
# variant runs its own graph, each kernel is its own run.
"$bench" --task forecast --model sbt --keep 0.5 --norm layer --channels 4 --outputs 4 --length 16 --d-model 16 \
    --attn all --kernel all --repetitions 2 --min-time 0 --counters none --json "$tmp/fk.json" >/dev/null
check "forecast --attn all --kernel all: 4 variants x 3 kernels, distinct costs per variant" \
    '"$py" - "$tmp/fk.json" <<'"'"'EOF'"'"'
import json, sys
it = [e for e in json.load(open(sys.argv[1]))["benchmarks"] if e["run_type"] == "iteration"]
runs = {e["run_name"] for e in it}
assert len(runs) == 12, runs
assert {r.split("/")[0] for r in runs} == {"forward", "forward-ternary-f32", "forward-ternary-i8"}, runs
macs = {e["run_name"].split("/")[2]: e["macs"] for e in it}
assert len(set(macs.values())) == 3 and macs["attn:step-t"] < macs["attn:full"], macs  # full == qkv-mask
EOF'

# compare.py reads two of our files (same run names) and runs its U test over 9 repetitions.
for side in a b; do
    "$bench" "$tmp/m.sbtm" --repetitions 9 --min-time 0.002 --counters none --json "$tmp/$side.json" >/dev/null
done
"$py" "$compare" --no-color benchmarks "$tmp/a.json" "$tmp/b.json" >"$tmp/cmp.out" 2>&1
check "compare.py compares two sbt-bench files" '[ $? -eq 0 ] && grep -q "forward/m/attn:full/batch:1/threads:1_median" "$tmp/cmp.out"'
check "compare.py runs its U test on them" 'grep -q "U Test, Repetitions: 9 vs 9" "$tmp/cmp.out" || { cat "$tmp/cmp.out" >&2; false; }'

# Converted models (sbt-prune, sbt-binarize) are counted from their graphs: pruning keeps half
# of the Linear weights' non-zeros, binarising makes them ternary (1 bit each, paper).
if [ -x "$tools/sbt-prune" ] && [ -x "$tools/sbt-binarize" ]; then
    "$tools/sbt-prune" "$tmp/m.sbtm" -o "$tmp/p.sbtm" --keep 0.5 >/dev/null &&
        "$tools/sbt-binarize" "$tmp/p.sbtm" -o "$tmp/pb.sbtm" >/dev/null
    for m in m p pb; do
        "$bench" "$tmp/$m.sbtm" --repetitions 2 --min-time 0 --counters none --json "$tmp/$m.cost.json" >/dev/null
    done
    check "pruned and binarised models: fewer non-zero MACs, ternary weights at 1 bit" \
        '"$py" - "$tmp" <<'"'"'EOF'"'"'
import json, sys
c = {m: json.load(open(f"{sys.argv[1]}/{m}.cost.json"))["benchmarks"][0] for m in ["m", "p", "pb"]}
assert c["p"]["macs"] < c["m"]["macs"] == c["m"]["macs_dense"] and c["p"]["macs_dense"] == c["m"]["macs"]
assert c["pb"]["macs"] == c["p"]["macs"] and c["pb"]["bits"] < c["m"]["bits"] / 10, c
assert c["p"]["nonzero"] < c["m"]["nonzero"] and c["pb"]["params"] == c["m"]["params"]
EOF'
fi

# Bad input: exit 1 and no JSON; usage errors exit 2.
echo "not a model" >"$tmp/bad.sbtm"
"$bench" "$tmp/bad.sbtm" --json "$tmp/bad.json" >/dev/null 2>"$tmp/bad.err"
check "a corrupt model file: exit 1, the file named, no JSON" '[ $? -eq 1 ] && grep -q "bad.sbtm" "$tmp/bad.err" && [ ! -e "$tmp/bad.json" ]'
"$bench" "$tmp/m.sbtm" --batch 0 >/dev/null 2>&1
check "--batch 0 is a usage error" '[ $? -eq 2 ]'
"$bench" "$tmp/m.sbtm" --convention wrong >/dev/null 2>&1
check "--convention wrong is a usage error" '[ $? -eq 2 ]'
"$bench" "$tmp/m.sbtm" --task classify >/dev/null 2>&1
check "a model file and shape flags together are a usage error" '[ $? -eq 2 ]'
"$bench" --task classify --channels 3 >/dev/null 2>&1
check "an incomplete shape is a usage error" '[ $? -eq 2 ]'
finish
