"""Traditional-character pages, read as simplified without moving a single offset.

The model was trained on simplified Chinese; a page in traditional characters (Hong Kong, Taiwan and
pre-1956 archives) reads to it as a page of rare characters, and it splits articles and guesses topics
badly. :func:`simplified_view` gives the text the model should read: OpenCC's phrase-aware ``t2s``
conversion (so 乾隆 stays 乾隆 while 乾燥 becomes 干燥), applied line by line and kept only where it
maps characters one to one; anything else falls back to OpenCC's single-character table, and a
character whose conversion is not one character stays as it is. Every offset into the converted text
is therefore an offset into the original, and predictions are reported on the original text.
"""

from __future__ import annotations

import functools
import re
import warnings
from typing import Any, Literal

Traditional = Literal["auto", "convert", "keep"]
TRADITIONAL_MODES: tuple[str, ...] = ("auto", "convert", "keep")
# "auto" converts a page when at least this share of its Chinese characters are traditional forms
# (and at least MIN_CHANGED of them): a traditional news page has 15-40 %, a simplified one ~0 %,
# and a few traditional names or quotations in a simplified page should not flip it.
AUTO_SHARE = 0.05
MIN_CHANGED = 3
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@functools.lru_cache(maxsize=1)
def _converter() -> Any | None:
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a dependency; only broken installs get here
        warnings.warn("opencc is not installed: traditional-character pages are read as they are "
                      "(pip install opencc)", RuntimeWarning, stacklevel=3)
        return None
    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=65536)
def _char(ch: str) -> str:
    conv = _converter()
    try:
        out = conv.convert(ch) if conv is not None else ch
    except UnicodeError:  # a lone surrogate (broken input): OpenCC takes UTF-8 only
        return ch
    return out if len(out) == 1 else ch


def _line(conv: Any, line: str) -> str:
    try:
        whole = conv.convert(line)
    except UnicodeError:
        whole = ""
    return whole if len(whole) == len(line) else "".join(_char(c) for c in line)


def to_simplified(text: str) -> str:
    """``text`` in simplified characters, exactly as long as ``text`` (offsets unchanged)."""
    conv = _converter()
    if conv is None:
        return text
    return "\n".join(_line(conv, line) for line in text.split("\n"))


def simplified_view(text: str, mode: str = "auto") -> tuple[str, bool]:
    """The text the model reads and whether it was converted.

    ``mode``: ``"keep"`` never converts, ``"convert"`` always does, ``"auto"`` converts when the page
    looks traditional (:data:`AUTO_SHARE` of its Chinese characters change, at least :data:`MIN_CHANGED`).
    """
    if mode not in TRADITIONAL_MODES:
        raise ValueError(f"traditional mode must be one of {TRADITIONAL_MODES}, got {mode!r}")
    if mode == "keep" or not _CJK.search(text):
        return text, False
    simple = to_simplified(text)
    if simple == text:
        return text, False
    if mode == "convert":
        return simple, True
    changed = sum(a != b for a, b in zip(text, simple))
    cjk = len(_CJK.findall(text))
    return (simple, True) if changed >= MIN_CHANGED and changed >= AUTO_SHARE * cjk else (text, False)
