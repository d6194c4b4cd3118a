"""The written article corpus (``data/corpus/*.jsonl``, schema in ``data/corpus/SCHEMA.md``).

Each line is one article: ``id``, ``topic``, ``subject``, ``headline`` (1–3 lines), ``headline_style``,
``body`` (paragraphs), ``byline`` and ``caption``. :func:`load_corpus` reads and checks the files,
:func:`heldout_ids` reads the fixed held-out list (``heldout.txt``) whose articles are kept out of
training pages, and :func:`corpus_stats` / :func:`format_stats` summarise a corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from newsseg.data.pages import DEFAULT_TOPICS

HEADLINE_STYLES: tuple[str, ...] = ("single", "kicker_title", "title_subtitle",
                                    "kicker_title_subtitle", "parallel_title")
Split = Literal["train", "heldout", "all"]


def _default_corpus_dir() -> Path:
    env = os.environ.get("NEWSSEG_CORPUS")
    # The repository's data/corpus, found from this file (src/newsseg/data/corpus.py) in a checkout.
    return Path(env) if env else Path(__file__).resolve().parents[3] / "data" / "corpus"


DEFAULT_CORPUS_DIR: Path = _default_corpus_dir()
HELDOUT_FILE = "heldout.txt"


class CorpusError(ValueError):
    """A corpus record that breaks the schema; the message names the file and line."""


@dataclass(frozen=True)
class CorpusArticle:
    """One written article. ``heldout`` is set by :func:`load_corpus` from ``heldout.txt``."""

    id: str
    topic: str
    subject: str
    headline: list[str]
    headline_style: str
    body: list[str]
    byline: str = ""
    caption: str | None = None
    heldout: bool = False

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
        return cls(d["id"].strip(), d["topic"], d["subject"], headline, d["headline_style"], body,
                   byline, caption.strip() or None if caption else None)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "topic": self.topic, "subject": self.subject,
                "headline": self.headline, "headline_style": self.headline_style,
                "body": self.body, "byline": self.byline, "caption": self.caption}


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
    f = _corpus_dir(path) / HELDOUT_FILE
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

    ``split="train"`` drops the held-out articles, ``"heldout"`` keeps only them. Raises
    :class:`CorpusError` naming ``file:line`` on a bad record or a duplicate id.
    """
    if split not in ("train", "heldout", "all"):
        raise ValueError(f"split must be 'train', 'heldout' or 'all', got {split!r}")
    held = heldout_ids(path)
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
                if art.id in held:
                    art = replace(art, heldout=True)
                if split == "all" or (split == "heldout") == art.heldout:
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


def write_heldout(ids: Iterable[str], path: str | os.PathLike[str] = DEFAULT_CORPUS_DIR) -> Path:
    """Write ``heldout.txt`` into the corpus directory (sorted ids with a comment header)."""
    f = _corpus_dir(path) / HELDOUT_FILE
    header = ("# Held-out corpus articles: used only by hand-built evaluation pages (data/pages/dev.jsonl).\n"
              "# The composer refuses them for training pages. Chosen by newsseg.data.corpus.select_heldout.\n")
    f.write_text(header + "".join(f"{i}\n" for i in sorted(ids)), encoding="utf-8")
    return f


def corpus_stats(articles: Sequence[CorpusArticle]) -> dict[str, Any]:
    """Counts and body lengths per topic and subject, headline styles, and shares of leads,
    bylines and captions. Lengths are body characters (paragraphs, no headline/byline/caption)."""
    n = len(articles)
    per_topic: dict[str, dict[str, Any]] = {}
    for topic in sorted({a.topic for a in articles}):
        lens = [a.chars for a in articles if a.topic == topic]
        per_topic[topic] = {"articles": len(lens), "heldout": sum(a.heldout for a in articles if a.topic == topic),
                            "chars_total": sum(lens), "chars_mean": round(sum(lens) / len(lens), 1),
                            "chars_min": min(lens), "chars_max": max(lens)}
    lens = [a.chars for a in articles]

    def share(pred: Any) -> float:
        return round(sum(1 for a in articles if pred(a)) / n, 3) if n else 0.0

    return {
        "articles": n,
        "heldout": sum(a.heldout for a in articles),
        "chars_total": sum(lens),
        "chars_mean": round(sum(lens) / n, 1) if n else 0.0,
        "chars_min": min(lens, default=0),
        "chars_max": max(lens, default=0),
        "per_topic": per_topic,
        "per_subject": dict(sorted(Counter(f"{a.topic}/{a.subject}" if a.subject != a.topic else a.topic
                                           for a in articles).items())),
        "headline_styles": dict(sorted(Counter(a.headline_style for a in articles).items())),
        "headline_lines": dict(sorted(Counter(len(a.headline) for a in articles).items())),
        "share_benbaoxun_lead": share(lambda a: a.body[0].startswith("本报讯")),
        "share_byline": share(lambda a: bool(a.byline)),
        "share_caption": share(lambda a: a.caption is not None),
        "share_short_le_300": share(lambda a: a.chars <= 300),
    }


def format_stats(stats: dict[str, Any]) -> str:
    """A plain-text table of :func:`corpus_stats` output (what ``newsseg corpus-stats`` prints)."""
    lines = [f"articles: {stats['articles']}  (held out: {stats['heldout']})",
             f"body chars: total {stats['chars_total']}, mean {stats['chars_mean']}, "
             f"min {stats['chars_min']}, max {stats['chars_max']}", "",
             f"{'topic':<12}{'articles':>9}{'heldout':>9}{'chars':>9}{'mean':>8}{'min':>6}{'max':>6}"]
    for t, s in stats["per_topic"].items():
        lines.append(f"{t:<12}{s['articles']:>9}{s['heldout']:>9}{s['chars_total']:>9}"
                     f"{s['chars_mean']:>8}{s['chars_min']:>6}{s['chars_max']:>6}")
    lines += ["", "subjects:"] + [f"  {k:<28}{v:>4}" for k, v in stats["per_subject"].items()]
    lines += ["", "headline styles:"] + [f"  {k:<28}{v:>4}" for k, v in stats["headline_styles"].items()]
    lines.append("headline lines: " + ", ".join(f"{k}: {v}" for k, v in stats["headline_lines"].items()))
    lines += ["", f"share with 本报讯 lead: {stats['share_benbaoxun_lead']:.1%}",
              f"share with byline:      {stats['share_byline']:.1%}",
              f"share with caption:     {stats['share_caption']:.1%}",
              f"share ≤ 300 body chars: {stats['share_short_le_300']:.1%}"]
    return "\n".join(lines)
