"""``newsseg fit-page-model``: train the page model on top of a trained segmenter (thin CLI wrapper)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any


def cmd_fit_page_model(args: argparse.Namespace) -> int:
    """Train the page model on gold pages, fit its threshold on decoder-fit pages, save a new model dir."""
    from newsseg.cli import EXIT_OK, EXIT_USAGE, _err
    from newsseg.data.pages import PageFormatError, read_pages
    from newsseg.model.segmenter import ModelLoadError, Segmenter
    from newsseg.train.args import PageFitArguments, build_from_pairs
    from newsseg.train.page_fit import cache_key, fit_line_inputs, fit_page_model
    from newsseg.train.score_fit import fit_score_calibration

    try:
        pa = build_from_pairs(PageFitArguments, args.set, "page_model")
        if (args.linking_only or args.calibrate) and not args.fit:
            raise ValueError("--linking-only and --calibrate fit on decoder-fit pages: give them with --fit")
        if not args.train and not args.linking_only:
            raise ValueError("--train: give the gold page files to train on (or --linking-only)")
        seg = Segmenter.from_pretrained(args.model)
        train = [p for f in args.train for p in read_pages(f, topics=None)]
        fit = [p for f in args.fit for p in read_pages(f, topics=None)]
    except (ValueError, ModelLoadError, PageFormatError, OSError) as e:
        _err(str(e))
        return EXIT_USAGE
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    if args.linking_only:
        from newsseg.train.page_fit import fit_linking, fit_topic_state_weight, page_examples

        if seg.page_model is None:
            _err(f"--linking-only: {args.model} has no page model to re-fit")
            return EXIT_USAGE
        examples = page_examples(seg, fit, progress=not args.quiet, desc="page model: encoder pass (fit)")
        linking = fit_linking(seg.page_model, examples, seg.config.topic_labels, seg.config.link)
        if seg.page_model.topic_head is not None:
            linking["topic_state_weight"] = fit_topic_state_weight(seg.page_model, examples, seg)
        if args.calibrate:
            linking["score_calibration"] = fit_score_calibration(seg, fit)
        seg.save_pretrained(out)
        print(f"page model linking re-fitted on {len(examples)} pages: {json.dumps(linking)}; saved to {out}")
        return EXIT_OK
    cache = None if args.no_cache else Path(args.cache_dir) / f"{cache_key(args.model, args.train, *fit_line_inputs(seg, pa))}.npz"
    try:
        report = fit_page_model(seg, train, fit, pa, out / "page-trainer", progress=not args.quiet, cache=cache)
    except ValueError as e:
        _err(str(e))
        return EXIT_USAGE
    if args.calibrate:
        report["score_calibration"] = fit_score_calibration(seg, fit)
    seg.save_pretrained(out)
    report = {**report, "args": asdict(pa), "base_model": str(args.model),
              "train_files": list(args.train), "fit_files": list(args.fit)}
    (out / "page_model_metrics.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    if not fit:  # a warm start without fit pages keeps the continued model's linking
        print(f"page model continued on {report['train_pages']} pages, its fitted linking kept; saved to {out}")
        return EXIT_OK
    if "end_to_end" in report:
        e2e = report["end_to_end"]
        print(f"encoder and page model trained end to end on {e2e['pages']} pages ({e2e['steps']} steps, "
              f"{e2e['seconds']:.0f} s)")
    trained = f"trained on {report['train_pages']} pages" if pa.epochs > 0 else "kept as it was (epochs=0)"
    print(f"page model {trained}; decoder objective on {report['fit_pages']} fit "
          f"pages: pair head {report['objective_pair_head']:.4f}, stacked linker "
          f"{report.get('objective_stacked', float('nan')):.4f} ({'kept' if report['stacked'] else 'not kept'}); "
          f"saved to {out}")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``fit-page-model`` to the CLI."""
    p = sub.add_parser("fit-page-model", help="train the page-level model (line transformer, CRF, linker) on a segmenter",
                       description="Run a trained segmenter's encoder over gold pages, train the page model on their "
                                   "line vectors (Hugging Face Trainer), search its merge threshold on decoder-fit "
                                   "pages (never evaluation pages) and save encoder + page model to OUTPUT.")
    p.add_argument("--model", required=True, help="trained segmenter directory (its encoder stays as it is)")
    p.add_argument("--train", nargs="+", default=[], help="gold page JSONL to train on (composed/OCR'd training pages)")
    p.add_argument("--fit", nargs="+", default=[],
                   help="gold page JSONL of the decoder-fit split (threshold and linker search); may be left out "
                        "with --set warm_start=true, which then keeps the continued page model's linking")
    p.add_argument("-o", "--output", required=True, help="output model directory")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="page model setting, e.g. --set layers=0 --set epochs=4 (see PageFitArguments)")
    p.add_argument("--cache-dir", default="runs/page-cache",
                   help="where the training pages' line vectors are kept, keyed by encoder and page files, so "
                        "another page-model setting skips the encoder pass (default runs/page-cache)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--linking-only", action="store_true",
                   help="keep --model's page model; only re-fit its threshold and stacked linker on --fit pages")
    p.add_argument("--calibrate", action="store_true",
                   help="also fit the article score calibration on the --fit pages (newsseg.train.score_fit)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_fit_page_model)
