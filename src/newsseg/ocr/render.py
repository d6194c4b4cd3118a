"""Render composed newspaper pages as images, keeping the owner and box of every drawn character.

A page is a masthead and date line over 3–6 columns, filled band by band with article blocks:
a headline in large bold type over 1–3 columns (or set beside its body), an optional photo box
with its caption, the body flowing column by column, and what does not fit continued in a block
further down (with ``下转``/``上接`` lines) or cut. Column rules, column labels, a footer, several
faces and sizes, then light blur, resampling and speckle. Nothing here knows about OCR: the
result is an image plus, for each drawn character, its box and its owner (article and role, or
furniture), which :mod:`newsseg.ocr.gold` maps onto what the OCR engine wrote.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from newsseg.data import furniture
from newsseg.data.corpus import CorpusArticle
from newsseg.data.names import swap_names
from newsseg.ocr.fonts import Face, find_faces

FURNITURE = -1        # owner of page furniture (mastheads, dates, labels, jump lines, page numbers)
Box = tuple[int, int, int, int]
_NO_LINE_START = set("，。、；：！？）》」』”’%…·")
_SMALL_HEAD = {"kicker_title": (0,), "title_subtitle": (1,), "kicker_title_subtitle": (0, 2)}


@dataclass
class RenderConfig:
    """Knobs of the page renderer; ranges are drawn per page, probabilities per page or block."""

    columns_min: int = 3
    columns_max: int = 6
    chars_min: int = 9                   # characters per column line (real OCR'd pages: 10–13)
    chars_max: int = 14
    font_px_min: int = 20                # body type size in pixels
    font_px_max: int = 26
    lines_min: int = 36                  # body lines per column
    lines_max: int = 60
    leading_min: float = 1.3             # line pitch as a multiple of the type size
    leading_max: float = 1.7
    headline_scale_min: float = 1.5      # headline type against body type
    headline_scale_max: float = 2.6
    module_weights: tuple[float, float, float] = (0.3, 0.45, 0.25)   # article block over 1, 2, 3 columns
    side_headline_prob: float = 0.15     # per block of 2+ columns: headline set beside the body
    photo_prob: float = 0.25             # per article: a photo box with its caption
    continue_prob: float = 0.6           # per overflowing article: continued in a later block (else cut)
    jump_line_prob: float = 0.5          # per continuation: 下转/上接 lines
    column_rule_prob: float = 0.5        # vertical rules between columns
    masthead_prob: float = 0.5           # paper name in large type at the top
    column_label_prob: float = 0.2       # per article: a boxed column label over the headline
    footer_prob: float = 0.5             # editor credit / page number at the bottom
    blur_max: float = 0.8                # Gaussian blur radius in pixels, drawn in [0, blur_max]
    resample_prob: float = 0.5           # scale down and back up (soft edges of a low-dpi scan)
    resample_min: float = 0.6
    speckle_max: float = 0.002           # share of pixels flipped
    name_swap_prob: float = 0.5          # per article: names substituted, as the composer does

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RenderConfig":
        """Build from a dict (a recipe table); unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown render settings {unknown}; known: {sorted(names)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass
class RenderedPage:
    """A rendered page: ``glyphs[i] = (char, box, owner)``; ``owners[k] = (article id, role)``.
    """

    id: str
    image: Image.Image
    glyphs: list[tuple[str, Box, int]] = field(default_factory=list)
    owners: list[tuple[str, str]] = field(default_factory=list)
    topics: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def owner(self, article_id: str, role: str) -> int:
        key = (article_id, role)
        if key not in self.owners:
            self.owners.append(key)
        return self.owners.index(key)


@dataclass
class _Piece:
    """What is left of an article to draw: its body as (char, paragraph start) and whether continued."""

    article: CorpusArticle
    chars: list[tuple[str, bool]]
    continued: bool = False


class _Canvas:
    """Draws text into the image and records each glyph's box and owner."""

    def __init__(self, page: RenderedPage, ink: int) -> None:
        self.page, self.ink = page, ink
        self.draw = ImageDraw.Draw(page.image)

    def text(self, x: int, y: int, s: str, font: ImageFont.FreeTypeFont, owner: int, pitch: int) -> int:
        """Draw ``s`` from ``(x, y)``; each glyph's box is its advance by the line pitch. Returns x."""
        for ch in s:
            adv = max(1, round(font.getlength(ch)))
            if not ch.isspace():
                self.draw.text((x, y), ch, font=font, fill=self.ink)
                self.page.glyphs.append((ch, (x, y, x + adv, y + pitch), owner))
            x += adv
        return x


def _fit_lines(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy character wrap of ``text`` into lines of at most ``width`` pixels."""
    lines, cur = [], ""
    for ch in text:
        if cur and font.getlength(cur + ch) > width and ch not in _NO_LINE_START:
            lines.append(cur)
            cur = ""
        cur += ch
    return lines + [cur] if cur else lines


def _body_chars(a: CorpusArticle) -> list[tuple[str, bool]]:
    paras = list(a.body)
    credits = [c.strip() for c in a.byline.split("\n") if c.strip()]   # one credit per printed line
    paras = credits + paras if a.byline_pos == "before" else paras + credits
    return [(ch, i == 0) for p in paras for i, ch in enumerate(p)]


class _Layout:
    """One page's drawn geometry and the article queue it fills."""

    def __init__(self, cfg: RenderConfig, rng: random.Random, articles: Sequence[CorpusArticle], page_id: str) -> None:
        self.cfg, self.rng = cfg, rng
        faces = find_faces()
        self.body_face: Face = rng.choice(faces["body"])
        self.bold_face: Face = rng.choice(faces["bold"])
        self.ncols = rng.randint(cfg.columns_min, cfg.columns_max)
        self.s = rng.randint(cfg.font_px_min, cfg.font_px_max)
        self.font = self.body_face.at(self.s)
        self.pitch = round(self.s * rng.uniform(cfg.leading_min, cfg.leading_max))
        self.col_w = self.s * rng.randint(cfg.chars_min, cfg.chars_max)
        self.gutter = round(self.s * rng.uniform(0.8, 1.6))
        self.margin = round(self.s * rng.uniform(1.5, 3.0))
        self.rules = rng.random() < cfg.column_rule_prob
        width = 2 * self.margin + self.ncols * self.col_w + (self.ncols - 1) * self.gutter
        self.n_lines = rng.randint(cfg.lines_min, cfg.lines_max)
        height = 2 * self.margin + (self.n_lines + 8) * self.pitch
        paper = rng.randint(236, 255)
        self.page = RenderedPage(page_id, Image.new("L", (width, height), paper))
        self.canvas = _Canvas(self.page, rng.randint(0, 50))
        self.queue = list(articles)
        self.pending: list[_Piece] = []
        self.page.settings = {"columns": self.ncols, "font_px": self.s, "pitch": self.pitch,
                              "chars_per_line": self.col_w // self.s, "body_face": self.body_face.name,
                              "bold_face": self.bold_face.name, "size": [width, height]}

    def col_x(self, c: int) -> int:
        return self.margin + c * (self.col_w + self.gutter)

    def header(self, y: int) -> int:
        """Masthead, date line and 版次 across the top; returns the y below them."""
        rng, c = self.rng, self.canvas
        right = self.page.image.width - self.margin
        if rng.random() < self.cfg.masthead_prob:
            big = self.bold_face.at(round(self.s * rng.uniform(2.2, 3.2)))
            name = furniture.paper_name(rng)
            h = round(big.size * 1.3)
            c.text(self.margin, y, name, big, FURNITURE, h)
            y += h
        date = dt.date(rng.randint(2008, 2025), rng.randint(1, 12), rng.randint(1, 28))
        for line in furniture.header_lines(rng, date):
            c.text(self.margin, y, line, self.font, FURNITURE, self.pitch)
            y += self.pitch
        c.draw.line([(self.margin, y + 2), (right, y + 2)], fill=c.ink, width=rng.randint(1, 3))
        return y + self.pitch // 2

    def headline(self, a: CorpusArticle, x: int, y: int, width: int, owner: int) -> int:
        """Draw the headline block in ``width`` pixels; returns the y below it (a whole pitch multiple)."""
        rng, c = self.rng, self.canvas
        scale = rng.uniform(self.cfg.headline_scale_min, self.cfg.headline_scale_max)
        small = _SMALL_HEAD.get(a.headline_style, ())
        y0 = y
        for i, text in enumerate(a.headline):
            size = round(self.s * (1.15 if i in small else scale))
            font = (self.body_face if i in small else self.bold_face).at(size)
            while size > self.s * 1.2 and font.getlength(text) > width:
                size -= 2
                font = self.bold_face.at(size) if i not in small else self.body_face.at(size)
            lh = round(size * 1.25)
            for line in _fit_lines(text, font, width):
                c.text(x, y, line, font, owner, lh)
                y += lh
        return y0 + -(-(y - y0 + self.pitch // 3) // self.pitch) * self.pitch

    def photo(self, x: int, y: int, width: int, n_lines: int) -> int:
        """A photo box (gradient and grain, owned by nobody); returns the y below it."""
        h = n_lines * self.pitch - self.pitch // 3
        g0, g1 = self.rng.randint(60, 200), self.rng.randint(60, 200)
        photo = Image.linear_gradient("L").resize((width, h)).point(lambda v: g0 + (g1 - g0) * v // 255)
        photo = Image.blend(photo, Image.effect_noise((width, h), 40).convert("L"), 0.3)
        self.page.image.paste(photo, (x, y))
        return y + n_lines * self.pitch

    def flow(self, piece: _Piece, cols: Sequence[int], y_top: int, y_bottom: int, owner: int,
             jump_out: bool) -> None:
        """Fill the columns ``cols`` from ``y_top`` to ``y_bottom`` with the piece's body characters."""
        c, chars = self.canvas, piece.chars
        last_line = y_bottom - self.pitch
        for ci, col in enumerate(cols):
            x0, y = self.col_x(col), y_top
            while y + self.pitch <= y_bottom and chars:
                if jump_out and ci == len(cols) - 1 and y >= last_line:
                    break
                x, line_chars = x0 + (2 * self.s if chars[0][1] else 0), 0
                while chars and (line_chars == 0 or not chars[0][1]):
                    ch = chars[0][0]
                    adv = self.font.getlength(ch)
                    if x + adv > x0 + self.col_w + (adv if ch in _NO_LINE_START else 0):
                        break
                    x = c.text(x, y, ch, self.font, owner, self.pitch)
                    chars.pop(0)
                    line_chars += 1
                y += self.pitch
        if jump_out and chars:
            x = self.col_x(cols[-1])
            c.text(x, last_line, furniture.jump_out(self.rng), self.font, FURNITURE, self.pitch)

    def block(self, cols: Sequence[int], y_top: int, y_bottom: int) -> bool:
        """Fill one block with a continuation or a new article; False when nothing is left."""
        rng, cfg, c = self.rng, self.cfg, self.canvas
        if self.pending and (not self.queue or rng.random() < 0.6):
            piece = self.pending.pop(0)
            aid = piece.article.id
            y = y_top
            if piece.continued and rng.random() < cfg.jump_line_prob:
                c.text(self.col_x(cols[0]), y, furniture.jump_in(rng), self.font, FURNITURE, self.pitch)
                y += self.pitch
            self.flow(piece, cols, y, y_bottom, self.page.owner(aid, "body"), jump_out=False)
            return True
        if not self.queue:
            return False
        a = self.queue.pop(0)
        self.page.topics[a.id] = a.topic
        piece = _Piece(a, _body_chars(a))
        head, body = self.page.owner(a.id, "headline"), self.page.owner(a.id, "body")
        x0, width = self.col_x(cols[0]), self.col_x(cols[-1]) + self.col_w - self.col_x(cols[0])
        y = y_top
        if rng.random() < cfg.column_label_prob:
            c.text(x0, y, furniture.column_label(rng), self.font, FURNITURE, self.pitch)
            y += self.pitch
        body_cols: Sequence[int] = cols
        if len(cols) >= 2 and rng.random() < cfg.side_headline_prob:
            self.headline(a, x0, y, self.col_w, head)
            body_cols = cols[1:]
        else:
            y = self.headline(a, x0, y, width, head)
        bx = self.col_x(body_cols[0])
        bwidth = self.col_x(body_cols[-1]) + self.col_w - bx
        if a.caption and rng.random() < cfg.photo_prob and y_bottom - y > 12 * self.pitch:
            y = self.photo(bx, y, bwidth, rng.randint(4, 8))
            for line in _fit_lines(a.caption, self.font, bwidth):
                c.text(bx, y, line, self.font, body, self.pitch)
                y += self.pitch
        will_continue = rng.random() < cfg.continue_prob
        jump = will_continue and rng.random() < cfg.jump_line_prob
        self.flow(piece, body_cols, y, y_bottom, body, jump_out=jump)
        if piece.chars and will_continue:
            self.pending.append(_Piece(a, piece.chars, continued=jump))
        return True

    def bands(self, y: int) -> None:
        """Fill the page band by band: each band is a row of blocks over 1–3 columns."""
        rng, c = self.rng, self.canvas
        bottom = y + self.n_lines * self.pitch
        while bottom - y >= 6 * self.pitch and (self.queue or self.pending):
            n = min(rng.randint(10, 24), (bottom - y) // self.pitch)
            y_end = y + n * self.pitch
            col = 0
            while col < self.ncols:
                k = min(self.ncols - col, rng.choices((1, 2, 3), self.cfg.module_weights)[0])
                if not self.block(range(col, col + k), y, y_end):
                    break
                col += k
                if self.rules and col < self.ncols:
                    xr = self.col_x(col) - self.gutter // 2
                    c.draw.line([(xr, y), (xr, y_end)], fill=c.ink, width=1)
            c.draw.line([(self.margin, y_end + self.pitch // 3), (self.page.image.width - self.margin,
                                                                  y_end + self.pitch // 3)], fill=c.ink, width=1)
            y = y_end + self.pitch

    def footer(self) -> None:
        if self.rng.random() < self.cfg.footer_prob:
            y = self.page.image.height - self.margin - self.pitch
            text = furniture.editor_credit(self.rng) if self.rng.random() < 0.6 else furniture.page_number(
                self.rng, self.rng.randint(1, 24))
            self.canvas.text(self.margin, y, text, self.font, FURNITURE, self.pitch)


def _degrade(img: Image.Image, cfg: RenderConfig, rng: random.Random) -> Image.Image:
    """Light blur, a low-resolution round trip and speckle, as scans of newsprint show."""
    if cfg.resample_prob and rng.random() < cfg.resample_prob:
        f = rng.uniform(cfg.resample_min, 1.0)
        size = img.size
        img = img.resize((max(1, int(size[0] * f)), max(1, int(size[1] * f))), Image.BILINEAR).resize(size, Image.BILINEAR)
    radius = rng.uniform(0, cfg.blur_max)
    if radius > 0.05:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    share = rng.uniform(0, cfg.speckle_max)
    if share:
        px = img.load()
        w, h = img.size
        for _ in range(int(w * h * share)):
            x, y = rng.randrange(w), rng.randrange(h)
            px[x, y] = 255 - px[x, y] if rng.random() < 0.5 else rng.randint(0, 80)
    return img


def render_page(articles: Sequence[CorpusArticle], cfg: RenderConfig | None = None, seed: int | str = 0,
                page_id: str = "page", names: dict[str, dict[str, str]] | None = None) -> RenderedPage:
    """Lay out ``articles`` (as many as fit, in order) on one page image; deterministic in ``seed``.

    ``names`` maps article ids to :func:`~newsseg.data.names.find_names` results (a cache; found
    on the fly when missing).
    """
    cfg = cfg or RenderConfig()
    rng = random.Random(f"render:{seed}")
    names = names or {}
    arts = [swap_names(a, rng, names.get(a.id)) if rng.random() < cfg.name_swap_prob else a for a in articles]
    lay = _Layout(cfg, rng, arts, page_id)
    lay.bands(lay.header(lay.margin))
    lay.footer()
    page = lay.page
    # Articles whose blocks never made it onto the page are not on it.
    page.topics = {k: v for k, v in page.topics.items() if any(o[0] == k for o in page.owners)}
    page.image = _degrade(page.image, cfg, rng)
    return page
