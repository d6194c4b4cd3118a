"""Rendering, Tesseract and gold from character boxes (newsseg.ocr).

The pure parts (hOCR parsing, box matching, ownership runs, gutter lines) run everywhere. The round
trip renders pages and OCRs them: it needs ``tesseract`` with ``chi_sim``, which the README's set-up
installs; under CI (``CI`` set) a missing engine fails the test instead of skipping it.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from newsseg.data.encoding import line_token_spans
from newsseg.ocr.engine import OcrResult, match_boxes, parse_hocr_chars, tesseract_available
from newsseg.ocr.gold import gold_page
from newsseg.ocr.render import FURNITURE, RenderConfig, RenderedPage, render_page

SMALL = RenderConfig(columns_min=3, columns_max=3, lines_min=18, lines_max=22, font_px_min=24, font_px_max=24)


def test_parse_hocr_and_match_boxes_in_order() -> None:
    hocr = ("<span class='ocrx_cinfo' title='x_bboxes 1 2 3 4; x_conf 99.1'>标</span>"
            "<span class='ocrx_cinfo' title='x_bboxes 5 6 7 8; x_conf 98'>&lt;</span>"
            "<span class='ocrx_cinfo' title='x_bboxes 9 9 12 12; x_conf 97'>题</span>")
    chars = parse_hocr_chars(hocr)
    assert chars == [("标", (1, 2, 3, 4)), ("<", (5, 6, 7, 8)), ("题", (9, 9, 12, 12))]
    boxes = match_boxes("标 <\n题\f", chars)
    assert boxes == [(1, 2, 3, 4), None, (5, 6, 7, 8), None, (9, 9, 12, 12), None]
    # A character the hOCR does not hold gets no box; the ones after it still match.
    assert match_boxes("标X题", chars) == [(1, 2, 3, 4), None, (9, 9, 12, 12)]


def _page_with(glyphs: list[tuple[str, tuple[int, int, int, int], int]], owners: list[tuple[str, str]]) -> RenderedPage:
    page = RenderedPage("p", Image.new("L", (10, 10)))
    page.glyphs, page.owners = glyphs, owners
    page.topics = {aid: "other" for aid, _ in owners}
    return page


def test_gold_spans_from_boxes_with_alignment_fallback() -> None:
    # Drawn: headline 标题 (owner 0), body 正文内容 (owner 1), furniture 版 (owner -1), one per 10 px cell.
    drawn = [("标", 0, 0), ("题", 1, 0), ("正", 0, 1), ("文", 1, 1), ("内", 2, 1), ("容", 3, 1), ("版", 5, FURNITURE)]
    glyphs = [(ch, (10 * x, 0 if o == 0 else 20, 10 * x + 10, 10 if o == 0 else 30), o) for ch, x, o in drawn]
    page = _page_with(glyphs, [("a1", "headline"), ("a1", "body")])
    text = "标题  正文x内容  版\f"
    # "x" is the engine's garbage with no box; "内" lost its box: alignment settles it.
    boxes: list = [(0, 0, 10, 10), (10, 0, 20, 10), None, None, (0, 20, 10, 30), (10, 20, 20, 30), None, None,
                   (30, 20, 40, 30), None, None, (50, 20, 60, 30), None]
    gold, stats = gold_page(page, OcrResult(text, boxes, ""))
    spans = [(text[s.start:s.end], s.role) for s in gold.articles[0].spans]
    assert spans == [("标题", "headline"), ("正文x内容", "body")]   # garbage between one owner's characters joins it
    assert stats.by_box == 6 and stats.by_alignment == 1 and stats.unowned == 1
    assert stats.agreement == 1.0


def test_gutter_splits_one_ocr_line_into_two() -> None:
    text = "第一栏文字     第二栏文字\n下一行 | 另一栏"
    ci = np.arange(len(text))
    a, _ = line_token_spans(text, ci)
    assert [text[i] for i in a] == ["第", "下"]
    a, b = line_token_spans(text, ci, split="gutters")
    assert [text[s:e] for s, e in zip(a, b)] == ["第一栏文字", "第二栏文字", "下一行 |", "另一栏"]


def test_space_split_cuts_at_every_inner_space_and_unknown_splits_are_refused() -> None:
    from newsseg.data.encoding import check_line_split
    from newsseg.train.args import PageFitArguments

    # what Tesseract writes for a headline over three columns read with the first column's text
    text = "新春年货节开市 本报讯近日，全市\n　　第二行文字     另一栏\n甲栏 | 乙栏\n"
    ci = np.arange(len(text))
    cuts = {split: [text[s:e] for s, e in zip(*line_token_spans(text, ci, split=split))]
            for split in ("none", "gutters", "spaces")}
    assert cuts["none"] == ["新春年货节开市 本报讯近日，全市", "第二行文字     另一栏", "甲栏 | 乙栏"]
    assert cuts["gutters"] == ["新春年货节开市 本报讯近日，全市", "第二行文字", "另一栏", "甲栏 |", "乙栏"]
    # indentation is not a cut; a column rule with its spaces is one cut (the rule stays with the left
    # piece, as for gutters) and the next piece starts after it
    assert cuts["spaces"] == ["新春年货节开市", "本报讯近日，全市", "第二行文字", "另一栏", "甲栏 |", "乙栏"]
    with pytest.raises(ValueError, match="expected one of none, gutters, spaces"):
        check_line_split("words")
    with pytest.raises(ValueError, match="line split 'words'"):
        PageFitArguments(line_split="words")


@pytest.fixture(scope="module")
def rendered(small_train_corpus: list) -> list[RenderedPage]:
    from newsseg.ocr.fonts import find_faces

    try:
        find_faces()
    except RuntimeError as e:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a CJK font: {e}")
        pytest.skip(str(e))
    return [render_page(small_train_corpus[i:i + 8], SMALL, seed=i, page_id=f"t{i}") for i in (0, 8)]


def test_render_is_deterministic_and_owns_every_glyph(rendered: list[RenderedPage], small_train_corpus: list) -> None:
    again = render_page(small_train_corpus[0:8], SMALL, seed=0, page_id="t0")
    assert again.glyphs == rendered[0].glyphs and again.image.tobytes() == rendered[0].image.tobytes()
    for page in rendered:
        roles = {page.owners[o] for _, _, o in page.glyphs if o != FURNITURE}
        assert {aid for aid, _ in roles} == set(page.topics)
        assert any(r == "headline" for _, r in roles) and any(r == "body" for _, r in roles)
        assert any(o == FURNITURE for _, _, o in page.glyphs)   # date line / 版次 at least


@pytest.fixture(scope="module")
def ocr_pages(rendered: list[RenderedPage]) -> list:
    from newsseg.ocr.engine import run_tesseract

    if not tesseract_available():
        msg = "tesseract with chi_sim is not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return [(r, *gold_page(r, run_tesseract(r.image))) for r in rendered]


def test_ocr_gold_covers_each_article_and_boxes_agree_with_alignment(ocr_pages: list) -> None:
    for rendered, gold, stats in ocr_pages:
        assert gold.text.strip() and stats.by_box / stats.chars > 0.9
        assert stats.agreement >= 0.98, stats
        gold.fill_texts()
        for art in gold.articles:
            drawn = Counter(ch for ch, _, o in rendered.glyphs if o != FURNITURE and rendered.owners[o][0] == art.id)
            got = Counter(ch for s in art.spans for ch in gold.text[s.start:s.end] if not ch.isspace())
            recall = sum((drawn & got).values()) / sum(drawn.values())
            assert recall >= 0.85, (art.id, recall)
            assert art.topic == rendered.topics[art.id]
        # Spans are well formed (docs/SPEC.md §2): inside the text, no overlap, trimmed.
        spans = sorted((s.start, s.end) for a in gold.articles for s in a.spans)
        assert all(e1 <= s2 for (_, e1), (s2, _) in zip(spans, spans[1:]))
        assert all(not gold.text[s].isspace() and not gold.text[e - 1].isspace() for s, e in spans)


def test_training_ocr_pages_come_from_the_training_and_fit_splits(tmp_path, monkeypatch) -> None:
    """The trainer renders training pages from the train split and eval pages from the fit split only."""
    from newsseg.data.corpus import heldout_ids, load_corpus
    from newsseg.ocr import store
    from newsseg.train import trainer
    from newsseg.train.args import DataArguments

    seen: dict[int, set[str]] = {}

    def fake_build(articles, n, settings, cache):  # type: ignore[no-untyped-def]
        seen[n] = {a.id for a in articles}
        for i in range(n):
            assert set(a.id for a in store.pick_articles(articles, settings.seed, i)) <= seen[n]
        return [], store.GoldStats(), tmp_path

    monkeypatch.setattr(store, "build_ocr_pages", fake_build)
    data = DataArguments(compose_pages=40, eval_pages=20, ocr_share=0.25)
    files = trainer.compose_split(data, tmp_path, "train") + trainer.compose_split(data, tmp_path, "eval")
    assert any(f.endswith("ocr-train.jsonl") for f in files) and any(f.endswith("ocr-eval.jsonl") for f in files)
    assert seen[10] == {a.id for a in load_corpus(split="train")}
    assert seen[5] == {a.id for a in load_corpus(split="fit")}
    assert not (seen[10] | seen[5]) & heldout_ids()


def test_ocr_pages_for_the_page_model_only_leave_the_encoder_its_composed_pages(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """data.ocr_encoder = false: the OCR'd training pages are built (the page model reads them) but the
    encoder's files are all composed pages, as many as data.compose_pages; eval pages still mix them in."""
    from newsseg.data.pages import read_pages
    from newsseg.ocr import store
    from newsseg.train import trainer
    from newsseg.train.args import DataArguments

    built: list[int] = []

    def fake_build(articles, n, settings, cache):  # type: ignore[no-untyped-def]
        built.append(n)
        return [], store.GoldStats(), tmp_path

    monkeypatch.setattr(store, "build_ocr_pages", fake_build)
    data = DataArguments(compose_pages=12, eval_pages=8, ocr_share=0.25, ocr_encoder=False)
    train_files = trainer.compose_split(data, tmp_path, "train")
    assert train_files == [str(tmp_path / "composed-train.jsonl")]
    assert len(list(read_pages(train_files[0]))) == 12 and (tmp_path / "ocr-train.jsonl").exists()
    eval_files = trainer.compose_split(data, tmp_path, "eval")
    assert [Path(f).name for f in eval_files] == ["ocr-eval.jsonl", "composed-eval.jsonl"]
    assert built == [3, 2]
