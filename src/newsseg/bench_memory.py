"""Peak memory of ``newsseg predict`` measured in a fresh Python process (used by ``newsseg bench``).

A fresh process per measurement, because a process's peak RSS only ever grows: measuring 1,000
and then 10,000 pages in one process would report the larger of the two for both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def rss_run(model: str, pages_file: Path, batch_size: int, threads: int | None = None) -> dict[str, float]:
    """Peak RSS (MB) and seconds of ``predict`` on ``pages_file`` in a fresh Python process."""
    cmd = [sys.executable, "-m", "newsseg.bench_memory", "--rss-child", model, str(pages_file), str(batch_size),
           str(threads or 0)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"memory run failed ({' '.join(cmd)}):\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _rss_child(model: str, pages_file: str, batch_size: str, threads: str) -> None:
    from newsseg.predict import predict_files

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        res = predict_files([pages_file], str(Path(tmp) / "out.jsonl"), model, int(batch_size), progress=False,
                            threads=int(threads) or None)
        sec = time.perf_counter() - t
    print(json.dumps({"peak_rss_mb": _peak_rss_mb(), "end_rss_mb": _proc_status_mb("VmRSS:"), "seconds": sec,
                      "pages": res["written"]}))


def _peak_rss_mb() -> float:
    """This process's peak resident memory.

    ``VmHWM`` first: ``getrusage``'s ``ru_maxrss`` of a process started by ``subprocess`` also
    counts the parent's resident memory at the fork (Linux folds the pre-exec memory into it), so it
    reported the benchmark parent's size for every child.
    """
    hwm = _proc_status_mb("VmHWM:")
    if hwm is not None:
        return hwm
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _proc_status_mb(field: str) -> float | None:
    """A memory field of ``/proc/self/status`` in MB (Linux); ``None`` elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            return next(int(line.split()[1]) / 1024 for line in fh if line.startswith(field))
    except (OSError, StopIteration, ValueError):
        return None


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rss-child"] and len(sys.argv) == 6:
        _rss_child(*sys.argv[2:])
    else:
        sys.exit("usage: python -m newsseg.bench_memory --rss-child MODEL PAGES.jsonl BATCH THREADS")
