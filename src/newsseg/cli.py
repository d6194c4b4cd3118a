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

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


def _err(msg: str) -> None:
    print(f"newsseg: {msg}", file=sys.stderr)


# --------------------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    from newsseg.train.args import load_config

    try:
        cfg = load_config(args.config, args.set)
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
def predict_files(inputs: Sequence[str], output: str, model: str | None = None, batch_size: int = 8,
                  encoding_errors: str = "strict", resume: bool = False, quantize: str | None = None,
                  progress: bool = True) -> dict[str, Any]:
    """Segment every page of ``inputs`` into ``output`` (JSONL, written atomically).

    Returns ``{"written": n, "skipped": n, "errors": [str, ...]}``; unreadable pages are reported,
    never dropped silently. ``resume=True`` keeps the pages already in ``output`` and skips them.
    """
    from tqdm import tqdm

    from newsseg.data.pages import Page, PageError, iter_pages
    from newsseg.model.segmenter import Segmenter

    seg = Segmenter.from_pretrained(model, quantize=quantize)
    out = Path(output)
    done: set[str] = set()
    kept: list[str] = []
    if resume and out.exists():
        for line in out.read_text(encoding="utf-8").splitlines():
            try:
                done.add(json.loads(line)["id"])
                kept.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                break  # a torn last line from an interrupted run: recompute it
    errors: list[str] = []
    skipped = 0

    def readable() -> Iterator[Page]:
        nonlocal skipped
        for item in iter_pages(inputs, encoding="utf-8", errors=encoding_errors):
            if isinstance(item, PageError):
                errors.append(str(item))
                _err(str(item))
            elif item.id in done:
                skipped += 1
            else:
                yield Page(item.id, item.text, [])

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    n = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        for line in kept:
            fh.write(line + "\n")
        for page in tqdm(seg.predict_pages(readable(), batch_size=batch_size), desc="pages", unit="page",
                         disable=not progress):
            fh.write(page.to_json() + "\n")
            n += 1
    tmp.replace(out)  # atomic: an interrupted run never leaves a complete-looking output
    return {"written": n, "kept": len(kept), "skipped": skipped, "errors": errors, "output": str(out)}


def cmd_predict(args: argparse.Namespace) -> int:
    from newsseg.model.segmenter import ModelLoadError

    try:
        res = predict_files(args.inputs, args.output, args.model, args.batch_size, args.encoding_errors,
                            args.resume, args.quantize, progress=not args.quiet)
    except ModelLoadError as e:
        _err(str(e))
        return EXIT_USAGE
    print(f"{res['written']} pages written to {res['output']}"
          + (f", {res['skipped']} already there" if res["skipped"] else "")
          + (f", {len(res['errors'])} could not be read" if res["errors"] else ""), file=sys.stderr)
    return EXIT_PARTIAL if res["errors"] else EXIT_OK


def cmd_segment(args: argparse.Namespace) -> int:
    """Print the articles of each page in a human-readable form (the README's main job)."""
    from newsseg.data.pages import PageError, iter_pages
    from newsseg.model.segmenter import Segmenter

    seg = Segmenter.from_pretrained(args.model)
    items = list(iter_pages(args.inputs))
    failed = False
    for item in items:
        if isinstance(item, PageError):
            _err(str(item))
            failed = True
            continue
        page = seg.predict(item.text)
        print(f"=== {item.id}: {len(page.articles)} articles ===")
        for a in page.articles:
            head = a.headline.replace("\n", " / ") or "(no headline)"
            body = "".join(a.body.split())
            print(f"[{a.id}] {a.topic} ({a.score:.2f}) {len(a.spans)} spans | {head}")
            print(f"    {body[:60]}…{body[-20:]}" if len(body) > 80 else f"    {body}")
    return EXIT_PARTIAL if failed else EXIT_OK


# ------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from newsseg import __version__
    from newsseg.data import commands as data_commands
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
                                   "reported and make the exit code 1.")
    p.add_argument("inputs", nargs="+", help=".txt / .jsonl files or directories")
    p.add_argument("-o", "--output", required=True, help="output JSONL (written atomically)")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--batch-size", type=int, default=8, help="windows per forward pass")
    p.add_argument("--encoding-errors", choices=["strict", "replace"], default="strict",
                   help="invalid UTF-8: 'strict' reports the page, 'replace' decodes with U+FFFD")
    p.add_argument("--resume", action="store_true", help="keep pages already in the output and skip them")
    p.add_argument("--quantize", choices=["none", "int8"], default=None, help="dynamic int8 quantisation")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("segment", help="print the articles of pages, human-readable")
    p.add_argument("inputs", nargs="+", help=".txt / .jsonl files or directories")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.set_defaults(func=cmd_segment)

    data_commands.register(sub)
    eval_commands.register(sub)
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
