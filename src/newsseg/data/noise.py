"""OCR noise that keeps gold spans exact.

:func:`apply_ocr_noise` hits about ``rate × len(text)`` positions of a page with the errors OCR
makes: look-alike characters (己/已/巳, 未/末, 人/入, 0/O, 1/l…), dropped or doubled line breaks,
stray spaces, half-/full-width punctuation swaps (，/, 。/. ：/: （/(…), and broken sequences (a few
characters read as ``囗□`` garbage, or dropped). Span offsets are moved with the edits and trimmed
so that no span starts or ends on whitespace; characters are never dropped at a span's first or
last character, so no span can vanish.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass

from newsseg.data.pages import Article, Page, Span

_LOOKALIKE_GROUPS = ("己已巳", "未末", "人入", "士土", "日曰", "0O", "1l", "天夭", "刀力", "千干于",
                     "戊戌戍", "贝见", "王玉", "木术", "今令", "析折", "拨拔", "候侯", "治冶", "汩汨",
                     "大太", "问间", "准淮", "苦若", "壁璧", "辨辩", "免兔", "毫毛", "洒酒", "侯候",
                     "8B", "5S", "2Z")
LOOKALIKES: dict[str, str] = {c: "".join(x for x in g if x != c) for g in _LOOKALIKE_GROUPS for c in g}
_PUNCT_PAIRS = ("，,", "。.", "：:", "（(", "）)", "；;", "！!", "？?")
PUNCT_SWAPS: dict[str, str] = {**{a: b for a, b in _PUNCT_PAIRS}, **{b: a for a, b in _PUNCT_PAIRS}, "、": ","}
GARBAGE = "囗□■口丨"


@dataclass
class _Edit:
    pos: int      # first replaced character of the original text
    length: int   # number of original characters replaced
    repl: str     # what replaces them
    lead: int = 0  # characters inserted before the original character (stray space)


def _pick_edit(text: str, p: int, edges: set[int], rng: random.Random) -> _Edit | None:
    c = text[p]
    if c == "\n":
        return _Edit(p, 1, "" if rng.random() < 0.5 else "\n\n")
    if c.isspace():
        return _Edit(p, 1, "") if p not in edges and rng.random() < 0.3 else None
    if c in LOOKALIKES and rng.random() < 0.7:
        return _Edit(p, 1, rng.choice(LOOKALIKES[c]))
    if c in PUNCT_SWAPS and rng.random() < 0.7:
        return _Edit(p, 1, PUNCT_SWAPS[c])
    r = rng.random()
    if r < 0.45:
        return _Edit(p, 1, " " + c, lead=1)
    # A broken sequence stays inside one run of non-space characters (never crosses a line).
    n = 1
    while n < 3 and p + n < len(text) and not text[p + n].isspace() and rng.random() < 0.5:
        n += 1
    if r < 0.8:
        return _Edit(p, n, "".join(rng.choice(GARBAGE) for _ in range(rng.randint(1, n))))
    if any(i in edges for i in range(p, p + n)):
        return None
    return _Edit(p, n, "")


def apply_ocr_noise(page: Page, rate: float, rng: random.Random) -> Page:
    """Return a noisy copy of ``page`` with about ``rate × len(text)`` edits and spans moved to match."""
    text = page.text
    n = len(text)
    k = min(n, int(rate * n + rng.random()))
    if rate <= 0 or k == 0:
        return Page(page.id, text, [Article(a.id, a.topic, [Span(s.start, s.end, s.role, s.score) for s in a.spans],
                                            a.score) for a in page.articles])
    edges = {s.start for a in page.articles for s in a.spans} | {s.end - 1 for a in page.articles for s in a.spans}
    edits: list[_Edit] = []
    free = 0
    for p in sorted(rng.sample(range(n), k)):
        if p < free:
            continue
        e = _pick_edit(text, p, edges, rng)
        if e is not None:
            edits.append(e)
            free = p + e.length
    if not edits:
        return apply_ocr_noise(page, 0.0, rng)
    parts, prev = [], 0
    starts = [e.pos for e in edits]
    shift = [0]
    for e in edits:
        parts += [text[prev:e.pos], e.repl]
        prev = e.pos + e.length
        shift.append(shift[-1] + len(e.repl) - e.length)
    parts.append(text[prev:])
    new = "".join(parts)

    def locate(i: int) -> tuple[_Edit | None, int]:
        """The edit covering original index i (or None) and the shift of everything before it."""
        j = bisect_right(starts, i) - 1
        if j >= 0 and i < edits[j].pos + edits[j].length:
            return edits[j], shift[j]
        return None, shift[j + 1]

    def new_start(i: int) -> int:
        e, d = locate(i)
        return i + d if e is None else e.pos + d + e.lead

    def new_end(i: int) -> int:
        e, d = locate(i - 1)
        return i + d if e is None else e.pos + d + len(e.repl)

    arts = []
    for a in page.articles:
        spans = []
        for s in a.spans:
            st, en = new_start(s.start), new_end(s.end)
            while st < en and new[st].isspace():
                st += 1
            while en > st and new[en - 1].isspace():
                en -= 1
            if st >= en:  # cannot happen: span edges are never dropped
                raise AssertionError(f"noise emptied span [{s.start}, {s.end}) of page {page.id!r}")
            spans.append(Span(st, en, s.role, s.score))
        arts.append(Article(a.id, a.topic, spans, a.score))
    return Page(page.id, new, arts)
