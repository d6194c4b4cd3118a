"""Label encoding (chars -> token labels -> spans), newline tokens and sliding windows."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from newsseg.data.encoding import (BOUNDARY_LABELS, IGNORE_INDEX, NEWLINE_TOKEN, CharVocab, Window, best_window,
                                   char_labels, labels_to_spans, make_windows, stitch_logits, token_labels)
from newsseg.data.pages import DEFAULT_TOPICS, Article, Page, Span, read_pages, validate_page
from newsseg.model.tokenizer import builtin_vocab

from conftest import DEV_PAGES, SAMPLE_ID

TOPICS = list(DEFAULT_TOPICS)


@pytest.fixture(scope="module")
def vocab() -> CharVocab:
    return CharVocab(builtin_vocab())


def _span(text: str, first: str, last: str | None = None, role: str = "body") -> Span:
    """The span from the (unique) occurrence of ``first`` to the end of the next ``last``."""
    assert text.count(first) == 1, f"{first!r} must occur exactly once"
    start = text.index(first)
    end = start + len(first) if last is None else text.index(last, start) + len(last)
    return Span(start, end, role)


def hand_labelled_sample(text: str) -> Page:
    """The real sample page labelled by hand: four articles, nine spans (see docs/SPEC.md §1)."""
    head = "headline"
    san = [_span(text, "本报讯 5月15日，高新区", "高新时报 方宝岭 文/图"),
           _span(text, "正视问题 狠抓落实\n以“绣花”之功推进创卫复审\n高新区举办迎接国家卫生城市复审工作现场观摩会", role=head)]
    prj = [_span(text, "高新区党工委副书记、管委\n会主任张红军，党工委委员", "为国家中心城市现代\n化建设贡献更多高新力量。"),
           _span(text, "总投资96.6亿元\n\n高新区第二季度重点项目集中开工", role=head),
           # The projects lead is printed last, in wide lines, with the credit appended to its last line.
           _span(text, "本报讯 夏意盎然催人进", "13.2亿元。记者 孙庆辉 高新时报 方宝岭 文/图")]
    inv = [_span(text, "本报讯 5月13日，高新区党", "确保项目尽快入驻落地。\n记者 孙庆辉 通讯员 李超"),
           _span(text, "高新区加快数字化转型\n为高质量发展注入新动能", role=head)]
    # 高新区在行动 between the legal and investment headlines is a column label: furniture.
    leg = [_span(text, "本报讯 近日，高新区政法", "维护司法公正。\n记者 孙庆辉\n通讯员 冯瑶"),
           _span(text, "打造信得过靠得住能放心的政法铁军", role=head)]
    return Page(SAMPLE_ID, text, [Article("sanitation", "sanitation", san), Article("projects", "projects", prj),
                                  Article("investment", "investment", inv), Article("legal", "legal", leg)])


def _key(spans: list[Span]) -> list[tuple[int, int, str]]:
    return sorted((s.start, s.end, s.role) for s in spans)


def assert_round_trip(page: Page, vocab: CharVocab) -> None:
    """chars -> token labels -> spans gives back the gold spans, and each token carries its article's topic."""
    enc = vocab.encode(page.text)
    lab, top = token_labels(page, enc, TOPICS)
    assert len(lab) == len(top) == len(enc.input_ids)
    got = labels_to_spans(page.text, enc.char_index, lab)
    assert _key(got) == _key([s for s, _ in page.spans]), page.id
    topic_of = {(s.start, s.end): TOPICS.index(a.topic) for s, a in page.spans}
    for s in got:
        sel = (enc.char_index >= s.start) & (enc.char_index < s.end)
        assert set(top[sel].tolist()) == {topic_of[(s.start, s.end)]}
    inside = np.zeros(len(page.text), dtype=bool)
    for s, _ in page.spans:
        inside[s.start:s.end] = True
    outside = ~inside[enc.char_index]
    assert (lab[outside] == BOUNDARY_LABELS.index("O")).all()
    assert (top[outside] == IGNORE_INDEX).all()


# ------------------------------------------------------------------------------ round trips
def test_hand_labelled_sample_is_valid_and_matches_dev_gold(sample_text: str) -> None:
    page = hand_labelled_sample(sample_text)
    validate_page(page)
    assert [len(a.spans) for a in page.articles] == [2, 3, 2, 2]
    # All four headlines come after the bodies they belong to; the projects lead closes the page.
    assert max(s.end for s, _ in page.spans) == len(sample_text.rstrip())
    dev_sample = next(p for p in read_pages(DEV_PAGES) if p.id == SAMPLE_ID)
    assert _key([s for s, _ in page.spans]) == _key([s for s, _ in dev_sample.spans])


def test_round_trip_on_the_hand_labelled_sample(sample_text: str, vocab: CharVocab) -> None:
    page = hand_labelled_sample(sample_text)
    assert_round_trip(page, vocab)
    enc = vocab.encode(page.text)
    lab, _ = token_labels(page, enc, TOPICS)
    # Exactly one B- token per span, on the span's first character.
    b_tokens = sorted(int(enc.char_index[i]) for i, l in enumerate(lab) if BOUNDARY_LABELS[l].startswith("B-"))
    assert b_tokens == sorted(s.start for s, _ in page.spans)


def test_round_trip_on_all_dev_pages(vocab: CharVocab) -> None:
    pages = read_pages(DEV_PAGES)
    assert len(pages) >= 20
    for page in pages:
        assert_round_trip(page, vocab)


def test_round_trip_on_composed_pages(compose: Callable[..., list], vocab: CharVocab) -> None:
    pages = compose(50, seed=11, noise_rate=0.02)  # OCR noise on: odd characters must not break offsets
    assert sum(len(p.articles) for p in pages) >= 100
    for page in pages:
        validate_page(page)
        assert_round_trip(page, vocab)


def test_adjacent_spans_of_one_role_stay_apart(vocab: CharVocab) -> None:
    text = "标题一\n标题二\n正文。记者 甲"
    page = Page("p", text, [Article("a1", "other", [Span(0, 3, "headline"), Span(8, 11, "body")]),
                            Article("a2", "legal", [Span(4, 7, "headline"), Span(11, 15, "body")])])
    validate_page(page)
    assert_round_trip(page, vocab)


def test_char_labels_mark_starts_and_topics() -> None:
    page = Page("p", "头 正文\n外", [Article("a1", "legal", [Span(0, 1, "headline"), Span(2, 4, "body")])])
    lab, top = char_labels(page, TOPICS)
    assert [BOUNDARY_LABELS[i] for i in lab] == ["B-headline", "O", "B-body", "I-body", "O", "O"]
    assert top.tolist() == [2, IGNORE_INDEX, 2, 2, IGNORE_INDEX, IGNORE_INDEX]


def test_lenient_bio_decoding() -> None:
    text = "甲乙丙丁戊"
    ci = np.arange(5)
    lab = [BOUNDARY_LABELS.index(n) for n in ("I-body", "I-body", "I-headline", "O", "I-body")]
    assert _key(labels_to_spans(text, ci, lab)) == [(0, 2, "body"), (2, 3, "headline"), (4, 5, "body")]


# ---------------------------------------------------------------------------- newline tokens
def test_newlines_and_whitespace_runs_become_tokens(vocab: CharVocab) -> None:
    text = " 标题\n\n本报讯\u3000正文。A\tｂ\r\n末 "
    enc = vocab.encode(text)
    # One token per visible character and per newline, one per run of other whitespace (at its start).
    keep = [i for i, ch in enumerate(text)
            if ch == "\n" or not ch.isspace() or i == 0 or text[i - 1] == "\n" or not text[i - 1].isspace()]
    assert enc.char_index.tolist() == keep
    for tid, ci in zip(enc.input_ids.tolist(), enc.char_index.tolist()):
        ch = text[ci]
        if ch == "\n":
            assert tid == vocab.newline_id
        elif ch == "\u3000":
            assert tid == vocab.ideographic_space_id
        elif ch.isspace():
            assert tid == vocab.space_id
        else:
            assert tid == vocab.vocab[ch] and tid != vocab.unk_id
    assert (enc.input_ids == vocab.newline_id).sum() == text.count("\n") == 3
    assert vocab.newline_id == builtin_vocab()[NEWLINE_TOKEN]
    # "\r" before "\n" is a run of its own; the full-width indent run is one [IDSP] token.
    assert [text[i] for i in enc.char_index.tolist() if text[i].isspace() and text[i] != "\n"] == \
        [" ", "\u3000", "\t", "\r", " "]


def test_a_vocabulary_without_whitespace_tokens_drops_whitespace() -> None:
    """Models trained before [SP]/[IDSP] existed keep seeing the text as they were trained."""
    v = {k: i for k, i in builtin_vocab().items() if k not in ("[SP]", "[IDSP]")}
    enc = CharVocab(v).encode(" 标题\n\n本报讯\u3000\u3000正文  末 ")
    text = " 标题\n\n本报讯\u3000\u3000正文  末 "
    assert enc.char_index.tolist() == [i for i, ch in enumerate(text) if ch == "\n" or not ch.isspace()]
    with pytest.raises(ValueError, match="only one of"):
        CharVocab({k: i for k, i in builtin_vocab().items() if k != "[SP]"})


def test_indentation_is_one_token_and_not_counted_in_line_length(vocab: CharVocab) -> None:
    text = "\u3000\u3000正文两行\n短 句"
    enc = vocab.encode(text)
    assert enc.input_ids[0] == vocab.ideographic_space_id and len(enc.input_ids) == 1 + 4 + 1 + 3
    assert enc.line_buckets(text, 32).tolist() == [4, 4, 4, 4, 4, 0, 2, 2, 2]


def test_line_buckets_give_each_token_its_line_length(vocab: CharVocab) -> None:
    text = "标题\n本报讯正文\n\n短 句"
    enc = vocab.encode(text)
    # The [SP] of "短 句" takes its line's length; it is not counted in it.
    assert enc.line_buckets(text, 32).tolist() == [2, 2, 0, 5, 5, 5, 5, 5, 0, 0, 2, 2, 2]
    assert enc.line_buckets(text, 4).tolist() == [2, 2, 0, 3, 3, 3, 3, 3, 0, 0, 2, 2, 2]  # capped
    assert not enc.line_buckets(text, 0).any()
    assert vocab.encode("").line_buckets("", 4).shape == (0,)


def test_unknown_characters_keep_their_place(vocab: CharVocab) -> None:
    text = "甲😀乙\U00020000丙"  # an emoji and a CJK Extension B character: [UNK], but offsets stay exact
    enc = vocab.encode(text)
    assert enc.char_index.tolist() == [0, 1, 2, 3, 4]
    assert [t == vocab.unk_id for t in enc.input_ids.tolist()] == [False, True, False, True, False]


def test_char_vocab_requires_a_newline_token() -> None:
    with pytest.raises(ValueError, match="newline token"):
        CharVocab({"[UNK]": 0, "甲": 1})


# -------------------------------------------------------------------------------------- windows
@pytest.fixture(scope="module")
def long_page(sample_text: str) -> str:
    reps = 50_000 // len(sample_text) + 1
    return ("\n".join([sample_text] * reps))[:50_000]


@pytest.mark.parametrize("max_tokens", [62, 510])
def test_windows_cover_a_50k_page_with_quarter_overlap(long_page: str, vocab: CharVocab, max_tokens: int) -> None:
    n = len(vocab.encode(long_page).input_ids)
    assert n > 40_000
    overlap = int(round(max_tokens * 0.25))
    wins = make_windows(n, max_tokens, overlap)
    assert wins[0].start == 0 and wins[-1].end == n
    covered = np.zeros(n, dtype=int)
    for w in wins:
        assert 0 < w.end - w.start <= max_tokens
        covered[w.start:w.end] += 1
    assert covered.min() >= 1
    for a, b in zip(wins, wins[1:]):
        assert a.start < b.start and b.start <= a.end
        assert a.end - b.start >= max_tokens // 4  # overlap of at least a quarter window


def test_short_input_is_one_window() -> None:
    assert [(w.start, w.end) for w in make_windows(10, 62, 16)] == [(0, 10)]
    assert [(w.start, w.end) for w in make_windows(0, 62, 16)] == [(0, 0)]


def _context(w: Window, pos: np.ndarray, n: int) -> np.ndarray:
    big = 10**9
    left = np.where(w.start == 0, big, pos - w.start)
    right = np.where(w.end == n, big, w.end - 1 - pos)
    return np.minimum(left, right)


@pytest.mark.parametrize("n,max_tokens,overlap", [(1000, 100, 25), (50_000, 510, 128), (257, 64, 40)])
def test_best_window_gives_each_token_its_most_central_window(n: int, max_tokens: int, overlap: int) -> None:
    wins = make_windows(n, max_tokens, overlap)
    owner = best_window(wins, n)
    pos = np.arange(n)
    best = np.full(n, -1)
    for w in wins:  # brute force: the largest two-sided context any window offers each token
        c = np.full(n, -1)
        c[w.start:w.end] = _context(w, pos[w.start:w.end], n)
        best = np.maximum(best, c)
    got = np.array([_context(wins[o], np.array([p]), n)[0] for p, o in enumerate(owner)])
    assert all(wins[o].start <= p < wins[o].end for p, o in enumerate(owner))
    assert (got == best).all()
    # Away from the page edges every token keeps at least ~overlap/2 tokens of context on both sides.
    inner = (pos >= max_tokens) & (pos < n - max_tokens)
    assert got[inner].min() >= overlap // 2 - 1


def test_stitch_logits_on_a_toy_case() -> None:
    # 10 tokens, windows of 6 overlapping by 4: [0,6) [2,8) [4,10).
    wins = make_windows(10, 6, 4)
    assert [(w.start, w.end) for w in wins] == [(0, 6), (2, 8), (4, 10)]
    # Token 3: 2 tokens of right context in window 0 (page edge on its left) vs 1 left in window 1.
    assert best_window(wins, 10).tolist() == [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
    # Each window's "logits": column 0 = global position (what a context-free model would give),
    # column 1 = which window produced it. Stitching must give the direct computation in column 0.
    logits = [np.stack([np.arange(w.start, w.end), np.full(w.end - w.start, wi)], 1).astype(np.float32)
              for wi, w in enumerate(wins)]
    out = stitch_logits(wins, logits, 10)
    assert out[:, 0].tolist() == list(range(10))
    assert out[:, 1].tolist() == [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]


def test_stitch_logits_equals_direct_computation_on_a_long_page() -> None:
    rng = np.random.default_rng(0)
    n, k = 5000, 5
    direct = rng.normal(size=(n, k)).astype(np.float32)  # a context-free "model": logits per token
    wins = make_windows(n, 126, 32)
    out = stitch_logits(wins, [direct[w.start:w.end] for w in wins], n)
    assert np.array_equal(out, direct)
    assert stitch_logits([Window(0, 0)], [np.zeros((0, k), np.float32)], 0).shape == (0, k)
