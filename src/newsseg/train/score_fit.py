"""Calibrate article and span scores on the decoder-fit pages: a score of 0.9 should be right 9 times in 10.

With a page model, article scores come from a logistic regression over what the page model says about
the article (:mod:`newsseg.model.article_scores`); without one, from an isotonic map of the raw score.
Span scores always go through an isotonic map.

Raw article scores are the encoder's mean confidence over the article's characters, and they run
high (on the OCR'd evaluation pages the shipped model's articles averaged 0.88 while 48 % of them
matched a gold article). An isotonic regression (scikit-learn) from raw score to the share of
articles that are right (:mod:`newsseg.evaluate.calibration`: IoU ≥ 0.5 with a gold article) is
fitted on the decoder-fit pages after every other decoder step and stored in
``config.score_calibration`` as breakpoints; :func:`newsseg.model.segmenter.calibrate_scores` applies it.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

from newsseg.data.pages import Page
from newsseg.model.segmenter import Segmenter

logger = logging.getLogger(__name__)


def fit_score_calibration(seg: Segmenter, fit_pages: Sequence[Page], batch_size: int = 16) -> dict[str, Any]:
    """Fit and install ``seg.config.score_calibration`` (articles; spans under ``"spans"``); returns it, with
    ECE before/after on the fit pages."""
    from newsseg.evaluate.calibration import article_outcomes, span_outcomes

    seg.config.score_calibration = {}  # predict the raw scores
    blank = [Page(p.id, p.text, []) for p in fit_pages]
    if getattr(seg, "page_model", None) is not None:
        preds, cal = _logistic(seg, fit_pages, blank, batch_size)
    else:
        preds = list(seg.pipe(blank, batch_size=batch_size))
        cal = _isotonic(*article_outcomes(fit_pages, preds), "articles")
    if not cal:
        return {}
    spans = _isotonic(*span_outcomes(fit_pages, preds), "spans")
    if spans:
        cal["spans"] = spans
    seg.config.score_calibration = cal
    return cal


def _logistic(seg: Segmenter, golds: Sequence[Page], blank: Sequence[Page], batch_size: int
              ) -> tuple[list[Page], dict[str, Any]]:
    """Predictions with raw scores, and an :class:`~newsseg.model.article_scores.ArticleScorer` fitted on
    their articles' features (a model with a page model)."""
    import numpy as np

    from newsseg.evaluate.calibration import article_outcomes, calibration
    from newsseg.model.article_scores import FEATURES, ArticleScorer, article_features

    preds, rows = [], []
    for p, e, b, t, h in seg.page_states(blank, batch_size):
        if b is None:
            preds.append(Page(p.id, p.text, []))
            continue
        pred, lines, dec = seg.decode_page_model(p, e, b, t, h)
        preds.append(pred)
        rows.append(article_features(pred, e.char_index, lines, dec.logits))
    raw, right = article_outcomes(golds, preds)
    x = np.vstack(rows) if rows else np.zeros((0, len(FEATURES)))
    if len(x) != len(raw):
        raise AssertionError("every page-model article has a raw score")  # pragma: no cover
    if not _fittable(right, "article scorer", "articles"):
        return preds, {}
    scorer = ArticleScorer.fit(x, right)
    cal = {**scorer.to_dict(), "n_articles": int(len(raw)), "ece_fit_raw": calibration(raw, right)["ece"],
           "ece_fit_calibrated": calibration(scorer.predict(x), right)["ece"]}
    logger.info("article scorer on %d articles: ECE %.3f -> %.3f", len(raw), cal["ece_fit_raw"], cal["ece_fit_calibrated"])
    return preds, cal


def _fittable(right: Any, what: str, unit: str) -> bool:
    """Enough scored items, right and wrong both present, to fit a map from score to share right."""
    if len(right) < 20 or right.all() or not right.any():
        logger.warning("%s skipped: %d scored %s on the fit pages", what, len(right), unit)
        return False
    return True


def _isotonic(scores: Any, right: Any, unit: str) -> dict[str, Any]:
    """Breakpoints of an isotonic map from raw score to share right, with ECE before/after on the fit pages."""
    from sklearn.isotonic import IsotonicRegression

    from newsseg.evaluate.calibration import calibration

    if not _fittable(right, f"{unit[:-1]} score calibration", unit):
        return {}
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, right.astype(float))
    cal = {"method": "isotonic", "x": [round(float(v), 6) for v in iso.X_thresholds_],
           "y": [round(float(v), 6) for v in iso.y_thresholds_], f"n_{unit}": int(len(scores)),
           "ece_fit_raw": calibration(scores, right)["ece"],
           "ece_fit_calibrated": calibration(iso.predict(scores), right)["ece"]}
    logger.info("%s score calibration on %d %s: ECE %.3f -> %.3f", unit[:-1], len(scores), unit,
                cal["ece_fit_raw"], cal["ece_fit_calibrated"])
    return cal
