"""Where gold spans start on OCR'd pages, against the units each line split lets the page model tag.

A span can only start where a unit (a line, or a piece of one) starts: this counts, for each split of
``newsseg.data.encoding.LINE_SPLITS`` and for "spaces" plus the encoder's own mid-line starts (the
learned alternative: any character whose B- probability passes a threshold), the share of gold span
starts that are unit starts (the most a tagger can get right) and how many units the page model must tag.
Measurement only; the units change nothing about the gold.

Run: python evaluate/line_split.py [PAGES.jsonl ...]   (default dev-ocr, the 15 OCR'd fit pages, dev-hard, dev)
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

from newsseg.data.encoding import LINE_SPLITS, codepoints, line_token_spans, whitespace_mask
from newsseg.data.pages import Page, read_pages
from newsseg.model.segmenter import Segmenter

SETS = ["data/pages/dev-ocr.jsonl", "runs/ocr/ocr-eval.jsonl", "data/pages/dev-hard.jsonl", "data/pages/dev.jsonl"]
THRESHOLDS = (0.5, 0.2)


def main(paths: list[str]) -> None:
    seg = Segmenter.from_pretrained("model")
    arms = [*LINE_SPLITS, *(f"spaces + encoder B- p > {t}" for t in THRESHOLDS)]
    print("| pages | gold span starts | " + " | ".join(arms) + " |")
    print("|---|---:|" + "---:|" * len(arms))
    for path in paths:
        if not Path(path).exists():  # runs/ is built by `newsseg train ... --set data.ocr_share=0.1 -o runs/ocr`
            print(f"| {path} | (missing) |")
            continue
        golds = list(read_pages(path, topics=None))
        cover, units, n_gold = Counter(), Counter(), 0
        blank = (Page(g.id, g.text, []) for g in golds)
        for gold, (_, enc, b, _, _) in zip(golds, seg.page_states(blank, 8, hidden=False)):
            if b is None:
                continue
            ci = enc.char_index
            starts = {s.start for a in gold.articles for s in a.spans}
            n_gold += len(starts)
            unit_starts = {split: set(ci[line_token_spans(gold.text, ci, split)[0]].tolist()) for split in LINE_SPLITS}
            visible = ~whitespace_mask(codepoints(gold.text)[ci])
            for t in THRESHOLDS:  # the encoder's B-headline + B-body probability at each visible character
                unit_starts[f"spaces + encoder B- p > {t}"] = (
                    unit_starts["spaces"] | set(ci[((b[:, 1] + b[:, 3]) > t) & visible].tolist()))
            for arm, got in unit_starts.items():
                cover[arm] += len(starts & got)
                units[arm] += len(got)
        cells = " | ".join(f"{cover[a] / max(n_gold, 1):.3f} ({units[a]:,})" for a in arms)
        print(f"| {path} ({len(golds)}) | {n_gold:,} | {cells} |")
    print("\ncell: share of gold span starts that are unit starts (units to tag)")


if __name__ == "__main__":
    main(sys.argv[1:] or SETS)
