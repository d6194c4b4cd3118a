"""The written article corpus (``data/corpus/*.jsonl``, schema in ``data/corpus/SCHEMA.md``).

Each line is one article: ``id``, ``topic``, ``subject``, ``headline`` (1–3 lines), ``headline_style``,
``body`` (paragraphs), ``byline`` (with ``byline_pos``: printed before the lead or after the body) and
``caption``. :func:`load_corpus` reads and checks the files and splits them by id:

- ``heldout.txt``: articles of the evaluation pages, never on a training page;
- ``fit.txt``: articles of the pages the decoder (line tagger, linking weights) is fitted on after
  training, never seen by the encoder, so the stacked decoder is fitted on what the encoder does
  on unseen text, not on text it has memorised;
- everything else is ``train``.

:func:`corpus_stats` / :func:`format_stats` summarise a corpus against the shares measured on real
pages (``shared/REAL_PAGES.md``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from newsseg.data.cues import lead_style
from newsseg.data.pages import DEFAULT_TOPICS
from newsseg.paths import shipped_corpus_dir

HEADLINE_STYLES: tuple[str, ...] = ("single", "kicker_title", "title_subtitle",
                                    "kicker_title_subtitle", "parallel_title")
BYLINE_POSITIONS: tuple[str, ...] = ("before", "after")
Split = Literal["train", "fit", "heldout", "all"]
SPLITS: tuple[str, ...] = ("train", "fit", "heldout", "all")


def _default_corpus_dir() -> Path:
    env = os.environ.get("NEWSSEG_CORPUS")
    # The repository's data/corpus in a checkout, the wheel's packaged copy otherwise.
    return Path(env) if env else shipped_corpus_dir()


DEFAULT_CORPUS_DIR: Path = _default_corpus_dir()
HELDOUT_FILE = "heldout.txt"
FIT_FILE = "fit.txt"


class CorpusError(ValueError):
    """A corpus record that breaks the schema; the message names the file and line."""


@dataclass(frozen=True)
class CorpusArticle:
    """One written article. ``split`` is set by :func:`load_corpus` from ``heldout.txt`` / ``fit.txt``.

    ``byline_pos`` says where the byline is printed: ``"after"`` the body (``记者 X``) or ``"before"``
    the lead (``▢ 全媒体记者 X``); it is ``"none"`` when there is no byline.
    """

    id: str
    topic: str
    subject: str
    headline: list[str]
    headline_style: str
    body: list[str]
    byline: str = ""
    caption: str | None = None
    byline_pos: str = "after"
    split: str = "train"

    @property
    def heldout(self) -> bool:
        """Held out for evaluation pages."""
        return self.split == "heldout"

    @property
    def chars(self) -> int:
        """Characters of the body paragraphs (what the corpus statistics count)."""
        return sum(len(p) for p in self.body)

    @classmethod
    def from_dict(cls, d: Any, where: str = "article",
                  topics: Sequence[str] | None = DEFAULT_TOPICS) -> "CorpusArticle":
        """Check a decoded record against the schema; raise :class:`CorpusError` naming ``where``."""
        if not isinstance(d, dict):
            raise CorpusError(f"{where}: expected a JSON object, got {type(d).__name__}")
        for key in ("id", "topic", "subject", "headline", "headline_style", "body"):
            if key not in d:
                raise CorpusError(f"{where}: missing field {key!r}")
        for key in ("id", "topic", "subject", "headline_style"):
            if not isinstance(d[key], str) or not d[key].strip():
                raise CorpusError(f"{where}: {key!r} must be a non-empty string, got {d[key]!r}")
        w = f"{where} ({d['id']})"
        if topics is not None and d["topic"] not in topics:
            raise CorpusError(f"{w}: unknown topic {d['topic']!r} (expected one of {list(topics)})")
        if d["headline_style"] not in HEADLINE_STYLES:
            raise CorpusError(f"{w}: unknown headline_style {d['headline_style']!r} "
                              f"(expected one of {list(HEADLINE_STYLES)})")
        headline = _lines(d["headline"], f"{w} headline", max_items=3)
        body = _lines(d["body"], f"{w} body", max_items=None)
        byline = d.get("byline") or ""
        if not isinstance(byline, str):
            raise CorpusError(f"{w}: 'byline' must be a string, got {type(byline).__name__}")
        caption = d.get("caption")
        if caption is not None and (not isinstance(caption, str) or "\n" in caption):
            raise CorpusError(f"{w}: 'caption' must be a one-line string or null")
        byline = "\n".join(x.strip() for x in byline.strip().split("\n") if x.strip())
        pos = d.get("byline_pos") or ("after" if byline else "none")
        if pos not in (*BYLINE_POSITIONS, "none") or (pos == "none") != (not byline):
            raise CorpusError(f"{w}: 'byline_pos' must be 'before' or 'after' with a byline and 'none' "
                              f"without one, got {pos!r} with byline {byline!r}")
        return cls(d["id"].strip(), d["topic"], d["subject"], headline, d["headline_style"], body,
                   byline, caption.strip() or None if caption else None, pos)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "topic": self.topic, "subject": self.subject,
                "headline": self.headline, "headline_style": self.headline_style,
                "body": self.body, "byline": self.byline, "byline_pos": self.byline_pos,
                "caption": self.caption}


def _lines(x: Any, where: str, max_items: int | None) -> list[str]:
    if not isinstance(x, list) or not x:
        raise CorpusError(f"{where}: must be a non-empty list of strings")
    if max_items is not None and len(x) > max_items:
        raise CorpusError(f"{where}: at most {max_items} lines, got {len(x)}")
    out = []
    for i, s in enumerate(x):
        if not isinstance(s, str) or not s.strip():
            raise CorpusError(f"{where} item {i}: must be a non-empty string, got {s!r}")
        if "\n" in s:
            raise CorpusError(f"{where} item {i}: contains a newline (one list item per line/paragraph)")
        out.append(s.strip())
    return out


def corpus_files(path: str | os.PathLike[str] = DEFAULT_CORPUS_DIR) -> list[Path]:
    """The ``*.jsonl`` files of a corpus directory (sorted), or ``[path]`` for a single file."""
    p = Path(path)
    if p.is_dir():
        return sorted(p.glob("*.jsonl"))
    if not p.exists():
        raise CorpusError(f"{p}: no such corpus file or directory")
    return [p]


def _corpus_dir(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p if p.is_dir() else p.parent


def heldout_ids(path: str | os.PathLike[str] = DEFAULT_CORPUS_DIR) -> set[str]:
    """Ids listed in ``<corpus dir>/heldout.txt`` (one per line, ``#`` comments); empty if absent."""
    return _id_list(_corpus_dir(path) / HELDOUT_FILE)


def fit_ids(path: str | os.PathLike[str] = DEFAULT_CORPUS_DIR) -> set[str]:
    """Ids listed in ``<corpus dir>/fit.txt``: the decoder-fit split; empty if absent."""
    return _id_list(_corpus_dir(path) / FIT_FILE)


def _id_list(f: Path) -> set[str]:
    if not f.exists():
        return set()
    ids = set()
    for line in f.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            ids.add(line)
    return ids


def load_corpus(path: str | os.PathLike[str] = DEFAULT_CORPUS_DIR, split: Split = "all",
                topics: Sequence[str] | None = DEFAULT_TOPICS) -> list[CorpusArticle]:
    """Read and check a corpus (a directory of ``*.jsonl`` or one file), in file then line order.

    ``split="train"`` keeps the articles of training pages, ``"fit"`` those of the decoder-fit pages,
    ``"heldout"`` those of evaluation pages, ``"all"`` every article. Raises :class:`CorpusError`
    naming ``file:line`` on a bad record or a duplicate id, or an id listed in both split files.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}, got {split!r}")
    held, fit = heldout_ids(path), fit_ids(path)
    if held & fit:
        raise CorpusError(f"{_corpus_dir(path)}: ids in both {HELDOUT_FILE} and {FIT_FILE}: "
                          f"{', '.join(sorted(held & fit)[:10])}")
    out: list[CorpusArticle] = []
    seen: dict[str, str] = {}
    for f in corpus_files(path):
        with open(f, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{f}:{lineno}"
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise CorpusError(f"{where}: invalid JSON: {e.msg} at column {e.colno}") from None
                art = CorpusArticle.from_dict(obj, where, topics)
                if art.id in seen:
                    raise CorpusError(f"{where}: duplicate id {art.id!r} (first at {seen[art.id]})")
                seen[art.id] = where
                if art.id in held or art.id in fit:
                    art = replace(art, split="heldout" if art.id in held else "fit")
                if split in ("all", art.split):
                    out.append(art)
    return out


def _hash_key(article_id: str) -> str:
    return hashlib.sha1(article_id.encode("utf-8")).hexdigest()


def select_heldout(articles: Iterable[CorpusArticle], per_topic: int = 12, n_other: int = 20,
                   other_topic: str = "other") -> list[str]:
    """Choose held-out ids deterministically: per named topic the ``per_topic`` ids first by SHA-1
    of the id; for ``other`` ``n_other`` ids taken round-robin over its subjects (sorted)."""
    by_topic: dict[str, list[CorpusArticle]] = defaultdict(list)
    for a in articles:
        by_topic[a.topic].append(a)
    chosen: list[str] = []
    for topic in sorted(by_topic):
        arts = sorted(by_topic[topic], key=lambda a: _hash_key(a.id))
        if topic != other_topic:
            chosen += [a.id for a in arts[:per_topic]]
            continue
        by_subject: dict[str, list[CorpusArticle]] = defaultdict(list)
        for a in arts:
            by_subject[a.subject].append(a)
        queues = [by_subject[s] for s in sorted(by_subject)]
        picked: list[str] = []
        while len(picked) < n_other and any(queues):
            for q in queues:
                if q and len(picked) < n_other:
                    picked.append(q.pop(0).id)
        chosen += picked
    return sorted(chosen)


def select_fit(articles: Iterable[CorpusArticle], share: float = 0.1) -> list[str]:
    """The decoder-fit split: in each (topic, subject) group of non-held-out articles, the first
    ``round(share × size)`` ids (at least one) by SHA-1 of the id. Deterministic and order-free."""
    groups: dict[tuple[str, str], list[CorpusArticle]] = defaultdict(list)
    for a in articles:
        if not a.heldout:
            groups[(a.topic, a.subject)].append(a)
    chosen: list[str] = []
    for key in sorted(groups):
        arts = sorted(groups[key], key=lambda a: _hash_key(a.id))
        chosen += [a.id for a in arts[:max(1, round(share * len(arts)))]]
    return sorted(chosen)


def write_heldout(ids: Iterable[str], path: str | os.PathLike[str] = DEFAULT_CORPUS_DIR) -> Path:
    """Write ``heldout.txt`` into the corpus directory (sorted ids with a comment header)."""
    header = ("# Held-out corpus articles: used only by evaluation pages (data/pages/dev.jsonl, dev-hard.jsonl).\n"
              "# The composer refuses them for training pages.\n")
    return _write_ids(_corpus_dir(path) / HELDOUT_FILE, ids, header)


def write_fit(ids: Iterable[str], path: str | os.PathLike[str] = DEFAULT_CORPUS_DIR) -> Path:
    """Write ``fit.txt`` (the decoder-fit split) into the corpus directory."""
    header = ("# Decoder-fit articles: the pages the line tagger and linking weights are fitted on after\n"
              "# training are composed from these only; the encoder never trains on them.\n"
              "# Chosen by newsseg.data.corpus.select_fit (10 % of each topic/subject, by SHA-1 of the id).\n")
    return _write_ids(_corpus_dir(path) / FIT_FILE, ids, header)


def _write_ids(f: Path, ids: Iterable[str], header: str) -> Path:
    f.write_text(header + "".join(f"{i}\n" for i in sorted(ids)), encoding="utf-8")
    return f


def _quartiles(xs: Sequence[int]) -> list[int]:
    xs = sorted(xs)
    return [xs[len(xs) * q // 4] for q in (1, 2, 3)] if xs else [0, 0, 0]


def corpus_stats(articles: Sequence[CorpusArticle]) -> dict[str, Any]:
    """Counts and body lengths per topic and subject, and the shapes ``shared/REAL_PAGES.md`` measures
    on real articles: lead styles, byline positions, headline lines and their lengths, body length
    percentiles, captions; plus distinct characters and the share of distinct character 4-grams
    (a diversity figure: templated text repeats its 4-grams). Lengths are body characters."""
    n = len(articles)
    per_topic: dict[str, dict[str, Any]] = {}
    for topic in sorted({a.topic for a in articles}):
        arts = [a for a in articles if a.topic == topic]
        lens = [a.chars for a in arts]
        per_topic[topic] = {"articles": len(arts), "heldout": sum(a.split == "heldout" for a in arts),
                            "fit": sum(a.split == "fit" for a in arts),
                            "subjects": len({a.subject for a in arts}),
                            "chars_total": sum(lens), "chars_mean": round(sum(lens) / len(lens), 1),
                            "chars_min": min(lens), "chars_max": max(lens)}
    lens = sorted(a.chars for a in articles)

    def share(pred: Any) -> float:
        return round(sum(1 for a in articles if pred(a)) / n, 3) if n else 0.0

    lines = [h for a in articles for h in a.headline]
    text = "\n".join("\n".join(a.body) for a in articles)
    grams = [g for p in text.split("\n") for g in (p[i:i + 4] for i in range(len(p) - 3))]
    chars = set(text) | {c for a in articles for h in a.headline for c in h}
    return {
        "articles": n,
        "heldout": sum(a.split == "heldout" for a in articles),
        "fit": sum(a.split == "fit" for a in articles),
        "chars_total": sum(lens),
        "chars_mean": round(sum(lens) / n, 1) if n else 0.0,
        "chars_min": min(lens, default=0),
        "chars_max": max(lens, default=0),
        "chars_p10_p50_p90": [lens[int(q * (n - 1))] for q in (0.1, 0.5, 0.9)] if n else [0, 0, 0],
        "briefs_60_200": sum(60 <= x <= 200 for x in lens),
        "long_1000_2500": sum(1000 <= x <= 2500 for x in lens),
        "paragraphs_quartiles": _quartiles([len(a.body) for a in articles]),
        "per_topic": per_topic,
        "per_subject": dict(sorted(Counter(f"{a.topic}/{a.subject}" if a.subject != a.topic else a.topic
                                           for a in articles).items())),
        "headline_styles": dict(sorted(Counter(a.headline_style for a in articles).items())),
        "headline_lines": dict(sorted(Counter(len(a.headline) for a in articles).items())),
        "headline_line_chars_quartiles": _quartiles([len(h) for h in lines]),
        "headline_line_chars_max": max((len(h) for h in lines), default=0),
        "share_headline_line_with_space": round(sum(" " in h or "\u3000" in h for h in lines) / len(lines), 3)
        if lines else 0.0,
        "share_headline_line_with_punct": round(sum(not set("，：、").isdisjoint(h) for h in lines) / len(lines), 3)
        if lines else 0.0,
        "lead_styles": {k: round(v / n, 3) for k, v in sorted(Counter(lead_style(a.body[0]) for a in articles).items())}
        if n else {},
        "share_benbaoxun_lead": share(lambda a: a.body[0].startswith("本报讯")),
        "byline_positions": {k: round(v / n, 3) for k, v in sorted(Counter(a.byline_pos for a in articles).items())}
        if n else {},
        "share_byline": share(lambda a: bool(a.byline)),
        "share_caption": share(lambda a: a.caption is not None),
        "share_digits": share(lambda a: any(c.isdigit() for p in a.body for c in p)),
        "share_short_le_300": share(lambda a: a.chars <= 300),
        "distinct_chars": len(chars - {"\n"}),
        "distinct_4gram_share": round(len(set(grams)) / len(grams), 3) if grams else 0.0,
    }


def format_stats(stats: dict[str, Any]) -> str:
    """A plain-text table of :func:`corpus_stats` output (what ``newsseg corpus-stats`` prints)."""
    pct = lambda d: ", ".join(f"{k} {v:.0%}" for k, v in d.items())  # noqa: E731
    lines = [f"articles: {stats['articles']}  (held out: {stats['heldout']}, decoder-fit: {stats['fit']})",
             f"body chars: total {stats['chars_total']}, mean {stats['chars_mean']}, "
             f"min {stats['chars_min']}, max {stats['chars_max']}; p10/p50/p90 "
             + " / ".join(map(str, stats["chars_p10_p50_p90"]))
             + f"; briefs 60–200: {stats['briefs_60_200']}, long 1,000–2,500: {stats['long_1000_2500']}",
             "paragraphs per article (quartiles): " + " / ".join(map(str, stats["paragraphs_quartiles"])), "",
             f"{'topic':<12}{'articles':>9}{'heldout':>9}{'fit':>5}{'subjects':>9}{'chars':>9}{'mean':>8}"
             f"{'min':>6}{'max':>6}"]
    for t, s in stats["per_topic"].items():
        lines.append(f"{t:<12}{s['articles']:>9}{s['heldout']:>9}{s['fit']:>5}{s['subjects']:>9}{s['chars_total']:>9}"
                     f"{s['chars_mean']:>8}{s['chars_min']:>6}{s['chars_max']:>6}")
    lines += ["", "subjects:"] + [f"  {k:<28}{v:>4}" for k, v in stats["per_subject"].items()]
    lines += ["", "headline styles:"] + [f"  {k:<28}{v:>4}" for k, v in stats["headline_styles"].items()]
    nh = sum(stats["headline_lines"].values()) or 1
    lines.append("headline lines: " + ", ".join(f"{k}: {v} ({v / nh:.0%})" for k, v in stats["headline_lines"].items()))
    lines.append("headline line chars (quartiles): " + " / ".join(map(str, stats["headline_line_chars_quartiles"]))
                 + f", max {stats['headline_line_chars_max']}; with a space {stats['share_headline_line_with_space']:.0%},"
                 f" with ，：、 {stats['share_headline_line_with_punct']:.0%}")
    lines += ["", "lead styles: " + pct(stats["lead_styles"]),
              "byline: " + pct(stats["byline_positions"]),
              f"share with 本报讯 lead: {stats['share_benbaoxun_lead']:.1%}",
              f"share with byline:      {stats['share_byline']:.1%}",
              f"share with caption:     {stats['share_caption']:.1%}",
              f"share with digits:      {stats['share_digits']:.1%}",
              f"share ≤ 300 body chars: {stats['share_short_le_300']:.1%}",
              f"distinct characters:    {stats['distinct_chars']}",
              f"distinct 4-gram share:  {stats['distinct_4gram_share']:.3f}"]
    return "\n".join(lines)
