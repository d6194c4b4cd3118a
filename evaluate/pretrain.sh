#!/usr/bin/env bash
# Domain pretraining, measured (issue 14 item 1): the shipped recipe fine-tuned from a masked-LM
# pretrained encoder against the same recipe from scratch, on the evaluation pages.
#   bash evaluate/pretrain.sh [OUT=runs/pt]          (~75 min on 2 cores; one torch job at a time)
# Both arms: train/small.toml without the page model (the comparison is about the encoder), evaluated
# every 1000 steps on the 150 decoder-fit pages for the learning curve. Unlabelled pages: 4000 pages
# composed from the training split with another seed, plus the training split's articles as text.
set -euo pipefail
out="${1:-runs/pt}"
mkdir -p "$out"
curve="--set training.eval_strategy=steps --set training.eval_steps=1000 --set training.save_strategy=steps --set training.save_steps=1000 --set training.disable_tqdm=true"
# shellcheck disable=SC2086
newsseg train train/small.toml -o "$out/scratch" --set page_model.enabled=false $curve
[ -f "$out/unlabelled.jsonl" ] || newsseg compose --pages 4000 --seed 5 -o "$out/unlabelled.jsonl" -q
newsseg pretrain "$out/unlabelled.jsonl" --corpus data/corpus -o "$out/mlm" --set epochs=2 --set save_steps=1000 -q
# shellcheck disable=SC2086
newsseg train train/small.toml -o "$out/pretrained" --set page_model.enabled=false --set model.base_model="$out/mlm" $curve
for arm in scratch pretrained; do
  for set in dev-hard dev dev-ocr; do
    echo "## $arm on $set: newsseg evaluate data/pages/$set.jsonl --model $out/$arm"
    newsseg evaluate "data/pages/$set.jsonl" --model "$out/$arm" -o "$out/eval-$arm-$set" > "$out/eval-$arm-$set.txt"
  done
done
python - "$out" <<'PY'
import glob, json, sys
out = sys.argv[1]
keys = ["bcubed_f1", "link_f1", "headline_f1", "line_f1", "pk", "topic_macro_f1"]
print("arm / set:", " / ".join(keys))
for arm in ("scratch", "pretrained"):
    for s in ("dev-hard", "dev", "dev-ocr"):
        o = json.load(open(f"{out}/eval-{arm}-{s}/metrics.json"))["systems"]["model"]["overall"]
        print(f"{arm} / {s}:", " / ".join(f"{o[k]:.3f}" for k in keys))
print("masked-LM eval loss by step:", [(c["step"], round(c["eval_loss"], 3)) for c in json.load(open(f"{out}/mlm/pretrain.json"))["eval_curve"]])
for arm in ("scratch", "pretrained"):
    last = max(glob.glob(f"{out}/{arm}/checkpoints/checkpoint-*/trainer_state.json"), key=lambda p: int(p.split("-")[-1].split("/")[0]))
    hist = json.load(open(last))["log_history"]
    print(f"{arm}: boundary macro-F1 on the decoder-fit pages by step:",
          [(h["step"], round(h["eval_boundary_macro_f1"], 4)) for h in hist if "eval_boundary_macro_f1" in h])
PY
