"""Process settings for batch inference.

Why the allocator: glibc's malloc adapts its mmap threshold as large blocks are freed and gives the
top of the heap back to the kernel whenever more than twice that threshold is free. Batch inference
frees and re-allocates activations of a few MB at every forward pass, in shapes that change with
dynamic padding, while decoding between chunks churns smaller numpy arrays. Each give-back is paid
again as page faults on the next forward: on the shipped model that made the forward passes inside
``predict`` ~10 % slower than the same passes run back to back (74k–430k minor faults per 200
pages, none in the replay; ``benchmarks/README.md``). Fixing both thresholds keeps those few MB in
the heap for reuse; memory stays bounded by the largest batch, as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

# mallopt(3) parameter numbers from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20  # blocks below this come from the heap (glibc's own dynamic maximum)
TRIM_THRESHOLD = 256 << 20  # free memory at the heap top kept for reuse before it is returned

_tuned: bool | None = None


def tune_allocator(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Fix glibc's mmap and trim thresholds for this process; ``True`` if they are set.

    Does nothing (returns ``False``) off glibc, when ``NEWSSEG_TUNE_MALLOC=0``, or when the user
    already set ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` in the environment. Called
    by ``newsseg predict``/``segment``/``evaluate``/``bench`` and by the workers; a Python caller
    doing batch inference can call it once at start-up.
    """
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = False
    if os.environ.get("NEWSSEG_TUNE_MALLOC", "1") == "0" or any(
            k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl without mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _tuned = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))
    return _tuned
