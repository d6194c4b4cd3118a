"""Article and span score calibration: right/wrong, ECE, the reliability diagrams in reports, the fitted map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from newsseg.data.pages import Article, Page, Span
from newsseg.evaluate.calibration import article_outcomes, calibration, span_outcomes

TEXT = "甲" * 10 + "\n" + "乙" * 30 + "\n" + "丙" * 6


def _gold() -> Page:
    return Page("p", TEXT, [Article("a1", "other", [Span(0, 10, "body")]),
                            Article("a2", "legal", [Span(11, 41, "body")])])


def test_outcomes_count_an_article_right_at_half_its_joint_characters() -> None:
    pred = Page("p", TEXT, [
        Article("a1", "other", [Span(0, 10, "body")], score=0.9),            # exact: right
        Article("a2", "legal", [Span(11, 26, "body")], score=0.8),           # 15 of 30: IoU 0.5, right
        Article("a3", "legal", [Span(26, 41, "body"), Span(42, 48, "body")], score=0.7),  # 15 / 36: wrong
        Article("a4", "other", [Span(42, 48, "body")], score=None),          # unscored: left out
    ])
    scores, right = article_outcomes([_gold()], [pred])
    assert scores.tolist() == [0.9, 0.8, 0.7] and right.tolist() == [True, True, False]
    assert article_outcomes([_gold()], [None])[0].size == 0


def test_span_outcomes_match_spans_of_the_same_role() -> None:
    gold = Page("p", TEXT, [Article("a1", "other", [Span(0, 10, "headline"), Span(11, 41, "body")])])
    pred = Page("p", TEXT, [Article("a1", "other", [
        Span(0, 10, "body", score=0.9),          # the right characters, the wrong role: wrong
        Span(11, 30, "body", score=0.8),         # 19 of 30: right
        Span(42, 48, "headline", score=0.7),     # nothing there in the gold: wrong
        Span(30, 41, "body"),                    # unscored: left out
    ], score=0.5)])
    scores, right = span_outcomes([gold], [pred])
    assert scores.tolist() == [0.9, 0.8, 0.7] and right.tolist() == [False, True, False]
    assert calibration(scores, right, unit="spans")["n_spans"] == 3


def test_ece_is_the_weighted_gap_between_score_and_share_right() -> None:
    c = calibration(np.array([0.95] * 10 + [0.25] * 10), np.array([True] * 9 + [False] + [True] * 5 + [False] * 5))
    assert c["n_articles"] == 20 and len(c["bins"]) == 2
    assert c["ece"] == pytest.approx((10 * 0.05 + 10 * 0.25) / 20)
    assert c["mce"] == pytest.approx(0.25) and c["accuracy"] == pytest.approx(0.7)
    assert c["auroc"] == pytest.approx((9 * 5 + 9 * 1 * 0.5 + 5 * 5 * 0.5) / (14 * 6))  # right-wrong pairs, ties count half
    assert calibration(np.zeros(0), np.zeros(0, dtype=bool))["ece"] is None


def test_evaluate_reports_calibration_and_writes_the_diagram(tmp_path: Path) -> None:
    from newsseg.data.pages import write_pages
    from newsseg.evaluate.runner import evaluate

    pred = Page("p", TEXT, [Article("a1", "other", [Span(0, 10, "body", score=0.8)], score=0.9),
                            Article("a2", "legal", [Span(11, 41, "body", score=1.0)], score=0.6)])
    write_pages([_gold()], tmp_path / "gold.jsonl")
    write_pages([pred], tmp_path / "pred.jsonl")
    result = evaluate(tmp_path / "gold.jsonl", pred=tmp_path / "pred.jsonl", no_model=True, quiet=True,
                      out_dir=tmp_path / "report")
    c = result["systems"]["pred"]["calibration"]
    assert c["n_articles"] == 2 and c["ece"] == pytest.approx((0.1 + 0.4) / 2)
    assert (tmp_path / "report" / "reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    c = result["systems"]["pred"]["calibration_spans"]
    assert c["n_spans"] == 2 and c["ece"] == pytest.approx((0.2 + 0.0) / 2)
    assert (tmp_path / "report" / "reliability_spans.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_calibrate_scores_maps_article_scores_through_the_fitted_breakpoints() -> None:
    from newsseg.model.segmenter import calibrate_scores

    page = Page("p", TEXT, [Article("a1", "other", [Span(0, 10, "body")], score=0.8),
                            Article("a2", "legal", [Span(11, 41, "body")], score=None)])
    calibrate_scores([page], {"x": [0.5, 0.9], "y": [0.2, 0.6]})
    assert page.articles[0].score == pytest.approx(0.5) and page.articles[1].score is None
    calibrate_scores([page], {})  # no calibration: unchanged
    assert page.articles[0].score == pytest.approx(0.5)
    page.articles[0].spans[0].score = 0.7  # spans go through their own map, when there is one
    calibrate_scores([page], {"x": [0.5, 0.9], "y": [0.2, 0.6], "spans": {"x": [0.6, 0.8], "y": [0.1, 0.3]}})
    assert page.articles[0].spans[0].score == pytest.approx(0.2) and page.articles[0].score == pytest.approx(0.2)


def test_fit_score_calibration_learns_the_share_right_by_score() -> None:
    from types import SimpleNamespace

    from newsseg.train.score_fit import fit_score_calibration

    golds, preds = [], []
    for i in range(30):  # high-scored articles right, low-scored ones cut in the wrong place
        golds.append(Page(f"p{i}", TEXT, _gold().articles))
        cut = 41 if i % 2 else 20
        sc = 0.9 if i % 2 else 0.8
        preds.append(Page(f"p{i}", TEXT, [Article("a1", "legal", [Span(11, cut, "body", score=sc)], score=sc)]))

    class Seg:
        config = SimpleNamespace(score_calibration={"x": [0, 1], "y": [1, 1]})

        def pipe(self, pages: list, batch_size: int = 16) -> list:
            assert not self.config.score_calibration  # raw scores are what is calibrated
            return preds

    seg = Seg()
    cal = fit_score_calibration(seg, golds)  # type: ignore[arg-type]
    assert seg.config.score_calibration is cal and cal["n_articles"] == 30
    assert np.interp(0.9, cal["x"], cal["y"]) == pytest.approx(1.0) and np.interp(0.8, cal["x"], cal["y"]) == pytest.approx(0.0)
    assert cal["ece_fit_raw"] == pytest.approx((15 * 0.1 + 15 * 0.8) / 30) and cal["ece_fit_calibrated"] == pytest.approx(0.0)
    spans = cal["spans"]  # the same spans, scored alike: the same map, fitted on its own
    assert spans["n_spans"] == 30 and np.interp(0.8, spans["x"], spans["y"]) == pytest.approx(0.0)
