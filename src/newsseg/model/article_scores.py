"""Article scores that mean what they say: a learned chance that a predicted article is right.

The raw article score is the encoder's mean confidence over the article's characters. It says how sure
the encoder is of each character's role, not whether the article was assembled right, and it barely
separates right from wrong articles (evaluate/README.md). With a page model, the page itself says more:
how strongly the article's own lines call each other "same article" (cohesion), how strongly some line
of another article calls one of its lines "same article" (rival), how many pieces it was assembled from.

:class:`ArticleScorer` is a logistic regression over those features, fitted on the decoder-fit pages
(:func:`newsseg.train.score_fit.fit_score_calibration`) with "right" as target (IoU ≥ 0.5 with a gold
article, :mod:`newsseg.evaluate.calibration`). A logistic regression fitted by likelihood gives
probabilities, so its score is the chance of being right, on pages like the fit pages. Stored as plain
numbers in ``config.score_calibration`` (``"method": "logistic"``), never pickled.

Example::

    import numpy as np
    from newsseg.model.article_scores import ArticleScorer, FEATURES
    s = ArticleScorer(coef=[0.0] * len(FEATURES), intercept=0.0)
    s.predict(np.zeros((2, len(FEATURES))))      # array([0.5, 0.5])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from newsseg.data.pages import Page

FEATURES: tuple[str, ...] = ("raw_score", "n_spans", "has_headline", "log_chars", "cohesion", "min_cohesion",
                             "rival", "max_rival", "line_share")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))


def article_features(page: Page, char_index: np.ndarray, lines: Sequence[tuple[int, int]],
                     logits: np.ndarray) -> np.ndarray:
    """One row of :data:`FEATURES` per article of ``page`` (in order), from the page model's line-pair
    ``logits`` over the page's ``lines`` (token ranges; ``char_index`` maps tokens to characters)."""
    n_art = len(page.articles)
    out = np.zeros((n_art, len(FEATURES)), dtype=np.float64)
    if n_art == 0:
        return out
    owner = np.full(len(page.text), -1, dtype=np.int64)
    for k, art in enumerate(page.articles):
        for s in art.spans:
            owner[s.start:s.end] = k
    # Each line belongs to the article that holds most of its characters (-1: furniture).
    line_art = np.full(len(lines), -1, dtype=np.int64)
    for i, (a, b) in enumerate(lines):
        got = owner[char_index[a:b]]
        got = got[got >= 0]
        if got.size:
            line_art[i] = int(np.bincount(got).argmax())
    p = _sigmoid(np.asarray(logits, dtype=np.float64)) if len(lines) else np.zeros((0, 0))
    inside = line_art >= 0
    for k, art in enumerate(page.articles):
        mine = np.flatnonzero(line_art == k)
        others = np.flatnonzero(inside & (line_art != k))
        chars = sum(len(page.text[s.start:s.end].strip()) for s in art.spans)
        row = {"raw_score": art.score if art.score is not None else 0.0, "n_spans": float(len(art.spans)),
               "has_headline": float(any(s.role == "headline" for s in art.spans)), "log_chars": np.log1p(chars),
               "cohesion": 1.0, "min_cohesion": 1.0, "rival": 0.0, "max_rival": 0.0,
               "line_share": len(mine) / max(1, int(inside.sum()))}
        if len(mine) > 1:
            block = p[np.ix_(mine, mine)]
            off = block[~np.eye(len(mine), dtype=bool)]
            row["cohesion"], row["min_cohesion"] = float(off.mean()), float(block.mean(1).min())
        if len(mine) and len(others):
            cross = p[np.ix_(mine, others)]
            row["rival"], row["max_rival"] = float(cross.max(1).mean()), float(cross.max())
        out[k] = [row[f] for f in FEATURES]
    return out


@dataclass
class ArticleScorer:
    """Logistic regression from :data:`FEATURES` (standardised) to the chance an article is right."""

    coef: list[float]
    intercept: float
    mean: list[float] = field(default_factory=lambda: [0.0] * len(FEATURES))
    std: list[float] = field(default_factory=lambda: [1.0] * len(FEATURES))
    features: list[str] = field(default_factory=lambda: list(FEATURES))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Chance that each row's article is right."""
        if list(self.features) != list(FEATURES):
            raise ValueError(f"article scorer features {self.features} are not this version's {list(FEATURES)}")
        z = (np.asarray(x, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.std)
        return _sigmoid(z @ np.asarray(self.coef) + self.intercept)

    def to_dict(self) -> dict[str, Any]:
        return {"method": "logistic", **asdict(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ArticleScorer":
        return cls(coef=list(d["coef"]), intercept=float(d["intercept"]), mean=list(d["mean"]), std=list(d["std"]),
                   features=list(d["features"]))

    @classmethod
    def fit(cls, x: np.ndarray, right: np.ndarray, c: float = 1.0) -> "ArticleScorer":
        """Fit by likelihood (scikit-learn, L2 penalty ``1/c`` on standardised features)."""
        from sklearn.linear_model import LogisticRegression

        x = np.asarray(x, dtype=np.float64)
        mean, std = x.mean(0), x.std(0)
        std = np.where(std > 1e-9, std, 1.0)
        lr = LogisticRegression(C=c, max_iter=1000).fit((x - mean) / std, np.asarray(right, dtype=int))
        return cls(coef=[round(float(v), 6) for v in lr.coef_[0]], intercept=round(float(lr.intercept_[0]), 6),
                   mean=[round(float(v), 6) for v in mean], std=[round(float(v), 6) for v in std])


def score_articles(page: Page, char_index: np.ndarray, lines: Sequence[tuple[int, int]], logits: np.ndarray,
                   cal: Mapping[str, Any] | None) -> None:
    """With a ``"logistic"`` calibration, replace each article's raw score by the fitted scorer's chance of
    being right, in place; otherwise leave the page alone (and compute nothing)."""
    if not cal or cal.get("method") != "logistic" or not page.articles:
        return
    probs = ArticleScorer.from_dict(cal).predict(article_features(page, char_index, lines, logits))
    for art, s in zip(page.articles, probs):
        art.score = float(s)
