#!/usr/bin/env bash
# The page model against the model without it, and its ablations, on the repository's evaluation
# sets (dev.jsonl: composed + 1 real; dev-hard.jsonl: hand-planned; dev-ocr.jsonl: composed pages
# rendered and read by Tesseract). Every row is one `newsseg evaluate` run, printed before it.
#   bash evaluate/page_model.sh PAGE_MODEL_DIR [BASE_MODEL_DIR]
# Ablations are copies of PAGE_MODEL_DIR with one switch changed in config.json:
#   no-transformer  a page model trained with layers=0 (pass its dir as ABLATE_LAYERS0=DIR)
#   no-linker       page_model.use_links=false: page-model line tags, hand-weighted linking
#   char-topic      article_topic={}: topic by the majority of per-character votes
set -euo pipefail
pm="${1:?usage: evaluate/page_model.sh PAGE_MODEL_DIR [BASE_MODEL_DIR]}"
base="${2:-model}"   # e.g. a copy of the model without page_model, to compare
dir="$(mktemp -d)"
ablate() {  # ablate NAME PYTHON-EDIT-OF-cfg
  cp -r "$pm" "$dir/$1"
  python - "$dir/$1/config.json" "$2" <<'PY'
import json, sys
p = sys.argv[1]
cfg = json.load(open(p))
exec(sys.argv[2])
json.dump(cfg, open(p, "w"), indent=2, ensure_ascii=False)
PY
}
ablate no-linker 'cfg["page_model"]["use_links"] = False'
ablate char-topic 'cfg["article_topic"] = {}'
models=("$base" "$pm" "$dir/no-linker" "$dir/char-topic")
[ -n "${ABLATE_LAYERS0:-}" ] && models+=("$ABLATE_LAYERS0")
for set in dev dev-hard dev-ocr; do
  for m in "${models[@]}"; do
    echo "## $set: newsseg evaluate data/pages/$set.jsonl --model $m"
    newsseg evaluate "data/pages/$set.jsonl" --model "$m" -o "$dir/report" >/dev/null
    python - "$dir/report/metrics.json" <<'PY'
import json, sys
o = next(iter(json.load(open(sys.argv[1]))["systems"].values()))["overall"]
keys = ["bcubed_f1", "link_f1", "headline_f1", "line_f1", "pk", "topic_macro_f1"]
print(" | ".join(f"{k}={o[k]:.3f}" if isinstance(o.get(k), float) else f"{k}={o.get(k)}" for k in keys))
PY
  done
done
