#!/usr/bin/env bash
# Quality of a model on composed pages built ONLY from held-out articles, at OCR-noise rates 0, 2 %
# and 5 %, and at column widths outside the training range (8–20 characters).
#   bash evaluate/robustness.sh [MODEL_DIR] [PAGES]
# Each line of the summary comes from one `newsseg evaluate` run, printed before it.
set -euo pipefail
model="${1:-model}"
n="${2:-40}"
dir="$(mktemp -d)"
declare -A sets=(
  [noise-0]="--noise-rate 0"
  [noise-2pct]="--noise-rate 0.02"
  [noise-5pct]="--noise-rate 0.05"
  [narrow-4-7]="--noise-rate 0.01 --set width_min=4 --set width_max=7 --set wide_prob=0"
  [wide-24-32]="--noise-rate 0.01 --set width_min=24 --set width_max=32 --set wide_prob=0"
)
for name in noise-0 noise-2pct noise-5pct narrow-4-7 wide-24-32; do
  # shellcheck disable=SC2086
  newsseg compose --split heldout --pages "$n" --seed 2026 ${sets[$name]} -o "$dir/$name.jsonl" -q
  echo "## $name: newsseg evaluate --model $model $dir/$name.jsonl  (pages: newsseg compose --split heldout --pages $n --seed 2026 ${sets[$name]})"
  newsseg evaluate --model "$model" "$dir/$name.jsonl" -o "$dir/$name-report" >/dev/null
  python - "$dir/$name-report/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
sysname = next(iter(m["systems"])) if "systems" in m else None
o = m["systems"][sysname]["overall"] if sysname else m["overall"]
keys = ["bcubed_f1", "pk", "windowdiff", "line_f1", "line_f1_tol1", "headline_f1", "topic_accuracy", "topic_macro_f1"]
print(" | ".join(f"{k}={o.get(k):.3f}" if isinstance(o.get(k), float) else f"{k}={o.get(k)}" for k in keys))
PY
done
