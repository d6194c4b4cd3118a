"""Do article and span scores mean what they say? Expected calibration error and reliability diagrams.

A predicted article counts as **right** when it matches a gold article: the two share at least half
of their joint non-whitespace characters (intersection over union ≥ 0.5, the same bar as headline
F1). A predicted span is right when a gold span of the same role (headline or body) matches it by the
same bar. A model whose scores are calibrated is right on about 90 % of what it scores 0.9. Scores
are grouped in ten equal-width bins; the expected calibration error (ECE) is the mean gap between a
bin's mean score and its share right, weighted by the bin's size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from newsseg.data.pages import Page, Span

IOU_RIGHT = 0.5


# What is scored -> its entry in a system's metrics (``result["systems"][name][key]``) and its diagram.
REPORTED: dict[str, tuple[str, str]] = {"article": ("calibration", "reliability.png"),
                                        "span": ("calibration_spans", "reliability_spans.png")}


def score_calibrations(golds: Sequence[Page], preds: Sequence[Page | None]) -> dict[str, dict[str, Any]]:
    """Each :data:`REPORTED` metrics entry: the calibration of article and of span scores."""
    return {REPORTED["article"][0]: calibration(*article_outcomes(golds, preds)),
            REPORTED["span"][0]: calibration(*span_outcomes(golds, preds), unit="spans")}


def _chars(text: str, spans: Sequence[Span]) -> set[int]:
    return {i for s in spans for i in range(s.start, s.end) if not text[i].isspace()}


def _best_iou(p: set[int], golds: Sequence[set[int]]) -> float:
    return max((len(p & g) / len(p | g) for g in golds if p | g), default=0.0)


def article_outcomes(golds: Sequence[Page], preds: Sequence[Page | None]) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, right)`` for every scored predicted article of every page."""
    scores, right = [], []
    for gold, pred in zip(golds, preds):
        if pred is None:
            continue
        gsets = [_chars(gold.text, a.spans) for a in gold.articles]
        for art in pred.articles:
            if art.score is not None:
                scores.append(float(art.score))
                right.append(_best_iou(_chars(pred.text, art.spans), gsets) >= IOU_RIGHT)
    return np.asarray(scores, dtype=np.float64), np.asarray(right, dtype=bool)


def span_outcomes(golds: Sequence[Page], preds: Sequence[Page | None]) -> tuple[np.ndarray, np.ndarray]:
    """``(scores, right)`` for every scored predicted span: right when a gold span of its role matches it."""
    scores, right = [], []
    for gold, pred in zip(golds, preds):
        if pred is None:
            continue
        by_role: dict[str, list[set[int]]] = {}
        for a in gold.articles:
            for sp in a.spans:
                by_role.setdefault(sp.role, []).append(_chars(gold.text, [sp]))
        for art in pred.articles:
            for sp in art.spans:
                if sp.score is not None:
                    scores.append(float(sp.score))
                    right.append(_best_iou(_chars(pred.text, [sp]), by_role.get(sp.role, [])) >= IOU_RIGHT)
    return np.asarray(scores, dtype=np.float64), np.asarray(right, dtype=bool)


def calibration(scores: np.ndarray, right: np.ndarray, n_bins: int = 10, unit: str = "articles") -> dict[str, Any]:
    """ECE, maximum calibration error, AUROC of score for right against wrong and the per-bin table
    (``None`` values when nothing is scored); the count is keyed ``n_<unit>``."""
    from sklearn.metrics import roc_auc_score

    if len(scores) == 0:
        return {f"n_{unit}": 0, "auroc": None, "ece": None, "mce": None, "accuracy": None, "bins": []}
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
    # How well the score ranks right above wrong (0.5: not at all), whatever its scale.
    auroc = float(roc_auc_score(right, scores)) if 0 < right.sum() < n else None
    return {f"n_{unit}": n, "auroc": auroc, "ece": float(sum(k * g for k, g in gaps) / n), "mce": float(max(g for _, g in gaps)),
            "accuracy": float(right.mean()), "mean_score": float(scores.mean()), "bins": bins}


def write_reliability_png(calibs: Mapping[str, Mapping[str, Any]], path: Path, unit: str = "article") -> None:
    """One reliability diagram (share right against mean score per bin, ``unit`` = article or span) for every system."""
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
            ax.plot(x, y, marker="o", label=f"{name} (ECE {c['ece']:.3f}, {c[f'n_{unit}s']} {unit}s)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"{unit} score (bin mean)")
    ax.set_ylabel(f"share of {unit}s right (IoU ≥ {IOU_RIGHT})")
    ax.set_title(f"{unit} score reliability")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
