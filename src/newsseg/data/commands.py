"""Data verbs of the ``newsseg`` command: ``compose``, ``import``, ``export``, ``corpus-stats``, ``validate``.

``cli.py`` calls :func:`register` with its subparsers; each verb is a thin wrapper over a plain
function of :mod:`newsseg.data` and returns an exit code (0 only on success).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from newsseg.data.corpus import DEFAULT_CORPUS_DIR, CorpusError
from newsseg.data.pages import DEFAULT_TOPICS


def _parse_sets(items: list[str]) -> dict[str, str]:
    out = {}
    for it in items:
        if "=" not in it:
            raise ValueError(f"--set expects knob=value, got {it!r}")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def cmd_compose(args: argparse.Namespace) -> int:
    from newsseg.data.composer import compose
    try:
        knobs: dict[str, Any] = _parse_sets(args.set or [])
        if args.noise_rate is not None:
            knobs["noise_rate"] = args.noise_rate
        res = compose(args.corpus, args.pages, args.seed, args.out, progress=not args.quiet, split=args.split,
                      **knobs)
    except (ValueError, OSError) as e:  # CorpusError and bad knobs are ValueErrors
        print(f"newsseg compose: {e}", file=sys.stderr)
        return 1
    print(f"wrote {res['pages']} pages ({res['articles']} articles, {res['spans']} spans, "
          f"{res['chars']} chars) from {res['corpus_articles']} {args.split} articles to {res['out']} "
          f"in {res['seconds']} s")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Predicted pages -> Label Studio tasks with pre-annotations, plus the labelling config."""
    from pathlib import Path

    from newsseg.data.labelstudio import labelstudio_config, labelstudio_tasks
    from newsseg.data.pages import PageFormatError, read_pages

    try:
        pages = list(read_pages(args.pred, topics=None))
    except (PageFormatError, OSError) as e:
        print(f"newsseg export: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    config = Path(args.config) if args.config else out.with_name("labels.xml")
    topics = list(DEFAULT_TOPICS) + sorted({a.topic for p in pages for a in p.articles} - set(DEFAULT_TOPICS))
    n_arts = max([len(p.articles) for p in pages] + [1])
    out.write_text(json.dumps(labelstudio_tasks(pages, args.model_version), ensure_ascii=False, indent=1) + "\n",
                   encoding="utf-8")
    config.write_text(labelstudio_config(n_arts, topics), encoding="utf-8")
    print(f"wrote {len(pages)} tasks ({sum(len(p.articles) for p in pages)} pre-annotated articles) to {out} "
          f"and the labelling config ({n_arts} article keys) to {config}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from newsseg.data.importers import AnnotationImportError, import_doccano, import_labelstudio
    from newsseg.data.pages import write_pages
    errors: list[str] = []
    fn = import_labelstudio if args.tool == "labelstudio" else import_doccano
    try:
        kw = {"use_predictions": True} if getattr(args, "predictions", False) else {}
        pages = fn(args.file, topics=None if args.any_topic else DEFAULT_TOPICS, errors=errors, **kw)
    except AnnotationImportError as e:
        print(f"newsseg import: {e}", file=sys.stderr)
        return 1
    for msg in errors:
        print(msg, file=sys.stderr)
    n = write_pages(pages, args.out)
    print(f"imported {n} pages ({sum(len(p.articles) for p in pages)} articles) to {args.out}"
          + (f"; {len(errors)} problem(s) reported, their tasks skipped" if errors else ""))
    return 1 if errors else 0


def cmd_corpus_stats(args: argparse.Namespace) -> int:
    from newsseg.data.corpus import corpus_stats, format_stats, load_corpus
    try:
        stats = corpus_stats(load_corpus(args.corpus, split=args.split))
    except (CorpusError, OSError) as e:
        print(f"newsseg corpus-stats: {e}", file=sys.stderr)
        return 1
    print(json.dumps(stats, ensure_ascii=False, indent=2) if args.json else format_stats(stats))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from newsseg.data.pages import PageError, iter_pages
    n_ok = n_bad = 0
    for item in iter_pages(args.pages, validate=True, topics=None if args.any_topic else DEFAULT_TOPICS):
        if isinstance(item, PageError):
            print(str(item), file=sys.stderr)
            n_bad += 1
        else:
            n_ok += 1
    print(f"{n_ok} valid page(s), {n_bad} with errors")
    return 1 if n_bad or not n_ok else 0


def register(subparsers: Any) -> None:
    """Add the data verbs to an ``argparse`` subparsers object (from ``add_subparsers()``)."""
    p = subparsers.add_parser(
        "compose", help="compose synthetic training pages from the corpus",
        description="Compose OCR-like pages from the training split of a corpus (held-out articles "
                    "are never used). Deterministic: the same seed gives the same pages.")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS_DIR), help="corpus directory or .jsonl file "
                   "(default: %(default)s)")
    p.add_argument("--pages", type=int, default=1000, help="number of pages (default: %(default)s)")
    p.add_argument("--seed", default="0", help="random seed (default: %(default)s)")
    p.add_argument("-o", "--out", required=True, help="output page JSONL")
    p.add_argument("--noise-rate", type=float, default=None, help="OCR noise rate, share of characters "
                   "(default: the composer's 0.01; 0 for clean pages)")
    p.add_argument("--set", action="append", metavar="KNOB=VALUE",
                   help="set a composer knob (JSON value), e.g. --set width_max=16; see data/README.md")
    p.add_argument("--split", choices=["train", "fit", "heldout"], default="train",
                   help="'heldout' composes evaluation pages from held-out articles only (never train on them); "
                        "'fit' composes decoder-fit pages from the decoder-fit split (default: %(default)s)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_compose)

    p = subparsers.add_parser(
        "import", help="import Label Studio or doccano annotations as page JSONL",
        description="Convert an annotation-tool export into page JSONL, checking every span's text "
                    "and offsets (UTF-16 offsets from Label Studio are corrected). Labels are "
                    "ROLE:ARTICLE[:TOPIC], e.g. body:a1:projects (see data/ANNOTATION.md).")
    p.add_argument("tool", choices=("labelstudio", "doccano"), help="which tool exported FILE")
    p.add_argument("file", help="Label Studio JSON export or doccano JSONL export")
    p.add_argument("-o", "--out", required=True, help="output page JSONL")
    p.add_argument("--any-topic", action="store_true", help="accept topics outside the default five")
    p.add_argument("--predictions", action="store_true",
                   help="Label Studio: a task without an annotation is read from its first prediction "
                        "(pre-annotations accepted as they are)")
    p.set_defaults(func=cmd_import)

    p = subparsers.add_parser(
        "export", help="export predictions as Label Studio tasks with pre-annotations",
        description="Write each predicted page (newsseg predict output) as a Label Studio task whose "
                    "predictions are the model's spans (labels ROLE:ARTICLE) and topics (topic_ARTICLE "
                    "choices), with a score per span and per task, and the matching labelling config. "
                    "Import the corrected export with `newsseg import labelstudio` (data/ANNOTATION.md).")
    p.add_argument("tool", choices=("labelstudio",), help="annotation tool")
    p.add_argument("pred", help="predicted page JSONL (newsseg predict -o …)")
    p.add_argument("-o", "--out", required=True, help="tasks JSON to import into Label Studio")
    p.add_argument("--config", default=None, help="labelling config XML (default: labels.xml beside --out)")
    p.add_argument("--model-version", default="newsseg", help="model_version written on each prediction")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser("corpus-stats", help="print corpus statistics",
                              description="Articles per topic and subject, body lengths, headline "
                                          "styles and lengths, lead styles, byline positions, captions, "
                                          "distinct characters and 4-gram diversity.")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS_DIR), help="corpus directory or .jsonl file "
                   "(default: %(default)s)")
    p.add_argument("--split", choices=("all", "train", "fit", "heldout"), default="all",
                   help="train: articles of training pages; fit: of decoder-fit pages; heldout: of "
                        "evaluation pages (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_corpus_stats)

    p = subparsers.add_parser("validate", help="check page JSONL files against the page format",
                              description="Validate pages (offsets, roles, topics, overlaps); prints "
                                          "each error as FILE:LINE: problem; exits 1 on any error "
                                          "or when no page was read.")
    p.add_argument("pages", nargs="+", help="page JSONL files or directories")
    p.add_argument("--any-topic", action="store_true", help="accept topics outside the default five")
    p.set_defaults(func=cmd_validate)
