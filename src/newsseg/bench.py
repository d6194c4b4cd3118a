"""``newsseg bench``: speed, overhead, memory and scaling of batch inference, printed as one table.

Every figure comes from one run on the same composed pages (``compose_pages(load_corpus("train"),
n, seed)``):

* ``newsseg predict``'s path (read JSONL -> :meth:`Segmenter.predict_pages` -> write JSONL), with the
  time of each stage, measured on the real code path by wrapping it (see :class:`StageClock`);
* the same encoder weights in a plain ``BertForTokenClassification`` run page by page through
  Hugging Face ``pipeline("token-classification", stride=...)``, what a user would write instead;
* the floor: the model's forward passes replayed on exactly the batches predict fed it;
* ``--quantize int8`` on the same pages, and optionally its quality change on gold pages;
* peak RSS (fresh subprocesses running ``predict``) for N1 vs N2 pages and for one 1 MB page;
* seconds per page as one page grows from 1k to 100k characters.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from newsseg.bench_clock import StageClock
from newsseg.bench_memory import rss_run
from newsseg.data.pages import Page
from newsseg.paths import shipped_model_dir

SCALING_CHARS = (1_000, 3_000, 10_000, 30_000, 100_000)
QUICK = {"pages": 6, "rss_pages": (20, 40), "big_page_mb": 0.02, "scaling": (1_000, 3_000), "dev": None,
         "train_steps": 3}


# ------------------------------------------------------------------------------------------ pages
def _compose_stream(n: int, seed: int) -> Iterator[Page]:
    from newsseg.data.composer import compose_pages
    from newsseg.data.corpus import load_corpus

    return compose_pages(load_corpus(split="train"), n, seed)


def bench_pages(n: int, seed: int = 0) -> list[Page]:
    """``n`` composed pages from the training split, without their gold articles."""
    return [Page(p.id, p.text) for p in _compose_stream(n, seed)]


def long_page(n_chars: int | None = None, n_bytes: int | None = None, seed: int = 1) -> Page:
    """One long page: composed pages joined by blank lines, cut to ``n_chars`` or ``n_bytes`` (UTF-8)."""
    want = n_chars if n_chars is not None else int(n_bytes or 0)  # a character is at least one byte
    parts, total = [], 0
    for p in _compose_stream(1 << 30, seed):
        parts.append(p.text)
        total += len(p.text) + 2
        if total >= want:
            break
    text = "\n\n".join(parts)
    text = text[:n_chars] if n_chars is not None else text.encode()[:n_bytes].decode(errors="ignore")
    return Page(f"long-{len(text)}", text)


# ------------------------------------------------------------------------------------- baselines
def hf_token_classifier(seg: Any) -> tuple[Any, Any]:
    """The segmenter's encoder and boundary head as a plain ``BertForTokenClassification`` + tokenizer."""
    import copy

    from transformers import BertConfig, BertForTokenClassification

    cfg = BertConfig.from_dict({k: v for k, v in seg.config.to_dict().items() if k != "model_type"})
    model = BertForTokenClassification(cfg).eval()
    state = {k: v for k, v in seg.model.state_dict().items() if k.startswith("bert.")}
    state["classifier.weight"] = seg.model.boundary_head.weight
    state["classifier.bias"] = seg.model.boundary_head.bias
    model.load_state_dict(state, strict=True)
    tok = copy.deepcopy(seg.tokenizer)
    tok.model_max_length = int(seg.config.max_position_embeddings)  # windows as long as predict's
    return model, tok


def pipeline_seconds(seg: Any, pages: Sequence[Page]) -> tuple[float, int]:
    """Seconds to run HF ``pipeline("token-classification", stride=...)`` page by page; its stride."""
    from transformers import pipeline

    model, tok = hf_token_classifier(seg)
    stride = int(round(seg.max_tokens * seg.config.window_overlap))  # the overlap predict uses
    pipe = pipeline("token-classification", model=model, tokenizer=tok, aggregation_strategy="simple",
                    stride=stride, device=-1)
    pipe(pages[0].text[:2000])  # warm-up, as for predict
    t = time.perf_counter()
    for p in pages:
        pipe(p.text)
    return time.perf_counter() - t, stride


# ------------------------------------------------------------------------------ predict / memory
def timed_predict(seg: Any, pages_file: Path, batch_size: int, clock: StageClock | None = None) -> float:
    """Seconds of predict's path on a JSONL file: read pages, predict, write JSONL (to a temp file)."""
    from newsseg.data.pages import iter_pages

    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "out.jsonl", "w", encoding="utf-8") as fh, \
            clock.attach() if clock else contextlib.nullcontext():
        t = time.perf_counter()
        pages = (Page(p.id, p.text) for p in iter_pages([pages_file]) if isinstance(p, Page))
        for page in seg.predict_pages(pages, batch_size=batch_size):
            fh.write(page.to_json() + "\n")
        return time.perf_counter() - t


# ------------------------------------------------------------------------------------------- run
def _quality(gold: str, model: str, quantize: str | None) -> float:
    from newsseg.evaluate.runner import evaluate

    res = evaluate(gold, model=model, quiet=True, quantize=quantize)
    return float(res["systems"]["model"]["overall"]["bcubed_f1"])


def run_bench(model: str, pages: int = 200, seed: int = 0, batch_size: int = 8, threads: int | None = None,
              rss_pages: Sequence[int] = (1_000, 10_000), rss_model: str | None = None, big_page_mb: float = 1.0,
              scaling: Sequence[int] = SCALING_CHARS, dev: str | None = None, pipeline: bool = True,
              int8: bool = True, workers: int = 0, repeat: int = 1, progress: bool = True,
              train_steps: int = 0) -> dict[str, Any]:
    """Run every measurement and return the figures (see :func:`format_table`).

    ``repeat > 1`` runs each timed measurement (predict, replay, pipeline, int8) that many times and
    keeps the fastest: on a shared machine other jobs only ever add time. ``train_steps > 0`` adds the
    training throughput rows (:mod:`newsseg.bench_train`).
    """
    import torch

    from newsseg.data.pages import write_pages
    from newsseg.distributed import available_cores
    from newsseg.model.segmenter import Segmenter
    from newsseg.runtime import tune_allocator

    def say(msg: str) -> None:
        if progress:
            print(f"[bench] {msg}", file=sys.stderr, flush=True)

    allocator = tune_allocator()  # as `newsseg predict` does; every row below runs in this process
    t = time.perf_counter()
    seg = Segmenter.from_pretrained(model, num_threads=threads)
    r: dict[str, Any] = {"model": model, "load_s": time.perf_counter() - t, "batch_size": batch_size,
                         "threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
                         "malloc_tuned": allocator,
                         "encoder": {k: getattr(seg.config, k) for k in ("num_hidden_layers", "hidden_size",
                                                                         "max_position_embeddings")},
                         "torch": torch.__version__, "cores": available_cores(), "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        sample = bench_pages(pages, seed)
        r.update(pages=len(sample), chars=sum(len(p.text) for p in sample), seed=seed)
        write_pages(sample, tmpd / "pages.jsonl")
        seg.predict(sample[0].text[:2000])  # warm-up: first calls build kernels and caches
        say(f"predict on {len(sample)} pages, then the pure forward on its batches")
        r["predict_s"] = r["floor_s"] = float("inf")
        for i in range(max(1, repeat)):
            clock = StageClock(seg, record=True)
            wall = timed_predict(seg, tmpd / "pages.jsonl", batch_size, clock)
            if wall < r["predict_s"]:
                r["predict_s"], r["stages"] = wall, dict(clock.seconds)
                r["page_forward_s"] = clock.page_forward
                r["windows"], r["batches"] = clock.windows, len(clock.batches)
            say(f"pure forward replay {i + 1}/{repeat}")
            r["floor_s"] = min(r["floor_s"], clock.replay())
            clock.batches.clear()
        if pipeline:
            say("HF pipeline, page by page")
            runs = [pipeline_seconds(seg, sample) for _ in range(max(1, repeat))]
            r["pipeline_s"], r["pipeline_stride"] = min(runs)
        if int8:
            say("int8")
            q = Segmenter.from_pretrained(model, quantize="int8")
            q.predict(sample[0].text[:2000])
            r["int8_s"] = min(timed_predict(q, tmpd / "pages.jsonl", batch_size) for _ in range(max(1, repeat)))
            del q
        if workers > 1:
            say(f"--workers {workers}")
            from newsseg.distributed import predict_parallel

            t = time.perf_counter()  # includes starting the workers and loading one model in each
            for _ in predict_parallel(sample, model, workers, batch_size):
                pass
            r["workers"], r["workers_s"] = workers, time.perf_counter() - t
        r["scaling"] = []
        for n in scaling:
            say(f"one page of {n} chars")
            page = long_page(n_chars=n)
            t = time.perf_counter()
            seg.predict(page.text, batch_size=batch_size)
            r["scaling"].append({"chars": len(page.text), "seconds": time.perf_counter() - t})
        rss_m = rss_model or model
        r["rss_model"], r["rss"] = rss_m, []
        if rss_pages:
            say(f"composing {max(rss_pages)} pages for the memory runs")
            big = tmpd / "rss.jsonl"
            write_pages((Page(p.id, p.text) for p in _compose_stream(max(rss_pages), seed)), big)
            for n in rss_pages:
                f = big if n == max(rss_pages) else _head(big, n, tmpd / f"rss-{n}.jsonl")
                say(f"memory: {n} pages in a fresh process")
                r["rss"].append({"pages": n, **rss_run(rss_m, f, batch_size, threads)})
        if big_page_mb:
            say(f"memory: one {big_page_mb:g} MB page in a fresh process")
            page = long_page(n_bytes=int(big_page_mb * 1_000_000))
            write_pages([page], tmpd / "big.jsonl")
            r["big_page"] = {"mb": big_page_mb, "chars": len(page.text), **rss_run(rss_m, tmpd / "big.jsonl",
                                                                                 batch_size, threads)}
    if train_steps:
        from newsseg.bench_train import train_throughput

        say(f"training: {train_steps} Trainer steps, then the pure forward + backward of the same batches")
        r["training"] = train_throughput(model, pages=max(pages, 20), steps=train_steps, seed=seed)
    r["load_after"] = os.getloadavg()[0]  # before the quality runs, which time nothing
    if dev:
        say(f"quality on {dev}: fp32 and int8")
        r["dev"] = {"gold": dev, "fp32": _quality(dev, model, None), "int8": _quality(dev, model, "int8")}
    return r


def _head(src: Path, n: int, dst: Path) -> Path:
    with open(src, encoding="utf-8") as fi, open(dst, "w", encoding="utf-8") as fo:
        for _, line in zip(range(n), fi):
            fo.write(line)
    return dst


# ----------------------------------------------------------------------------------------- table
def format_table(r: dict[str, Any]) -> str:
    """The benchmark as one Markdown table, with the setup above it."""
    chars, pages = r["chars"], r["pages"]
    cps = chars / r["predict_s"]
    enc = r["encoder"]
    rows = [("`newsseg predict` path (read JSONL, predict, write JSONL)",
             f"{cps:,.0f} chars/s, {pages / r['predict_s']:.2f} pages/s ({r['predict_s']:.1f} s)", "", "")]
    if "pipeline_s" in r:
        rows.append((f"HF `pipeline(\"token-classification\", stride={r['pipeline_stride']})`, page by page",
                     f"{chars / r['pipeline_s']:,.0f} chars/s ({r['pipeline_s']:.1f} s)",
                     f"predict / pipeline throughput: {r['pipeline_s'] / r['predict_s']:.2f}x", ">= 3x"))
    rows.append((f"pure forward on predict's {r['windows']:,} windows ({r['batches']} batches): the floor",
                 f"{chars / r['floor_s']:,.0f} chars/s ({r['floor_s']:.1f} s)",
                 f"predict wall = {r['predict_s'] / r['floor_s']:.2f}x floor "
                 f"({r['predict_s'] / r['stages']['forward']:.2f}x its own forward passes"
                 + (f"; {r['predict_s'] / (r['stages']['forward'] + r['page_forward_s']):.2f}x with the page model's"
                    if r.get("page_forward_s") else "") + ")", "<= 1.2x"))
    st = r["stages"]
    other = r["predict_s"] - sum(st.values())
    inner = (f" (of which its forward pass {r['page_forward_s'] / r['predict_s']:.1%})"
             if r.get("page_forward_s") else "")
    rows.append(("predict time by stage",
                 " / ".join(f"{k} {v / r['predict_s']:.1%}" + (inner if k == "page model" else "") for k, v in st.items())
                 + f" / other (read, windows, padding, write) {other / r['predict_s']:.1%}", "", ""))
    if "int8_s" in r:
        rows.append(("`predict --quantize int8` (dynamic int8 Linear layers)",
                     f"{chars / r['int8_s']:,.0f} chars/s ({r['int8_s']:.1f} s)",
                     f"{r['predict_s'] / r['int8_s']:.2f}x fp32", ">= 1.5x"))
    if "workers_s" in r:
        rows.append((f"`predict --workers {r['workers']}` (processes with cores/{r['workers']} threads each, "
                     "start-up included)", f"{chars / r['workers_s']:,.0f} chars/s ({r['workers_s']:.1f} s)",
                     f"{r['predict_s'] / r['workers_s']:.2f}x one process", ""))
    if "dev" in r:
        d = r["dev"]
        rows.append((f"article-assembly B3 F1 on {d['gold']}, fp32 -> int8", f"{d['fp32']:.4f} -> {d['int8']:.4f}",
                     f"drop {d['fp32'] - d['int8']:+.4f}", "<= 0.01"))
    for i, m in enumerate(r["rss"]):
        vs = f"{(m['peak_rss_mb'] / r['rss'][0]['peak_rss_mb'] - 1):+.1%} vs {r['rss'][0]['pages']:,} pages" if i else ""
        rows.append((f"peak RSS, `predict` on {m['pages']:,} pages (fresh process)",
                     f"{m['peak_rss_mb']:,.0f} MB ({m['seconds']:.0f} s){_end(m)}", vs, "<= +10%" if i else ""))
    if "big_page" in r:
        b = r["big_page"]
        rows.append((f"peak RSS, `predict` on one {b['mb']:g} MB page ({b['chars']:,} chars)",
                     f"{b['peak_rss_mb']:,.0f} MB ({b['seconds']:.0f} s){_end(b)}", "", ""))
    if r["scaling"]:
        base = r["scaling"][0]["seconds"] / r["scaling"][0]["chars"]
        rows.append(("s per page as one page grows (chars: s)",
                     ", ".join(f"{s['chars'] // 1000}k: {s['seconds']:.2f}" for s in r["scaling"]),
                     "per char vs smallest: " + ", ".join(f"{s['seconds'] / s['chars'] / base:.2f}x"
                                                          for s in r["scaling"]), "linear (~1x)"))
    if "training" in r:
        from newsseg.bench_train import throughput_rows

        rows += throughput_rows(r["training"])
    head = (f"model `{r['model']}` ({enc['num_hidden_layers']} layers, hidden {enc['hidden_size']}, "
            f"max_length {enc['max_position_embeddings']}), load {r['load_s']:.1f} s; {pages} composed pages "
            f"(seed {r['seed']}, {chars:,} chars); batch {r['batch_size']}; torch {r['torch']}, "
            f"{r['threads']} threads, OMP_WAIT_POLICY={r['omp_wait_policy'] or '(unset)'}, "
            f"malloc thresholds {'fixed' if r.get('malloc_tuned') else 'glibc default'}; {r['cores']} cores, "
            f"1-min load average {r['load_before']:.1f} at the start, {r['load_after']:.1f} at the end"
            + (f"; memory runs with model `{r['rss_model']}`" if r.get("rss_model") not in (None, r["model"]) else ""))
    lines = [head, "", "| measure | value | ratio | target |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def _end(m: dict[str, Any]) -> str:
    return f", {m['end_rss_mb']:,.0f} MB at the end" if m.get("end_rss_mb") else ""


# ------------------------------------------------------------------------------------------- CLI
def register(subparsers: Any) -> None:
    """Add ``bench`` to the ``newsseg`` command's subparsers."""
    p = subparsers.add_parser("bench", help="measure batch inference speed, overhead, memory and scaling",
                              description="Benchmark predict against a page-by-page HF pipeline and the pure "
                                          "forward floor, int8, peak memory and page-length scaling; prints "
                                          "one Markdown table. Slow on purpose: see --quick.")
    p.add_argument("--model", help=f"model directory (default: the shipped model, {shipped_model_dir()})")
    p.add_argument("--pages", type=int, default=200, help="composed pages for the throughput rows (default 200)")
    p.add_argument("--seed", type=int, default=0, help="composer seed")
    p.add_argument("--batch-size", type=int, default=8, help="windows per forward pass")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, the physical cores)")
    p.add_argument("--rss-pages", default="1000,10000", help="page counts of the memory runs ('' to skip)")
    p.add_argument("--rss-model", help="model for the memory runs (default --model); a smaller one saves time")
    p.add_argument("--big-page-mb", type=float, default=1.0, help="size of the one-page memory run (0 to skip)")
    p.add_argument("--scaling", default=",".join(map(str, SCALING_CHARS)), help="page lengths in chars ('' to skip)")
    p.add_argument("--dev", default=None, help="gold JSONL for the int8 quality row (e.g. data/pages/dev.jsonl)")
    p.add_argument("--no-pipeline", action="store_true", help="skip the HF pipeline row")
    p.add_argument("--workers", type=int, default=0, help="also time `predict --workers N` on the same pages")
    p.add_argument("--repeat", type=int, default=1, help="time each throughput row N times, keep the fastest")
    p.add_argument("--train-steps", type=int, default=20,
                   help="Trainer steps timed for the training rows, encoder and page model (0 to skip)")
    p.add_argument("--quick", action="store_true", help="a small run for smoke tests (6 pages, small memory runs)")
    p.add_argument("--json", help="also write the raw figures to this JSON file")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from newsseg.model.segmenter import ModelLoadError, default_model_dir

    ints = lambda s: tuple(int(x) for x in s.split(",") if x.strip())  # noqa: E731
    kw: dict[str, Any] = dict(pages=args.pages, rss_pages=ints(args.rss_pages), big_page_mb=args.big_page_mb,
                              scaling=ints(args.scaling), dev=args.dev, train_steps=args.train_steps)
    if args.quick:
        kw.update({k: v for k, v in QUICK.items() if (k != "dev" or args.dev is None)
                   and (k != "train_steps" or args.train_steps)})  # an explicit --train-steps 0 stays 0
    model = args.model or str(default_model_dir())
    try:
        r = run_bench(model, seed=args.seed, batch_size=args.batch_size, threads=args.threads,
                      rss_model=args.rss_model, pipeline=not args.no_pipeline, repeat=args.repeat,
                      workers=args.workers, **kw)
    except ModelLoadError as e:
        print(f"newsseg bench: {e} (train one with `newsseg train`, or pass --model DIR)", file=sys.stderr)
        return 2
    print(format_table(r))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2), encoding="utf-8")
    return 0

