"""The page format (SPEC §2): dataclasses, JSONL / ``.txt`` I/O and the gold validator.

A page is ``{"id", "text", "articles": [{"id", "topic", "spans": [{"start", "end", "role"}]}]}``
with half-open code-point offsets. Predictions add ``"score"`` to articles and spans.

Reading never raises on a bad page: :func:`iter_pages` yields :class:`PageError` records that
name the file, the line and the problem, so callers can report them and carry on (SPEC §6).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

ROLES: tuple[str, ...] = ("headline", "body")
DEFAULT_TOPICS: tuple[str, ...] = ("sanitation", "projects", "legal", "investment", "other")


class PageFormatError(ValueError):
    """A page or span that breaks the page format; the message names where and what."""


@dataclass
class Span:
    """One contiguous fragment ``text[start:end]`` with one role (``headline`` or ``body``)."""

    start: int
    end: int
    role: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start": self.start, "end": self.end, "role": self.role}
        if self.score is not None:
            d["score"] = round(float(self.score), 4)
        return d


@dataclass
class Article:
    """An article: its topic and its spans in reading order.

    ``headline`` and ``body`` need the page text, so they are filled in by :class:`Page`.
    """

    id: str
    topic: str
    spans: list[Span]
    score: float | None = None
    headline: str = ""
    body: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "topic": self.topic,
                             "spans": [s.to_dict() for s in self.spans]}
        if self.score is not None:
            d["score"] = round(float(self.score), 4)
        return d


@dataclass
class Page:
    """A page of OCR text and (gold or predicted) articles.

    Example::

        page = Page.from_dict({"id": "p1", "text": "标题\\n本报讯 正文。", "articles": [
            {"id": "a1", "topic": "other", "spans": [
                {"start": 0, "end": 2, "role": "headline"},
                {"start": 3, "end": 10, "role": "body"}]}]})
        page.articles[0].headline  # '标题'
    """

    id: str
    text: str
    articles: list[Article] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fill_texts()

    def fill_texts(self) -> None:
        """Set each article's ``headline`` / ``body`` strings from its spans."""
        for art in self.articles:
            art.spans.sort(key=lambda s: s.start)
            art.headline = "\n".join(self.text[s.start:s.end] for s in art.spans if s.role == "headline")
            art.body = "\n".join(self.text[s.start:s.end] for s in art.spans if s.role == "body")

    @property
    def spans(self) -> list[tuple[Span, Article]]:
        """All spans of the page with their article, in text order."""
        out = [(s, a) for a in self.articles for s in a.spans]
        out.sort(key=lambda sa: sa[0].start)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "articles": [a.to_dict() for a in self.articles]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: Any, where: str = "page") -> "Page":
        """Build a page from a decoded JSON object, checking types (not offsets: see :func:`validate_page`)."""
        if not isinstance(d, dict):
            raise PageFormatError(f"{where}: expected a JSON object, got {type(d).__name__}")
        if "text" not in d:
            raise PageFormatError(f"{where}: missing field 'text'")
        text = d["text"]
        if not isinstance(text, str):
            raise PageFormatError(f"{where}: 'text' must be a string, got {type(text).__name__}")
        pid = d.get("id", "")
        if not isinstance(pid, (str, int)):
            raise PageFormatError(f"{where}: 'id' must be a string")
        raw_arts = d.get("articles", []) or []
        if not isinstance(raw_arts, list):
            raise PageFormatError(f"{where}: 'articles' must be a list")
        arts = []
        for i, a in enumerate(raw_arts):
            aw = f"{where} article {i}"
            if not isinstance(a, dict):
                raise PageFormatError(f"{aw}: expected an object")
            spans_raw = a.get("spans", [])
            if not isinstance(spans_raw, list):
                raise PageFormatError(f"{aw}: 'spans' must be a list")
            spans = []
            for j, s in enumerate(spans_raw):
                sw = f"{aw} span {j}"
                if not isinstance(s, dict):
                    raise PageFormatError(f"{sw}: expected an object")
                for k in ("start", "end"):
                    if not isinstance(s.get(k), int) or isinstance(s.get(k), bool):
                        raise PageFormatError(f"{sw}: '{k}' must be an integer, got {s.get(k)!r}")
                role = s.get("role")
                if not isinstance(role, str):
                    raise PageFormatError(f"{sw}: 'role' must be a string")
                spans.append(Span(s["start"], s["end"], role, _opt_float(s.get("score"), sw)))
            topic = a.get("topic", "other")
            if not isinstance(topic, str):
                raise PageFormatError(f"{aw}: 'topic' must be a string")
            arts.append(Article(str(a.get("id", f"a{i + 1}")), topic, spans, _opt_float(a.get("score"), aw)))
        return cls(str(pid), text, arts)


def _opt_float(x: Any, where: str) -> float | None:
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise PageFormatError(f"{where}: 'score' must be a number")
    return float(x)


def validate_page(page: Page, topics: Sequence[str] | None = DEFAULT_TOPICS, where: str | None = None) -> None:
    """Check gold spans: in bounds, non-empty, no whitespace at the edges, no overlap, known roles/topics.

    Raises :class:`PageFormatError` naming the page, the article and the span. ``topics=None``
    accepts any topic string (for users with their own label set).
    """
    w = where or f"page {page.id!r}"
    n = len(page.text)
    seen: list[tuple[int, int, str]] = []
    ids: set[str] = set()
    for a in page.articles:
        if a.id in ids:
            raise PageFormatError(f"{w}: duplicate article id {a.id!r}")
        ids.add(a.id)
        if topics is not None and a.topic not in topics:
            raise PageFormatError(f"{w} article {a.id!r}: unknown topic {a.topic!r} (expected one of {list(topics)})")
        if not a.spans:
            raise PageFormatError(f"{w} article {a.id!r}: has no spans")
        for s in a.spans:
            sw = f"{w} article {a.id!r} span [{s.start}, {s.end})"
            if s.role not in ROLES:
                raise PageFormatError(f"{sw}: unknown role {s.role!r} (expected 'headline' or 'body')")
            if not 0 <= s.start < s.end <= n:
                raise PageFormatError(f"{sw}: out of range for a text of {n} characters")
            if page.text[s.start].isspace() or page.text[s.end - 1].isspace():
                raise PageFormatError(f"{sw}: starts or ends on whitespace ({page.text[s.start:s.end][:20]!r}…)")
            seen.append((s.start, s.end, a.id))
    seen.sort()
    for (s0, e0, a0), (s1, e1, a1) in zip(seen, seen[1:]):
        if s1 < e0:
            raise PageFormatError(f"{w}: span [{s1}, {e1}) of article {a1!r} overlaps span [{s0}, {e0}) of article {a0!r}")


@dataclass
class PageError:
    """A page that could not be read: where it came from and why."""

    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        loc = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{loc}: {self.message}"


def _decode(raw: bytes, source: str, encoding: str, errors: str) -> str:
    try:
        return raw.decode(encoding, errors=errors)
    except UnicodeDecodeError as e:
        raise PageFormatError(
            f"{source}: invalid {encoding} at byte offset {e.start} ({e.reason}); "
            f"re-encode the file or pass --encoding-errors replace") from None


def iter_pages(paths: Iterable[str | os.PathLike[str]], *, validate: bool = False,
               topics: Sequence[str] | None = DEFAULT_TOPICS, encoding: str = "utf-8",
               errors: str = "strict") -> Iterator[Page | PageError]:
    """Stream pages from ``.jsonl`` files, ``.txt`` files and directories (of ``.txt``/``.jsonl``).

    Yields a :class:`Page` per readable page and a :class:`PageError` per unreadable one, one at a
    time, so memory does not grow with the number of pages. ``validate=True`` also checks gold spans.
    """
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix in (".txt", ".jsonl"))
            if not files:
                yield PageError(str(path), None, "directory holds no .txt or .jsonl files")
            for f in files:
                yield from _iter_file(f, validate, topics, encoding, errors)
        else:
            yield from _iter_file(path, validate, topics, encoding, errors)


def _iter_file(path: Path, validate: bool, topics: Sequence[str] | None, encoding: str,
               errors: str) -> Iterator[Page | PageError]:
    src = str(path)
    if not path.exists():
        yield PageError(src, None, "no such file")
        return
    try:
        fh = open(path, "rb")
    except OSError as e:
        yield PageError(src, None, f"cannot read: {e.strerror}")
        return
    with fh:
        if path.suffix != ".jsonl":
            try:
                text = _decode(fh.read(), src, encoding, errors)
            except PageFormatError as e:
                yield PageError(src, None, str(e).split(": ", 1)[1])
                return
            yield Page(path.stem, text, [])
            return
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                line = _decode(raw, f"{src}:{lineno}", encoding, errors)
                obj = json.loads(line)
                page = Page.from_dict(obj, where=f"page {obj.get('id', '?')!r}" if isinstance(obj, dict) else "page")
                if not page.id:
                    page.id = f"{path.stem}-{lineno}"
                if validate:
                    validate_page(page, topics)
            except json.JSONDecodeError as e:
                yield PageError(src, lineno, f"invalid JSON: {e.msg} at column {e.colno}")
                continue
            except PageFormatError as e:
                msg = str(e)
                if msg.startswith(f"{src}:{lineno}: "):
                    msg = msg[len(f"{src}:{lineno}: "):]
                yield PageError(src, lineno, msg)
                continue
            yield page


def read_pages(path: str | os.PathLike[str], *, validate: bool = True,
               topics: Sequence[str] | None = DEFAULT_TOPICS) -> list[Page]:
    """Read every page of a file or directory, raising :class:`PageFormatError` on the first bad one."""
    out = []
    for item in iter_pages([path], validate=validate, topics=topics):
        if isinstance(item, PageError):
            raise PageFormatError(str(item))
        out.append(item)
    return out


def write_pages(pages: Iterable[Page | dict[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write pages as JSONL atomically (temporary file, then rename). Returns the count written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for p in pages:
                d = p.to_dict() if isinstance(p, Page) else p
                fh.write(json.dumps(d, ensure_ascii=False) + "\n")
                n += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return n
