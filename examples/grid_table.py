#!/usr/bin/python3
"""Aggregates paper_grid.sh's runs (JSON lines) into reports/paper_grid.{json,md}:
mean and standard deviation over seeds per (dataset, model, keep, attention), and the
gap of each SBT row to the dense model of the same dataset."""
import json
import statistics
import sys
from collections import defaultdict

runs_path, json_path, md_path, note = sys.argv[1:5]
runs = [json.loads(line) for line in open(runs_path) if line.strip()]
groups = defaultdict(list)
for r in runs:
    groups[(r["dataset"], r["model"], r["keep"], r["attention"])].append(r["value"])

rows = []
for (ds, model, keep, attn), values in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] != "dense", -kv[0][2], kv[0][3])):
    rows.append({"dataset": ds, "model": model, "keep": keep, "sparsity": round(1 - keep, 4), "attention": attn,
                 "runs": len(values), "mean": statistics.mean(values),
                 "std": statistics.stdev(values) if len(values) > 1 else 0.0, "values": values})
dense = {r["dataset"]: r["mean"] for r in rows if r["model"] == "dense"}
for r in rows:
    r["minus_dense_points"] = None if r["dataset"] not in dense else round(100 * (r["mean"] - dense[r["dataset"]]), 2)

json.dump({"note": note, "metric": "test accuracy", "rows": rows, "runs": runs}, open(json_path, "w"), indent=1)
with open(md_path, "w") as f:
    f.write("# Dense vs sparse binary transformers (classification)\n\n")
    f.write(f"Produced by `examples/paper_grid.sh` ({note}). Test accuracy, mean ± standard deviation over seeds; ")
    f.write("the last column is the SBT's difference to the dense model of the same shape, in accuracy points. ")
    f.write("Sparsity = 1 - keep.\n\n")
    f.write("| dataset | model | keep | attention | runs | accuracy | vs dense (points) |\n")
    f.write("| --- | --- | ---: | --- | ---: | ---: | ---: |\n")
    for r in rows:
        gap = "" if r["model"] == "dense" else f"{r['minus_dense_points']:+.2f}"
        f.write(f"| {r['dataset']} | {r['model']} | {r['keep']:g} | {r['attention']} | {r['runs']} | "
                f"{r['mean']:.4f} ± {r['std']:.4f} | {gap} |\n")
