"""The ``newsseg`` command: thin verbs over plain functions.

Exit codes: 0 success; 1 some pages could not be read or processed (the others were written);
2 bad usage or unusable input (missing file, bad config, model that cannot be loaded).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from newsseg.paths import shipped_model_dir

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


def _err(msg: str) -> None:
    print(f"newsseg: {msg}", file=sys.stderr)


# --------------------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    from newsseg.train.args import load_config

    try:
        cfg = load_config(args.config, args.set)
        cfg.check()  # before composing a single page
    except (OSError, ValueError) as e:
        _err(f"{args.config}: {e}")
        return EXIT_USAGE
    out = args.output or str(Path("runs") / Path(args.config).stem)
    from newsseg.train.trainer import train

    t0 = time.time()
    metrics = train(cfg, out)
    print(json.dumps({k: v for k, v in metrics.items() if isinstance(v, (int, float))}, indent=2))
    print(f"model written to {out} in {time.time() - t0:.0f} s")
    return EXIT_OK


# ------------------------------------------------------------------------------------- predict
def _resume_lines(*paths: Path) -> dict[str, str]:
    """Complete output lines of earlier runs (a finished output, then an interrupted run's partial
    file) by page id, first one wins. Reading a file stops at its first torn line: that page is redone."""
    kept: dict[str, str] = {}
    for path in paths:
        if not path.is_file():
            continue
        with open(path, "rb") as fh:
            for raw in fh:
                try:
                    pid = json.loads(raw.decode("utf-8"))["id"]
                except (ValueError, KeyError, TypeError):  # torn mid-line or mid-character
                    break
                kept.setdefault(pid, raw.decode("utf-8").rstrip("\r\n"))
    return kept


def _read_reporting(inputs: Sequence[str], encoding_errors: str, errors: list[str],
                    encoding: str = "auto") -> Iterator[Any]:
    """The readable pages of ``inputs``; each unreadable one is reported on stderr and added to ``errors``."""
    from newsseg.data.pages import PageError, iter_pages

    for item in iter_pages(inputs, encoding=encoding, errors=encoding_errors):
        if isinstance(item, PageError):
            errors.append(str(item))
            _err(str(item))
        else:
            yield item


def _predict_isolated(seg: Any, pages: Iterator[Any], batch_size: int, errors: list[str],
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


def predict_files(inputs: Sequence[str], output: str, model: str | None = None, batch_size: int = 8,
                  encoding_errors: str = "strict", resume: bool = False, quantize: str | None = None,
                  progress: bool = True, workers: int = 1, threads: int | None = None,
                  encoding: str = "auto") -> dict[str, Any]:
    """Segment every page of ``inputs`` into ``output`` (JSONL, written atomically).

    Returns ``{"written": n, "kept": n, "skipped": n, "errors": [str, ...], "output": path}``.
    Unreadable pages, and pages the model fails on, are reported in ``errors``, never dropped
    silently. The output appears only when the run completes; until then pages go to
    ``.OUTPUT.partial``. ``resume=True`` keeps the pages already in ``output`` or in the partial
    file of an interrupted run, and skips them. Raises ``FileNotFoundError`` for a missing input
    and :class:`~newsseg.model.segmenter.ModelLoadError` for a model that cannot be loaded.
    ``workers > 1`` shards the pages over that many processes (:func:`newsseg.distributed.predict_parallel`:
    same output, same order); ``threads`` is torch's thread count per process.
    """
    from tqdm import tqdm

    from newsseg.data.pages import Page, atomic_output, partial_path
    from newsseg.model.segmenter import Segmenter
    from newsseg.runtime import tune_allocator

    out = Path(output)
    missing = [p for p in inputs if not Path(p).exists()]
    if missing:  # a typo on the command line: say so before loading the model
        raise FileNotFoundError(f"no such file or directory: {', '.join(missing)}")
    if out.is_dir():
        raise IsADirectoryError(f"output {out} is a directory; give a .jsonl file name")
    tune_allocator()
    seg = Segmenter.from_pretrained(model, quantize=quantize, num_threads=threads)  # fails early if unusable
    kept = _resume_lines(out, partial_path(out)) if resume else {}
    errors: list[str] = []
    skipped = 0

    def readable() -> Iterator[Page]:
        nonlocal skipped
        for item in _read_reporting(inputs, encoding_errors, errors, encoding):
            if item.id in kept:
                skipped += 1
            else:
                yield Page(item.id, item.text, [])  # gold articles in the input are not passed on

    n = 0
    try:
        # keep_partial: an interrupted run leaves .OUTPUT.partial (never a complete-looking
        # OUTPUT), and --resume continues from the pages it holds.
        with atomic_output(out, keep_partial=True) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            for line in kept.values():
                fh.write(line + "\n")
            if workers > 1:
                from newsseg.distributed import predict_parallel

                del seg  # each worker loads its own
                preds = predict_parallel(readable(), model, workers, batch_size, quantize, threads=threads,
                                         errors=errors)
            else:
                preds = _predict_isolated(seg, readable(), batch_size, errors)
            for page in tqdm(preds, desc="pages", unit="page", disable=not progress):
                fh.write(page.to_json() + "\n")
                n += 1
    except BaseException:
        if partial_path(out).exists():
            _err(f"stopped after {n} new pages; {out} was not written, the pages done so far are in "
                 f"{partial_path(out)} (re-run with --resume to continue)")
        raise
    return {"written": n, "kept": len(kept), "skipped": skipped, "errors": errors, "output": str(out)}


def cmd_predict(args: argparse.Namespace) -> int:
    from newsseg.model.segmenter import ModelLoadError

    if args.batch_size < 1 or args.workers < 1 or (args.threads is not None and args.threads < 1):
        _err("--batch-size, --workers and --threads must be at least 1")
        return EXIT_USAGE
    try:
        res = predict_files(args.inputs, args.output, args.model, args.batch_size, args.encoding_errors,
                            args.resume, args.quantize, progress=not args.quiet, workers=args.workers,
                            threads=args.threads, encoding=args.encoding)
    except (ModelLoadError, OSError) as e:
        _err(str(e))
        return EXIT_USAGE
    print(f"{res['written']} pages written to {res['output']}"
          + (f", {res['kept']} kept from the earlier run" if res["kept"] else "")
          + (f", {res['skipped']} already there" if res["skipped"] else "")
          + (f", {len(res['errors'])} failed (see above)" if res["errors"] else ""), file=sys.stderr)
    return EXIT_PARTIAL if res["errors"] else EXIT_OK


def _printable(s: str) -> str:
    # Lone surrogates cannot be written to a UTF-8 terminal; control characters would garble it.
    return "".join(c if c.isprintable() else "\ufffd" for c in s)


def cmd_segment(args: argparse.Namespace) -> int:
    """Print the articles of each page in a human-readable form (the README's main job)."""
    from newsseg.model.segmenter import ModelLoadError, Segmenter

    missing = [p for p in args.inputs if not Path(p).exists()]
    if missing:
        _err(f"no such file or directory: {', '.join(missing)}")
        return EXIT_USAGE
    from newsseg.runtime import tune_allocator

    tune_allocator()
    try:
        seg = Segmenter.from_pretrained(args.model)
    except ModelLoadError as e:
        _err(str(e))
        return EXIT_USAGE
    errors: list[str] = []
    for page in _predict_isolated(seg, _read_reporting(args.inputs, args.encoding_errors, errors, args.encoding),
                                  8, errors):
        print(f"=== {_printable(page.id)}: {len(page.articles)} articles ===")
        for a in page.articles:
            head = _printable(a.headline.replace("\n", " / ")) or "(no headline)"
            body = _printable("".join(a.body.split()))
            print(f"[{a.id}] {a.topic} ({a.score:.2f}) {len(a.spans)} spans | {head}")
            print(f"    {body[:60]}…{body[-20:]}" if len(body) > 80 else f"    {body}")
    return EXIT_PARTIAL if errors else EXIT_OK


# -------------------------------------------------------------------------------- fit-decoder
def cmd_fit_decoder(args: argparse.Namespace) -> int:
    """Re-fit a trained model's line head and linking weights on gold pages, in place."""
    from newsseg.data.pages import PageFormatError, read_pages
    from newsseg.model.segmenter import ModelLoadError, Segmenter
    from newsseg.train.linking import tune_linking

    try:
        seg = Segmenter.from_pretrained(args.model)
        pages = read_pages(args.pages, topics=None)
    except (ModelLoadError, PageFormatError, OSError) as e:
        _err(str(e))
        return EXIT_USAGE
    if not args.topic_only:
        seg.config.link, seg.config.line_head = {}, {}
        _, before, after = tune_linking(seg, pages, fit_lines=not args.no_line_head)
        print(f"decoder fitted on {len(pages)} pages: objective {before:.4f} -> {after:.4f}")
    if not args.no_article_topic:
        from newsseg.data.corpus import DEFAULT_CORPUS_DIR, load_corpus
        from newsseg.train.topic_fit import fit_article_topic

        fit = fit_article_topic(seg, load_corpus(args.corpus or DEFAULT_CORPUS_DIR, split="train"), pages)
        print(f"article topic model fitted: topic macro-F1 by n-gram weight {fit['macro_f1_by_weight']}, "
              f"weight {fit['weight']}")
    seg.save_pretrained(args.model)
    print(f"saved to {args.model}")
    return EXIT_OK


# ------------------------------------------------------------------------------------- parser
def _add_encoding_args(p: argparse.ArgumentParser) -> None:
    """How ``predict`` and ``segment`` read page bytes."""
    p.add_argument("--encoding", default="auto", metavar="NAME",
                   help="encoding of .txt pages: 'auto' (default: UTF-8, else detected among GB18030/GBK, Big5 "
                        "and UTF-16 with charset-normalizer) or a codec name such as gb18030, big5, utf-16")
    p.add_argument("--encoding-errors", choices=["strict", "replace"], default="strict",
                   help="undecodable bytes: 'strict' reports the page, 'replace' decodes with U+FFFD")


def build_parser() -> argparse.ArgumentParser:
    from newsseg import __version__
    from newsseg.data import commands as data_commands
    from newsseg.ocr import commands as ocr_commands
    from newsseg import bench
    from newsseg.evaluate import commands as eval_commands

    ap = argparse.ArgumentParser(prog="newsseg", description="Segment OCR'd Chinese newspaper pages into articles.")
    ap.add_argument("--version", action="version", version=f"newsseg {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a segmenter from a TOML recipe",
                       description="Train a segmenter (Hugging Face Trainer). Re-running into the same "
                                   "output directory resumes from the last checkpoint.")
    p.add_argument("config", help="TOML recipe, e.g. train/small.toml")
    p.add_argument("-o", "--output", help="output directory (default runs/<recipe name>)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value, e.g. --set training.num_train_epochs=1")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="segment pages into page-format JSONL",
                       description="Inputs may be .txt files (one page each), directories of them, or page "
                                   "JSONL. Exactly one output line per readable page; unreadable pages are "
                                   "reported and make the exit code 1. Exit code 2: a missing input, an "
                                   "unusable model or a bad option (nothing is written). The output appears "
                                   "only when the run completes; an interrupted run leaves .OUTPUT.partial, "
                                   "which --resume continues from.")
    p.add_argument("inputs", nargs="+", help=".txt / .jsonl files or directories")
    p.add_argument("-o", "--output", required=True, help="output JSONL (written atomically)")
    p.add_argument("--model", help=f"model directory (default: the shipped model, {shipped_model_dir()})")
    p.add_argument("--batch-size", type=int, default=8, help="windows per forward pass")
    _add_encoding_args(p)
    p.add_argument("--resume", action="store_true",
                   help="keep pages already in the output (or in an interrupted run's .partial) and skip them")
    p.add_argument("--quantize", choices=["none", "int8"], default=None, help="dynamic int8 quantisation")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes, each with its own model (default 1); output identical, same order")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch threads per process (default: cores / workers; on a busy machine, the free cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("segment", help="print the articles of pages, human-readable")
    p.add_argument("inputs", nargs="+", help=".txt / .jsonl files or directories")
    p.add_argument("--model", help=f"model directory (default: the shipped model, {shipped_model_dir()})")
    _add_encoding_args(p)
    p.set_defaults(func=cmd_segment)

    p = sub.add_parser("fit-decoder", help="re-fit a model's line head, linking weights and article topic model",
                       description="What `newsseg train` does after training, on its own: fit the line-level "
                                   "tagger and the linking weights on gold pages (use decoder-fit pages, e.g. "
                                   "`newsseg compose --split fit`, never evaluation pages), fit the article-level "
                                   "topic model on the corpus's training split and its weight on the same pages, "
                                   "and save them into the model directory.")
    p.add_argument("model", help="model directory (updated in place)")
    p.add_argument("pages", help="gold page JSONL, e.g. the model dir's composed-eval.jsonl")
    p.add_argument("--no-line-head", action="store_true", help="fit linking weights only (Viterbi tagging)")
    p.add_argument("--no-article-topic", action="store_true", help="do not fit the article-level topic model")
    p.add_argument("--topic-only", action="store_true", help="fit only the article-level topic model")
    p.add_argument("--corpus", default=None, help="corpus whose training split the topic model reads "
                   "(default: the repository's data/corpus)")
    p.set_defaults(func=cmd_fit_decoder)

    data_commands.register(sub)
    ocr_commands.register(sub)
    eval_commands.register(sub)
    bench.register(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
