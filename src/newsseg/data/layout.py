"""Layout primitives that turn articles into OCR-like page text with exact spans.

Shared by the random composer (:mod:`newsseg.data.composer`) and the hand-planned evaluation pages
(``data/pages/build_dev.py``), so both lay text out the same way:

- :func:`wrap` breaks a paragraph into column lines the way OCR reads a column: a fixed width in
  full-width characters (digits and Latin letters count half), broken mid-word, with closing
  punctuation kept at the end of a line (禁则) instead of starting the next one.
- :func:`headline_block` stacks headline lines, one per line.
- :func:`body_fragments` wraps an article's paragraphs and cuts them into fragments, at paragraph
  boundaries or mid-paragraph at a line boundary, each fragment with its own column width.
- :func:`assemble` joins blocks into a page and records one span per block.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Literal, Sequence, Union

from newsseg.data.pages import Article, Page, Span

# Characters that may not start a line: they hang at the end of the previous one.
CLOSING = frozenset("，。、；：！？”’）》」』,.;:!?)%")
# Characters that may not end a line: they move to the start of the next one.
OPENING = frozenset("“‘（《「『(")
Cut = Union[tuple[int, int], float]
BylineMode = Literal["line", "joined", "append"]


def _units(p: str) -> list[int]:
    """Cumulative width in half-character units (ASCII and Latin = 1, CJK and full-width = 2)."""
    return list(accumulate(1 if ord(c) < 0x2000 else 2 for c in p))


def wrap_breaks(p: str, width: int, rng: random.Random | None = None, jitter: float = 0.0) -> list[int]:
    """Start offsets of the lines of ``p`` wrapped at ``width`` full-width characters.

    With ``rng`` and ``jitter`` > 0, each line is one character narrower or wider with that
    probability, like the uneven lines of a real OCR column.
    """
    if width < 1:
        raise ValueError(f"line width must be at least 1, got {width}")
    cum = _units(p)
    n = len(p)
    starts: list[int] = []
    start, base = 0, 0
    while start < n:
        w = width
        if rng is not None and jitter and rng.random() < jitter:
            w = max(1, w + rng.choice((-1, 1)))
        end = max(bisect_right(cum, base + 2 * w, lo=start), start + 1)
        if end < n and p[end] in CLOSING:
            end += 1
            if end < n and p[end] in CLOSING:  # 。” hangs as a pair
                end += 1
        elif end < n and end - start > 1 and p[end - 1] in OPENING:
            end -= 1
        starts.append(start)
        base, start = cum[end - 1], end
    return starts


def wrap(p: str, width: int, rng: random.Random | None = None, jitter: float = 0.0) -> list[str]:
    """The lines of ``p`` wrapped at ``width`` (see :func:`wrap_breaks`), stripped, none empty."""
    b = wrap_breaks(p, width, rng, jitter)
    lines = (p[s:e].strip() for s, e in zip(b, b[1:] + [len(p)]))
    return [ln for ln in lines if ln]


def headline_block(lines: Sequence[str], max_width: int = 24, blank: bool = False) -> str:
    """Headline lines, one per printed line; a line longer than ``max_width`` is wrapped.

    ``blank`` puts an empty line between the headline lines (as in ``总投资96.6亿元`` / title on the
    sample page); the block is still one headline span.
    """
    out: list[str] = []
    for ln in lines:
        out += wrap(ln, max_width) if len(ln) > max_width else [ln.strip()]
    return ("\n\n" if blank else "\n").join(x for x in out if x)


@dataclass
class BodyLayout:
    """How one article's body is laid out and split.

    ``widths``: column width of each fragment (its length is the number of fragments).
    ``cuts``: where fragment k+1 starts, in the text left after fragment k, wrapped at ``widths[k]``:
    either ``(paragraph, line)`` (line 0 = at the paragraph boundary) or a float in (0, 1), the
    share of the remaining lines (a line boundary, possibly mid-paragraph).
    ``para_blank``: empty line between paragraphs. ``byline``: ``"line"`` (each credit line on its
    own line), ``"joined"`` (credits on one line) or ``"append"`` (credits appended to the last text
    line, as ``…13.2亿元。记者 孙庆辉 …文/图`` on the sample page). ``column``: ``(height, offset)``
    inserts an empty line every ``height`` lines (a column break, even mid-paragraph).
    ``jitter``: probability that a line is one character off the width. ``indent``: printed before
    every paragraph (``"\u3000\u3000"`` or two spaces on many real pages; kept outside spans where
    it opens one). ``byline_first``: the credits go before the lead (``▢ 全媒体记者 X``) instead of
    after the body.
    """

    widths: list[int]
    cuts: list[Cut] = field(default_factory=list)
    para_blank: bool = False
    byline: BylineMode = "line"
    column: tuple[int, int] | None = None
    jitter: float = 0.0
    indent: str = ""
    byline_first: bool = False


def body_fragments(paras: Sequence[str], byline: str, lay: BodyLayout,
                   rng: random.Random | None = None) -> list[str]:
    """Lay out paragraphs (caption included where it belongs) and the byline as fragment texts.

    Float cuts that would leave nothing (a one-line remainder) are skipped, so fewer fragments than
    ``lay.widths`` may come back; exact ``(paragraph, line)`` cuts that are impossible raise ``ValueError``.
    """
    if len(lay.cuts) != len(lay.widths) - 1:
        raise ValueError(f"{len(lay.widths)} widths need {len(lay.widths) - 1} cuts, got {len(lay.cuts)}")
    remaining = [lay.indent + p.strip() for p in paras if p.strip()]
    frags: list[list[tuple[str, bool]]] = []
    for k, width in enumerate(lay.widths):
        breaks = [wrap_breaks(p, width, rng, lay.jitter) for p in remaining]
        # A paragraph's first line keeps its indentation; every other line is stripped.
        lines = [[(p[s:e].rstrip() if li == 0 else p[s:e].strip(), li == 0)
                  for li, (s, e) in enumerate(zip(b, b[1:] + [len(p)]))]
                 for p, b in zip(remaining, breaks)]
        if k == len(lay.widths) - 1:
            frags.append([x for para in lines for x in para])
            break
        cut = lay.cuts[k]
        flat = [(pi, li) for pi, b in enumerate(breaks) for li in range(len(b))]
        if isinstance(cut, float):
            if len(flat) < 2:
                frags.append([x for para in lines for x in para])
                break
            pi, li = flat[min(max(1, round(cut * len(flat))), len(flat) - 1)]
        else:
            pi, li = cut
            if (pi, li) not in flat or (pi, li) == (0, 0):
                raise ValueError(f"cut {cut} is not inside the remaining {len(remaining)} paragraphs "
                                 f"(line counts {[len(b) for b in breaks]} at width {width})")
        frags.append([x for para in lines[:pi] for x in para] + lines[pi][:li])
        rest = [remaining[pi][breaks[pi][li]:].lstrip()] if li else []
        remaining = rest + remaining[pi + (1 if li else 0):]
    credits = [c for c in byline.split("\n") if c.strip()]
    last = frags[-1]
    if credits and lay.byline_first:
        joined = credits if lay.byline == "line" else [" ".join(credits)]
        frags[0][:0] = [(c, True) for c in joined]
    elif credits and lay.byline == "append" and last:
        last[-1] = (last[-1][0] + " ".join(credits), last[-1][1])
    elif credits:
        last += [(c, False) for c in (credits if lay.byline == "line" else [" ".join(credits)])]
    out: list[str] = []
    counter = 0
    for frag in frags:
        parts: list[str] = []
        for i, (line, para_start) in enumerate(x for x in frag if x[0].strip()):
            if i:
                col_break = lay.column is not None and (counter - lay.column[1]) % lay.column[0] == 0
                parts.append("\n\n" if (para_start and lay.para_blank) or col_break else "\n")
            parts.append(line)
            counter += 1
        if parts:
            out.append("".join(parts))
    return out


@dataclass
class Block:
    """A laid-out piece of a page: a headline block, a body fragment, or furniture (``article=None``).

    ``before`` is the whitespace that separates it from the previous block.
    """

    text: str
    article: str | None = None
    role: str | None = None
    before: str = "\n\n"


def assemble(page_id: str, blocks: Sequence[Block], topics: dict[str, str]) -> Page:
    """Join blocks into a page; each article block becomes one span (adjacent body blocks of one
    article merge into one span). Articles are listed in order of first appearance. A block's
    leading whitespace (paragraph indentation) is printed but stays outside its span."""
    parts: list[str] = []
    pos = 0
    spans: dict[str, list[Span]] = {}
    prev: Block | None = None
    for b in blocks:
        text = b.text.rstrip()
        if not text.strip():
            continue
        indent = len(text) - len(text.lstrip())
        if parts:
            parts.append(b.before)
            pos += len(b.before)
        if b.article is not None:
            if b.role not in ("headline", "body"):
                raise ValueError(f"block of article {b.article!r} has role {b.role!r}")
            same = prev is not None and prev.article == b.article and prev.role == b.role == "body"
            if same:
                spans[b.article][-1].end = pos + len(text)
            else:
                spans.setdefault(b.article, []).append(Span(pos + indent, pos + len(text), b.role))
        parts.append(text)
        pos += len(text)
        prev = b
    return Page(page_id, "".join(parts), [Article(a, topics[a], s) for a, s in spans.items()])
