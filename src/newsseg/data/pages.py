"""The page format (docs/SPEC.md §2): dataclasses, JSONL / ``.txt`` I/O and the gold validator.

A page is ``{"id", "text", "articles": [{"id", "topic", "spans": [{"start", "end", "role"}]}]}``
with half-open code-point offsets. Predictions add ``"score"`` to articles and spans.

Reading never raises on a bad page: :func:`iter_pages` yields :class:`PageError` records that
name the file, the line and the problem, so callers can report them and carry on (docs/SPEC.md §6).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from newsseg.atomic import atomic_output


ROLES: tuple[str, ...] = ("headline", "body")
DEFAULT_TOPICS: tuple[str, ...] = ("sanitation", "projects", "legal", "investment", "other")


class PageFormatError(ValueError):
    """A page or span that breaks the page format; the message names where and what."""


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def dumps_json(obj: Any) -> str:
    """One JSON line, UTF-8-safe: readable Chinese, but ``\\uXXXX`` escapes when the data holds lone
    surrogates (a bad decoder upstream, or ``\\ud800`` escapes in the input JSON).

    Lone surrogates cannot be encoded as UTF-8, so ``ensure_ascii=False`` output would fail to be
    written; escaped, the line is plain ASCII JSON and ``json.loads`` gives back the identical text.
    A high surrogate followed by a low one is refused: JSON readers join the two escapes into one
    character, which would shift every offset after it (only ``surrogatepass`` decoding of CESU-8
    makes such strings; JSON input never does).
    """
    # U+0085/U+2028/U+2029 are legal in JSON strings but end a line for str.splitlines() and many
    # JSONL readers; escaped, one page stays one line for every reader.
    s = json.dumps(obj, ensure_ascii=False)
    if "\x85" in s or "\u2028" in s or "\u2029" in s:  # rare: translate() costs more than the checks
        s = s.translate(_LINE_BREAKS)
    if not _SURROGATE.search(s):
        return s
    if _SURROGATE_PAIR.search(s):
        raise PageFormatError(
            "text holds a surrogate pair as two code points, which JSON cannot keep apart; "
            "join them first: text.encode('utf-16', 'surrogatepass').decode('utf-16')")
    return json.dumps(obj)


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

    ``headline`` and ``body`` are its text as a reader wants it, OCR line breaks joined
    (:func:`newsseg.data.articles.join_lines`; body fragments one per line); ``headline_raw`` and
    ``body_raw`` are the spans' text exactly as on the page, one span per line. All four need the
    page text, so :class:`Page` fills them in.
    """

    id: str
    topic: str
    spans: list[Span]
    score: float | None = None
    headline: str = ""
    body: str = ""
    headline_raw: str = ""
    body_raw: str = ""

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
    source: str = ""     # where the page was read from: a file, or ``file:line`` for JSONL
    encoding: str = ""   # the encoding its bytes were decoded with
    script: str = ""     # "traditional" when the model read it converted to simplified (offsets unchanged)

    def __post_init__(self) -> None:
        self.fill_texts()

    def fill_texts(self) -> None:
        """Set each article's ``headline`` / ``body`` (joined) and ``*_raw`` strings from its spans."""
        from newsseg.data.articles import join_headline, join_lines

        for art in self.articles:
            art.spans.sort(key=lambda s: s.start)
            heads = [self.text[s.start:s.end] for s in art.spans if s.role == "headline"]
            bodies = [self.text[s.start:s.end] for s in art.spans if s.role == "body"]
            art.headline_raw, art.body_raw = "\n".join(heads), "\n".join(bodies)
            art.headline = join_headline(heads)
            art.body = "\n".join(j for b in bodies if (j := join_lines(b)))

    @property
    def spans(self) -> list[tuple[Span, Article]]:
        """All spans of the page with their article, in text order."""
        out = [(s, a) for a in self.articles for s in a.spans]
        out.sort(key=lambda sa: sa[0].start)
        return out

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "text": self.text, "articles": [a.to_dict() for a in self.articles]}
        if self.source:
            d["source"] = self.source
        if self.encoding:
            d["encoding"] = self.encoding
        if self.script:
            d["script"] = self.script
        return d

    def to_json(self) -> str:
        return dumps_json(self.to_dict())

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
        source, enc, script = (d.get(k, "") for k in ("source", "encoding", "script"))
        return cls(str(pid), text, arts, source=source if isinstance(source, str) else "",
                   encoding=enc if isinstance(enc, str) else "", script=script if isinstance(script, str) else "")


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


def _decode(raw: bytes, encoding: str, errors: str, offset: int = 0) -> str:
    """Decode ``raw`` (which starts at byte ``offset`` of its file); the error names the file offset."""
    try:
        return raw.decode(encoding, errors=errors)
    except UnicodeDecodeError as e:
        raise PageFormatError(
            f"invalid {encoding} at byte offset {offset + e.start} ({e.reason}); "
            f"re-encode the file or pass --encoding-errors replace") from None


def iter_pages(paths: Iterable[str | os.PathLike[str]], *, validate: bool = False,
               topics: Sequence[str] | None = DEFAULT_TOPICS, encoding: str = "utf-8",
               errors: str = "strict", skipped: list[str] | None = None,
               provenance: bool = True) -> Iterator[Page | PageError]:
    """Stream pages from ``.jsonl`` files, ``.txt`` files and directories (of ``.txt``/``.jsonl``).

    Directories are read recursively; extensions match in any case (``.TXT``); hidden files and
    folders are skipped, and every other file that is not a page is appended to ``skipped``. A
    ``.txt`` page's id is its path relative to the directory given, without extension (``a/p1``),
    or its file name without extension when the file itself is given; each page records its
    ``source`` (the file, ``file:line`` for JSONL) and the ``encoding`` it was read with, unless
    ``provenance=False`` (gold pages read back as stored).

    Yields a :class:`Page` per readable page and a :class:`PageError` per unreadable one, one at a
    time, so memory does not grow with the number of pages. ``validate=True`` also checks gold spans.
    ``encoding="auto"`` reads ``.txt`` pages as UTF-8 or, failing that, as the Chinese encoding they are
    in (:func:`newsseg.data.textio.decode_text`); JSONL is UTF-8 unless an encoding is named.
    """
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files = page_files(path, skipped)
            if not files:
                yield PageError(str(path), None, "directory holds no .txt or .jsonl files")
            for f in files:
                yield from _iter_file(f, validate, topics, encoding, errors,
                                      f.relative_to(path).with_suffix("").as_posix(), provenance)
        else:
            yield from _iter_file(path, validate, topics, encoding, errors, path.stem, provenance)


def page_files(directory: Path, skipped: list[str] | None = None) -> list[Path]:
    """The page files under ``directory``, recursively and sorted: ``.txt`` and ``.jsonl`` in any case,
    hidden files and folders left out; every other file is appended to ``skipped``."""
    files = []
    for f in sorted(directory.rglob("*")):
        rel = f.relative_to(directory)
        # Broken symlinks are listed too, so they are reported instead of silently skipped.
        if not (f.is_file() or f.is_symlink()) or any(part.startswith(".") for part in rel.parts):
            continue
        if f.suffix.lower() in (".txt", ".jsonl"):
            files.append(f)
        elif skipped is not None:
            skipped.append(str(f))
    return files


def _iter_file(path: Path, validate: bool, topics: Sequence[str] | None, encoding: str,
               errors: str, txt_id: str, provenance: bool) -> Iterator[Page | PageError]:
    src = str(path)
    if not path.exists():
        yield PageError(src, None, "broken symbolic link" if path.is_symlink() else "no such file")
        return
    try:
        fh = open(path, "rb")
    except OSError as e:
        yield PageError(src, None, f"cannot read: {e.strerror or e}")
        return
    with fh:
        if path.suffix.lower() != ".jsonl":
            from newsseg.data.textio import TextDecodeError, decode_text

            try:
                text, used = decode_text(fh.read(), encoding, errors)
            except (TextDecodeError, OSError) as e:
                yield PageError(src, None, str(e))
                return
            yield Page(txt_id, text, [], source=src, encoding=used) if provenance else Page(txt_id, text, [])
            return
        offset = 0
        encoding = "utf-8" if encoding == "auto" else encoding  # JSON is UTF-8
        for lineno, raw in enumerate(fh, 1):
            line_start, offset = offset, offset + len(raw)
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM (Windows editors)
                raw, line_start = raw[3:], 3
            if not raw.strip():
                continue
            try:
                line = _decode(raw, encoding, errors, line_start)
                # Without its newline, a torn line reads as "unterminated string", not "control character".
                obj = json.loads(line.rstrip("\r\n"))
                page = Page.from_dict(obj, where=f"page {obj.get('id', '?')!r}" if isinstance(obj, dict) else "page")
                if not page.id:
                    page.id = f"{path.stem}-{lineno}"
                if provenance and not page.source:
                    page.source, page.encoding = f"{src}:{lineno}", encoding
                if validate:
                    validate_page(page, topics)
            except json.JSONDecodeError as e:
                yield PageError(src, lineno, f"invalid JSON: {e.msg.removesuffix(' at')} at column {e.colno}")
                continue
            except PageFormatError as e:
                yield PageError(src, lineno, str(e))
                continue
            except (ValueError, RecursionError) as e:  # e.g. a 5000-digit number, nesting 10^5 deep
                yield PageError(src, lineno, f"invalid JSON: {type(e).__name__}: {str(e)[:200]}")
                continue
            yield page


def read_pages(path: str | os.PathLike[str], *, validate: bool = True,
               topics: Sequence[str] | None = DEFAULT_TOPICS) -> list[Page]:
    """Read every page of a file or directory, raising :class:`PageFormatError` on the first bad one."""
    out = []
    for item in iter_pages([path], validate=validate, topics=topics, provenance=False):
        if isinstance(item, PageError):
            raise PageFormatError(str(item))
        out.append(item)
    return out


def write_pages(pages: Iterable[Page | dict[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write pages as JSONL atomically (temporary file, then rename). Returns the count written."""
    n = 0
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for p in pages:
            fh.write(dumps_json(p.to_dict() if isinstance(p, Page) else p) + "\n")
            n += 1
    return n
