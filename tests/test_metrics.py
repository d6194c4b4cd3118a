"""Every metric pinned on small hand-computed pages (docs/SPEC.md §3); the arithmetic is in the comments."""

from __future__ import annotations

import json
from typing import Sequence

import numpy as np
import pytest

from newsseg.data.pages import Article, Page, Span
from newsseg.evaluate.metrics import (NO_TOPIC, match_lines, pk_windowdiff, score_corpus,
                                      score_page)


def page(text: str, arts: Sequence[tuple[str, Sequence[tuple[int, int, str]]]], pid: str = "p") -> Page:
    """A page from ``(topic, [(start, end, role), …])`` per article."""
    return Page(pid, text, [Article(f"a{i + 1}", t, [Span(s, e, r) for s, e, r in spans])
                            for i, (t, spans) in enumerate(arts)])


# Two articles on two lines: a1 = 甲×4 (line 0), a2 = 乙×2 (line 1).
TWO = "甲甲甲甲\n乙乙"
GOLD_TWO = page(TWO, [("legal", [(0, 4, "body")]), ("projects", [(5, 7, "body")])])


def test_perfect_prediction() -> None:
    s = score_page(GOLD_TWO, GOLD_TWO)
    for key in ("bcubed_precision", "bcubed_recall", "bcubed_f1", "line_f1", "line_f1_tol1",
                "topic_accuracy", "topic_macro_f1"):
        assert s[key] == 1.0, key
    assert s["pk"] == 0.0 and s["windowdiff"] == 0.0
    # No headlines on either side: nothing to find, nothing predicted -> F1 1.0; exact rate n/a.
    assert s["headline_f1"] == 1.0 and s["headline_exact"] is None
    assert s["n_chars"] == 6 and s["n_gold_articles"] == 2


def test_everything_one_article() -> None:
    pred = page(TWO, [("legal", [(0, 7, "body")])])
    s = score_page(GOLD_TWO, pred)
    # Precision: the 4 甲 chars see 4 same-gold of 6 predicted-mates, the 2 乙 chars 2 of 6:
    # (4·4/6 + 2·2/6) / 6 = 20/36 = 0.5556; recall 1 (every gold article is whole).
    assert s["bcubed_precision"] == pytest.approx(20 / 36)
    assert s["bcubed_recall"] == 1.0
    # F1 = 2·(5/9)·1 / (5/9 + 1) = 10/14
    assert s["bcubed_f1"] == pytest.approx(10 / 14)
    # Starts: gold lines {0, 1}, predicted {0}: P 1/1, R 1/2, F1 = 2·1/(2·1 + 0 + 1) = 2/3.
    assert (s["line_precision"], s["line_recall"]) == (1.0, 0.5)
    assert s["line_f1"] == pytest.approx(2 / 3)
    # The single predicted article (legal) covers both: legal -> legal, projects -> legal.
    assert s["topics_pred"] == ["legal", "legal"] and s["topic_accuracy"] == 0.5
    # Macro over gold labels {legal, projects}: legal P 1/2 R 1 F1 2/3, projects F1 0 -> 1/3.
    assert s["topic_macro_f1"] == pytest.approx(1 / 3)


def test_no_prediction_at_all() -> None:
    for pred in (None, page(TWO, [])):
        s = score_page(GOLD_TWO, pred)
        # Every char is a singleton: P 1, R = (4·1/4 + 2·1/2)/6 = 1/3, F1 = 2·(1/3)/(4/3) = 0.5.
        assert s["bcubed_precision"] == 1.0
        assert s["bcubed_recall"] == pytest.approx(1 / 3)
        assert s["bcubed_f1"] == pytest.approx(0.5)
        # No predicted starts: P 1 (nothing wrong predicted), R 0, F1 0.
        assert (s["line_precision"], s["line_recall"], s["line_f1"]) == (1.0, 0.0, 0.0)
        assert s["topics_pred"] == [NO_TOPIC, NO_TOPIC] and s["topic_accuracy"] == 0.0
        # Non-space labels AAAABB vs ------: k = round(6/2/2) = 2 (1.5 rounds half up),
        # windows i = 0..3 over boundaries b[i:i+2]; gold has its boundary (3|4) in windows 2 and 3.
        assert s["k"] == 2
        assert s["pk"] == pytest.approx(2 / 4) and s["windowdiff"] == pytest.approx(2 / 4)


@pytest.mark.parametrize("text", ["", " \n\t\n　"])
def test_empty_and_whitespace_pages(text: str) -> None:
    gold = page(text, [], pid="e")
    for pred in (None, gold):
        s = score_page(gold, pred)
        # Undefined (empty denominator) -> None; set F1 with nothing to find and nothing found -> 1.
        for key in ("bcubed_precision", "bcubed_recall", "bcubed_f1", "pk", "windowdiff", "k",
                    "headline_exact", "topic_accuracy", "topic_macro_f1"):
            assert s[key] is None, key
        assert s["line_f1"] == s["line_f1_tol1"] == s["headline_f1"] == 1.0
        assert s["n_chars"] == 0
    c = score_corpus([gold], [None])
    assert c["overall"]["bcubed_f1"] is None and c["overall"]["pk"] is None
    json.dumps(c)  # serialisable as is


def test_furniture_only_page_with_a_prediction() -> None:
    gold = page("第3版\n", [])
    pred = page("第3版\n", [("other", [(0, 3, "body")])])
    s = score_page(gold, pred)
    # No gold chars: B³ n/a. One invented start: P 0, R 1 (nothing to find), F1 2·0/(0+1+0) = 0.
    assert s["bcubed_f1"] is None
    assert (s["line_precision"], s["line_recall"], s["line_f1"]) == (0.0, 1.0, 0.0)


def test_single_article_page() -> None:
    gold = page("甲甲甲甲", [("other", [(0, 4, "body")])])
    assert score_page(gold, gold)["bcubed_f1"] == 1.0
    s = score_page(gold, None)
    # One segment of 4: k = round(4/1/2) = 2. Neither side has a boundary, so Pk = WD = 0 even
    # without a prediction (Pk only sees boundaries); B³ catches it: R = 4·(1/4)/4 = 1/4,
    # F1 = 2·(1/4)/(5/4) = 0.4.
    assert s["k"] == 2 and s["pk"] == 0.0 and s["windowdiff"] == 0.0
    assert s["bcubed_f1"] == pytest.approx(0.4)


# a1 = body 甲×4 (line 0) + a detached headline 甲题 (line 2); a2 = body 乙×4 (line 1).
DET = "甲甲甲甲\n乙乙乙乙\n甲题"
GOLD_DET = page(DET, [("legal", [(0, 4, "body"), (10, 12, "headline")]), ("projects", [(5, 9, "body")])])


def test_detached_headline_linked_vs_not_linked() -> None:
    linked = score_page(GOLD_DET, GOLD_DET)
    alone = score_page(GOLD_DET, page(DET, [("legal", [(0, 4, "body")]), ("projects", [(5, 9, "body")]),
                                            ("legal", [(10, 12, "headline")])]))
    wrong = score_page(GOLD_DET, page(DET, [("legal", [(0, 4, "body")]),
                                            ("projects", [(5, 9, "body"), (10, 12, "headline")])]))
    assert linked["bcubed_f1"] == 1.0
    # Headline as its own article: all predicted clusters pure, P 1. Recall: 4 甲 chars 4/6 each,
    # 2 headline chars 2/6 each, 4 乙 chars 1 each: (16/6 + 4/6 + 4)/10 = 11/15.
    # F1 = 2·(11/15)/(26/15) = 11/13.
    assert alone["bcubed_precision"] == 1.0
    assert alone["bcubed_recall"] == pytest.approx(11 / 15)
    assert alone["bcubed_f1"] == pytest.approx(11 / 13)
    # Linked to the wrong article: P = (4·1 + 4·4/6 + 2·2/6)/10 = 11/15, R the same -> F1 11/15.
    assert wrong["bcubed_precision"] == pytest.approx(11 / 15)
    assert wrong["bcubed_f1"] == pytest.approx(11 / 15)
    # Same boundaries when the headline stands alone, so Pk, line and headline scores cannot see
    # the missing link; only B³ can.
    for s in (linked, alone):
        assert s["pk"] == 0.0 and s["line_f1"] == 1.0 and s["headline_f1"] == 1.0
    # Joined to the adjacent 乙 article, the boundary 乙|甲题 (7|8) disappears. k = 2, windows
    # i = 0..7 over b[i:i+2]; gold has boundaries 3|4 and 7|8, so windows 6 and 7 differ: 2/8.
    assert wrong["pk"] == pytest.approx(0.25) and wrong["windowdiff"] == pytest.approx(0.25)
    # 10 non-space chars in 3 gold segments: k = round(10/3/2) = round(1.67) = 2.
    assert linked["k"] == 2


def test_pk_windowdiff_toy_sequence() -> None:
    ref = np.array([0, 0, 0, 1, 1, 1])  # boundary 2|3: b_ref = [0,0,1,0,0]
    # k = round(6/2/2) = 2; windows i = 0..3 look at b[i:i+2].
    hyp = np.array([0, 0, 1, 1, 1, 1])  # b_hyp = [0,1,0,0,0]
    # i=0: ref 0 / hyp 1 -> error; i=1: 1 / 1 ok; i=2: 1 / 0 error; i=3: 0 / 0 ok -> 2/4.
    assert pk_windowdiff(ref, hyp) == (0.5, 0.5, 2)
    hyp2 = np.array([0, 0, 1, 2, 2, 2])  # b_hyp = [0,1,1,0,0]
    # i=0: 0 vs 1 -> both err; i=1: 1 vs 2 -> Pk ok (both > 0), WD err; i=2: 1 vs 1; i=3: 0 vs 0.
    assert pk_windowdiff(ref, hyp2) == (0.25, 0.5, 2)
    # Explicit k = 1: compares single boundaries; hyp misses 2|3 and adds 1|2 -> 2 errors of 5.
    assert pk_windowdiff(ref, hyp, k=1) == (0.4, 0.4, 1)
    assert pk_windowdiff(np.array([0]), np.array([0])) == (None, None, None)


def test_line_tolerance() -> None:
    text = "甲甲\n甲甲\n乙乙\n乙乙"  # lines 0..3 at offsets 0, 3, 6, 9
    gold = page(text, [("legal", [(0, 5, "body")]), ("legal", [(6, 11, "body")])])
    pred = page(text, [("legal", [(0, 8, "body")]), ("legal", [(9, 11, "body")])])
    s = score_page(gold, pred)
    # Starts gold {0, 2}, pred {0, 3}: exact tp 1 -> F1 2/(2+1+1) = 0.5; within ±1 line tp 2 -> 1.0.
    assert s["line_f1"] == 0.5 and s["line_f1_tol1"] == 1.0
    # One-to-one: two predicted lines next to one gold line match once.
    assert match_lines({2}, {1, 3}) == 1
    assert match_lines({1, 2}, {2}) == 1 and match_lines({1, 3}, {2, 4}) == 2 and match_lines({0}, {2}) == 0


@pytest.mark.parametrize("pred_span, matched", [
    ((0, 5), True),    # 5 of 10 gold chars, union 10 (the space does not count): IoU 0.5 -> match
    ((0, 4), False),   # 4 / 10 = 0.4
    ((6, 12), False),  # 六七八九十 + 正: inter 5, union 10 + 6 - 5 = 11 -> 0.4545
    ((0, 12), True),   # inter 10, union 11 -> 0.909
])
def test_headline_iou_threshold(pred_span: tuple[int, int], matched: bool) -> None:
    text = "一二三四五 六七八九十正文正文"  # gold headline [0, 11) = 10 non-space chars, body [11, 15)
    gold = page(text, [("other", [(0, 11, "headline"), (11, 15, "body")])])
    pred = page(text, [("other", [(*pred_span, "headline")])])
    s = score_page(gold, pred)
    assert s["headline_f1"] == (1.0 if matched else 0.0)
    assert s["headline_exact"] == 0.0
    assert score_page(gold, gold)["headline_exact"] == 1.0


def test_headline_one_to_one() -> None:
    text = "一二三四\n五六七八"
    gold = page(text, [("other", [(0, 4, "headline")]), ("other", [(5, 9, "headline")])])
    pred = page(text, [("other", [(0, 9, "headline")])])
    s = score_page(gold, pred)
    # The one predicted span has IoU 4/8 = 0.5 with each gold headline but matches only one:
    # P 1/1, R 1/2, F1 2/(2+0+1) = 2/3.
    assert (s["headline_precision"], s["headline_recall"]) == (1.0, 0.5)
    assert s["headline_f1"] == pytest.approx(2 / 3)


def test_topic_majority_by_body_chars() -> None:
    text = "标题标题标\n甲甲甲甲甲甲乙乙乙乙"  # headline [0,5), body [6,16)
    gold = page(text, [("legal", [(0, 5, "headline"), (6, 16, "body")])])
    # The headline (5 chars) goes to a projects article and does not vote; in the body 6 chars
    # are in a legal article and 4 in a projects one -> legal.
    pred = page(text, [("projects", [(0, 5, "headline"), (12, 16, "body")]), ("legal", [(6, 12, "body")])])
    assert score_page(gold, pred)["topics_pred"] == ["legal"]
    # 5 : 5 tie -> the topic listed first in the label set wins (projects before legal by default).
    tie = page(text, [("legal", [(6, 11, "body")]), ("projects", [(11, 16, "body")])])
    assert score_page(gold, tie)["topics_pred"] == ["projects"]
    assert score_page(gold, tie, topics=("legal", "projects"))["topics_pred"] == ["legal"]
    # Only the headline predicted: no body char covered -> "none".
    head_only = page(text, [("legal", [(0, 5, "headline")])])
    assert score_page(gold, head_only)["topics_pred"] == [NO_TOPIC]


def test_corpus_micro_macro_and_confusion() -> None:
    one = page("甲甲甲甲", [("projects", [(0, 4, "body")])], pid="q")
    c = score_corpus([GOLD_TWO, one], [GOLD_TWO, None])
    o = c["overall"]
    # B³ micro over 6 + 4 chars: P (6 + 4)/10 = 1, R (6 + 4·1/4)/10 = 0.7, F1 = 1.4/1.7.
    assert o["bcubed_recall"] == pytest.approx(0.7)
    assert o["bcubed_f1"] == pytest.approx(1.4 / 1.7)
    # Pk macro over pages: page 1 0, page 2 0 (no boundary anywhere).
    assert o["pk"] == 0.0 and o["n_pages"] == 2
    # Topics: gold [legal, projects, projects], pred [legal, projects, none]: acc 2/3;
    # macro-F1 over {legal, projects}: legal 1, projects P 1 R 1/2 F1 2/3 -> (1 + 2/3)/2 = 5/6.
    assert o["topic_accuracy"] == pytest.approx(2 / 3)
    assert o["topic_macro_f1"] == pytest.approx(5 / 6)
    labels, m = c["confusion"]["labels"], c["confusion"]["matrix"]
    assert labels[-1] == NO_TOPIC
    assert m[labels.index("projects")][labels.index(NO_TOPIC)] == 1
    assert m[labels.index("legal")][labels.index("legal")] == 1
    assert sum(map(sum, m)) == 3
    assert [p["id"] for p in c["pages"]] == ["p", "q"]


def test_robust_to_bad_predictions() -> None:
    # Out-of-range and overlapping predicted spans are clipped / overwritten, never a crash.
    pred = page(TWO, [("legal", [(0, 50, "body")]), ("other", [(-3, 2, "headline")])])
    s = score_page(GOLD_TWO, pred)
    assert 0.0 <= s["bcubed_f1"] <= 1.0
    with pytest.raises(ValueError, match="text differs"):
        score_page(GOLD_TWO, page(TWO + "x", []))


def test_pairwise_link_counts() -> None:
    """Gold: article a = headline + two body fragments, b = one body. Three gold links (a's pairs)."""
    text = "标题甲\n正文一。\n标题乙\n正文二。\n正文三。"
    gold = page(text, [("legal", [(0, 3, "headline"), (4, 8, "body"), (14, 18, "body")]),
                       ("other", [(9, 12, "body")])])
    everything = page(text, [("legal", [(0, 3, "headline"), (4, 18, "body")])])
    o = score_page(gold, everything)
    assert (o["n_gold_links"], o["n_pred_links"]) == (3, 6)
    assert o["link_precision"] == 0.5 and o["link_recall"] == 1.0
    # The last fragment left outside every prediction links to nothing: only the headline-body link.
    part = page(text, [("legal", [(0, 3, "headline"), (4, 8, "body")]), ("other", [(9, 12, "body")])])
    o = score_page(gold, part)
    assert (o["n_pred_links"], o["link_recall"], o["link_precision"]) == (1, 1 / 3, 1.0)
    assert score_page(gold, gold)["link_f1"] == 1.0
    assert score_page(gold, None)["link_f1"] == 0.0


def test_groups_are_layouts_from_page_ids() -> None:
    a = page("标题\n正文。", [("legal", [(0, 2, "headline"), (3, 6, "body")])], pid="hard-split-01")
    b = page("标题\n正文。", [("legal", [(0, 2, "headline"), (3, 6, "body")])], pid="hard-zone-02")
    c = page("标题\n正文。", [("legal", [(0, 2, "headline"), (3, 6, "body")])], pid="hard-split-02")
    r = score_corpus([a, b, c], [a, None, c])
    assert list(r["groups"]) == ["hard-split", "hard-zone"]
    assert r["groups"]["hard-split"]["n_pages"] == 2 and r["groups"]["hard-split"]["bcubed_f1"] == 1.0
    assert r["groups"]["hard-zone"]["headline_f1"] == 0.0
