"""Gold spans for an OCR'd page, from the engine's own character boxes.

Each OCR character is owned by the drawn character whose cell (its advance by its line pitch) holds
the centre of the engine's box for it. Only characters the boxes do not settle (no box, or a centre
on a photo, a rule or white space: mostly the engine's garbage) take the owner of the drawn character
a sequence alignment (difflib) pairs them with. Runs of one owner become docs/SPEC.md §2 spans; characters
owned by nobody between two characters of one owner stay inside that span (a span has no holes),
anywhere else they are left outside every span, like furniture.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

from newsseg.data.pages import Article, Page, Span
from newsseg.ocr.engine import OcrResult
from newsseg.ocr.render import FURNITURE, Box, RenderedPage

_CELL = 64  # bucket size of the glyph lookup grid, pixels


@dataclass
class GoldStats:
    """How the gold was settled on one page.

    ``agreement``: share of characters owned by both boxes and alignment where the two agree;
    ``by_box`` / ``by_alignment`` / ``unowned``: characters settled each way; ``coverage``: share of
    drawn article characters the alignment recovers in the OCR text (1 − a character error rate
    that ignores reading order between owners).
    """

    chars: int = 0
    by_box: int = 0
    by_alignment: int = 0
    unowned: int = 0
    both: int = 0
    agree: int = 0
    drawn: int = 0
    recovered: int = 0

    @property
    def agreement(self) -> float:
        return self.agree / self.both if self.both else 1.0

    @property
    def coverage(self) -> float:
        return self.recovered / self.drawn if self.drawn else 1.0

    def add(self, other: "GoldStats") -> None:
        for f in self.__dataclass_fields__:
            setattr(self, f, getattr(self, f) + getattr(other, f))


class _GlyphGrid:
    """Point lookup over drawn glyph cells."""

    def __init__(self, page: RenderedPage) -> None:
        self.glyphs = page.glyphs
        self.grid: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, (_, (x0, y0, x1, y1), _) in enumerate(page.glyphs):
            for gx in range(x0 // _CELL, x1 // _CELL + 1):
                for gy in range(y0 // _CELL, y1 // _CELL + 1):
                    self.grid[gx, gy].append(i)

    def owner_at(self, x: float, y: float) -> int | None:
        for i in self.grid.get((int(x) // _CELL, int(y) // _CELL), ()):
            x0, y0, x1, y1 = self.glyphs[i][1]
            if x0 <= x < x1 and y0 <= y < y1:
                return self.glyphs[i][2]
        return None


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _alignment_owners(ocr_chars: Sequence[str], page: RenderedPage) -> tuple[list[int | None], int]:
    """Owner of each OCR character by a difflib alignment with the drawn characters in drawing order."""
    drawn = [g[0] for g in page.glyphs]
    sm = difflib.SequenceMatcher(None, list(ocr_chars), drawn, autojunk=False)
    out: list[int | None] = [None] * len(ocr_chars)
    matched = 0
    for a, b, n in sm.get_matching_blocks():
        for k in range(n):
            out[a + k] = page.glyphs[b + k][2]
        matched += n
    return out, matched


def gold_page(rendered: RenderedPage, ocr: OcrResult) -> tuple[Page, GoldStats]:
    """The page as the engine wrote it, with gold articles from box owners (alignment where needed)."""
    text = ocr.text
    positions = [i for i, ch in enumerate(text) if not ch.isspace()]
    grid = _GlyphGrid(rendered)
    by_box: list[int | None] = [grid.owner_at(*_centre(b)) if (b := ocr.boxes[i]) is not None else None
                                for i in positions]
    by_align, matched = _alignment_owners([text[i] for i in positions], rendered)
    stats = GoldStats(chars=len(positions), drawn=sum(1 for g in rendered.glyphs if g[2] != FURNITURE))
    owners: list[int | None] = []
    for b, a in zip(by_box, by_align):
        if b is not None and a is not None:
            stats.both += 1
            stats.agree += b == a
        owners.append(b if b is not None else a)
        stats.by_box += b is not None
        stats.by_alignment += b is None and a is not None
        stats.unowned += b is None and a is None
    stats.recovered = sum(1 for o, a in zip(owners, by_align) if a is not None and a == o and o != FURNITURE)
    spans: dict[str, list[Span]] = {}
    for start, end, o in _runs_contiguous(positions, owners):
        aid, role = rendered.owners[o]
        spans.setdefault(aid, []).append(Span(start, end, role))
    articles = [Article(aid, rendered.topics[aid], s) for aid, s in spans.items() if aid in rendered.topics]
    return Page(rendered.id, text, articles), stats


def _runs_contiguous(positions: Sequence[int], owners: list[int | None]) -> list[tuple[int, int, int]]:
    """Maximal runs of one article owner over consecutive non-space characters (see module doc)."""
    nxt: list[int | None] = [None] * len(owners)
    upcoming: int | None = None
    for i in range(len(owners) - 1, -1, -1):  # the next owned character's owner, for each position
        nxt[i] = upcoming
        if owners[i] is not None:
            upcoming = owners[i]
    filled: list[int | None] = list(owners)
    last: int | None = None
    for i, o in enumerate(owners):
        if o is None:
            filled[i] = last if last is not None and last == nxt[i] else None
        else:
            last = o
    runs: list[list[int]] = []
    prev_o: int | None = None
    for pos, o in zip(positions, filled):
        if o is not None and o != FURNITURE and o == prev_o:
            runs[-1][1] = pos + 1
        elif o is not None and o != FURNITURE:
            runs.append([pos, pos + 1, o])
        prev_o = o
    return [(s, e, o) for s, e, o in runs]
