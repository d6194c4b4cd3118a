"""Build data/pages/dev-hard.jsonl: hand-planned evaluation pages of held-out articles.

Every page is written by hand in ``dev_hard_plans.txt``: which held-out articles, in which order
every headline, body fragment, caption and piece of furniture is printed, each fragment's column
width, where articles are split, blank-line and indentation habits, and the OCR noise rate. The
furniture text is written in the plan too. Nothing here uses the training composer
(``newsseg.data.composer`` / ``newsseg.data.layout`` / ``newsseg.data.noise``): the line wrapping and
the noise below are this file's own, so these pages measure new layouts, not the training
generator. The gold labels follow from the plan.

Plan format (``#`` starts a comment; one page per ``===`` header)::

    === hard-split-01 | blank=para+col:23 | indent=ideo | noise=0.01
    F 2024年9月6日 星期五            furniture line, printed as written
    H san-101                        headline block: each printed line on its own line
    H san-101 w=8                    ... each headline line cut at 8 characters
    H san-101 join                   ... all headline lines on one line, joined by a space
    H san-101 sep=blank              ... a blank line between the headline lines
    B san-101 p=0-1 w=13             body paragraphs 0..1 at 13 characters a line
    B san-101 p=2.4- w=9             from line 4 (at this width) of paragraph 2 to the end
    B san-101 p=0-2.3 w=11           paragraphs 0, 1 and the first 3 lines of paragraph 2
    B san-101 p=0- w=0               one paragraph per line (database transcriptions)
    C san-101 w=13                   the article's photo caption

Page options: ``blank=`` ``none`` | ``block`` (blank line between blocks) | ``para`` (after each paragraph)
| ``col:N`` (every N lines, mid-sentence, as where a column ends), combined with ``+``;
``indent=`` ``none`` | ``ideo`` (two U+3000 before each paragraph) | ``space`` (two spaces);
``noise=`` share of characters replaced by a look-alike or ``囗`` (1:1, so offsets stay exact).
The byline is printed with the fragment that holds paragraph 0 (``byline_pos: before``) or the last
paragraph (``after``), on its own line. Adjacent body blocks of one article form one span.

Run from the repository root:  python data/pages/build_dev_hard.py
Variants for robustness rows (evaluate/robustness.sh), same plans and gold, other text:
  python data/pages/build_dev_hard.py --no-blank-lines -o OUT.jsonl     every page with blank=none
  python data/pages/build_dev_hard.py --widths 5-7 -o OUT.jsonl         every w>0 redrawn from 5..7
"""

from __future__ import annotations

import argparse
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from newsseg.data.corpus import CorpusArticle, load_corpus
from newsseg.data.pages import Article, Page, Span, validate_page, write_pages

HERE = Path(__file__).resolve().parent
PLANS = HERE / "dev_hard_plans.txt"
OUT = HERE / "dev-hard.jsonl"
# This file's own OCR confusions (1:1 replacements), deliberately not the training noise table.
CONFUSIONS = dict(zip("区县镇乡村街路园场业会议设项建市民政法院检察治卫生环境垃圾分类投资签约企",
                      "匡具填多材衔络圆扬亚佘议没顶健布氏攻去浣捡祭冶卫牛坏竟拉坡份尖没咨鉴钓仑"))


@dataclass
class Line:
    text: str
    para_end: bool = False    # the last line of a paragraph


@dataclass
class Block:
    kind: str                 # F, H, B, C
    article: str | None
    lines: list[Line] = field(default_factory=list)
    headline_gap: bool = False


def cut(text: str, width: int) -> list[str]:
    """Cut a paragraph into lines of ``width`` characters (0 = one line); no punctuation rules."""
    if width <= 0 or len(text) <= width:
        return [text]
    return [text[i:i + width] for i in range(0, len(text), width)]


def body_lines(a: CorpusArticle, spec: str, width: int, indent: str, strict: bool = True) -> list[Line]:
    """The lines of paragraphs ``spec`` (``A-B``, ``A-``, with ``P.L`` = line L of paragraph P).

    ``strict=False`` (width variants) moves a cut that the new width makes impossible to the
    nearest line that exists instead of failing."""
    m = re.fullmatch(r"(\d+)(?:\.(\d+))?-(?:(\d+)(?:\.(\d+))?)?", spec)
    if not m:
        raise ValueError(f"{a.id}: bad paragraph range {spec!r}")
    p0, l0 = int(m[1]), int(m[2] or 0)
    p1 = int(m[3]) if m[3] is not None else len(a.body) - 1
    l1 = int(m[4]) if m[4] is not None else None
    if not 0 <= p0 <= p1 < len(a.body):
        raise ValueError(f"{a.id}: paragraph range {spec!r} outside its {len(a.body)} paragraphs")
    out: list[Line] = []
    if p0 == 0 and l0 == 0 and a.byline and a.byline_pos == "before":
        out += [Line(x, True) for x in a.byline.split("\n")]
    for p in range(p0, p1 + 1):
        text = indent + a.body[p]
        lines = cut(text, width)
        lo = l0 if p == p0 else 0
        hi = l1 if (p == p1 and l1 is not None) else len(lines)
        if not strict:
            hi = max(1, min(hi, len(lines)))
            lo = min(lo, hi - 1)
        if not 0 <= lo < hi <= len(lines):
            raise ValueError(f"{a.id}: lines {lo}..{hi} of paragraph {p} ({len(lines)} lines at width {width})")
        out += [Line(x, i == len(lines) - 1) for i, x in enumerate(lines) if lo <= i < hi]
    if p1 == len(a.body) - 1 and l1 is None and a.byline and a.byline_pos == "after":
        out += [Line(x, True) for x in a.byline.split("\n")]
    return out


def parse_block(line: str, arts: dict[str, CorpusArticle], indent: str,
                widths: tuple[int, int] | None = None, page_id: str = "") -> Block:
    kind, _, rest = line.partition(" ")
    if kind == "F":
        return Block("F", None, [Line(rest.strip(), True)])
    words = rest.split()
    a = arts[words[0]]
    opts = dict(w.split("=", 1) if "=" in w else (w, "1") for w in words[1:])
    width = int(opts.get("w", "13"))
    if widths is not None and width > 0:
        # One width per article and page, so the fragments of a split paragraph still fit together.
        width = random.Random(f"{page_id}-{a.id}").randint(*widths)
    if kind == "H":
        heads = [" ".join(a.headline)] if "join" in opts else list(a.headline)
        lines = [x for h in heads for x in (cut(h, width) if "w" in opts else [h])]
        return Block("H", a.id, [Line(x, True) for x in lines], opts.get("sep") == "blank")
    if kind == "C":
        if not a.caption:
            raise ValueError(f"{a.id} has no caption")
        return Block("C", a.id, [Line(x, i == len(cut(a.caption, width)) - 1)
                                 for i, x in enumerate(cut(a.caption, width))])
    if kind == "B":
        return Block("B", a.id, body_lines(a, opts.get("p", "0-"), width, indent, strict=widths is None))
    raise ValueError(f"unknown block kind {kind!r} in {line!r}")


def render(page_id: str, opts: dict[str, str], blocks: list[Block], arts: dict[str, CorpusArticle]) -> Page:
    modes = set(opts.get("blank", "none").split("+"))
    col = next((int(m[4:]) for m in modes if m.startswith("col:")), 0)
    text = ""
    spans: dict[str, list[Span]] = {}
    prev: Block | None = None
    n_lines = 0
    for b in blocks:
        if text:
            text += "\n\n" if "block" in modes else "\n"
        start = len(text)
        for i, ln in enumerate(b.lines):
            if i:
                gap = (b.headline_gap or ("para" in modes and b.lines[i - 1].para_end and b.kind != "H")
                       or (col and n_lines % col == 0))
                text += "\n\n" if gap else "\n"
            text += ln.text
            n_lines += 1
        if b.article is None:
            prev = b
            continue
        lead = len(text[start:]) - len(text[start:].lstrip())
        role = "headline" if b.kind == "H" else "body"
        if prev is not None and prev.article == b.article and prev.kind != "H" and role == "body":
            spans[b.article][-1].end = len(text.rstrip())
        else:
            spans.setdefault(b.article, []).append(Span(start + lead, len(text.rstrip()), role))
        prev = b
    rate = float(opts.get("noise", "0"))
    if rate:
        rng = random.Random(page_id)
        chars = list(text)
        for i, c in enumerate(chars):
            if not c.isspace() and rng.random() < rate:
                chars[i] = CONFUSIONS.get(c, "囗")
        text = "".join(chars)
    page = Page(page_id, text, [Article(aid, arts[aid].topic, sp) for aid, sp in spans.items()])
    validate_page(page)
    return page


def build(plans: Path = PLANS, no_blank_lines: bool = False, widths: tuple[int, int] | None = None) -> list[Page]:
    arts = {a.id: a for a in load_corpus(split="heldout")}
    pages: list[Page] = []
    header: tuple[str, dict[str, str]] | None = None
    raw: list[str] = []

    def flush() -> None:
        if header is None:
            return
        indent = {"none": "", "ideo": "\u3000\u3000", "space": "  "}[header[1].get("indent", "none")]
        try:
            blocks = [parse_block(x, arts, indent, widths, header[0]) for x in raw]
        except KeyError as e:
            raise SystemExit(f"{plans}: page {header[0]}: {e.args[0]} is not a held-out article") from None
        except ValueError as e:
            raise SystemExit(f"{plans}: page {header[0]}: {e}") from None
        opts = {**header[1], "blank": "none"} if no_blank_lines else header[1]
        pages.append(render(header[0], opts, blocks, arts))

    for line in plans.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].rstrip() if not line.startswith("F ") else line.rstrip()
        if not line.strip():
            continue
        if line.startswith("==="):
            flush()
            parts = [x.strip() for x in line[3:].split("|")]
            header = (parts[0], dict(p.split("=", 1) for p in parts[1:] if p))
            raw = []
        else:
            raw.append(line.strip())
    flush()
    ids = [p.id for p in pages]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{plans}: duplicate page ids")
    return pages


def main() -> None:
    ap = argparse.ArgumentParser(description="Build the hand-planned hard evaluation pages.")
    ap.add_argument("plans", nargs="?", default=str(PLANS), help="plan file (default: %(default)s)")
    ap.add_argument("-o", "--out", default=str(OUT), help="output JSONL (default: %(default)s)")
    ap.add_argument("--no-blank-lines", action="store_true", help="print every page without blank lines")
    ap.add_argument("--widths", help="MIN-MAX: redraw every column width (w>0) from this range")
    args = ap.parse_args()
    widths = tuple(int(x) for x in args.widths.split("-")) if args.widths else None
    pages = build(Path(args.plans), args.no_blank_lines, widths)  # type: ignore[arg-type]
    n = write_pages(pages, args.out)
    print(f"wrote {n} pages ({sum(len(p.articles) for p in pages)} articles) to {args.out}")


if __name__ == "__main__":
    main()
