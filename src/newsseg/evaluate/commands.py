"""The ``newsseg evaluate`` verb: a thin wrapper over :func:`newsseg.evaluate.runner.evaluate`."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from newsseg.paths import shipped_model_dir


def register(subparsers: Any) -> None:
    """Add ``evaluate`` to the ``newsseg`` command's subparsers."""
    p = subparsers.add_parser(
        "evaluate", help="score a model / predictions / baselines on gold pages",
        description="Score a model, a prediction file and/or the baselines on gold pages (docs/SPEC.md §3), "
                    "print a side-by-side table and optionally write a report (metrics.json, report.md, "
                    "confusion PNGs, pages.html).")
    p.add_argument("gold", metavar="GOLD.jsonl", help="gold pages (page-format JSONL)")
    p.add_argument("--model", metavar="DIR", default=None, help=f"model directory (default: the shipped model, {shipped_model_dir()})")
    p.add_argument("--no-model", action="store_true", help="do not run a model (score --pred and/or --baselines only)")
    p.add_argument("--pred", metavar="PRED.jsonl", default=None,
                   help="score these page-format predictions (matched by page id); without --model no model is run")
    p.add_argument("--baselines", action="store_true", help="also fit and score the rule and scikit-learn baselines")
    p.add_argument("-o", "--output", metavar="REPORT_DIR", default=None, help="write the report into this directory")
    p.add_argument("--batch-size", type=int, default=8, metavar="N", help="model batch size (default 8)")
    p.add_argument("--quantize", choices=["none", "int8"], default=None,
                   help="run the model with dynamic int8 quantisation of its Linear layers")
    p.add_argument("--train-pages", type=int, default=None, metavar="N",
                   help="pages to compose for the baselines' training (default: the model's recipe, else 500)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the verb; 0 on success, 2 on bad input (message on stderr)."""
    from newsseg.data.pages import PageFormatError
    from newsseg.evaluate.runner import EvaluationInputError, evaluate

    if args.batch_size < 1 or (args.train_pages is not None and args.train_pages < 1):
        print("newsseg evaluate: --batch-size and --train-pages must be at least 1", file=sys.stderr)
        return 2
    # The exact command, recorded in report.md so every number there can be reproduced.
    opts = [("--model", args.model), ("--pred", args.pred), ("-o", args.output),
            ("--batch-size", args.batch_size if args.batch_size != 8 else None), ("--train-pages", args.train_pages),
            ("--quantize", args.quantize)]
    command = " ".join(["newsseg evaluate", shlex.quote(args.gold),
                        *(f"{k} {shlex.quote(str(v))}" for k, v in opts if v is not None),
                        *(["--no-model"] if args.no_model else []), *(["--baselines"] if args.baselines else [])])
    try:
        evaluate(args.gold, model=args.model, pred=args.pred, baselines=args.baselines, out_dir=args.output,
                 batch_size=args.batch_size, train_pages=args.train_pages, no_model=args.no_model,
                 quantize=args.quantize, command=command)
    except (EvaluationInputError, PageFormatError) as e:
        print(f"newsseg evaluate: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the report could not be written: full disk, no permission, a file in the way
        print(f"newsseg evaluate: cannot write the report: {e}", file=sys.stderr)
        return 1
    return 0
