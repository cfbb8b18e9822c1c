#!/usr/bin/python3
"""Aggregates paper_grid.sh's runs (JSON lines from grid_run.sh) into
reports/paper_grid_<task>.{json,md}: mean and standard deviation over seeds per
(dataset, model, keep, attention) for every metric; the gap of each SBT row to the dense
model of the same dataset on the task's main metric; and, for the SBT at keep 0.5, the
gap of the task's attention variant to full attention.

Usage: grid_table.py RUNS.jsonl OUT.json OUT.md TASK NOTE [COMMAND]
COMMAND names what produced the runs (default: examples/paper_grid.sh --task TASK)."""
import json
import statistics
import sys
from collections import defaultdict

# Per task: the main metric, whether higher is better, how gaps are expressed, and the
# extra columns shown. Accuracy and F1 gaps are in points (x100), MSE gaps in percent.
TASKS = {
    "classify": {"main": "accuracy", "higher": True, "gap": "points", "variant": "qkv-mask", "extra": []},
    "forecast": {"main": "mse", "higher": False, "gap": "percent", "variant": "step-t",
                 "extra": ["mae", "persistence_mse"]},
    "anomaly": {"main": "pot_f1", "higher": True, "gap": "points", "variant": "step-t",
                "extra": ["pot_pa_f1", "quantile_f1", "quantile_pa_f1", "auc_pr"], "also_gap": "auc_pr"},
}
LABELS = {"accuracy": "accuracy", "mse": "MSE (std.)", "mae": "MAE (std.)", "persistence_mse": "persistence MSE",
          "pot_f1": "F1 (POT)", "pot_pa_f1": "F1 (POT, point-adj.)", "quantile_f1": "F1 (q0.99)",
          "quantile_pa_f1": "F1 (q0.99, point-adj.)", "auc_pr": "AUC-PR"}


def load_runs(path):
    runs = []
    for line in open(path):
        if not line.strip():
            continue
        r = json.loads(line)
        if "metrics" not in r:  # the first classification grid's format
            r["metrics"] = {r.pop("metric"): r.pop("value")}
        runs.append(r)
    return runs


def summarise(runs, spec):
    groups = defaultdict(list)
    for r in runs:
        groups[(r["dataset"], r["model"], r["keep"], r["attention"])].append(r)
    rows = []
    order = lambda kv: (kv[0][0], kv[0][1] != "dense", -kv[0][2], kv[0][3] != spec["variant"], kv[0][3])
    for (ds, model, keep, attn), group in sorted(groups.items(), key=order):
        row = {"dataset": ds, "model": model, "keep": keep, "sparsity": round(1 - keep, 4), "attention": attn,
               "runs": len(group), "seeds": [r["seed"] for r in group],
               "seconds": statistics.mean(r.get("seconds", 0) for r in group), "flags": group[0].get("flags", "")}
        for name in [spec["main"]] + spec["extra"]:
            values = [r["metrics"][name] for r in group if name in r["metrics"]]
            if values:
                row[name] = {"mean": statistics.mean(values),
                             "std": statistics.stdev(values) if len(values) > 1 else 0.0, "values": values}
        rows.append(row)
    return rows


def gap(spec, value, reference):
    if spec["gap"] == "points":
        return 100.0 * (value - reference)
    return 100.0 * (value - reference) / reference


def add_gaps(rows, spec):
    main = spec["main"]
    dense = {r["dataset"]: r[main]["mean"] for r in rows if r["model"] == "dense" and main in r}
    full = {r["dataset"]: r[main]["mean"] for r in rows
            if r["model"] == "sbt" and r["keep"] == 0.5 and r["attention"] == "full" and main in r}
    for r in rows:
        if main not in r:
            continue
        if r["model"] != "dense" and r["dataset"] in dense:
            r["vs_dense"] = round(gap(spec, r[main]["mean"], dense[r["dataset"]]), 2)
    # A threshold-free second opinion where thresholded F1 is noisy (anomaly detection).
    also = spec.get("also_gap")
    dense_also = {r["dataset"]: r[also]["mean"] for r in rows if also and r["model"] == "dense" and also in r}
    for r in rows:
        if also and r["model"] != "dense" and r["dataset"] in dense_also and also in r:
            r["vs_dense_" + also] = round(gap(spec, r[also]["mean"], dense_also[r["dataset"]]), 2)
        if r["model"] == "sbt" and r["keep"] == 0.5 and r["attention"] == spec["variant"] and r["dataset"] in full:
            r["vs_full_attention"] = round(gap(spec, r[main]["mean"], full[r["dataset"]]), 2)


def cell(row, name):
    if name not in row:
        return ""
    return f"{row[name]['mean']:.4f} ± {row[name]['std']:.4f}"


def write_markdown(path, rows, spec, task, note, command):
    unit = "points" if spec["gap"] == "points" else "%"
    names = [spec["main"]] + spec["extra"]
    with open(path, "w") as f:
        f.write(f"# Dense vs sparse binary transformers ({task})\n\n")
        f.write(f"Produced by `{command}` ({note}). Test-set metrics, mean ± standard "
                "deviation over seeds. *vs dense*: the SBT's difference to the dense model of the same shape on "
                f"{LABELS[spec['main']]}, in {unit} ({'higher' if spec['higher'] else 'lower'} is better); "
                f"*vs full*: {spec['variant']} attention against full attention, both SBT at keep 0.5. "
                "Sparsity = 1 - keep. Flags beyond the defaults are listed per dataset below the table.\n\n")
        also = spec.get("also_gap")
        also_head = f" | {LABELS[also]} vs dense ({unit})" if also else ""
        f.write("| dataset | model | keep | attention | runs | " + " | ".join(LABELS[n] for n in names)
                + f" | vs dense ({unit}){also_head} | vs full ({unit}) | s/run |\n")
        f.write("| --- | --- | ---: | --- | ---: | " + " | ".join("---:" for _ in names)
                + (" | ---:" if also else "") + " | ---: | ---: | ---: |\n")
        for r in rows:
            vd = f"{r['vs_dense']:+.2f}" if "vs_dense" in r else ""
            vf = f"{r['vs_full_attention']:+.2f}" if "vs_full_attention" in r else ""
            if also:
                key = "vs_dense_" + also
                vd += " | " + (f"{r[key]:+.2f}" if key in r else "")
            f.write(f"| {r['dataset']} | {r['model']} | {r['keep']:g} | {r['attention']} | {r['runs']} | "
                    + " | ".join(cell(r, n) for n in names) + f" | {vd} | {vf} | {r['seconds']:.0f} |\n")
        flags = {}
        for r in rows:
            flags.setdefault(r["dataset"], r["flags"])
        if any(flags.values()):
            f.write("\nFlags per dataset (beyond --task, --model, --keep, --attn, --seed):\n\n")
            for ds, fl in flags.items():
                f.write(f"- {ds}: `{fl or '(sbt-train defaults)'}`\n")


def main():
    runs_path, json_path, md_path, task, note = sys.argv[1:6]
    command = sys.argv[6] if len(sys.argv) > 6 else f"examples/paper_grid.sh --task {task}"
    spec = TASKS[task]
    runs = load_runs(runs_path)
    rows = summarise(runs, spec)
    add_gaps(rows, spec)
    json.dump({"task": task, "note": note, "main_metric": spec["main"], "rows": rows, "runs": runs},
              open(json_path, "w"), indent=1)
    write_markdown(md_path, rows, spec, task, note, command)


if __name__ == "__main__":
    main()
