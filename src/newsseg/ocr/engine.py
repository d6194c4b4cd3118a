"""Tesseract, called as a subprocess: the page text exactly as the engine writes it, plus a box per character.

One run writes both the plain text (``txt``) and hOCR with character boxes (``hocr_char_boxes=1``).
The text is kept byte for byte; the hOCR characters are matched onto it in order (the two renderers
walk the same result, so non-space characters agree one to one; the rare one that does not match is
left without a box and the gold falls back to alignment for it).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

_CINFO = re.compile(r"<span class='ocrx_cinfo' title='x_bboxes (\d+) (\d+) (\d+) (\d+); x_conf [\d.]+'>(.*?)</span>",
                    re.S)
INSTALL_HINT = "install it with `apt-get install tesseract-ocr tesseract-ocr-chi-sim` (Debian/Ubuntu)"


@dataclass
class OcrResult:
    """What the engine wrote: ``text``, and ``boxes[i]`` the box of ``text[i]`` (None for whitespace
    and for the few characters the hOCR did not match)."""

    text: str
    boxes: list[tuple[int, int, int, int] | None]
    hocr: str


def tesseract_available(lang: str = "chi_sim") -> bool:
    """True when the ``tesseract`` binary and its ``lang`` data are installed."""
    if shutil.which("tesseract") is None:
        return False
    out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True)
    return lang in out.stdout.split()


def parse_hocr_chars(hocr: str) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The characters of an hOCR document with their boxes, in the engine's reading order."""
    out = []
    for m in _CINFO.finditer(hocr):
        ch = html.unescape(m.group(5))
        box = (int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)))
        out.extend((c, box) for c in ch if not c.isspace())
    return out


def match_boxes(text: str, chars: list[tuple[str, tuple[int, int, int, int]]],
                lookahead: int = 8) -> list[tuple[int, int, int, int] | None]:
    """Give each non-space character of ``text`` the box of the same character in ``chars``, in order."""
    boxes: list[tuple[int, int, int, int] | None] = [None] * len(text)
    j = 0
    for i, ch in enumerate(text):
        if ch.isspace() or j >= len(chars):
            continue
        for k in range(j, min(j + lookahead, len(chars))):
            if chars[k][0] == ch:
                boxes[i] = chars[k][1]
                j = k + 1
                break
    return boxes


def run_tesseract(image: Image.Image | str | Path, lang: str = "chi_sim", psm: int = 3,
                  threads: int = 1, timeout: float = 300.0) -> OcrResult:
    """OCR one page image; ``threads`` caps the engine's OpenMP threads (1 when pages run in parallel)."""
    if shutil.which("tesseract") is None:
        raise RuntimeError(f"tesseract is not installed; {INSTALL_HINT}")
    env = dict(os.environ, OMP_THREAD_LIMIT=str(threads))
    with tempfile.TemporaryDirectory(prefix="newsseg-ocr-") as tmp:
        if isinstance(image, Image.Image):
            path = Path(tmp) / "page.png"
            image.save(path)
        else:
            path = Path(image)
        base = Path(tmp) / "out"
        cmd = ["tesseract", str(path), str(base), "-l", lang, "--psm", str(psm),
               "-c", "hocr_char_boxes=1", "txt", "hocr"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"tesseract failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        text = base.with_suffix(".txt").read_text(encoding="utf-8")
        hocr = base.with_suffix(".hocr").read_text(encoding="utf-8")
    return OcrResult(text, match_boxes(text, parse_hocr_chars(hocr)), hocr)
