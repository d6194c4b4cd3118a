"""Batch prediction over files: the plain function behind ``newsseg predict``.

Reads pages (``.txt``, JSONL, directories), segments them, and writes one output record per page
(page format) or per article (JSONL or CSV), atomically: the output appears only when the run
completes, an interrupted run leaves ``.OUTPUT.partial`` (flushed every few pages and at least once a
minute), and ``resume=True`` keeps the pages done before whose id and text are unchanged.
"""

from __future__ import annotations

import contextlib

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

FORMATS = ("pages", "articles", "csv")
FLUSH_PAGES, FLUSH_SECONDS = 16, 60.0


def _err(msg: str) -> None:
    print(f"newsseg: {msg}", file=sys.stderr)


def text_key(page_id: str, text: str) -> tuple[str, str]:
    """What ``--resume`` matches on: the page id and a hash of its text (a changed page is redone)."""
    return page_id, hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def _resume_lines(*paths: Path) -> dict[tuple[str, str], str]:
    """Complete output lines of earlier runs (a finished output, then an interrupted run's partial
    file) by :func:`text_key`, first one wins. Reading a file stops at its first torn line: that page is redone."""
    kept: dict[tuple[str, str], str] = {}
    for path in paths:
        if not path.is_file():
            continue
        with open(path, "rb") as fh:
            for raw in fh:
                try:
                    obj = json.loads(raw.decode("utf-8"))
                    key = text_key(obj["id"], obj["text"])
                except (ValueError, KeyError, TypeError):  # torn mid-line or mid-character
                    break
                kept.setdefault(key, raw.decode("utf-8").rstrip("\r\n"))
    return kept


def read_reporting(inputs: Sequence[str], encoding_errors: str, errors: list[str],
                   encoding: str = "auto", skipped: list[str] | None = None) -> Iterator[Any]:
    """The readable pages of ``inputs``; each unreadable one is reported on stderr and added to
    ``errors``; files in directories that are not pages are added to ``skipped``."""
    from newsseg.data.pages import PageError, iter_pages

    for item in iter_pages(inputs, encoding=encoding, errors=encoding_errors, skipped=skipped):
        if isinstance(item, PageError):
            errors.append(str(item))
            _err(str(item))
        else:
            yield item


def predict_isolated(seg: Any, pages: Iterator[Any], batch_size: int, errors: list[str],
                      chunk: int = 64) -> Iterator[Any]:
    """``seg.predict_pages`` that survives a page it cannot handle: a chunk that raises is redone
    page by page, and the failing page is reported (and counted as an error) instead of ending the run."""
    import itertools

    while block := list(itertools.islice(pages, chunk)):
        try:
            done = list(seg.predict_pages(block, batch_size=batch_size))
        except Exception:  # noqa: BLE001 - any bug on one odd page must not lose the others
            done = []
            for page in block:
                try:
                    done += list(seg.predict_pages([page], batch_size=batch_size))
                except Exception as e:  # noqa: BLE001
                    msg = f"page {page.id!r}: prediction failed ({type(e).__name__}: {e})"
                    errors.append(msg)
                    _err(msg)
        yield from done


def _window_bar(tqdm: Any) -> Any:
    """A second bar under the page bar: the encoder's windows in the current chunk of pages, so the
    display moves within a long page (one page of 1 MB is ~5,000 windows and minutes of work)."""
    bar = tqdm(desc="windows in this chunk", unit="win", position=1, leave=False, total=0)

    def update(done: int, total: int) -> None:
        if bar.total != total or done < bar.n:
            bar.reset(total=total)
        bar.update(done - bar.n)

    return update


def count_pages(inputs: Sequence[str]) -> int | None:
    """How many pages ``inputs`` hold, cheaply (files and JSONL lines), for the progress bar's total."""
    from newsseg.data.pages import page_files

    n = 0
    for p in map(Path, inputs):
        for f in page_files(p) if p.is_dir() else [p]:
            if not f.is_file():  # a broken symlink is reported by the reader, not a page
                continue
            if f.suffix.lower() != ".jsonl":
                n += 1
                continue
            try:
                with open(f, "rb") as fh:
                    n += sum(1 for raw in fh if raw.strip())
            except OSError:
                return None
    return n


def _records(page: Any, fmt: str) -> list[str]:
    """The output lines of one predicted page in ``fmt``."""
    if fmt == "pages":
        return [page.to_json()]
    from newsseg.data.articles import article_records, csv_row
    from newsseg.data.pages import dumps_json

    recs = article_records(page)
    return [dumps_json(r) for r in recs] if fmt == "articles" else [csv_row(r).rstrip("\n") for r in recs]


def predict_files(inputs: Sequence[str], output: str, model: str | None = None, batch_size: int = 8,
                  encoding_errors: str = "strict", resume: bool = False, quantize: str | None = None,
                  progress: bool = True, workers: int = 1, threads: int | None = None,
                  encoding: str = "auto", output_format: str = "pages", traditional: str = "auto",
                  review_below: float | None = None) -> dict[str, Any]:
    """Segment every page of ``inputs`` into ``output``, written atomically.

    ``output_format``: ``pages`` (page-format JSONL, one line per page, with ``source`` and
    ``encoding``), ``articles`` (JSONL, one line per article: page id, source, article id, topic,
    score, joined headline and body text, spans) or ``csv`` (the same fields, with a header).
    Returns ``{"written", "kept", "skipped", "converted", "errors": [str, ...], "not_pages": [path, ...],
    "output"}``.
    Unreadable pages, and pages the model fails on, are reported in ``errors``, never dropped
    silently; files in input directories that are not pages are listed in ``not_pages``. The output
    appears only when the run completes; until then pages go to ``.OUTPUT.partial``, flushed every
    few pages and at least once a minute. ``resume=True`` (page format only) keeps the pages already
    in ``output`` or in the partial file of an interrupted run whose id and text are unchanged, and
    skips them. Raises ``FileNotFoundError`` for a missing input, ``ValueError`` for a bad option and
    :class:`~newsseg.model.segmenter.ModelLoadError` for a model that cannot be loaded.
    ``traditional`` (``auto``/``convert``/``keep``) is :attr:`Segmenter.traditional`: pages read as
    simplified carry ``"script": "traditional"`` and are counted in ``converted``.
    ``review_below``: pages predicted in this run whose lowest article score is below it, or that got
    no article, are also written (page format) to ``review_path(output)`` for a person to check, e.g.
    with ``newsseg export labelstudio``; the count is ``"review"`` in the result.
    ``workers > 1`` shards the pages over that many processes (:func:`newsseg.distributed.predict_parallel`:
    same output, same order); ``threads`` is torch's thread count per process.
    """
    out = Path(output)
    missing = [p for p in inputs if not Path(p).exists()]
    if missing:  # a typo on the command line: say so before loading anything
        raise FileNotFoundError(f"no such file or directory: {', '.join(missing)}")
    if out.is_dir():
        raise IsADirectoryError(f"output {out} is a directory; give a file name")
    if output_format not in FORMATS:
        raise ValueError(f"unknown output format {output_format!r}; choose from {', '.join(FORMATS)}")
    if resume and output_format != "pages":
        raise ValueError("--resume needs --format pages (article records do not hold the page text to compare)")
    from tqdm import tqdm

    from newsseg.atomic import atomic_output, partial_path
    from newsseg.data.pages import Page
    from newsseg.model.segmenter import Segmenter
    from newsseg.runtime import tune_allocator

    tune_allocator()
    seg = Segmenter.from_pretrained(model, quantize=quantize, num_threads=threads)  # fails early if unusable
    seg.traditional = traditional
    kept: dict[tuple[str, str], str] = {}
    if resume:
        earlier = _resume_lines(out, partial_path(out))
        if earlier:  # keep only pages still in the input with the same text
            wanted = {text_key(p.id, p.text) for p in read_reporting(inputs, encoding_errors, [], encoding)}
            kept = {k: v for k, v in earlier.items() if k in wanted}
    errors: list[str] = []
    not_pages: list[str] = []
    skipped = 0

    def readable() -> Iterator[Page]:
        nonlocal skipped
        for item in read_reporting(inputs, encoding_errors, errors, encoding, not_pages):
            if text_key(item.id, item.text) in kept:
                skipped += 1
            else:  # gold articles in the input are not passed on
                yield Page(item.id, item.text, [], source=item.source, encoding=item.encoding)

    n = converted = review = 0
    review_out = contextlib.ExitStack()
    try:
        # keep_partial: an interrupted run leaves .OUTPUT.partial (never a complete-looking
        # OUTPUT), and --resume continues from the pages it holds.
        with review_out, atomic_output(out, keep_partial=True) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            rfh = None
            if review_below is not None:  # written atomically beside the output, complete or not at all
                rtmp = review_out.enter_context(atomic_output(review_path(out)))
                rfh = review_out.enter_context(open(rtmp, "w", encoding="utf-8"))
            if output_format == "csv":
                from newsseg.data.articles import csv_header

                fh.write(csv_header())
            for line in kept.values():
                fh.write(line + "\n")
            if workers > 1:
                from newsseg.distributed import predict_parallel

                del seg  # each worker loads its own
                preds = predict_parallel(readable(), model, workers, batch_size, quantize, threads=threads,
                                         errors=errors, traditional=traditional)
            else:
                preds = predict_isolated(seg, readable(), batch_size, errors)
            total = count_pages(inputs) if progress else None
            last_flush = time.monotonic()
            bar = tqdm(preds, desc="pages", unit="page", disable=not progress,
                       total=None if total is None else max(0, total - len(kept)))
            if progress and workers == 1:
                seg.on_batch = _window_bar(tqdm)
            for page in bar:
                converted += page.script == "traditional"
                for line in _records(page, output_format):
                    fh.write(line + "\n")
                if rfh is not None and needs_review(page, review_below):
                    rfh.write(page.to_json() + "\n")
                    review += 1
                n += 1
                if n % FLUSH_PAGES == 0 or time.monotonic() - last_flush > FLUSH_SECONDS:
                    fh.flush()  # Ctrl-C keeps what is done
                    last_flush = time.monotonic()
    except BaseException:
        if partial_path(out).exists():
            _err(f"stopped after {n} new pages; {out} was not written, the pages done so far are in "
                 f"{partial_path(out)} (re-run with --resume to continue)")
        raise
    return {"written": n, "kept": len(kept), "skipped": skipped, "converted": converted, "errors": errors, "not_pages": not_pages,
            "output": str(out), "review": review if review_below is not None else None,
            "review_output": str(review_path(out)) if review_below is not None else None}


def review_path(output: str | Path) -> Path:
    """Where ``--review-below`` writes the doubtful pages: ``OUTPUT`` with ``.review.jsonl`` for its suffix."""
    out = Path(output)
    return out.with_name(out.stem + ".review.jsonl")


def needs_review(page: Any, below: float) -> bool:
    """A page for a person: no article found, or an article scored below ``below``."""
    scores = [a.score for a in page.articles if a.score is not None]
    return not page.articles or (bool(scores) and min(scores) < below)
