"""Learned article scores: features from the page model's line pairs, a logistic scorer, stored as numbers."""

from __future__ import annotations

import numpy as np
import pytest

from newsseg.data.pages import Article, Page, Span
from newsseg.model.article_scores import FEATURES, ArticleScorer, article_features, score_articles

# Four lines of six characters: lines 0-1 are article a1, lines 2-3 article a2.
TEXT = "\n".join(["甲" * 6, "乙" * 6, "丙" * 6, "丁" * 6])


def _page() -> Page:
    return Page("p", TEXT, [Article("a1", "legal", [Span(0, 6, "headline"), Span(7, 13, "body")], score=0.9),
                            Article("a2", "other", [Span(14, 27, "body")], score=0.6)])


def _lines() -> tuple[np.ndarray, list[tuple[int, int]]]:
    char_index = np.array([i for i, c in enumerate(TEXT) if c != "\n"])  # one token per character
    return char_index, [(0, 6), (6, 12), (12, 18), (18, 24)]


def test_features_read_cohesion_and_rivals_off_the_line_pairs() -> None:
    char_index, lines = _lines()
    logits = np.full((4, 4), -2.0)
    logits[0, 1] = logits[1, 0] = 2.0          # a1's two lines: same article
    logits[2, 3] = logits[3, 2] = 0.0          # a2's: unsure
    logits[1, 2] = logits[2, 1] = 1.0          # a1's body line leans towards a2
    f = article_features(_page(), char_index, lines, logits)
    col = {k: f[:, i] for i, k in enumerate(FEATURES)}
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    assert col["cohesion"] == pytest.approx([sig(2.0), sig(0.0)])
    assert col["max_rival"] == pytest.approx([sig(1.0), sig(1.0)])
    assert col["rival"][0] == pytest.approx((sig(-2.0) + sig(1.0)) / 2)
    assert col["raw_score"].tolist() == [0.9, 0.6] and col["n_spans"].tolist() == [2, 1]
    assert col["has_headline"].tolist() == [1, 0] and col["line_share"].tolist() == [0.5, 0.5]
    assert article_features(Page("p", TEXT, []), char_index, lines, logits).shape == (0, len(FEATURES))


def test_scorer_fits_probabilities_and_round_trips_as_numbers() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES)))
    right = rng.random(400) < 1 / (1 + np.exp(-2.0 * x[:, FEATURES.index("cohesion")]))
    s = ArticleScorer.fit(x, right)
    assert s.coef[FEATURES.index("cohesion")] > 1.0 and abs(s.coef[FEATURES.index("n_spans")]) < 0.5
    p = s.predict(x)
    assert 0.0 < p.min() and p.max() < 1.0 and abs(p.mean() - right.mean()) < 0.02  # fitted by likelihood
    d = s.to_dict()
    assert d["method"] == "logistic" and np.allclose(ArticleScorer.from_dict(d).predict(x), p)
    with pytest.raises(ValueError, match="features"):
        ArticleScorer.from_dict({**d, "features": ["raw_score"]}).predict(x)


def test_score_articles_replaces_raw_scores_only_for_a_logistic_calibration() -> None:
    page = _page()
    char_index, lines = _lines()
    logits = np.zeros((4, 4))
    score_articles(page, char_index, lines, logits, {"x": [0, 1], "y": [0, 1]})  # isotonic: not this function's
    assert [a.score for a in page.articles] == [0.9, 0.6]
    score_articles(page, char_index, lines, logits, ArticleScorer([0.0] * len(FEATURES), 1.0).to_dict())
    assert [a.score for a in page.articles] == pytest.approx([1 / (1 + np.exp(-1.0))] * 2)
