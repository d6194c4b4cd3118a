"""Articles as readers want them: OCR line breaks joined, one record per article, JSONL or CSV.

OCR text breaks lines where the printed column ended, not where the writer did. Chinese is written
without spaces, so a line break between two Chinese characters (or Chinese punctuation) simply goes;
between two Latin letters or digits it becomes one space; a blank line or an indented line starts a
new paragraph (kept as ``\\n``). Headline lines (kicker, title, subtitle) are separate statements and
are joined with one space.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Iterator, Sequence

_LINE_BREAK = re.compile(r"[ \t\u3000]*\n([ \t\u3000]*)")
_PARA_BREAK = re.compile(r"\n[ \t\u3000]*\n")
CSV_FIELDS = ("page_id", "source", "article_id", "topic", "score", "headline", "body", "spans")


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def join_lines(text: str) -> str:
    """``text`` with its OCR line breaks joined as Chinese text is joined (see the module doc)."""
    paras = [p for p in _PARA_BREAK.split(text.strip()) if p.strip()]
    out = []
    for para in paras:
        parts: list[str] = []
        pos = 0
        for m in _LINE_BREAK.finditer(para):
            parts.append(para[pos:m.start()])
            left, right = para[m.start() - 1: m.start()], para[m.end(): m.end() + 1]
            if m.group(1):            # an indented line opens a paragraph
                parts.append("\n")
            elif _latin(left) and _latin(right):
                parts.append(" ")
            pos = m.end()
        parts.append(para[pos:])
        out.append("".join(parts).strip())
    return "\n".join(out)


def join_headline(lines: Sequence[str]) -> str:
    """Headline span texts as one line: each line stripped, joined with one space."""
    return " ".join(ln.strip() for s in lines for ln in s.split("\n") if ln.strip())


def article_records(page: Any) -> Iterator[dict[str, Any]]:
    """One record per article of a predicted :class:`~newsseg.data.pages.Page`: page id, source,
    article id, topic, score, joined headline and body text, and the fragment offsets."""
    for art in page.articles:
        yield {"page_id": page.id, "source": page.source, "article_id": art.id, "topic": art.topic,
               "score": None if art.score is None else round(float(art.score), 4),
               "headline": art.headline, "body": art.body,
               "spans": [s.to_dict() for s in sorted(art.spans, key=lambda s: s.start)]}


def csv_header() -> str:
    """The CSV header line (with its line end)."""
    return csv_row({f: f for f in CSV_FIELDS})


def csv_row(record: dict[str, Any]) -> str:
    """One CSV line for an article record; ``spans`` as ``start-end:role`` items separated by ``;``."""
    spans = record["spans"]
    if isinstance(spans, list):
        spans = ";".join(f"{s['start']}-{s['end']}:{s['role']}" for s in spans)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(
        ["" if record[f] is None else (spans if f == "spans" else record[f]) for f in CSV_FIELDS])
    return buf.getvalue()
