"""``newsseg adapt``: fine-tune a trained model on a few corrected pages of a new paper.

The last step of the correction loop (data/ANNOTATION.md): an archive has corrected 10–50 pages of its
own paper in Label Studio and wants the shipped model to learn from them, in minutes, without the
training corpus. Two steps, each continuing what the model already has:

1. optionally (``encoder_epochs > 0``) the encoder and both token heads a few epochs on the corrected
   pages' windows, at a low learning rate;
2. the page model, warm-started (:func:`newsseg.train.page_fit.fit_page_model` with ``warm_start``), on
   the line vectors of the adapted encoder.

The fitted linking, the article topic model and the score calibration are kept: refitting them on the
pages the model was just trained on would fit them to what it has memorised.

Example::

    from newsseg import Segmenter
    from newsseg.data.pages import read_pages
    from newsseg.train.adapt import AdaptArguments, adapt
    seg = Segmenter.from_pretrained("model")
    adapt(seg, read_pages("gold.jsonl"), AdaptArguments(), "runs/mine-work")
    seg.save_pretrained("runs/mine")
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # the CLI imports this module to register the verb: torch loads only when it runs
    from newsseg.data.pages import Page
    from newsseg.model.segmenter import Segmenter


@dataclass
class AdaptArguments:
    """``newsseg adapt`` settings (``--set key=value``); defaults chosen on decoder-fit pages of a simulated
    new paper (evaluate/active_loop.py), never on its evaluation pages."""

    # 0: on the simulated new paper, 5 encoder epochs at 1e-4 then the page model scored B³ 0.807 on the
    # val pages against 0.808 for the page model alone (evaluate/active_loop.py), at 20 pages.
    encoder_epochs: float = field(default=0.0, metadata={"help": "Passes of the encoder over the pages' windows (0: keep it)."})
    encoder_learning_rate: float = field(default=1e-4, metadata={"help": "AdamW peak learning rate of the encoder."})
    page_epochs: float = field(default=10.0, metadata={"help": "Passes of the page model over the pages (0: keep it)."})
    page_learning_rate: float = field(default=3e-4, metadata={"help": "AdamW peak learning rate of the page model."})
    batch_size: int = field(default=16, metadata={"help": "Windows (encoder) or pages (page model) per step."})
    seed: int = field(default=42, metadata={"help": "Seed of the data order."})


def fine_tune_encoder(seg: Segmenter, pages: Sequence[Page], args: AdaptArguments, work_dir: str | Path,
                      progress: bool = False) -> dict[str, Any]:
    """Continue training ``seg``'s encoder and token heads on ``pages`` (gold), in place."""
    import torch
    from transformers import Trainer, TrainingArguments

    from newsseg.data.pages import write_pages
    from newsseg.train.trainer import WindowCollator, windows_dataset

    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    write_pages(pages, work / "adapt-pages.jsonl")
    ds = windows_dataset([str(work / "adapt-pages.jsonl")], seg, 0.25, work / "cache")
    # No [UNK] dropout: the encoder's rare-character embeddings were tied when it was first trained.
    collator = WindowCollator(seg.tokenizer.pad_token_id, seg.vocab.unk_id, seg.tokenizer.all_special_ids)
    targs = TrainingArguments(
        output_dir=str(work / "encoder"), num_train_epochs=args.encoder_epochs, learning_rate=args.encoder_learning_rate,
        per_device_train_batch_size=args.batch_size, warmup_steps=0.1, weight_decay=0.01, lr_scheduler_type="linear",
        eval_strategy="no", save_strategy="no", logging_steps=50, report_to=[], seed=args.seed,
        disable_tqdm=not progress, use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0)
    trainer = Trainer(model=seg.model, args=targs, train_dataset=ds, data_collator=collator)
    trainer.model_accepts_loss_kwargs = False
    result = trainer.train()
    seg.model = trainer.model.eval()
    return {"windows": len(ds), "steps": result.global_step, "train_loss": result.training_loss}


def adapt(seg: Segmenter, pages: Sequence[Page], args: AdaptArguments, work_dir: str | Path,
          progress: bool = False) -> dict[str, Any]:
    """Fine-tune ``seg`` on corrected ``pages`` (see the module doc), in place; returns what was done."""
    from newsseg.train.args import PageFitArguments
    from newsseg.train.page_fit import fit_page_model

    if not pages or not any(p.articles for p in pages):
        raise ValueError("adapt needs corrected pages with articles")
    report: dict[str, Any] = {"pages": len(pages), "args": asdict(args)}
    if args.encoder_epochs > 0:
        report["encoder"] = fine_tune_encoder(seg, pages, args, work_dir, progress)
    if args.page_epochs > 0 and seg.page_model is not None:
        pa = replace(PageFitArguments(), warm_start=True, epochs=args.page_epochs, learning_rate=args.page_learning_rate,
                     batch_size=min(args.batch_size, len(pages)), seed=args.seed)
        report["page_model"] = fit_page_model(seg, pages, [], pa, Path(work_dir) / "page-model", progress)
    return report


def cmd_adapt(args: argparse.Namespace) -> int:
    """Adapt a model to corrected pages and save it to OUTPUT."""
    from newsseg.cli import EXIT_OK, EXIT_USAGE, _err
    from newsseg.data.pages import PageFormatError, read_pages
    from newsseg.model.segmenter import ModelLoadError, Segmenter
    from newsseg.train.args import build_from_pairs

    try:
        aa = build_from_pairs(AdaptArguments, args.set, "adapt")
        seg = Segmenter.from_pretrained(args.model)
        pages = [p for f in args.pages for p in read_pages(f, topics=seg.config.topic_labels)]
        out = Path(args.output)
        report = adapt(seg, pages, aa, out / "adapt-work", progress=not args.quiet)
    except (ValueError, ModelLoadError, PageFormatError, OSError) as e:
        _err(str(e))
        return EXIT_USAGE
    seg.save_pretrained(out)
    (out / "adapt_report.json").write_text(json.dumps({**report, "base_model": str(args.model),
                                                       "pages_files": list(args.pages)}, indent=2) + "\n")
    enc = report.get("encoder")
    enc_said = f"{enc['steps']} steps on {enc['windows']} windows" if enc else "kept"
    print(f"adapted {args.model or 'the shipped model'} to {len(pages)} pages (encoder: {enc_said}; page model: "
          f"{'continued' if 'page_model' in report else 'kept'}); saved to {out}")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``adapt`` to the CLI."""
    p = sub.add_parser("adapt", help="fine-tune a trained model on a few corrected pages of a new paper",
                       description="Continue a trained model's encoder and page model on corrected gold pages "
                                   "(e.g. `newsseg import labelstudio` output), keeping its fitted linking, topic "
                                   "model and score calibration; writes a new model directory.")
    p.add_argument("pages", nargs="+", help="gold page JSONL (corrected pages)")
    p.add_argument("-o", "--output", required=True, help="output model directory")
    p.add_argument("--model", default=None, help="model to adapt (default: the shipped model)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="e.g. --set encoder_epochs=0 (page model only); see AdaptArguments")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_adapt)
