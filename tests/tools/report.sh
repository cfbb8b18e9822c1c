#!/usr/bin/env bash
# tests/tools/report.sh TOOLS_DIR [DATA_DIR] - sbt-report renders fixture JSON
# (tests/fixtures/report: JapaneseVowels grid rows, two sbt-bench files, packed sizes) into
# report.md, a self-contained report.html and valid PNG + SVG plots; without packed sizes it
# says the encodings plot was skipped; bad input fails cleanly without a report.
set -uo pipefail
source "$(dirname "$0")/lib/e2e.bash" "$@"
fx=$(cd "$(dirname "$0")/../fixtures/report" && pwd)
py=/usr/bin/python3

"$tools/sbt-report" "$fx/grid_jv.json" "$fx/bench_sbt.json" "$fx/bench_dense.json" "$fx/packed_fixture.json" \
    -o "$tmp/r" >"$tmp/out" 2>"$tmp/err"
check "sbt-report exits 0" '[ $? -eq 0 ] || { cat "$tmp/err" >&2; false; }'
for f in report.md report.html plots/keep_JapaneseVowels.png plots/keep_JapaneseVowels.svg plots/storage.png \
    plots/storage.svg plots/macs.png plots/macs.svg plots/latency_b1_t1.png plots/latency_b1_t1.svg; do
    check "$f exists" '[ -s "$tmp/r/$f" ]'
done
"$py" - "$tmp/r" >"$tmp/valid" 2>&1 <<'EOF'
import glob, html.parser, os, struct, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
for png in glob.glob(os.path.join(d, "plots", "*.png")):
    b = open(png, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", png
    w, h = struct.unpack(">II", b[16:24])  # IHDR
    assert (w, h) == (960, 560), (png, w, h)
for svg in glob.glob(os.path.join(d, "plots", "*.svg")):
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg"), svg
    text = " ".join("".join(t.itertext()) for t in root.iter() if t.tag.endswith("text"))
    assert len(text) > 20, svg  # title, labels, legend
class Check(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.svg = 0; self.stack = []; self.external = []; self.tables = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg": self.svg += 1
        if tag == "table": self.tables += 1
        if tag in ("img", "script", "link") and (a.get("src") or a.get("href")): self.external.append(tag)
c = Check(); page = open(os.path.join(d, "report.html")).read(); c.feed(page); c.close()
assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
assert c.svg == 4, c.svg            # keep, storage, MACs, latency: all inlined
assert not c.external, c.external   # self-contained
assert c.tables >= 3
md = open(os.path.join(d, "report.md")).read()
for needle in ["plots/keep_JapaneseVowels.png", "plots/storage.png", "plots/macs.png", "plots/latency_b1_t1.png",
               "forward/classify-sbt/attn:full/batch:1/threads:1", "seed+mask (fixture)", "| JapaneseVowels | sbt |"]:
    assert needle in md, needle
assert "skipped" not in md
print("valid")
EOF
check "PNG, SVG and HTML are valid; HTML self-contained; Markdown links the plots" \
    'grep -q "^valid" "$tmp/valid" || { cat "$tmp/valid" >&2; false; }'
check "the SVG of the storage plot names the real encodings" 'grep -q "seed+mask (fixture)" "$tmp/r/plots/storage.svg"'
check "plots carry units on their axes" 'grep -q "log scale" "$tmp/r/plots/storage.gp" && grep -q "microseconds" "$tmp/r/plots/latency_b1_t1.gp"'

"$tools/sbt-report" "$fx/bench_sbt.json" -o "$tmp/r2" >/dev/null 2>&1
check "without packed sizes the report says the encodings plot was skipped" \
    'grep -q "No packed-format JSON was given" "$tmp/r2/report.md" && grep -q "No packed-format JSON was given" "$tmp/r2/report.html"'

# sbt-export's JSON is a packed-size input: the exported file beside the model's benchmark.
if [ -x "$tools/sbt-export" ]; then
    "$tools/sbt-train" --synthetic --model sbt --keep 0.5 --epochs 1 --d-model 16 --layers 1 --ffn 32 --quiet \
        -o "$tmp/m.sbtm" >/dev/null
    "$tools/sbt-bench" "$tmp/m.sbtm" --repetitions 2 --min-time 0 --counters none --json "$tmp/m.bench.json" >/dev/null
    "$tools/sbt-export" "$tmp/m.sbtm" -o "$tmp/m.sbt" --json >"$tmp/m.export.json"
    "$tools/sbt-report" "$tmp/m.bench.json" "$tmp/m.export.json" -o "$tmp/r6" >/dev/null 2>"$tmp/r6.err"
    check "sbt-export JSON: its sizes in the storage plot and tables, nothing skipped" \
        '[ $? -eq 0 ] && grep -q "sbt-export file" "$tmp/r6/plots/storage.gp" && grep -q "sbt-export sizes" "$tmp/r6/report.md" && ! grep -q "No packed-format JSON" "$tmp/r6/report.md"'
    check "the exported file is smaller than its float32 form in the report" \
        '"$py" - "$tmp/r6/report.md" <<'"'"'EOF'"'"'
import re, sys
rows = {m.group(1): float(m.group(2)) for m in re.finditer(r"^\| m \| ([^|]+?) \| (\d+) \|", open(sys.argv[1]).read(), re.M)}
assert rows["sbt-export file"] < rows["sbt-export, all float32"], rows
EOF'
fi

# A peer's file (no cost counters) read before ours must not hide our runs from the MACs plot.
"$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for b in d["benchmarks"]:
    b["run_name"] = b["run_name"].replace("forward/", "torch/", 1)
    b["name"] = b["name"].replace("forward/", "torch/", 1)
    for k in ["macs", "macs_exact", "macs_paper", "bits", "bits_f32", "bits_entropy", "params", "nonzero"]:
        b.pop(k, None)
json.dump(d, open(sys.argv[2], "w"))' "$fx/bench_sbt.json" "$tmp/a_peer.json"
"$tools/sbt-report" "$tmp/a_peer.json" "$fx/bench_sbt.json" -o "$tmp/r7" >/dev/null 2>&1
check "a peer read first: MACs and storage plots still made, latency shows both" \
    '[ -s "$tmp/r7/plots/macs.png" ] && [ -s "$tmp/r7/plots/storage.png" ] && grep -q "PyTorch" "$tmp/r7/plots/latency_b1_t1.gp"'

echo '{"rows": [' >"$tmp/bad.json"
"$tools/sbt-report" "$tmp/bad.json" -o "$tmp/r3" >/dev/null 2>"$tmp/bad.err"
check "invalid JSON: exit 1, the file named, no report" '[ $? -eq 1 ] && grep -q "bad.json" "$tmp/bad.err" && [ ! -e "$tmp/r3/report.md" ]'
echo '{"task": "classify", "main_metric": "accuracy", "rows": [{"dataset": "x", "model": "sbt", "keep": "half", "attention": "full"}]}' >"$tmp/badrow.json"
"$tools/sbt-report" "$tmp/badrow.json" -o "$tmp/r4" >/dev/null 2>"$tmp/badrow.err"
check "a field of the wrong type: exit 1, the row named" '[ $? -eq 1 ] && grep -q "rows\[0\]" "$tmp/badrow.err"'
"$tools/sbt-report" "$fx/bench_sbt.json" >/dev/null 2>&1
check "no -o is a usage error" '[ $? -eq 2 ]'
"$tools/sbt-report" "$fx/bench_sbt.json" -o "$tmp/r5" --gnuplot /nonexistent/gnuplot >/dev/null 2>"$tmp/gp.err"
check "a missing gnuplot: exit 1 with the reason, no report" '[ $? -eq 1 ] && grep -q "gnuplot" "$tmp/gp.err" && [ ! -e "$tmp/r5/report.md" ]'
finish
