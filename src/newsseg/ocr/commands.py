"""``newsseg render``: composed pages as newspaper images, read by Tesseract, with gold from its boxes."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import time
from pathlib import Path
from typing import Any


def _render_knobs(items: list[str]) -> dict[str, Any]:
    """``knob=value`` strings as RenderConfig values, typed like the knob's default."""
    from newsseg.ocr.render import RenderConfig

    defaults = RenderConfig()
    out: dict[str, Any] = {}
    for it in items:
        k, sep, v = it.partition("=")
        k = k.strip()
        if not sep or not hasattr(defaults, k):
            raise ValueError(f"--set expects a render knob=value, got {it!r}; knobs: "
                             f"{', '.join(f.name for f in dataclasses.fields(RenderConfig))}")
        d = getattr(defaults, k)
        out[k] = tuple(float(x) for x in v.split(",")) if isinstance(d, tuple) else type(d)(v)
    return out


def cmd_render(args: argparse.Namespace) -> int:
    from newsseg.data.corpus import load_corpus
    from newsseg.data.pages import write_pages
    from newsseg.ocr.engine import INSTALL_HINT, tesseract_available
    from newsseg.ocr.render import RenderConfig
    from newsseg.ocr.store import OcrSettings, build_ocr_pages

    if not tesseract_available():
        print(f"newsseg render: tesseract with chi_sim data is not installed; {INSTALL_HINT}", file=sys.stderr)
        return 2
    try:
        settings = OcrSettings(seed=args.seed, render=RenderConfig.from_dict(_render_knobs(args.set or [])),
                               psm=args.psm)
        articles = load_corpus(args.corpus, split=args.split) if args.corpus else load_corpus(split=args.split)
    except (ValueError, OSError) as e:
        print(f"newsseg render: {e}", file=sys.stderr)
        return 2
    t0 = time.time()
    pages, stats, folder = build_ocr_pages(articles, args.pages, settings, args.cache, args.workers,
                                           keep_images=bool(args.images), progress=not args.quiet)
    write_pages(pages, args.out)
    if args.images:
        Path(args.images).mkdir(parents=True, exist_ok=True)
        for i, page in enumerate(pages):
            shutil.copyfile(folder / "images" / f"{i:05d}.png", Path(args.images) / f"{page.id}.png")
    secs = time.time() - t0
    print(f"wrote {len(pages)} OCR'd pages from {len(articles)} {args.split} articles to {args.out} "
          f"in {secs:.0f} s (cache {folder})")
    print(f"gold: {stats.chars} OCR characters, {stats.by_box / max(1, stats.chars):.1%} settled by boxes, "
          f"{stats.by_alignment / max(1, stats.chars):.1%} by alignment, {stats.unowned / max(1, stats.chars):.1%} "
          f"unowned; box/alignment agreement {stats.agreement:.2%} over {stats.both} characters; "
          f"one difflib alignment pairs {stats.coverage:.1%} of drawn article characters (reading order across "
          f"gutters defeats a single alignment: boxes decide)")
    return 0


def register(sub: Any) -> None:
    """Add the ``render`` verb."""
    p = sub.add_parser(
        "render", help="render composed pages as images, OCR them with Tesseract, write gold page JSONL",
        description="Lay out corpus articles as newspaper page images (3–6 columns, headlines over 1–3 "
                    "columns, photos, rules, furniture, blur and speckle), read them with Tesseract "
                    "(chi_sim), and label what the engine wrote from its character boxes. Pages are cached "
                    "(see --cache) and built in parallel; an interrupted run resumes.")
    p.add_argument("-o", "--out", required=True, help="output page JSONL")
    p.add_argument("-n", "--pages", type=int, default=20, help="number of pages (default 20)")
    p.add_argument("--split", default="train", choices=("train", "fit", "heldout", "all"),
                   help="corpus split the articles come from (default train; heldout for evaluation pages)")
    p.add_argument("--seed", default="0", help="page seed (page i depends only on seed, i and the articles)")
    p.add_argument("--corpus", default=None, help="corpus directory (default: the shipped corpus)")
    p.add_argument("--images", default=None, help="also copy the page images (PNG) into this folder")
    p.add_argument("--cache", default=None, help="cache folder (default $NEWSSEG_CACHE/ocr or ~/.cache/newsseg/ocr)")
    p.add_argument("--workers", type=int, default=None, help="parallel processes (default: all cores)")
    p.add_argument("--psm", type=int, default=3, help="Tesseract page segmentation mode (default 3, automatic)")
    p.add_argument("--set", action="append", metavar="KNOB=VALUE", help="a RenderConfig knob, e.g. columns_max=4")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_render)
