#!/usr/bin/env bash
# Traditional-character pages: the hand-planned hard pages (data/pages/dev-hard.jsonl) written in
# traditional characters with OpenCC's s2t (phrase-aware; every line keeps its length, so the gold
# offsets hold), predicted with --traditional keep (the model reads them as they are) and auto (read
# as simplified), each scored by `newsseg evaluate --no-model --pred`.
#   bash evaluate/traditional.sh [MODEL_DIR] [GOLD.jsonl]
set -euo pipefail
model="${1:-model}"
gold="${2:-data/pages/dev-hard.jsonl}"
dir="$(mktemp -d)"
python - "$gold" "$dir/trad.jsonl" <<'PY'
import json, sys
import opencc
s2t = opencc.OpenCC("s2t")
with open(sys.argv[1], encoding="utf-8") as src, open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in src:
        page = json.loads(line)
        lines = page["text"].split("\n")
        conv = [s2t.convert(ln) for ln in lines]
        page["text"] = "\n".join(c if len(c) == len(ln) else ln for c, ln in zip(conv, lines))
        out.write(json.dumps(page, ensure_ascii=False) + "\n")
PY
for mode in keep auto; do
  newsseg predict --model "$model" "$dir/trad.jsonl" -o "$dir/pred-$mode.jsonl" --traditional "$mode" -q
  echo "== --traditional $mode: newsseg evaluate $gold (in traditional characters) --no-model --pred pred-$mode.jsonl"
  newsseg evaluate "$dir/trad.jsonl" --no-model --pred "$dir/pred-$mode.jsonl" | sed -n '1,21p'
done
rm -rf "$dir"
