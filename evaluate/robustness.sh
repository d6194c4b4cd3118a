#!/usr/bin/env bash
# Robustness of a model, two ways, every row from one `newsseg evaluate` run printed before it:
#  1. pages COMPOSED by the training generator from held-out articles only, at OCR-noise rates
#     0 / 2 / 5 %, at column widths 5–7 and 30–40, and with no blank lines at all;
#  2. the HAND-PLANNED hard pages (data/pages/dev-hard.jsonl) rebuilt without blank lines and with
#     every column width redrawn from 5–7 and from 30–40 (same plans, same gold).
#   bash evaluate/robustness.sh [MODEL_DIR] [PAGES]
set -euo pipefail
model="${1:-model}"
n="${2:-40}"
dir="$(mktemp -d)"
declare -A sets=(
  [noise-0]="--noise-rate 0"
  [noise-2pct]="--noise-rate 0.02"
  [noise-5pct]="--noise-rate 0.05"
  [widths-5-7]="--noise-rate 0.01 --set width_min=5 --set width_max=7 --set wide_prob=0 --set mixed_width_prob=0 --set paragraph_line_prob=0"
  [widths-30-40]="--noise-rate 0.01 --set width_min=30 --set width_max=40 --set wide_prob=0 --set mixed_width_prob=0 --set paragraph_line_prob=0"
  [no-blank-lines]="--noise-rate 0.01 --set blank_weights=[1,0,0,0]"
)
declare -A hard=(
  [hard]=""
  [hard-no-blank-lines]="--no-blank-lines"
  [hard-widths-5-7]="--widths 5-7"
  [hard-widths-30-40]="--widths 30-40"
)
summary() {
  python - "$1" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
o = next(iter(m["systems"].values()))["overall"]
keys = ["bcubed_f1", "link_f1", "headline_f1", "line_f1", "pk", "topic_macro_f1"]
print(" | ".join(f"{k}={o.get(k):.3f}" if isinstance(o.get(k), float) else f"{k}={o.get(k)}" for k in keys))
PY
}
for name in noise-0 noise-2pct noise-5pct widths-5-7 widths-30-40 no-blank-lines; do
  # shellcheck disable=SC2086
  newsseg compose --split heldout --pages "$n" --seed 2026 ${sets[$name]} -o "$dir/$name.jsonl" -q
  echo "## composed $name: newsseg evaluate --model $model $dir/$name.jsonl  (pages: newsseg compose --split heldout --pages $n --seed 2026 ${sets[$name]})"
  newsseg evaluate --model "$model" "$dir/$name.jsonl" -o "$dir/$name-report" >/dev/null
  summary "$dir/$name-report/metrics.json"
done
for name in hard hard-no-blank-lines hard-widths-5-7 hard-widths-30-40; do
  # shellcheck disable=SC2086
  python data/pages/build_dev_hard.py ${hard[$name]} -o "$dir/$name.jsonl" >/dev/null
  echo "## hand-planned $name: newsseg evaluate --model $model $dir/$name.jsonl  (pages: python data/pages/build_dev_hard.py ${hard[$name]} -o $dir/$name.jsonl)"
  newsseg evaluate --model "$model" "$dir/$name.jsonl" -o "$dir/$name-report" >/dev/null
  summary "$dir/$name-report/metrics.json"
done
