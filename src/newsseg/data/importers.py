"""Import hand annotations from Label Studio and doccano into the page format.

Convention (both tools, see data/ANNOTATION.md): each span carries one label ``ROLE:ARTICLE`` or
``ROLE:ARTICLE:TOPIC`` — ``ROLE`` is ``headline`` or ``body`` (``byline`` and ``caption`` are
accepted and stored as ``body``), ``ARTICLE`` any key grouping the spans of one article (``a1``),
``TOPIC`` the article's topic on at least one of its spans. Topics may instead come from a
``topics`` map ``{"a1": "projects"}`` in the task (Label Studio ``data.topics``, doccano
``topics``) or, in Label Studio, from a Choices control named ``topic_a1``.

Every span is checked: ``text[start:end]`` must equal the exported span text. Label Studio counts
offsets in UTF-16 code units, so a span that does not match is retried as UTF-16 offsets (pages
with emoji or other astral characters). Whitespace at span edges is trimmed, body spans of one
article separated only by whitespace are merged, and what cannot be repaired (mismatched text,
offsets out of range, overlapping spans, missing topics) is reported naming file, task and span.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from newsseg.data.pages import DEFAULT_TOPICS, Article, Page, PageFormatError, Span, validate_page

ROLE_ALIASES = {"headline": "headline", "body": "body", "byline": "body", "caption": "body"}


class AnnotationImportError(ValueError):
    """One or more annotations could not be imported; the message lists each problem."""


def _utf16_to_cp(text: str) -> list[int] | None:
    """Map each UTF-16 offset to a code point offset (-1 inside a surrogate pair); None if no astral chars."""
    if all(ord(c) < 0x10000 for c in text):
        return None
    out: list[int] = []
    for i, c in enumerate(text):
        out.append(i)
        if ord(c) >= 0x10000:
            out.append(-1)
    out.append(len(text))
    return out


class _Task:
    """Collects one task's spans, repairing offsets and recording problems."""

    def __init__(self, where: str, text: str, topics: Any, utf16_default: bool) -> None:
        self.where, self.text = where, text
        self.u16 = _utf16_to_cp(text)
        self.utf16_default = utf16_default
        self.spans: dict[str, list[Span]] = {}
        self.topics: dict[str, str] = {}
        self.problems: list[str] = []
        self.repaired = 0
        if topics is not None:
            if not isinstance(topics, dict):
                self.problems.append(f"{where}: 'topics' must map article keys to topics")
            else:
                for k, v in topics.items():
                    self.set_topic(str(k), v, "topics map")

    def set_topic(self, art: str, topic: Any, src: str) -> None:
        if not isinstance(topic, str) or not topic:
            self.problems.append(f"{self.where}: article {art!r}: bad topic {topic!r} from {src}")
        elif self.topics.setdefault(art, topic) != topic:
            self.problems.append(f"{self.where}: article {art!r} has two topics: "
                                 f"{self.topics[art]!r} and {topic!r} ({src})")

    def _as_utf16(self, start: int, end: int) -> tuple[int, int] | None:
        if self.u16 is None or not 0 <= start <= end < len(self.u16):
            return None
        s, e = self.u16[start], self.u16[end]
        return (s, e) if s >= 0 and e >= 0 else None

    def add(self, span_no: int, start: Any, end: Any, label: Any, expected: str | None) -> None:
        w = f"{self.where} span {span_no}"
        if isinstance(start, bool) or isinstance(end, bool) or not isinstance(start, int) \
                or not isinstance(end, int):
            self.problems.append(f"{w}: start/end must be integers, got {start!r}, {end!r}")
            return
        parts = [p.strip() for p in str(label).split(":")] if isinstance(label, str) else []
        if len(parts) not in (2, 3) or parts[0].lower() not in ROLE_ALIASES or not parts[1]:
            self.problems.append(f"{w}: label {label!r} is not ROLE:ARTICLE[:TOPIC] "
                                 f"with ROLE one of {sorted(ROLE_ALIASES)}")
            return
        role, art = ROLE_ALIASES[parts[0].lower()], parts[1]
        if len(parts) == 3:
            self.set_topic(art, parts[2], f"label {label!r}")
        n = len(self.text)
        if expected is not None:
            if not (0 <= start <= end <= n and self.text[start:end] == expected):
                fixed = self._as_utf16(start, end)
                if fixed is None or self.text[fixed[0]:fixed[1]] != expected:
                    got = self.text[start:end] if 0 <= start <= end <= n else "<out of range>"
                    self.problems.append(f"{w} [{start}, {end}) {label!r}: exported text {expected[:30]!r} "
                                         f"does not match the page ({got[:30]!r}), not as code points "
                                         f"nor as UTF-16 offsets")
                    return
                start, end = fixed
                self.repaired += 1
        elif self.u16 is not None and (self.utf16_default or end > n):
            fixed = self._as_utf16(start, end)
            if fixed is None:
                self.problems.append(f"{w} [{start}, {end}): not a valid UTF-16 offset pair for this page")
                return
            start, end = fixed
            self.repaired += 1
        if not 0 <= start < end <= n:
            self.problems.append(f"{w} [{start}, {end}): out of range for a text of {n} characters")
            return
        while start < end and self.text[start].isspace():
            start += 1
        while end > start and self.text[end - 1].isspace():
            end -= 1
        if start == end:
            self.problems.append(f"{w} {label!r}: only whitespace")
            return
        self.spans.setdefault(art, []).append(Span(start, end, role))

    def page(self, page_id: str, topics: Sequence[str] | None) -> Page | None:
        arts = []
        for key, spans in self.spans.items():
            if key not in self.topics:
                self.problems.append(f"{self.where}: article {key!r} has no topic (label ROLE:{key}:TOPIC "
                                     f"or a topics map)")
                continue
            merged: list[Span] = []
            for s in sorted({(s.start, s.end, s.role): s for s in spans}.values(), key=lambda s: s.start):
                prev = merged[-1] if merged else None
                if prev and prev.role == s.role == "body" and prev.end <= s.start \
                        and not self.text[prev.end:s.start].strip():
                    prev.end = s.end
                else:
                    merged.append(s)
            arts.append(Article(key, self.topics[key], merged))
        page = Page(page_id, self.text, arts)
        try:
            validate_page(page, topics, where=self.where)
        except PageFormatError as e:
            self.problems.append(str(e))
        return None if self.problems else page


def _finish(results: Iterable[tuple[_Task, str]], topics: Sequence[str] | None,
            errors: list[str] | None) -> list[Page]:
    pages, problems = [], []
    for task, pid in results:
        page = task.page(pid, topics)
        problems += task.problems
        if page is not None:
            pages.append(page)
    if problems:
        if errors is None:
            raise AnnotationImportError("\n".join(problems))
        errors.extend(problems)
    return pages


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnnotationImportError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AnnotationImportError(f"{path}: not a JSON export: {e}") from None


def import_labelstudio(path: str | os.PathLike[str], topics: Sequence[str] | None = DEFAULT_TOPICS,
                       errors: list[str] | None = None, text_key: str = "text",
                       use_predictions: bool = False) -> list[Page]:
    """Pages from a Label Studio JSON export (a list of tasks).

    Uses each task's first non-cancelled annotation (with ``use_predictions``, a task without one
    falls back to its first prediction, e.g. newsseg's pre-annotations accepted as they are): its
    ``labels`` results (spans) and ``choices`` results named ``topic_<article>``. Offsets are taken as UTF-16 code units when the exported span
    text says so (or, without span text, whenever the page has astral characters). Problems raise
    :class:`AnnotationImportError` listing all of them, or, when an ``errors`` list is given, are
    appended there and the bad tasks skipped.
    """
    path = Path(path)
    data = _read_json(path)
    tasks = data if isinstance(data, list) else [data]
    results: list[tuple[_Task, str]] = []
    for ti, t in enumerate(tasks):
        tid = t.get("id", ti + 1) if isinstance(t, dict) else ti + 1
        where = f"{path}: task {tid}"
        d = t.get("data") if isinstance(t, dict) else None
        if not isinstance(d, dict) or not isinstance(d.get(text_key), str):
            results.append((_failed(where, f"no data.{text_key} string"), ""))
            continue
        task = _Task(where, d[text_key], d.get("topics"), utf16_default=True)
        anns = [a for a in t.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        if not anns and use_predictions:
            anns = [a for a in t.get("predictions") or [] if isinstance(a, dict)]
        if not anns:
            task.problems.append(f"{where}: no (non-cancelled) annotation")
        for si, r in enumerate((anns[0].get("result") or []) if anns else []):
            if not isinstance(r, dict):
                task.problems.append(f"{where} result {si}: expected an object")
                continue
            v = r.get("value") or {}
            if r.get("type") == "labels":
                labels = v.get("labels") or []
                if len(labels) != 1:
                    task.problems.append(f"{where} span {si}: expected exactly one label, got {labels!r}")
                    continue
                task.add(si, v.get("start"), v.get("end"), labels[0], v.get("text"))
            elif r.get("type") == "choices" and str(r.get("from_name", "")).startswith("topic_"):
                for c in v.get("choices") or []:
                    task.set_topic(str(r["from_name"])[len("topic_"):], c, f"choices {r['from_name']}")
        results.append((task, str(d.get("id", tid))))
    return _finish(results, topics, errors)


def _failed(where: str, msg: str) -> _Task:
    task = _Task(where, "", None, False)
    task.problems.append(f"{where}: {msg}")
    return task


def import_doccano(path: str | os.PathLike[str], topics: Sequence[str] | None = DEFAULT_TOPICS,
                   errors: list[str] | None = None) -> list[Page]:
    """Pages from a doccano sequence-labelling JSONL export.

    Each line: ``{"text": …, "label": [[start, end, "body:a1"], …]}`` (or ``"entities"`` with
    ``start_offset``/``end_offset``/``label``), optional ``"topics"`` and ``"id"``. Offsets are code
    points; an optional fourth element (or ``"text"`` key) with the span text is checked like Label
    Studio's; without it, a span past the end of a page with astral characters is read as UTF-16.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise AnnotationImportError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise AnnotationImportError(f"{path}: invalid UTF-8 at byte {e.start}") from None
    results: list[tuple[_Task, str]] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            results.append((_failed(where, f"invalid JSON: {e.msg} at column {e.colno}"), ""))
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            results.append((_failed(where, "expected an object with a 'text' string"), ""))
            continue
        task = _Task(where, obj["text"], obj.get("topics"), utf16_default=False)
        for si, lab in enumerate(obj.get("label") or obj.get("entities") or []):
            if isinstance(lab, dict):
                task.add(si, lab.get("start_offset"), lab.get("end_offset"), lab.get("label"), lab.get("text"))
            elif isinstance(lab, list) and len(lab) in (3, 4):
                task.add(si, lab[0], lab[1], lab[2], lab[3] if len(lab) == 4 else None)
            else:
                task.problems.append(f"{where} span {si}: expected [start, end, label], got {lab!r}")
        results.append((task, str(obj.get("id", f"{path.stem}-{lineno}"))))
    return _finish(results, topics, errors)
