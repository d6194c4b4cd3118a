"""Compose synthetic OCR pages from corpus articles (``newsseg compose``).

Pages imitate how OCR reads real column pages, in the shapes measured in ``shared/REAL_PAGES.md``:
column widths of 5–40 characters drawn per page and mixed on one page (a lead article in wide lines
above narrow columns), or one paragraph per line as database transcriptions print it; headline lines
printed whole, cut at the column width, or kicker and title joined on one line; blank lines at
paragraph ends, at column breaks mid-sentence, or none at all; full-width paragraph indentation;
headlines before, after or detached from their bodies, or all collected in a zone at the top, the
end or the middle; articles split into 2–4 fragments anywhere on the page, some with jump lines
(``下转第2版`` / ``上接第1版``); pages of 6–12 briefs; same-topic neighbours; furniture put together from
parts (:mod:`newsseg.data.furniture`); name substitution and OCR noise. Page ``i`` of seed ``s``
depends only on ``(s, i)`` and the articles, so output streams and any page can be regenerated alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Iterator, Sequence

from newsseg.data import furniture
from newsseg.data.corpus import DEFAULT_CORPUS_DIR, CorpusArticle, heldout_ids, load_corpus
from newsseg.data.layout import Block, BodyLayout, assemble, body_fragments, headline_block
from newsseg.data.names import find_names, swap_names
from newsseg.data.noise import apply_ocr_noise
from newsseg.data.pages import Page, write_pages

BRIEF_LABELS = ("简讯", "新闻速递", "综合新闻", "本地快讯", "短新闻", "动态", "一句话新闻", "新闻集萃", "要闻简报")
BLANK_MODES = ("none", "para", "column", "both")
HEADLINE_MODES = ("printed", "column", "wide", "join")


@dataclass
class ComposerConfig:
    """Knobs of the page composer; probabilities are per page unless noted. See data/README.md."""

    min_articles: int = 2                 # articles per normal page (inclusive range)
    max_articles: int = 7
    width_min: int = 5                    # page column width, full-width characters, drawn
    width_max: int = 40                   # log-uniformly in [width_min, width_max] (median ~14)
    mixed_width_prob: float = 0.35        # fragments of the page redraw their own width
    wide_prob: float = 0.05               # per fragment: a wide line layout instead
    wide_min: int = 20
    wide_max: int = 40
    paragraph_line_prob: float = 0.06     # one paragraph per line (transcriptions, paragraph-joining OCR)
    line_jitter: float = 0.05             # per line: one character narrower or wider
    blank_weights: tuple[float, ...] = (0.4, 0.25, 0.2, 0.15)   # blank lines: none, para ends, column breaks, both
    block_blank_prob: float = 0.7         # with blank lines: per block, an empty line before it
    indent_prob: float = 0.35             # paragraphs indented (two U+3000, or two spaces)
    fragment_weights: tuple[float, ...] = (0.45, 0.3, 0.17, 0.08)   # article in 1, 2, 3 or 4 fragments
    mid_paragraph_cut_prob: float = 0.5   # per cut: at a line boundary inside a paragraph
    jump_prob: float = 0.3                # per continuation: 下转第N版 / 上接第N版 lines around the cut
    lead_last_prob: float = 0.2           # per split article: its lead fragment goes to the page end
    headline_zone_prob: float = 0.25      # all headlines collected in one zone (top, end or middle)
    headline_weights: tuple[float, float, float] = (0.6, 0.15, 0.25)  # per article: before, after, detached
    headline_mode_weights: tuple[float, ...] = (0.45, 0.3, 0.1, 0.15)  # printed, cut at column, wide, joined
    headline_max_width: int = 42          # printed headline lines longer than this are wrapped
    headline_blank_prob: float = 0.1      # per headline: empty line between its lines
    same_topic_prob: float = 0.35         # two (sometimes three) articles of one topic
    brief_page_prob: float = 0.08         # a page of 6–12 short briefs under a 简讯 label
    brief_min: int = 6
    brief_max: int = 12
    brief_max_chars: int = 220            # briefs keep leading paragraphs up to this many characters
    header_prob: float = 0.75             # page header (paper, date, 版次, section)
    editor_credit_prob: float = 0.4       # 责任编辑 … 校对 … line (top or bottom)
    page_number_prob: float = 0.3         # a page number line
    column_label_prob: float = 0.2        # per article: a column label next to its headline
    caption_prob: float = 0.8             # per article with a caption: print it
    byline_weights: tuple[float, float, float] = (0.55, 0.3, 0.15)   # credits: own lines, one line, appended
    name_swap_prob: float = 0.5           # per article: substitute place/organisation/person names
    noise_rate: float = 0.01              # OCR noise: share of characters hit (0 = clean pages)
    topic_weights: dict[str, float] | None = None   # topic sampling weights; None = as often as the corpus

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ComposerConfig":
        """Build from a mapping; values may be strings (``--set knob=value``) parsed as JSON."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for k, v in d.items():
            if k not in names:
                raise ValueError(f"unknown composer knob {k!r}; known: {', '.join(names)}")
            if isinstance(v, str):
                try:
                    v = json.loads(v)
                except json.JSONDecodeError:
                    raise ValueError(f"composer knob {k}: cannot parse {v!r} (use JSON, e.g. 0.3 or [1,2])") from None
            if isinstance(v, list):
                v = tuple(v)
            kwargs[k] = v
        cfg = cls(**kwargs)
        cfg.check()
        return cfg

    def check(self) -> None:
        """Raise ``ValueError`` on an impossible setting."""
        if not 1 <= self.min_articles <= self.max_articles or not 1 <= self.brief_min <= self.brief_max:
            raise ValueError("need 1 <= min_articles <= max_articles and 1 <= brief_min <= brief_max")
        if not 1 <= self.width_min <= self.width_max or not 1 <= self.wide_min <= self.wide_max:
            raise ValueError("need 1 <= width_min <= width_max and 1 <= wide_min <= wide_max")
        sizes = {"fragment_weights": (1, 4), "headline_weights": (3, 3), "byline_weights": (3, 3),
                 "blank_weights": (4, 4), "headline_mode_weights": (4, 4)}
        for name, (lo, hi) in sizes.items():
            w = getattr(self, name)
            if not lo <= len(w) <= hi:
                raise ValueError(f"{name}: {lo}–{hi} values, got {len(w)}" if lo < hi
                                 else f"{name}: {lo} values, got {len(w)}")
            if min(w) < 0 or not sum(w):
                raise ValueError(f"{name}: weights must be non-negative with a positive sum")
        if not 0 <= self.noise_rate <= 0.5:
            raise ValueError("noise_rate must be in [0, 0.5]")


class _Prepared:
    """Articles by topic with their names found once (``find_names`` is the costly step)."""

    def __init__(self, articles: Sequence[CorpusArticle], cfg: ComposerConfig) -> None:
        self.by_topic: dict[str, list[CorpusArticle]] = {}
        for a in articles:
            self.by_topic.setdefault(a.topic, []).append(a)
        self.topics = sorted(self.by_topic)
        tw = cfg.topic_weights
        if tw is None:  # as often as the corpus holds them: most real articles are "other"
            self.weights = [float(len(self.by_topic[t])) for t in self.topics]
        else:
            self.weights = [float(tw.get(t, 0.0)) for t in self.topics]
        if not any(self.weights):
            raise ValueError(f"topic_weights {tw} give no weight to the corpus topics {self.topics}")
        self.short = [a for a in articles if len(a.body[0]) <= cfg.brief_max_chars]
        self.names: dict[str, dict[str, str]] = {}

    def names_of(self, a: CorpusArticle) -> dict[str, str]:
        if a.id not in self.names:
            self.names[a.id] = find_names(a)
        return self.names[a.id]


def _choose(prep: _Prepared, n: int, cfg: ComposerConfig, rng: random.Random) -> list[CorpusArticle]:
    chosen: list[CorpusArticle] = []
    ids: set[str] = set()
    if rng.random() < cfg.same_topic_prob:
        topic = rng.choices(prep.topics, prep.weights)[0]
        pool = prep.by_topic[topic]
        k = min(len(pool), n, 3 if rng.random() < 0.25 else 2)
        chosen = rng.sample(pool, k)
        ids = {a.id for a in chosen}
    for _ in range(20 * n):
        if len(chosen) >= n:
            break
        a = rng.choice(prep.by_topic[rng.choices(prep.topics, prep.weights)[0]])
        if a.id not in ids:
            chosen.append(a)
            ids.add(a.id)
    rng.shuffle(chosen)
    return chosen


@dataclass
class _Style:
    """What stays the same across one page: its column width, blank-line and indentation habits."""

    width: int
    mixed: bool
    paragraph_lines: bool
    para_blank: bool
    column: tuple[int, int] | None
    block_blank: float
    indent: str
    headline_mode: str

    def sep(self, rng: random.Random) -> str:
        return "\n\n" if rng.random() < self.block_blank else "\n"


def _page_style(cfg: ComposerConfig, rng: random.Random) -> _Style:
    # Log-uniform: narrow and wide papers both occur, most columns are 9–20 characters.
    width = round(math.exp(rng.uniform(math.log(cfg.width_min), math.log(cfg.width_max + 0.49))))
    blank = rng.choices(BLANK_MODES, cfg.blank_weights)[0]
    height = rng.randint(10, 45)
    return _Style(
        width=max(cfg.width_min, min(cfg.width_max, width)), mixed=rng.random() < cfg.mixed_width_prob,
        paragraph_lines=rng.random() < cfg.paragraph_line_prob,
        para_blank=blank in ("para", "both"),
        column=(height, rng.randrange(height)) if blank in ("column", "both") else None,
        block_blank=0.0 if blank == "none" else cfg.block_blank_prob,
        indent=(rng.choice(("\u3000\u3000", "\u3000\u3000", "  ")) if rng.random() < cfg.indent_prob else ""),
        headline_mode=rng.choices(HEADLINE_MODES, cfg.headline_mode_weights)[0])


def _width(cfg: ComposerConfig, style: _Style, rng: random.Random) -> int:
    if style.paragraph_lines:
        return 10 ** 6  # one paragraph per line
    if rng.random() < cfg.wide_prob:
        return rng.randint(cfg.wide_min, cfg.wide_max)
    if style.mixed and rng.random() < 0.5:
        return rng.randint(cfg.width_min, cfg.width_max)
    return style.width


def _headline_text(lines: Sequence[str], width: int, cfg: ComposerConfig, style: _Style,
                   rng: random.Random) -> str:
    """A headline as OCR prints it: its lines whole, cut at the column width, or joined on one line."""
    mode = "printed" if style.paragraph_lines else style.headline_mode
    if mode == "join" and len(lines) > 1:
        return headline_block([" ".join(lines)], cfg.headline_max_width)
    cap = {"column": width, "wide": min(cfg.headline_max_width, 2 * width)}.get(mode, cfg.headline_max_width)
    return headline_block(lines, max(4, cap), rng.random() < cfg.headline_blank_prob)


def _article_blocks(a: CorpusArticle, cfg: ComposerConfig, rng: random.Random, style: _Style,
                    brief: bool) -> tuple[Block, list[Block]]:
    """One article's headline block and body fragments (in reading order)."""
    paras = list(a.body)
    headline = a.headline
    if brief:
        keep, total = [], 0
        for p in paras:
            if keep and total + len(p) > cfg.brief_max_chars:
                break
            keep.append(p)
            total += len(p)
        paras = keep
        headline = [a.headline[1] if a.headline_style.startswith("kicker") and len(a.headline) > 1 else a.headline[0]]
    elif a.caption and rng.random() < cfg.caption_prob:
        paras.insert(rng.choice((0, len(paras), rng.randint(0, len(paras)))), a.caption)
    n_frag = 1 if brief else rng.choices(range(1, len(cfg.fragment_weights) + 1), cfg.fragment_weights)[0]
    if style.paragraph_lines:  # transcriptions print articles whole; paragraph-joining OCR splits at columns
        n_frag = min(n_frag, 2)
    cuts: list[tuple[int, int] | float] = []
    for _ in range(n_frag - 1):
        # A paragraph-boundary cut is the (paragraph, 0) of a random later paragraph of what remains;
        # the composer does not know how many remain after earlier cuts, so it uses floats for those.
        if rng.random() >= cfg.mid_paragraph_cut_prob and not cuts and len(paras) > 1:
            cuts.append((rng.randint(1, len(paras) - 1), 0))
        else:
            cuts.append(rng.uniform(0.2, 0.8) if not cuts else rng.uniform(0.3, 0.7))
    widths = [_width(cfg, style, rng) for _ in range(n_frag)]
    lay = BodyLayout(widths=widths, cuts=cuts, para_blank=style.para_blank, column=style.column,
                     byline=rng.choices(("line", "joined", "append"), cfg.byline_weights)[0],
                     jitter=cfg.line_jitter, indent=style.indent, byline_first=a.byline_pos == "before")
    frags = body_fragments(paras, a.byline, lay, rng)
    head = _headline_text(headline, min(widths), cfg, style, rng)
    return (Block(head, a.id, "headline", before=style.sep(rng)),
            [Block(f, a.id, "body", before=style.sep(rng)) for f in frags])


def _furniture(text: str, style: _Style, rng: random.Random) -> Block:
    return Block(text, before=style.sep(rng))


def compose_page(prep: _Prepared, cfg: ComposerConfig, seed: int | str, index: int) -> Page:
    """Page ``index`` of ``seed`` (the unit :func:`compose_pages` streams)."""
    rng = random.Random(f"{seed}-{index}")
    brief = rng.random() < cfg.brief_page_prob and len(prep.short) >= 3
    if brief:
        arts = rng.sample(prep.short, min(len(prep.short), rng.randint(cfg.brief_min, cfg.brief_max)))
    else:
        arts = _choose(prep, rng.randint(cfg.min_articles, cfg.max_articles), cfg, rng)
    arts = [swap_names(a, rng, prep.names_of(a)) if rng.random() < cfg.name_swap_prob else a for a in arts]
    style = _page_style(cfg, rng)
    zone_mode = not brief and rng.random() < cfg.headline_zone_prob
    seq: list[list[Block]] = []          # groups of blocks that stay together, in page order
    conts: list[tuple[Block, Block]] = []  # continuation fragments: (their article's main block, block)
    detached: list[list[Block]] = []
    tail: list[list[Block]] = []         # lead fragments sent to the end of the page
    for a in arts:
        head, frags = _article_blocks(a, cfg, rng, style, brief)
        head_group = [head]
        if rng.random() < cfg.column_label_prob and not brief:
            label = _furniture(furniture.column_label(rng), style, rng)
            head_group = [label, head] if rng.random() < 0.5 else [head, label]
        groups = [[f] for f in frags]
        for k in range(1, len(groups)):  # jump lines around a cut: 下转第2版 … 上接第1版
            if rng.random() < cfg.jump_prob:
                groups[k - 1].append(_furniture(furniture.jump_out(rng), style, rng))
                groups[k].insert(0, _furniture(furniture.jump_in(rng), style, rng))
        if len(groups) > 1 and rng.random() < cfg.lead_last_prob:
            tail.append(groups.pop(0))
        main, rest = groups[0], groups[1:]
        where = "zone" if zone_mode else rng.choices(("before", "after", "detached"), cfg.headline_weights)[0]
        group = {"before": head_group + main, "after": main + head_group}.get(where, main)
        if where in ("zone", "detached"):
            detached.append(head_group)
        seq.append(group)
        conts += [(main[0], g) for g in rest]
    for main_block, g in conts:
        # Continue after other material: any gap after the article's own group but not next to it.
        owner = main_block.article
        gi = next(i for i, grp in enumerate(seq) if any(b is main_block for b in grp))
        spots = [i for i in range(gi + 2, len(seq) + 1)
                 if seq[i - 1][-1].article != owner and (i == len(seq) or seq[i][0].article != owner)]
        seq.insert(rng.choice(spots) if spots else gi + 1, g)
    if zone_mode:
        zone = [b for g in detached for b in g]
        pos = rng.choices((len(seq), 0, rng.randint(0, len(seq))), (0.45, 0.35, 0.2))[0]
        seq.insert(pos, zone)
    else:
        for g in detached:
            seq.insert(rng.randint(0, len(seq)), g)
    blocks = [b for g in seq + tail for b in g]
    if brief:
        blocks.insert(0, _furniture(rng.choice(BRIEF_LABELS), style, rng))
    date = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(11 * 365))
    if rng.random() < cfg.header_prob:
        blocks = [_furniture(x, style, rng) for x in furniture.header_lines(rng, date)] + blocks
    if rng.random() < cfg.editor_credit_prob:
        credit = _furniture(furniture.editor_credit(rng), style, rng)
        blocks = blocks + [credit] if rng.random() < 0.7 else [credit] + blocks
    if rng.random() < cfg.page_number_prob:
        number = _furniture(furniture.page_number(rng, rng.randint(1, 16)), style, rng)
        blocks = blocks + [number] if rng.random() < 0.6 else [number] + blocks
    page = assemble(f"syn-{seed}-{index:06d}", blocks, {a.id: a.topic for a in arts})
    if cfg.noise_rate > 0:
        page = apply_ocr_noise(page, cfg.noise_rate, rng)
    return page


def compose_pages(articles: Sequence[CorpusArticle], n_pages: int, seed: int | str = 0,
                  config: ComposerConfig | None = None, allow_heldout: bool = False,
                  heldout: Collection[str] | None = None) -> Iterator[Page]:
    """Stream ``n_pages`` composed pages; page ``i`` depends only on ``(seed, i)``, the articles and config.

    Refuses (``ValueError`` naming them) articles that are held out — flagged by
    :func:`~newsseg.data.corpus.load_corpus` or listed in ``heldout`` (default: the repository's
    ``data/corpus/heldout.txt``) — unless ``allow_heldout=True`` (for building evaluation pages).
    """
    cfg = config or ComposerConfig()
    cfg.check()
    if not articles:
        raise ValueError("compose_pages: no articles to compose from")
    if not allow_heldout:
        held = set(heldout_ids(DEFAULT_CORPUS_DIR) if heldout is None else heldout)
        bad = sorted(a.id for a in articles if a.heldout or a.id in held)
        if bad:
            raise ValueError(f"compose_pages: {len(bad)} held-out article(s) may not be used for training "
                             f"pages: {', '.join(bad[:20])}{' …' if len(bad) > 20 else ''} "
                             f"(load_corpus(split='train') drops them; allow_heldout=True overrides)")
    prep = _Prepared(articles, cfg)
    for i in range(n_pages):
        yield compose_page(prep, cfg, seed, i)


def compose(corpus: str | Path = DEFAULT_CORPUS_DIR, pages: int = 1000, seed: int | str = 0,
            out: str | Path = "pages.jsonl", progress: bool = False, split: str = "train",
            **knobs: Any) -> dict[str, Any]:
    """Compose ``pages`` pages from one split of ``corpus`` into ``out`` (JSONL).

    ``split="train"`` (the default) gives training pages; ``split="fit"`` pages of the decoder-fit
    split; ``split="heldout"`` evaluation pages built only from held-out articles (for robustness
    reports, never for training).
    ``knobs`` are :class:`ComposerConfig` fields. Returns counts and the elapsed seconds.
    """
    t0 = time.perf_counter()
    cfg = ComposerConfig.from_dict(knobs)
    if split not in ("train", "fit", "heldout"):
        raise ValueError(f"split must be 'train', 'fit' or 'heldout', got {split!r}")
    articles = load_corpus(corpus, split=split)  # type: ignore[arg-type]
    it: Iterator[Page] = compose_pages(articles, pages, seed, cfg, heldout=heldout_ids(corpus),
                                       allow_heldout=split == "heldout")
    counts = {"articles": 0, "spans": 0, "chars": 0}

    def counted(src: Iterator[Page]) -> Iterator[Page]:
        for p in src:
            counts["articles"] += len(p.articles)
            counts["spans"] += sum(len(a.spans) for a in p.articles)
            counts["chars"] += len(p.text)
            yield p

    if progress:
        from tqdm import tqdm
        it = tqdm(it, total=pages, desc="compose", unit="page")
    n = write_pages(counted(it), out)
    return {"pages": n, **counts, "corpus_articles": len(articles), "out": str(out),
            "seconds": round(time.perf_counter() - t0, 2)}
