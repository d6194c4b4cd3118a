"""``newsseg pretrain``: masked-language-model pretraining on unlabelled pages (thin CLI wrapper)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def cmd_pretrain(args: argparse.Namespace) -> int:
    """Pretrain the character encoder on page text; print the report's headline numbers."""
    from newsseg.cli import EXIT_OK, EXIT_USAGE, _err
    from newsseg.train.args import build_from_pairs
    from newsseg.train.pretrain import PretrainArguments, pretrain

    try:
        pa = build_from_pairs(PretrainArguments, args.set, "pretrain")
        if not args.pages and not args.corpus:
            raise ValueError("give unlabelled pages (.txt/.jsonl files or directories) or --corpus")
        report = pretrain(args.pages, args.output, pa, corpus=args.corpus, progress=not args.quiet)
    except (ValueError, OSError) as e:
        _err(str(e))
        return EXIT_USAGE
    print(json.dumps({k: report[k] for k in ("pages", "corpus_articles", "windows", "steps", "train_loss",
                                               "eval_loss", "eval_perplexity", "train_runtime_s")}))
    print(f"saved to {args.output}; fine-tune it with: newsseg train RECIPE --set model.base_model={args.output}")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``pretrain`` to the CLI."""
    p = sub.add_parser("pretrain", help="masked-language-model pretraining of the encoder on unlabelled pages",
                       description="Adapt the character encoder to an archive's own text before any labels: masked "
                                   "characters (Hugging Face Trainer, DataCollatorForLanguageModeling) over pages cut "
                                   "into windows with the segmenter's tokenizer, [NL] layout tokens and line-length "
                                   "features. Writes a BERT checkpoint that `newsseg train RECIPE --set "
                                   "model.base_model=OUTPUT` fine-tunes. Re-running into OUTPUT resumes.")
    p.add_argument("pages", nargs="*", help="unlabelled pages: .txt files, .jsonl page files (spans ignored) or "
                                            "directories of them")
    p.add_argument("-o", "--output", required=True, help="output checkpoint directory")
    p.add_argument("--corpus", help="also read this corpus's training-split articles (never held-out or fit ones)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="pretraining setting, e.g. --set epochs=2 --set base_model=scratch-small (see PretrainArguments)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_pretrain)
