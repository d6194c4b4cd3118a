"""Compose synthetic OCR pages from corpus articles (``newsseg compose``).

Pages imitate how OCR reads a real column page (``shared/samples/``): column lines of 8–20
characters broken mid-word, headlines before, after or detached from their bodies (all collected
after the bodies, as on the sample), articles split into 2–3 fragments with other material between
(the lead even at the very end of the page), same-topic pairs, brief pages, page furniture
(headers, 第N版, editor credits, column labels) outside every span, optional name substitution and
OCR noise. Page ``i`` of seed ``s`` depends only on ``(s, i)`` and the articles, so output streams
and any page can be regenerated alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Iterator, Sequence

from newsseg.data.corpus import DEFAULT_CORPUS_DIR, CorpusArticle, heldout_ids, load_corpus
from newsseg.data.layout import Block, BodyLayout, Cut, assemble, body_fragments, headline_block
from newsseg.data.names import find_names, swap_names
from newsseg.data.noise import apply_ocr_noise
from newsseg.data.pages import Page, write_pages

PAPERS = ("高新时报", "滨江日报", "东湖新区报", "经开日报", "云溪时报", "南岸日报", "城关新闻", "桐溪报")
SECTIONS = ("要闻", "综合", "区域新闻", "民生", "经济", "法治", "城建", "社会", "专版", "视点")
COLUMN_LABELS = ("高新区在行动", "法治园地", "创卫进行时", "招商引资", "项目建设", "民生关注", "基层动态",
                 "党建引领", "平安建设", "营商环境", "图片新闻", "一线传真", "身边事", "镇街快讯", "今日关注")
BRIEF_LABELS = ("简讯", "新闻速递", "综合新闻", "本地快讯", "短新闻", "动态")
WEEKDAYS = "一二三四五六日"
EDITOR_ROLES = ("责任编辑", "校对", "美编", "编辑", "版式", "审读")


@dataclass
class ComposerConfig:
    """Knobs of the page composer; probabilities are per page unless noted. See data/README.md."""

    min_articles: int = 2                 # articles per normal page (inclusive range)
    max_articles: int = 6
    width_min: int = 8                    # column width range, full-width characters, per fragment
    width_max: int = 20
    wide_prob: float = 0.06               # per fragment: a wide line layout instead
    wide_min: int = 20
    wide_max: int = 34
    line_jitter: float = 0.05             # per line: one character narrower or wider
    para_blank_prob: float = 0.4          # empty line between paragraphs
    column_break_prob: float = 0.5        # empty lines at column breaks (every 12–40 lines, mid-paragraph)
    block_blank_prob: float = 0.85        # per block: empty line (vs a plain newline) before a block
    fragment_weights: tuple[float, ...] = (0.5, 0.33, 0.17)   # article in 1, 2 or 3 fragments
    mid_paragraph_cut_prob: float = 0.5   # per cut: at a line boundary inside a paragraph
    lead_last_prob: float = 0.25          # per split article: its lead fragment goes to the page end
    headline_zone_prob: float = 0.25      # all headlines collected in one zone (end, start or middle)
    headline_weights: tuple[float, float, float] = (0.6, 0.15, 0.25)  # per article: before, after, detached
    headline_max_width: int = 24          # longer headline lines are wrapped
    headline_blank_prob: float = 0.15     # per headline: empty line between its lines
    same_topic_prob: float = 0.35         # two (sometimes three) articles of one topic
    brief_page_prob: float = 0.08         # a page of short briefs under a 简讯 label
    brief_max_chars: int = 260            # briefs keep leading paragraphs up to this many characters
    header_prob: float = 0.7              # page header (paper, date, 第N版, section)
    editor_credit_prob: float = 0.4       # 责任编辑 … 校对 … line (top or bottom)
    column_label_prob: float = 0.2        # per article: a column label next to its headline
    caption_prob: float = 0.8             # per article with a caption: print it
    byline_weights: tuple[float, float, float] = (0.55, 0.3, 0.15)   # credits: own lines, one line, appended
    name_swap_prob: float = 0.5           # per article: substitute place/organisation/person names
    noise_rate: float = 0.01              # OCR noise: share of characters hit (0 = clean pages)
    topic_weights: dict[str, float] | None = None   # topic sampling weights; None = uniform over topics

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
        if not 1 <= self.min_articles <= self.max_articles:
            raise ValueError("need 1 <= min_articles <= max_articles")
        if not 1 <= self.width_min <= self.width_max or not 1 <= self.wide_min <= self.wide_max:
            raise ValueError("need 1 <= width_min <= width_max and 1 <= wide_min <= wide_max")
        if not 1 <= len(self.fragment_weights) <= 3 or len(self.headline_weights) != 3 \
                or len(self.byline_weights) != 3:
            raise ValueError("fragment_weights: 1–3 values; headline_weights, byline_weights: 3 values")
        if min(self.fragment_weights + self.headline_weights + self.byline_weights) < 0 or not (
                sum(self.fragment_weights) and sum(self.headline_weights) and sum(self.byline_weights)):
            raise ValueError("weights must be non-negative with a positive sum")
        if not 0 <= self.noise_rate <= 0.5:
            raise ValueError("noise_rate must be in [0, 0.5]")


def _furniture_header(rng: random.Random, date: dt.date) -> list[Block]:
    paper = rng.choice(PAPERS)
    page_no = rng.choice((f"第{rng.randint(1, 8)}版", f"{rng.choice('ABC')}{rng.randint(1, 8)}版",
                          f"第{rng.randint(1, 8)}版"))
    day = f"{date.year}年{date.month}月{date.day}日 星期{WEEKDAYS[date.weekday()]}"
    parts = [paper, day, page_no, rng.choice(SECTIONS)]
    if rng.random() < 0.5:
        rng.shuffle(parts)
        return [Block(" ".join(parts[: rng.randint(2, 4)]), before="\n")]
    return [Block(p, before="\n") for p in parts if rng.random() < 0.8] or [Block(day)]


def _editor_credit(rng: random.Random) -> Block:
    roles = rng.sample(EDITOR_ROLES, rng.randint(1, 3))
    names = (rng.choice("王李张刘陈杨赵周吴孙") + rng.choice("红丽军伟静敏明华强洁") for _ in roles)
    return Block("  ".join(f"{r} {n}" for r, n in zip(roles, names)), before="\n\n")


class _Prepared:
    """Articles by topic with their names found once (``find_names`` is the costly step)."""

    def __init__(self, articles: Sequence[CorpusArticle], cfg: ComposerConfig) -> None:
        self.by_topic: dict[str, list[CorpusArticle]] = {}
        for a in articles:
            self.by_topic.setdefault(a.topic, []).append(a)
        self.topics = sorted(self.by_topic)
        tw = cfg.topic_weights or {}
        self.weights = [float(tw.get(t, 0.0 if tw else 1.0)) for t in self.topics]
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


def _width(cfg: ComposerConfig, rng: random.Random) -> int:
    if rng.random() < cfg.wide_prob:
        return rng.randint(cfg.wide_min, cfg.wide_max)
    return rng.randint(cfg.width_min, cfg.width_max)


def _article_blocks(a: CorpusArticle, cfg: ComposerConfig, rng: random.Random, page_style: dict[str, Any],
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
    cuts: list[Cut] = []
    for _ in range(n_frag - 1):
        # A paragraph-boundary cut is the (paragraph, 0) of a random later paragraph of what remains;
        # the composer does not know how many remain after earlier cuts, so it uses floats for those.
        if rng.random() >= cfg.mid_paragraph_cut_prob and not cuts and len(paras) > 1:
            cuts.append((rng.randint(1, len(paras) - 1), 0))
        else:
            cuts.append(rng.uniform(0.25, 0.75))
    lay = BodyLayout(widths=[_width(cfg, rng) for _ in range(n_frag)], cuts=cuts,
                     para_blank=page_style["para_blank"], column=page_style["column"],
                     byline=rng.choices(("line", "joined", "append"), cfg.byline_weights)[0],
                     jitter=cfg.line_jitter)
    frags = body_fragments(paras, a.byline, lay, rng)
    head = headline_block(headline, cfg.headline_max_width, rng.random() < cfg.headline_blank_prob)
    sep = page_style["sep"]
    return (Block(head, a.id, "headline", before=sep(rng)),
            [Block(f, a.id, "body", before=sep(rng)) for f in frags])


def compose_page(prep: _Prepared, cfg: ComposerConfig, seed: int | str, index: int) -> Page:
    """Page ``index`` of ``seed`` (the unit :func:`compose_pages` streams)."""
    rng = random.Random(f"{seed}-{index}")
    brief = rng.random() < cfg.brief_page_prob and len(prep.short) >= 3
    if brief:
        arts = rng.sample(prep.short, min(len(prep.short), rng.randint(3, 6)))
    else:
        arts = _choose(prep, rng.randint(cfg.min_articles, cfg.max_articles), cfg, rng)
    arts = [swap_names(a, rng, prep.names_of(a)) if rng.random() < cfg.name_swap_prob else a for a in arts]
    blank = cfg.block_blank_prob
    height = rng.randint(12, 40)
    style: dict[str, Any] = {
        "para_blank": rng.random() < cfg.para_blank_prob,
        "column": (height, rng.randrange(height)) if rng.random() < cfg.column_break_prob else None,
        "sep": lambda r: "\n\n" if r.random() < blank else "\n",
    }
    zone_mode = not brief and rng.random() < cfg.headline_zone_prob
    seq: list[list[Block]] = []          # groups of blocks that stay together, in page order
    conts: list[tuple[Block, Block]] = []  # continuation fragments: (their article's main block, block)
    detached: list[list[Block]] = []
    tail: list[Block] = []               # lead fragments sent to the end of the page
    for a in arts:
        head, frags = _article_blocks(a, cfg, rng, style, brief)
        head_group = [head]
        if rng.random() < cfg.column_label_prob and not brief:
            label = Block(rng.choice(COLUMN_LABELS), before=style["sep"](rng))
            head_group = [label, head] if rng.random() < 0.5 else [head, label]
        if len(frags) > 1 and rng.random() < cfg.lead_last_prob:
            tail.append(frags[0])
            frags = frags[1:]
        main, rest = frags[0], frags[1:]
        where = "zone" if zone_mode else rng.choices(("before", "after", "detached"), cfg.headline_weights)[0]
        group = {"before": head_group + [main], "after": [main] + head_group}.get(where, [main])
        if where in ("zone", "detached"):
            detached.append(head_group)
        seq.append(group)
        conts += [(main, f) for f in rest]
    for main, f in conts:
        # Continue after other material: any gap after the article's own group but not next to it.
        owner = main.article
        gi = next(i for i, g in enumerate(seq) if any(b is main for b in g))
        spots = [i for i in range(gi + 2, len(seq) + 1)
                 if seq[i - 1][-1].article != owner and (i == len(seq) or seq[i][0].article != owner)]
        seq.insert(rng.choice(spots) if spots else gi + 1, [f])
    if zone_mode:
        zone = [b for g in detached for b in g]
        pos = rng.choices((len(seq), 0, rng.randint(0, len(seq))), (0.6, 0.15, 0.25))[0]
        seq.insert(pos, zone)
    else:
        for g in detached:
            seq.insert(rng.randint(0, len(seq)), g)
    blocks = [b for g in seq for b in g] + tail
    if brief:
        blocks.insert(0, Block(rng.choice(BRIEF_LABELS)))
    date = dt.date(2018, 1, 1) + dt.timedelta(days=rng.randrange(7 * 365))
    if rng.random() < cfg.header_prob:
        blocks = _furniture_header(rng, date) + blocks
    if rng.random() < cfg.editor_credit_prob:
        credit = _editor_credit(rng)
        blocks = blocks + [credit] if rng.random() < 0.7 else [credit] + blocks
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

    ``split="train"`` (the default) gives training pages; ``split="heldout"`` gives evaluation
    pages built only from held-out articles (for robustness reports, never for training).
    ``knobs`` are :class:`ComposerConfig` fields. Returns counts and the elapsed seconds.
    """
    t0 = time.perf_counter()
    cfg = ComposerConfig.from_dict(knobs)
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
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
