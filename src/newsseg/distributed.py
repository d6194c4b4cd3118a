"""Batch inference past one process: a local process pool, and Ray Data for a cluster.

Both shard the input into chunks of ``chunk_pages`` pages, the unit :meth:`Segmenter.predict_pages`
batches over, so every window meets the same neighbours in the same batch as in a single-process run,
and both return pages in input order. Each worker holds its own :class:`Segmenter` and uses
``cores // workers`` torch threads: more threads than cores makes OpenMP threads wait on each other.

Example::

    from newsseg.distributed import predict_parallel
    for page in predict_parallel(pages, model="model", workers=4):
        print(page.to_json())
"""

from __future__ import annotations

import itertools
import json
import os
from collections import deque
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from newsseg.data.pages import Page, PageFormatError

# The process pool keeps at most this many chunks per worker in flight: enough to keep every worker
# busy while the parent writes, few enough that memory does not grow with the input.
IN_FLIGHT_PER_WORKER = 2


def available_cores() -> int:
    """CPU cores this process may run on (respects taskset / container CPU sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Torch threads for each of ``workers`` processes sharing ``cores`` (at least one)."""
    return max(1, (cores or available_cores()) // max(1, workers))


def chunked(pages: Iterable[Page], size: int) -> Iterator[list[Page]]:
    """Consecutive lists of ``size`` pages (the last may be shorter), read lazily."""
    it = iter(pages)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


# ------------------------------------------------------------------------------ process pool
_WORKER: dict[str, Any] = {}


def _worker_predict(model: str | None, quantize: str | None, threads: int, batch_size: int, isolate: bool,
                    traditional: str, pages: list[Page]) -> tuple[list[Page], list[str]]:
    """Runs in a worker process: load the model once (lazily, so load errors reach the parent)."""
    from newsseg.model.segmenter import Segmenter

    if "seg" not in _WORKER:
        from newsseg.runtime import tune_allocator

        tune_allocator()
        _WORKER["seg"] = Segmenter.from_pretrained(model, quantize=quantize, num_threads=threads)
    seg, errors = _WORKER["seg"], []
    seg.traditional = traditional
    chunk = iter(pages)
    if isolate:  # as `newsseg predict`: a page the model fails on is reported, the others are kept
        from newsseg.predict import predict_isolated

        return list(predict_isolated(seg, chunk, batch_size, errors, chunk=len(pages))), errors
    return list(seg.predict_pages(chunk, batch_size=batch_size, chunk_pages=len(pages))), errors


def predict_parallel(pages: Iterable[Page], model: str | os.PathLike[str] | None = None, workers: int = 2,
                     batch_size: int = 8, quantize: str | None = None, chunk_pages: int = 64,
                     threads: int | None = None, errors: list[str] | None = None,
                     traditional: str = "auto") -> Iterator[Page]:
    """Predict ``pages`` on ``workers`` processes; yields pages in input order, streaming.

    Same output as ``Segmenter.from_pretrained(model).predict_pages(pages, batch_size, chunk_pages)``.
    ``threads`` is the torch thread count of each worker (default: cores // workers). With an
    ``errors`` list, a page the model fails on is reported there and skipped (as ``newsseg
    predict`` does); without one, the failure is raised. ``traditional`` is
    :attr:`Segmenter.traditional` in every worker. Workers are started with ``spawn``:
    forking a process whose OpenMP runtime is running can deadlock.
    """
    import multiprocessing as mp
    from concurrent.futures import Future, ProcessPoolExecutor

    nthreads = threads or threads_per_worker(workers)
    model_arg = str(model) if model is not None else None
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
    pending: deque[Future[tuple[list[Page], list[str]]]] = deque()

    def collect() -> list[Page]:
        done, errs = pending.popleft().result()
        if errors is not None:
            errors.extend(errs)
        return done

    try:
        for chunk in chunked(pages, chunk_pages):
            pending.append(pool.submit(_worker_predict, model_arg, quantize, nthreads, batch_size,
                                       errors is not None, traditional,
                                       # gold articles stay behind; id, text and provenance travel
                                       [Page(p.id, p.text, [], source=p.source, encoding=p.encoding) for p in chunk]))
            if len(pending) >= IN_FLIGHT_PER_WORKER * workers:
                yield from collect()
        while pending:
            yield from collect()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ----------------------------------------------------------------------------------- Ray Data
class RaySegmenter:
    """A Ray Data actor: one :class:`Segmenter`, called on batches of JSONL lines.

    Returns, per input line, either the prediction as a JSON line (``json``) or why the line could
    not be read (``error``), so a bad line is reported instead of failing the whole job.
    """

    def __init__(self, model: str | None, quantize: str | None = None, threads: int = 1, batch_size: int = 8):
        from newsseg.model.segmenter import Segmenter
        from newsseg.runtime import tune_allocator

        tune_allocator()
        self.seg = Segmenter.from_pretrained(model, quantize=quantize, num_threads=threads)
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        pages: list[Page] = []
        slots: list[int] = []
        out_json = [""] * len(batch["text"])
        out_err = [""] * len(batch["text"])
        for k, (line, path) in enumerate(zip(batch["text"], batch["path"])):
            try:
                obj = json.loads(line)
                p = Page.from_dict(obj, where=f"{path}: page {obj.get('id', '?')!r}" if isinstance(obj, dict)
                                   else f"{path}: page")
                pages.append(Page(p.id, p.text))
                slots.append(k)
            except json.JSONDecodeError as e:
                out_err[k] = f"{path}: invalid JSON: {e.msg} at column {e.colno}: {line[:40]!r}"
            except PageFormatError as e:
                out_err[k] = str(e)
        preds: list[Page | None]
        try:
            preds = list(self.seg.predict_pages(pages, batch_size=self.batch_size, chunk_pages=max(1, len(pages))))
        except Exception:  # noqa: BLE001 - as `newsseg predict`: redo page by page, report the one that fails
            preds = []
            for k, page in zip(slots, pages):
                try:
                    preds += self.seg.predict_pages([page], batch_size=self.batch_size)
                except Exception as e:  # noqa: BLE001
                    preds.append(None)
                    out_err[k] = f"page {page.id!r}: prediction failed ({type(e).__name__}: {e})"
        for k, page in zip(slots, preds):
            if page is not None:
                out_json[k] = page.to_json()
        return {"json": np.array(out_json, dtype=object), "error": np.array(out_err, dtype=object)}


def predict_ray(inputs: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str],
                model: str | os.PathLike[str] | None = None, actors: int = 2, batch_size: int = 8,
                chunk_pages: int = 64, quantize: str | None = None, threads: int = 1) -> dict[str, Any]:
    """Predict page JSONL shards on Ray Data into one JSONL ``output``, in input order.

    ``map_batches`` runs a pool of ``actors`` :class:`RaySegmenter` actors (``threads`` CPUs and
    torch threads each) over batches of ``chunk_pages`` lines. Uses the running Ray instance
    (``ray.init(address=...)`` first for a cluster; the model directory must be readable on every
    node), else starts a local one. Returns ``{"written", "errors", "output"}`` like ``predict``.
    """
    import ray

    from newsseg.model.segmenter import default_model_dir

    files = [str(Path(p).resolve()) for p in inputs]
    bad = [f for f in files if not f.endswith(".jsonl") or not Path(f).is_file()]
    if bad:
        raise ValueError(f"Ray inference reads page JSONL files only; not a .jsonl file: {', '.join(bad)}")
    model_dir = str(Path(model).resolve()) if model is not None else str(default_model_dir())
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # output lines in input order, as the local run
    # Reading is light I/O: it takes no CPU slot, so a pool that fills every CPU cannot starve it.
    ds = ray.data.read_text(files, include_paths=True, drop_empty_lines=True, num_cpus=0)
    ds = ds.map_batches(RaySegmenter, batch_size=chunk_pages, batch_format="numpy",
                        compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=threads,
                        fn_constructor_kwargs={"model": model_dir, "quantize": quantize, "threads": threads,
                                               "batch_size": batch_size})
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    written, errors = 0, []
    with open(tmp, "w", encoding="utf-8") as fh:
        for batch in ds.iter_batches(batch_format="numpy", batch_size=None):
            for line, err in zip(batch["json"], batch["error"]):
                if err:
                    errors.append(str(err))
                else:
                    fh.write(f"{line}\n")
                    written += 1
    tmp.replace(out)
    return {"written": written, "errors": errors, "output": str(out)}
