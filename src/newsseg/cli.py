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
from typing import Sequence

from newsseg.paths import shipped_model_dir
from newsseg.predict import predict_files, predict_isolated, read_reporting

__all__ = ["main", "build_parser", "predict_files"]

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
    from newsseg.train.rundir import clear_run, finished_run

    if args.overwrite:
        removed = clear_run(out)
        if removed:
            _err(f"--overwrite: removed {', '.join(removed)} from {out}")
    elif done := finished_run(out, cfg.training):
        _err(f"{out} holds a finished run ({done} is written) that already trained as far as the recipe "
             "asks; nothing to resume. Pass --overwrite to train again from scratch, or -o another directory")
        return EXIT_USAGE
    from newsseg.train.trainer import train

    t0 = time.time()
    metrics = train(cfg, out)
    print(json.dumps({k: v for k, v in metrics.items() if isinstance(v, (int, float))}, indent=2))
    print(f"model written to {out} in {time.time() - t0:.0f} s")
    return EXIT_OK


# ------------------------------------------------------------------------------------- predict
def _model_load_error() -> type[Exception]:
    from newsseg.model.segmenter import ModelLoadError  # imports torch: only once the usage is known good

    return ModelLoadError


def _report_not_pages(not_pages: list[str]) -> None:
    if not_pages:
        shown = ", ".join(not_pages[:5]) + (f" and {len(not_pages) - 5} more" if len(not_pages) > 5 else "")
        _err(f"skipped {len(not_pages)} files that are not .txt or .jsonl pages: {shown}")


def cmd_predict(args: argparse.Namespace) -> int:
    if args.batch_size < 1 or args.workers < 1 or (args.threads is not None and args.threads < 1):
        _err("--batch-size, --workers and --threads must be at least 1")
        return EXIT_USAGE
    missing = [p for p in args.inputs if not Path(p).exists()]
    if missing:  # answered before torch is imported
        _err(f"no such file or directory: {', '.join(missing)}")
        return EXIT_USAGE
    if args.resume and args.format != "pages":
        _err("--resume needs --format pages")
        return EXIT_USAGE
    if args.quiet:
        _quiet_libraries()
    try:
        res = predict_files(args.inputs, args.output, args.model, args.batch_size, args.encoding_errors,
                            args.resume, args.quantize, progress=not args.quiet, workers=args.workers,
                            threads=args.threads, encoding=args.encoding, output_format=args.format,
                            traditional=args.traditional, review_below=args.review_below)
    except (OSError, ValueError) as e:
        _err(str(e))
        return EXIT_USAGE
    except Exception as e:
        if isinstance(e, _model_load_error()):
            _err(str(e))
            return EXIT_USAGE
        raise
    _report_not_pages(res["not_pages"])
    print(f"{res['written']} pages written to {res['output']}"
          + (f", {res['kept']} kept from the earlier run" if res["kept"] else "")
          + (f", {res['skipped']} already there" if res["skipped"] else "")
          + (f", {res['converted']} in traditional characters read as simplified" if res["converted"] else "")
          + (f", {len(res['errors'])} failed (see above)" if res["errors"] else "")
          + (f"; {res['review']} for review (an article below {args.review_below} or none) in {res['review_output']}"
             if res.get("review") is not None else ""), file=sys.stderr)
    return EXIT_PARTIAL if res["errors"] else EXIT_OK


def _printable(s: str) -> str:
    # Lone surrogates cannot be written to a UTF-8 terminal; control characters would garble it.
    return "".join(c if c.isprintable() else "\ufffd" for c in s)


def _quiet_libraries() -> None:
    """``-q``: silence transformers' own bars and notices ("Loading weights …") too."""
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def cmd_segment(args: argparse.Namespace) -> int:
    """Print the articles of each page: human-readable (the README's main job), or JSONL records."""
    missing = [p for p in args.inputs if not Path(p).exists()]
    if missing:
        _err(f"no such file or directory: {', '.join(missing)}")
        return EXIT_USAGE
    if args.quiet or args.json:
        _quiet_libraries()
    from newsseg.data.articles import article_records
    from newsseg.data.pages import dumps_json
    from newsseg.model.segmenter import ModelLoadError, Segmenter
    from newsseg.runtime import tune_allocator

    tune_allocator()
    try:
        seg = Segmenter.from_pretrained(args.model)
    except ModelLoadError as e:
        _err(str(e))
        return EXIT_USAGE
    seg.traditional = args.traditional
    errors: list[str] = []
    not_pages: list[str] = []
    pages = read_reporting(args.inputs, args.encoding_errors, errors, args.encoding, not_pages)
    for page in predict_isolated(seg, pages, 8, errors):
        if args.json:
            for rec in article_records(page):
                print(dumps_json(rec), flush=True)
            continue
        script = " (traditional characters, read as simplified)" if page.script else ""
        print(f"=== {_printable(page.id)}: {len(page.articles)} articles{script} ===")
        for a in page.articles:
            head = _printable(a.headline) or "(no headline)"
            body = _printable(a.body if args.full else a.body.replace("\n", ""))
            print(f"[{a.id}] {a.topic} ({a.score:.2f}) {len(a.spans)} spans | {head}")
            if args.full:
                print("\n".join(f"    {ln}" for ln in body.split("\n")))
            else:
                print(f"    {body[:60]}…{body[-20:]}" if len(body) > 80 else f"    {body}")
    _report_not_pages(not_pages)
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
    if args.calibration_only:
        from newsseg.train.score_fit import fit_score_calibration

        cal = fit_score_calibration(seg, pages)
        seg.save_pretrained(args.model)
        print(f"article score calibration fitted on {cal.get('n_articles', 0)} articles: ECE on those pages "
              f"{cal.get('ece_fit_raw', float('nan')):.3f} -> {cal.get('ece_fit_calibrated', float('nan')):.3f}; "
              f"saved to {args.model}")
        return EXIT_OK
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
        if seg.page_model is not None and seg.page_model.topic_head is not None:
            # the line states' share was fitted beside the old n-gram weight: fit it again beside the new one
            from newsseg.train.page_fit import fit_topic_state_weight, page_examples

            fit = fit_topic_state_weight(seg.page_model, page_examples(seg, pages, progress=False), seg)
            print(f"page model line-state topic share: macro-F1 by share {fit['macro_f1_by_weight']}, "
                  f"share {fit['weight']}")
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
    p.add_argument("--traditional", choices=["auto", "convert", "keep"], default="auto",
                   help="traditional-character pages: 'auto' (default) reads a page that looks traditional as "
                        "simplified, character for character (OpenCC), and marks it \"script\": \"traditional\"; "
                        "offsets and output text stay the original; 'convert' always, 'keep' never")


def build_parser() -> argparse.ArgumentParser:
    from newsseg import __version__
    from newsseg.data import commands as data_commands
    from newsseg.ocr import commands as ocr_commands
    from newsseg import select
    from newsseg.train import adapt, page_commands, pretrain_commands
    from newsseg import bench
    from newsseg.evaluate import commands as eval_commands

    ap = argparse.ArgumentParser(prog="newsseg", description="Segment OCR'd Chinese newspaper pages into articles.")
    ap.add_argument("--version", action="version", version=f"newsseg {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a segmenter from a TOML recipe",
                       description="Train a segmenter (Hugging Face Trainer). Re-running into the same "
                                   "output directory resumes an unfinished run from its last checkpoint (or trains a "
                                   "finished one on, when asked for more epochs); a finished run re-run as it was "
                                   "is refused unless --overwrite.")
    p.add_argument("config", help="TOML recipe, e.g. train/small.toml")
    p.add_argument("-o", "--output", help="output directory (default runs/<recipe name>)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value, e.g. --set training.num_train_epochs=1")
    p.add_argument("--overwrite", action="store_true",
                   help="start over: remove what an earlier run wrote into the output directory (checkpoints, "
                        "composed pages, cache, model files, metrics) and train from scratch")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="segment pages into page-format JSONL",
                       description="Inputs may be .txt files (one page each), directories of them, or page "
                                   "JSONL. Exactly one output line per readable page; unreadable pages are "
                                   "reported and make the exit code 1. Exit code 2: a missing input, an "
                                   "unusable model or a bad option (nothing is written). The output appears "
                                   "only when the run completes; an interrupted run leaves .OUTPUT.partial, "
                                   "which --resume continues from.")
    p.add_argument("inputs", nargs="+", help=".txt / .jsonl files or directories (read recursively; "
                   "extensions in any case; hidden files skipped; other files listed in a summary)")
    p.add_argument("-o", "--output", required=True, help="output file (written atomically)")
    p.add_argument("--model", help=f"model directory (default: the shipped model, {shipped_model_dir()})")
    p.add_argument("--batch-size", type=int, default=8, help="windows per forward pass")
    _add_encoding_args(p)
    p.add_argument("--resume", action="store_true",
                   help="keep pages already in the output (or in an interrupted run's .partial) whose id and text "
                        "are unchanged, and skip them")
    p.add_argument("--quantize", choices=["none", "int8"], default=None, help="dynamic int8 quantisation")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes, each with its own model (default 1); output identical, same order")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch threads per process (default: cores / workers; on a busy machine, the free cores)")
    p.add_argument("--format", choices=["pages", "articles", "csv"], default="pages",
                   help="pages: page-format JSONL, one line per page (default); articles: JSONL, one line per "
                        "article (page_id, source, article_id, topic, score, headline, body, spans); csv: the same "
                        "as CSV with a header")
    p.add_argument("--review-below", type=float, default=None, metavar="SCORE",
                   help="also write the pages with an article scored below SCORE (or with no article) to "
                        "OUTPUT's name + .review.jsonl, for a person to check (evaluate/README.md says what "
                        "scores mean)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars (transformers' included)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("segment", help="print the articles of pages, human-readable")
    p.add_argument("inputs", nargs="+", help=".txt / .jsonl files or directories (read recursively)")
    p.add_argument("--model", help=f"model directory (default: the shipped model, {shipped_model_dir()})")
    _add_encoding_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON line per article (as predict --format articles)")
    p.add_argument("--full", action="store_true", help="print each article's whole body, not an excerpt")
    p.add_argument("-q", "--quiet", action="store_true", help="no library progress bars")
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
    p.add_argument("--calibration-only", action="store_true",
                   help="fit only the article score calibration (isotonic: raw score -> share of articles "
                        "right on these pages), leaving the rest of the decoder as it is")
    p.add_argument("--corpus", default=None, help="corpus whose training split the topic model reads "
                   "(default: the repository's data/corpus)")
    p.set_defaults(func=cmd_fit_decoder)

    data_commands.register(sub)
    page_commands.register(sub)
    pretrain_commands.register(sub)
    adapt.register(sub)
    select.register(sub)
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
