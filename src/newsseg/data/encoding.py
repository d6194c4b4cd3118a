"""Characters <-> token labels, the per-character tokeniser and sliding windows.

Why one token per character: Chinese BERT vocabularies are character based anyway, and a
1:1 map makes offsets exact (every token points at one code point of the input). ``\\n`` becomes a
dedicated newline token because OCR line structure is the strongest layout cue (short lines ~
headlines) and BERT tokenisers silently drop it. Other whitespace is a cue too (paragraph
indentation with U+3000, the space inside a headline such as ``送法进村 就地调解纠纷``, a gutter), so
each run of it becomes one ``[SP]`` token (``[IDSP]`` when the run holds U+3000), pointing at the
run's first character, when the vocabulary has these tokens; models whose vocabulary lacks them
(trained before they existed) see whitespace dropped, as they were trained.

Boundary labels (first head) are BIO over roles: ``O`` (furniture), ``B-headline``/``I-headline``,
``B-body``/``I-body``; ``B-`` marks the first character of a span. The topic head labels each
token inside an article with that article's topic; ``-100`` where there is nothing to learn.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

import numpy as np

from newsseg.data.pages import Article, Page, Span

BOUNDARY_LABELS: tuple[str, ...] = ("O", "B-headline", "I-headline", "B-body", "I-body")
IGNORE_INDEX = -100
NEWLINE_TOKEN = "[NL]"
SPACE_TOKEN = "[SP]"
IDEOGRAPHIC_SPACE_TOKEN = "[IDSP]"
WHITESPACE_TOKENS: tuple[str, ...] = (SPACE_TOKEN, IDEOGRAPHIC_SPACE_TOKEN)


def codepoints(text: str) -> np.ndarray:
    """The text's code points as an array (lone surrogates kept), so per-character tests vectorise."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def whitespace_mask(cps: np.ndarray) -> np.ndarray:
    """``str.isspace`` for each code point of :func:`codepoints`."""
    return _IS_SPACE[np.minimum(cps, len(_IS_SPACE) - 1)]


# str.isspace by code point; no code point above U+3000 is whitespace (the last slot stays False).
_IS_SPACE = np.array([chr(c).isspace() for c in range(0x3002)], dtype=bool)


@dataclass
class Encoded:
    """A page as model input: token ids and, for each token, the index of its character."""

    input_ids: np.ndarray  # int64 [n_tokens]
    char_index: np.ndarray  # int64 [n_tokens], position of the token's character in the text

    def line_buckets(self, text: str, n_buckets: int) -> np.ndarray:
        """For each token, the length of its line in non-whitespace characters, capped at ``n_buckets - 1``.

        Newline tokens get bucket 0. Fed to the encoder as ``token_type_ids``: a headline is told
        apart from body text mostly by being a short line among longer ones, and handing the
        model each line's length saves it learning to count characters between newline tokens.
        """
        n = len(self.input_ids)
        if n_buckets <= 1 or n == 0:
            return np.zeros(n, dtype=np.int64)
        cps = codepoints(text)[self.char_index]
        is_nl = cps == 10
        line_no = np.cumsum(is_nl) - is_nl  # a newline token belongs to the line it ends
        # Whitespace tokens ([SP], [IDSP]) are not characters of the line: they do not count.
        counts = np.bincount(line_no[~whitespace_mask(cps)], minlength=int(line_no[-1]) + 1)
        out = np.minimum(counts[line_no], n_buckets - 1)
        out[is_nl] = 0
        return out.astype(np.int64)


class CharVocab:
    """Maps single characters to token ids of a BERT vocabulary.

    Lookup falls back to lower case and to NFKC (full-width ``Ａ`` -> ``A``), so OCR's
    half/full-width swaps land on known tokens instead of ``[UNK]``.
    """

    def __init__(self, vocab: Mapping[str, int], unk_token: str = "[UNK]", newline_token: str = NEWLINE_TOKEN,
                 space_token: str = SPACE_TOKEN, ideographic_space_token: str = IDEOGRAPHIC_SPACE_TOKEN):
        self.vocab = dict(vocab)
        self.unk_id = self.vocab[unk_token]
        if newline_token not in self.vocab:
            raise ValueError(f"newline token {newline_token!r} is not in the vocabulary")
        self.newline_id = self.vocab[newline_token]
        # Both or neither: a vocabulary without them (an older model) keeps dropping whitespace.
        self.space_id: int | None = self.vocab.get(space_token)
        self.ideographic_space_id: int | None = self.vocab.get(ideographic_space_token)
        if (self.space_id is None) != (self.ideographic_space_id is None):
            raise ValueError(f"vocabulary has only one of {space_token!r} and {ideographic_space_token!r}")
        self._cache: dict[str, int] = {}
        # Ids of Basic Multilingual Plane code points once looked up (-1: not yet), so encoding a
        # page is one array lookup; characters outside the BMP go through char_id each time.
        self._bmp = np.full(0x10000, -1, dtype=np.int64)

    def char_id(self, ch: str) -> int:
        i = self._cache.get(ch)
        if i is None:
            i = self.vocab.get(ch)
            if i is None:
                i = self.vocab.get(ch.lower())
            if i is None:
                norm = unicodedata.normalize("NFKC", ch).lower()
                i = self.vocab.get(norm[:1], self.unk_id) if len(norm) == 1 else self.unk_id
            self._cache[ch] = i
        return i

    def encode(self, text: str) -> Encoded:
        """One token per non-whitespace character, one newline token per ``\\n`` and, when the
        vocabulary has whitespace tokens, one ``[SP]``/``[IDSP]`` token per run of other whitespace."""
        cps = codepoints(text)
        bmp = cps < 0x10000
        ids = np.full(len(cps), -1, dtype=np.int64)
        ids[bmp] = self._bmp[cps[bmp]]
        todo = ids < 0
        if todo.any():  # new BMP characters (filled in for next time) and astral ones
            uniq, inv = np.unique(cps[todo], return_inverse=True)
            lut = np.array([self.char_id(chr(c)) for c in uniq.tolist()], dtype=np.int64)
            small = uniq < 0x10000
            self._bmp[uniq[small]] = lut[small]
            ids[todo] = lut[inv.reshape(-1)]
        newline = cps == 10
        ids[newline] = self.newline_id
        space = whitespace_mask(cps)
        keep = ~space | newline
        if self.space_id is not None and len(cps):
            other = space & ~newline
            run_start = other & ~np.concatenate([[False], other[:-1]])
            keep |= run_start
            # A run is [IDSP] when any of its characters is U+3000 (indentation is two of them).
            run_id = np.cumsum(run_start)
            has_ideo = np.zeros(int(run_id[-1]) + 1, dtype=bool)
            has_ideo[run_id[other & (cps == 0x3000)]] = True
            ids[run_start] = np.where(has_ideo[run_id[run_start]], self.ideographic_space_id, self.space_id)
        idx = np.flatnonzero(keep)
        return Encoded(ids[idx], idx.astype(np.int64))


# A gutter inside one OCR line: 3+ spaces, or a column rule read as `|`, between two columns' text.
GUTTER_RE = re.compile(r"(?<=\S)(?:[ \t\u3000]{3,}|[ \t\u3000]*[|｜][ \t\u3000]*)(?=\S)")
# Any run of whitespace (or a rule) inside a line. Chinese text has no spaces between words, so an OCR
# line's inner space is mostly where the engine joined two things: a headline set across three columns
# read on one line with the first column's text, two columns read across with a narrow gap, a headline's
# own space. Splitting there makes each a piece the page model can tag and link on its own.
SPACE_SPLIT_RE = re.compile(r"(?<=\S)(?:[ \t\u3000]*[|｜][ \t\u3000]*|[ \t\u3000]+)(?=\S)")  # a rule first: " | " is one cut
# How an OCR line is cut into the units that are tagged (a span can start only where a unit starts).
LINE_SPLITS: dict[str, re.Pattern[str] | None] = {"none": None, "gutters": GUTTER_RE, "spaces": SPACE_SPLIT_RE}


def check_line_split(split: str) -> str:
    """``split`` if it names a :data:`LINE_SPLITS` policy, else a ``ValueError`` that lists them."""
    if split not in LINE_SPLITS:
        raise ValueError(f"line split {split!r}: expected one of {', '.join(LINE_SPLITS)}")
    return split


def line_token_spans(text: str, char_index: np.ndarray, split: str = "none") -> tuple[np.ndarray, np.ndarray]:
    """Token ranges ``[a, b)`` of the page's non-empty lines, from their first to their last visible
    character: newline tokens, and whitespace tokens before or after the text, are outside.

    ``split`` cuts lines further (:data:`LINE_SPLITS`): ``"gutters"`` makes an OCR line that holds two
    columns' text across a gutter (:data:`GUTTER_RE`) two lines, ``"spaces"`` cuts at every inner
    whitespace run, so a span can start where the engine glued a headline to body text.
    """
    if len(char_index) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    cps = codepoints(text)[char_index]
    idx = np.flatnonzero(~whitespace_mask(cps))
    if len(idx) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    line_no = np.cumsum(cps == 10)[idx]
    cut = LINE_SPLITS[check_line_split(split)]
    if cut is not None:
        starts = [m.end() for m in cut.finditer(text)]
        if starts:
            mark = np.zeros(len(text) + 1, dtype=np.int64)
            mark[starts] = 1
            line_no = line_no + np.cumsum(mark)[char_index[idx]]
    brk = np.flatnonzero(np.diff(line_no)) + 1
    return idx[np.r_[0, brk]].astype(np.int64), idx[np.r_[brk - 1, len(idx) - 1]].astype(np.int64) + 1


def char_labels(page: Page, topics: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-character boundary label ids and topic ids (``-100`` outside every article)."""
    n = len(page.text)
    lab = np.zeros(n, dtype=np.int64)  # O
    top = np.full(n, IGNORE_INDEX, dtype=np.int64)
    topic_id = {t: i for i, t in enumerate(topics)}
    for art in page.articles:
        t = topic_id.get(art.topic, IGNORE_INDEX)
        for s in art.spans:
            b = BOUNDARY_LABELS.index(f"B-{s.role}")
            lab[s.start:s.end] = b + 1  # I-role
            lab[s.start] = b
            top[s.start:s.end] = t
    return lab, top


def token_labels(page: Page, enc: Encoded, topics: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Labels for each token of ``enc``: the labels of the character it stands for."""
    lab, top = char_labels(page, topics)
    if len(enc.char_index) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return lab[enc.char_index], top[enc.char_index]


def labels_to_spans(text: str, char_index: np.ndarray, labels: Sequence[int]) -> list[Span]:
    """Decode per-token boundary labels into spans over ``text``.

    Only non-whitespace characters decide spans (newline tokens are context, not content), so
    every span starts and ends on a non-whitespace character. An ``I-`` label whose role differs
    from the open span, or that follows ``O``, opens a new span (lenient BIO).
    """
    char_index = np.asarray(char_index, dtype=np.int64)
    if len(char_index) == 0:
        return []
    keep = ~whitespace_mask(codepoints(text)[char_index])
    ci, lab = char_index[keep], np.asarray(labels, dtype=np.int64)[keep]
    role = LABEL_ROLE[lab]
    prev = np.concatenate([[0], role[:-1]])
    opens = (role > 0) & (LABEL_IS_B[lab] | (prev != role))
    starts = np.flatnonzero(opens)
    # A span runs up to the token before the next opening or the next O.
    stops = np.flatnonzero(opens | (role == 0))
    nxt = np.searchsorted(stops, starts, side="right")
    ends = np.append(stops, len(ci))[nxt] - 1
    return [Span(int(ci[a]), int(ci[e]) + 1, _ROLE_NAMES[role[a]])
            for a, e in zip(starts.tolist(), ends.tolist())]


# Per boundary label id (BOUNDARY_LABELS order): its role (0 outside, 1 headline, 2 body), B- or not.
LABEL_ROLE = np.array([0, 1, 1, 2, 2])
LABEL_IS_B = np.array([False, True, False, True, False])
_ROLE_NAMES = ("", "headline", "body")


@dataclass
class Window:
    """A slice ``[start, end)`` of a page's tokens that fits the encoder."""

    start: int
    end: int


def make_windows(n_tokens: int, max_tokens: int, overlap: int) -> list[Window]:
    """Cover ``n_tokens`` with windows of at most ``max_tokens`` that overlap by ``overlap`` tokens."""
    if max_tokens <= 0:
        raise ValueError("max_tokens must be positive")
    overlap = min(max(overlap, 0), max_tokens - 1)
    if n_tokens <= max_tokens:
        return [Window(0, n_tokens)]
    stride = max_tokens - overlap
    wins = []
    s = 0
    while True:
        e = min(s + max_tokens, n_tokens)
        wins.append(Window(max(e - max_tokens, 0), e))
        if e >= n_tokens:
            return wins
        s += stride


def training_windows(text: str, enc: "Encoded", max_tokens: int, overlap: float, n_buckets: int, cls_id: int,
                     sep_id: int) -> Iterator[tuple[Window, list[int], list[int]]]:
    """Each training window of an encoded page: ``(window, [CLS] ids [SEP], token types)``.

    The one place windows are cut for training (``newsseg train`` and ``newsseg pretrain``). The
    overlap is rounded as in ``Segmenter._windows``, so training and inference cut the same windows;
    ``[CLS]``/``[SEP]`` get line bucket 0.
    """
    lines = enc.line_buckets(text, n_buckets)
    for w in make_windows(len(enc.input_ids), max_tokens, int(round(max_tokens * overlap))):
        if w.end > w.start:
            yield w, [cls_id, *enc.input_ids[w.start:w.end].tolist(), sep_id], [0, *lines[w.start:w.end].tolist(), 0]


def best_window(windows: Sequence[Window], n_tokens: int) -> np.ndarray:
    """For each token, the window in which it has the most context on both sides.

    Context on a side that reaches the page edge counts as unlimited: the page has no more to show.
    """
    best = np.zeros(n_tokens, dtype=np.int64)
    score = np.full(n_tokens, -1, dtype=np.int64)
    pos = np.arange(n_tokens)
    big = np.iinfo(np.int64).max // 4
    for wi, w in enumerate(windows):
        p = pos[w.start:w.end]
        left = np.where(w.start == 0, big, p - w.start)
        right = np.where(w.end == n_tokens, big, w.end - 1 - p)
        c = np.minimum(left, right)
        better = c > score[w.start:w.end]
        best[w.start:w.end][better] = wi
        score[w.start:w.end][better] = c[better]
    return best


def stitch_logits(windows: Sequence[Window], window_logits: Sequence[np.ndarray], n_tokens: int,
                  owner: np.ndarray | None = None) -> np.ndarray:
    """Per-token logits taken from each token's best window (see :func:`best_window`).

    ``owner`` is ``best_window(windows, n_tokens)`` when the caller stitches several heads.
    """
    if n_tokens == 0:
        return np.zeros((0, window_logits[0].shape[-1] if window_logits else 0), dtype=np.float32)
    out = np.empty((n_tokens, window_logits[0].shape[-1]), dtype=np.float32)
    if owner is None:
        owner = best_window(windows, n_tokens)
    for wi, (w, lg) in enumerate(zip(windows, window_logits)):
        sel = np.nonzero(owner[w.start:w.end] == wi)[0]
        out[w.start + sel] = lg[sel]
    return out


def page_from_spans(page_id: str, text: str, groups: Sequence[tuple[str, list[Span]]]) -> Page:
    """Build a page from ``(topic, spans)`` groups, numbering articles in reading order."""
    groups = sorted((g for g in groups if g[1]), key=lambda g: min(s.start for s in g[1]))
    arts = [Article(f"a{i + 1}", t, sorted(sp, key=lambda s: s.start)) for i, (t, sp) in enumerate(groups)]
    return Page(page_id, text, arts)
