"""Do article scores mean what they say? Expected calibration error and a reliability diagram.

A predicted article counts as **right** when it matches a gold article: the two share at least half
of their joint non-whitespace characters (intersection over union ≥ 0.5, the same bar as headline
F1). A model whose article scores are calibrated is right on about 90 % of the articles it scores
0.9. Scores are grouped in ten equal-width bins; the expected calibration error (ECE) is the mean gap
between a bin's mean score and its share of right articles, weighted by the bin's articles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from newsseg.data.pages import Article, Page

IOU_RIGHT = 0.5


def _chars(text: str, art: Article) -> set[int]:
    return {i for s in art.spans for i in range(s.start, s.end) if not text[i].isspace()}


def article_outcomes(golds: Sequence[Page], preds: Sequence[Page | None]) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, right)`` for every scored predicted article of every page."""
    scores, right = [], []
    for gold, pred in zip(golds, preds):
        if pred is None:
            continue
        gsets = [_chars(gold.text, a) for a in gold.articles]
        for art in pred.articles:
            if art.score is None:
                continue
            p = _chars(pred.text, art)
            best = max((len(p & g) / len(p | g) for g in gsets if p | g), default=0.0)
            scores.append(float(art.score))
            right.append(best >= IOU_RIGHT)
    return np.asarray(scores, dtype=np.float64), np.asarray(right, dtype=bool)


def calibration(scores: np.ndarray, right: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """ECE, maximum calibration error and the per-bin table (``None`` values when nothing is scored)."""
    if len(scores) == 0:
        return {"n_articles": 0, "ece": None, "mce": None, "accuracy": None, "bins": []}
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, n_bins - 1)
    bins, gaps = [], []
    for b in range(n_bins):
        sel = which == b
        if not sel.any():
            continue
        conf, acc = float(scores[sel].mean()), float(right[sel].mean())
        bins.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": int(sel.sum()),
                     "mean_score": conf, "accuracy": acc})
        gaps.append((int(sel.sum()), abs(conf - acc)))
    n = len(scores)
    return {"n_articles": n, "ece": float(sum(k * g for k, g in gaps) / n), "mce": float(max(g for _, g in gaps)),
            "accuracy": float(right.mean()), "mean_score": float(scores.mean()), "bins": bins}


def write_reliability_png(calibs: Mapping[str, Mapping[str, Any]], path: Path) -> None:
    """One reliability diagram (share of right articles against mean score per bin) for every system."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from newsseg.atomic import atomic_output

    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="calibrated")
    for name, c in calibs.items():
        if c.get("bins"):
            x = [b["mean_score"] for b in c["bins"]]
            y = [b["accuracy"] for b in c["bins"]]
            ax.plot(x, y, marker="o", label=f"{name} (ECE {c['ece']:.3f}, {c['n_articles']} articles)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("article score (bin mean)")
    ax.set_ylabel(f"share of articles right (IoU ≥ {IOU_RIGHT})")
    ax.set_title("article score reliability")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
