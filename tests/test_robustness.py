"""Predict never loses a page: arbitrary Unicode in, one valid page-format result out (docs/SPEC.md §6).

Property tests (hypothesis, derandomized) drive ``Segmenter.predict`` and ``newsseg predict`` with a
tiny *random* model, which predicts chaotic spans and so exercises the span invariants harder than
a trained one. The huge inputs (1 MB single line, 100k newlines) are explicit examples.
"""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newsseg.cli import main
from newsseg.data.pages import Page, PageFormatError, validate_page

# Deterministic, no example database on disk, no per-example deadline on a busy 2-core machine.
PROPS = settings(derandomize=True, database=None, deadline=None, max_examples=40,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# What OCR engines and bad decoders actually emit, mixed with any code point at all.
NASTY = list("本报讯中文國際新聞報導，。“”（）①▲■ \n\n\n\t\r\u3000\u00a0\u2028\u2029\x85\x00\x1b\x7f\ufeff\ufffd😀🎉")
ALPHABET = st.one_of(
    st.sampled_from(NASTY),
    st.characters(),  # any code point except surrogates
    st.characters(categories=["Cs"]),  # lone surrogates, as left by a bad decoder or "\ud800" in JSON
)
PAGE_TEXT = st.text(alphabet=ALPHABET, max_size=300)

SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
ONE_MB_LINE = "本报讯 高新区召开会议，推进重点项目建设。" * 17_190  # 1 MiB of UTF-8 (361k chars), no newline
NEWLINES = "\n" * 100_000


def check_prediction(page: Page, text: str, topics: list[str]) -> None:
    """Every invariant a prediction must keep, whatever the input."""
    assert page.text == text  # identical, not normalised
    validate_page(page, topics)  # spans in range, non-empty, non-whitespace edges, no overlap, roles, topics
    for a in page.articles:
        assert a.score is not None and 0.0 <= a.score <= 1.0
        assert all(s.score is not None and 0.0 <= s.score <= 1.0 for s in a.spans)
    if SURROGATE_PAIR.search(text):  # JSON would read the two escapes back as one character
        with pytest.raises(PageFormatError, match="surrogate pair"):
            page.to_json()
        return
    line = page.to_json()
    line.encode("utf-8")  # writable as UTF-8, lone surrogates included
    back = Page.from_dict(json.loads(line))
    assert back.text == text and back.to_dict() == page.to_dict()


@pytest.fixture(scope="session")
def topics(tiny_seg: Any) -> list[str]:
    return list(tiny_seg.config.topic_labels)


@pytest.fixture(scope="session")
def calm_seg(tiny_seg: Any) -> Any:
    """The random tiny model with its boundary head pushed to ``I-body``: one span per page.

    A random model splits a 1 MB page into ~10^5 fragments, and linking that many takes about half a
    minute (``test_linking_cost_stays_linear`` covers that path); this one keeps the huge-input
    tests about encoding, windows and stitching, which are the same code.
    """
    import torch

    seg = copy.deepcopy(tiny_seg)
    with torch.no_grad():
        seg.model.boundary_head.bias[4] += 30.0
    return seg


@pytest.fixture(scope="session")
def calm_dir(calm_seg: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("calm")
    calm_seg.save_pretrained(d)
    return d


# --------------------------------------------------------------------------------- Python API
@PROPS
@given(text=PAGE_TEXT)
@example(text="")
@example(text="   \n\t\u3000 ")
@example(text="\x00\x01\x1f\x7f\x1b[31m")
@example(text="a\ud800b\udfff")
@example(text="\ud800\udc00")
@example(text="😀🎉👨‍👩‍👧 中文")
@example(text="國際新聞報導：臺灣經濟發展")
@example(text="Latin only, no Chinese at all.\nSecond line.")
@example(text="\r\n本报讯\r\n\r\n")
def test_predict_any_text(tiny_seg: Any, topics: list[str], text: str) -> None:
    check_prediction(tiny_seg.predict(text), text, topics)


@PROPS
@given(texts=st.lists(PAGE_TEXT, max_size=6), batch_size=st.integers(1, 9))
def test_predict_batch_keeps_every_page_in_order(tiny_seg: Any, topics: list[str], texts: list[str],
                                                 batch_size: int) -> None:
    pages = tiny_seg.predict(texts, batch_size=batch_size)
    assert len(pages) == len(texts)
    for page, text in zip(pages, texts):
        check_prediction(page, text, topics)
    # Batching across pages does not change any page's result.
    assert [p.to_dict()["articles"] for p in pages] == [tiny_seg.predict(t).to_dict()["articles"] for t in texts]


@pytest.mark.parametrize("name", ["one_mb_line", "newlines_100k"])
def test_predict_huge_pages(calm_seg: Any, topics: list[str], name: str) -> None:
    text = ONE_MB_LINE if name == "one_mb_line" else NEWLINES
    page = calm_seg.predict(text, batch_size=256)
    check_prediction(page, text, topics)
    if name == "one_mb_line":  # the whole line is one body span, across ~16k windows
        assert [(s.start, s.end) for a in page.articles for s in a.spans] == [(0, len(text))]
    else:
        assert page.articles == []  # nothing but whitespace


def test_linking_cost_stays_linear(topics: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A page that decodes into thousands of fragments is linked in bounded blocks.

    Before LINK_BLOCK, a random model on a 1 MB page gave ~150k fragments and decode_page tried to
    allocate 273 GiB for the pairwise similarity matrix.
    """
    import numpy as np

    from newsseg.model import decoding

    n_frag = 3000
    text = "中\n" * n_frag  # every line a fragment: B-body, then the newline token as O
    char_index = np.arange(len(text))
    probs = np.full((len(text), 5), 0.01)
    probs[0::2, 3] = 0.96
    probs[1::2, 0] = 0.96
    topic_probs = np.random.default_rng(0).dirichlet(np.ones(len(topics)), size=len(text))
    sizes: list[int] = []
    real = decoding._text_sim
    monkeypatch.setattr(decoding, "_text_sim", lambda texts: (sizes.append(len(texts)), real(texts))[1])
    t0 = time.perf_counter()
    page = decoding.decode_page("big", text, char_index, probs, topic_probs, topics)
    assert time.perf_counter() - t0 < 60  # quadratic linking would need hours and ~1 GB here
    assert max(sizes) <= decoding.LINK_BLOCK and sum(sizes) == n_frag
    check_prediction(page, text, topics)
    # Linking may join neighbouring fragments of one article into one span, but covers every one.
    covered = {i for a in page.articles for s in a.spans for i in range(s.start, s.end)}
    assert covered >= set(range(0, len(text), 2))


# ---------------------------------------------------------------------------------------- CLI
@settings(PROPS, max_examples=12)
@given(texts=st.lists(PAGE_TEXT, min_size=1, max_size=5))
def test_cli_predict_any_jsonl(tiny_dir: Path, topics: list[str], tmp_path_factory: pytest.TempPathFactory,
                               texts: list[str]) -> None:
    d = tmp_path_factory.mktemp("cli")
    src, out = d / "in.jsonl", d / "out.jsonl"
    # ASCII-escaped input, as any JSON writer may produce; what the reader decodes is the page text
    # (a "\ud800\udc00" pair of escapes decodes to one character, per the JSON spec).
    lines_in = [json.dumps({"id": f"p{i}", "text": t}) for i, t in enumerate(texts)]
    src.write_text("\n".join(lines_in) + "\n", encoding="ascii")
    texts = [json.loads(line)["text"] for line in lines_in]
    assert main(["predict", "--model", str(tiny_dir), str(src), "-o", str(out), "-q"]) == 0
    lines = out.read_bytes().decode("utf-8").splitlines()  # strict UTF-8: lone surrogates are escaped
    assert len(lines) == len(texts)  # exactly one line per page, in order
    for i, (line, text) in enumerate(zip(lines, texts)):
        page = Page.from_dict(json.loads(line))
        assert page.id == f"p{i}"
        check_prediction(page, text, topics)


def test_cli_lone_surrogates_round_trip(tiny_dir: Path, topics: list[str], tmp_path: Path) -> None:
    """``"\\ud800"`` escapes are valid JSON; the output keeps them escaped, and the text identical."""
    text = "本报讯\ud800 坏\udfff字节"
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"id": "s", "text": text}) + "\n" + json.dumps({"id": "ok", "text": "中文"},
                   ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["predict", "--model", str(tiny_dir), str(src), "-o", str(out), "-q"]) == 0
    raw = out.read_bytes()
    first, second = raw.decode("utf-8").splitlines()
    assert "\\ud800" in first and first.isascii()  # only the line with surrogates is escaped
    assert "中文" in second  # the others stay readable
    assert json.loads(first)["text"] == text


def test_cli_segment_prints_surrogates_and_control_chars(tiny_dir: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "s", "text": "标题\ud800\x1b[2J\n本报讯 正文。"}) + "\n", encoding="utf-8")
    assert main(["segment", "--model", str(tiny_dir), str(src)]) == 0
    shown = capsys.readouterr().out
    shown.encode("utf-8")  # printable on a UTF-8 terminal
    assert "=== s:" in shown and "\x1b" not in shown


@pytest.mark.parametrize("name", ["one_mb_line", "newlines_100k"])
def test_cli_huge_txt_pages(calm_dir: Path, topics: list[str], tmp_path: Path, name: str) -> None:
    text = ONE_MB_LINE if name == "one_mb_line" else NEWLINES
    src, out = tmp_path / f"{name}.txt", tmp_path / "out.jsonl"
    src.write_text(text, encoding="utf-8", newline="")
    assert main(["predict", "--model", str(calm_dir), str(src), "--batch-size", "256", "-o", str(out), "-q"]) == 0
    (line,) = out.read_text(encoding="utf-8").splitlines()
    page = Page.from_dict(json.loads(line))
    assert page.id == name
    check_prediction(page, text, topics)
