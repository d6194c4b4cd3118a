"""Decoding internals that were rewritten for speed, pinned against their plain definitions.

The fast versions (code-point arrays, one ``reduceat`` per page, no per-line Python loops) must give
the same numbers as the obvious implementations: scikit-learn's TF-IDF, per-character loops, and
per-line means.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsseg.data.encoding import BOUNDARY_LABELS, CharVocab, labels_to_spans
from newsseg.data.pages import Span
from newsseg.model import decoding
from newsseg.model.lines import line_features, line_spans
from newsseg.model.tokenizer import builtin_vocab

from conftest import DEV_PAGES

ALPHABET = "甲乙丙丁戊己庚辛报讯记者文图摄。，A b\n\n\u3000\t\r\x00𠀀😀ＡİI"


@pytest.fixture(scope="module")
def vocab() -> CharVocab:
    return CharVocab(builtin_vocab())


# --------------------------------------------------------------------------------------- TF-IDF
def _sklearn_sim(texts: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(texts)
    if n < 2:
        return np.zeros((n, n))
    try:
        X = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True).fit_transform(
            ["".join(t.split()) for t in texts])
    except ValueError:  # no n-gram at all
        return np.zeros((n, n))
    return (X @ X.T).toarray()


def _dev_fragment_sets() -> list[list[str]]:
    from newsseg.data.pages import read_pages

    return [[p.text[s.start:s.end] for a in p.articles for s in a.spans] for p in read_pages(DEV_PAGES)]


def test_text_sim_equals_sklearn_tfidf_on_dev_pages() -> None:
    for texts in _dev_fragment_sets():
        np.testing.assert_allclose(decoding._text_sim(texts), _sklearn_sim(texts), atol=1e-12)


@pytest.mark.parametrize("texts", [[], ["甲乙"], ["甲", "乙"], ["甲乙", "丙"], ["", ""], ["AB c", "ab"],
                                   ["\x00ab", "ab"], ["𠀀😀x", "𠀀😀"], ["İab", "i̇ab"], ["甲乙丙"] * 40])
def test_text_sim_edge_cases(texts: list[str]) -> None:
    np.testing.assert_allclose(decoding._text_sim(texts), _sklearn_sim(texts), atol=1e-12)


def test_text_sim_on_a_full_link_block_uses_several_term_slices() -> None:
    # 256 fragments with ~10^5 distinct n-grams: more terms than one dense slice holds (2^22 / 256).
    rng = np.random.default_rng(0)
    chars = np.array(list(builtin_vocab()))[1000:4000]
    texts = ["".join(rng.choice(chars, 400)) for _ in range(decoding.LINK_BLOCK)]
    texts[7] = texts[3]  # one exact repeat: similarity 1
    got = decoding._text_sim(texts)
    np.testing.assert_allclose(got, _sklearn_sim(texts), atol=1e-12)
    assert got[3, 7] == pytest.approx(1.0)


# ---------------------------------------------------------------------------- encode / spans
@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_encode_matches_the_per_character_definition(vocab: CharVocab, text: str) -> None:
    enc = vocab.encode(text)
    keep, want = [], []
    i = 0
    while i < len(text):  # one character at a time: the definition encode implements with arrays
        ch = text[i]
        if ch == "\n":
            keep.append(i)
            want.append(vocab.newline_id)
        elif not ch.isspace():
            keep.append(i)
            want.append(vocab.char_id(ch))
        else:
            j = i
            while j < len(text) and text[j].isspace() and text[j] != "\n":
                j += 1
            keep.append(i)
            want.append(vocab.ideographic_space_id if "\u3000" in text[i:j] else vocab.space_id)
            i = j
            continue
        i += 1
    assert enc.char_index.tolist() == keep
    assert enc.input_ids.tolist() == want


def _spans_by_loop(text: str, char_index: np.ndarray, labels: list[int]) -> list[Span]:
    """Lenient BIO, one token at a time (the definition labels_to_spans implements with arrays)."""
    spans: list[Span] = []
    role, start, last = None, -1, -1
    for ci, li in zip(char_index.tolist(), labels):
        if text[ci].isspace():
            continue
        name = BOUNDARY_LABELS[li]
        if name == "O" or name.startswith("B-") or name[2:] != role:
            if role is not None:
                spans.append(Span(start, last + 1, role))
            role, start = (None, -1) if name == "O" else (name[2:], ci)
        last = ci
    if role is not None:
        spans.append(Span(start, last + 1, role))
    return spans


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from("甲乙丙 \n\u3000"), st.integers(0, 4)), max_size=40))
def test_labels_to_spans_matches_the_token_loop(vocab: CharVocab, chars: list[tuple[str, int]]) -> None:
    text = "".join(c for c, _ in chars)
    enc = vocab.encode(text)
    labels = [chars[i][1] for i in enc.char_index.tolist()]  # whitespace tokens carry labels too
    key = lambda spans: [(s.start, s.end, s.role) for s in spans]  # noqa: E731
    assert key(labels_to_spans(text, enc.char_index, labels)) == key(_spans_by_loop(text, enc.char_index, labels))


# ------------------------------------------------------------------------------ line features
def test_line_features_match_per_line_definitions(vocab: CharVocab) -> None:
    text = "标题一\n\n本报讯 正文第一行，\n第二行。\n记者 孙庆辉\n\n\n短\n末行"
    enc = vocab.encode(text)
    lines = line_spans(text, enc.char_index)
    want_lines, start = [], None
    for k, ci in enumerate(enc.char_index.tolist() + [-1]):
        is_content = ci >= 0 and text[ci] != "\n"
        if is_content and start is None:
            start = k
        elif not is_content and start is not None:
            want_lines.append((start, k))
            start = None
    assert lines == want_lines and len(lines) == 6
    probs = np.random.default_rng(1).dirichlet(np.ones(5), len(enc.char_index))
    f = line_features(text, enc.char_index, probs, lines)
    assert f.shape == (6, 47)
    for i, (a, b) in enumerate(lines):
        np.testing.assert_allclose(f[i, :5], probs[a:b].mean(0), atol=1e-12)  # own line's mean
        np.testing.assert_allclose(f[i, 5:10], probs[a])  # first token
        np.testing.assert_allclose(f[i, 10:12], probs[a:min(b, a + 3)][:, [1, 3]].max(0))
        gap = text[enc.char_index[lines[i - 1][1] - 1]:enc.char_index[a]] if i else ""
        assert f[i, 36] == float(gap.count("\n") > 1)  # blank line before
    assert f[:, 40].tolist() == [0, 0, 0, 1, 0, 0]  # is_byline on 记者 孙庆辉


# ----------------------------------------------------------------------------- batched Viterbi
def _viterbi_one(kind: np.ndarray, probs: np.ndarray, w: dict[str, float]) -> np.ndarray:
    """The recursion for one page, token by token (what viterbi_many runs side by side)."""
    trans = [decoding._transitions(w["start_mid"], w["end_mid"], w["head_split"]),
             decoding._transitions(w["start_line"], 0.0, w["head_split"]),
             decoding._transitions(w["start_line"] - w["start_after_byline"], 0.0, w["head_split"])]
    logp = np.log(np.clip(probs, 1e-9, 1.0))
    n = len(kind)
    back = np.zeros((n, 5), dtype=np.int64)
    score = logp[0].copy()
    score[[2, 4]] = -np.inf
    for i in range(1, n):
        cand = score[:, None] + trans[kind[i]]
        back[i] = cand.argmax(0)
        score = cand.max(0) + logp[i]
    out = np.empty(n, dtype=np.int64)
    out[-1] = int(score.argmax())
    for i in range(n - 1, 0, -1):
        out[i - 1] = back[i, out[i]]
    return out


@pytest.mark.parametrize("group_tokens", [1 << 20, 300])  # one group; many groups and a page alone
def test_viterbi_many_equals_the_one_page_recursion(monkeypatch: pytest.MonkeyPatch, group_tokens: int) -> None:
    monkeypatch.setattr(decoding, "VITERBI_GROUP_TOKENS", group_tokens)
    rng = np.random.default_rng(3)
    w = {**decoding.DEFAULT_LINK, "head_split": 0.7}
    pages = []
    for n in [0, 1, 2, 7, 120, 120, 33, 500, 1, 64]:
        probs = rng.dirichlet(np.full(5, 0.3), n)  # peaked, as a trained model's
        kind = rng.choice(3, n, p=[0.8, 0.15, 0.05]).astype(np.int8)
        if n:
            kind[0] = 1
        pages.append((kind, probs))
    got = decoding.viterbi_many(pages, w)
    assert [len(g) for g in got] == [len(k) for k, _ in pages]
    for (kind, probs), labels in zip(pages, got):
        if len(kind):
            assert labels.tolist() == _viterbi_one(kind, probs, w).tolist()
    assert any(len(set(g.tolist())) > 2 for g in got)  # not a trivial all-O answer


def test_decode_pages_equals_decode_page_without_a_line_head(vocab: CharVocab) -> None:
    from newsseg.data.pages import read_pages

    rng = np.random.default_rng(4)
    items = []
    for p in read_pages(DEV_PAGES)[:6]:
        enc = vocab.encode(p.text)
        n = len(enc.char_index)
        items.append((p, enc.char_index, rng.dirichlet(np.full(5, 0.2), n), rng.dirichlet(np.ones(5), n)))
    topics = ["sanitation", "projects", "legal", "investment", "other"]
    many = decoding.decode_pages(items, topics)
    one = [decoding.decode_page(p.id, p.text, ci, b, t, topics) for p, ci, b, t in items]
    assert [m.to_json() for m in many] == [o.to_json() for o in one]
    assert sum(len(m.articles) for m in many) > 6


# ------------------------------------------------------------------ merging adjacent fragments
def _frag(start: int, end: int, order: int, text: str, score: float | None = 0.9) -> decoding.Fragment:
    return decoding.Fragment(Span(start, end, "body", score=score), order, np.ones(5) / 5, text[start:end])


def test_merge_adjacent_joins_only_across_whitespace() -> None:
    text = "正文一。\n\n正文二。\n第3版\n正文三。"
    a, b, c = _frag(0, 4, 0, text), _frag(6, 10, 1, text), _frag(15, 19, 2, text)
    merged = decoding._merge_adjacent([a, b, c], text)
    # a and b: nothing but a blank line between them -> one span; b and c: a furniture line between.
    assert [(s.start, s.end) for s in merged] == [(0, 10), (15, 19)]


def test_merge_adjacent_keeps_a_zero_score() -> None:
    text = "正文一。\n正文二。"
    merged = decoding._merge_adjacent([_frag(0, 4, 0, text, 0.0), _frag(5, 9, 1, text, 0.8)], text)
    assert len(merged) == 1 and merged[0].score == 0.0
    merged = decoding._merge_adjacent([_frag(0, 4, 0, text, None), _frag(5, 9, 1, text, 0.8)], text)
    assert merged[0].score == 0.8
