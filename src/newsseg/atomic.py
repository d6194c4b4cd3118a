"""Atomic file output: a crash or Ctrl-C never leaves a truncated file under the real name."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def partial_path(path: str | os.PathLike[str]) -> Path:
    """Where :func:`atomic_output` keeps an interrupted ``keep_partial`` write: ``.NAME.partial``."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial")


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, keep_partial: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it is synced and renamed onto ``path``.

    An interrupted write therefore never leaves a truncated file under the real name. The
    temporary file is removed on error, or kept as :func:`partial_path` when ``keep_partial``
    (``newsseg predict --resume`` picks up the pages it holds).

    Example::

        with atomic_output("out/metrics.json") as tmp:
            tmp.write_text("{}", encoding="utf-8")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(path) if keep_partial else path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:  # data must be on disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if not keep_partial and tmp.exists():
            tmp.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write a UTF-8 text file atomically (see :func:`atomic_output`)."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
