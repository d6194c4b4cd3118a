"""Calibrate article scores on the decoder-fit pages: a score of 0.9 should be right 9 times in 10.

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
    """Fit and install ``seg.config.score_calibration``; returns it (with ECE before/after on the fit pages)."""
    from sklearn.isotonic import IsotonicRegression

    from newsseg.evaluate.calibration import article_outcomes, calibration

    seg.config.score_calibration = {}  # predict the raw scores
    preds = list(seg.pipe([Page(p.id, p.text, []) for p in fit_pages], batch_size=batch_size))
    scores, right = article_outcomes(fit_pages, preds)
    if len(scores) < 20 or right.all() or not right.any():
        logger.warning("score calibration skipped: %d scored articles on the fit pages", len(scores))
        return {}
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, right.astype(float))
    cal = {"method": "isotonic", "x": [round(float(v), 6) for v in iso.X_thresholds_],
           "y": [round(float(v), 6) for v in iso.y_thresholds_], "n_articles": int(len(scores)),
           "ece_fit_raw": calibration(scores, right)["ece"],
           "ece_fit_calibrated": calibration(iso.predict(scores), right)["ece"]}
    seg.config.score_calibration = cal
    logger.info("article score calibration on %d articles: ECE %.3f -> %.3f", len(scores),
                cal["ece_fit_raw"], cal["ece_fit_calibrated"])
    return cal
