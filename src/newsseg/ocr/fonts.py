"""CJK faces for rendering pages: found among the fonts installed on the machine.

Debian's ``fonts-noto-cjk``, ``fonts-wqy-zenhei`` and ``fonts-arphic-uming``/``-ukai`` are what the
README installs. A face is used only if it draws simplified Chinese (a ``.ttc`` holds several
regional faces; the SC/CN one is picked by name), so a page never falls back to tofu boxes.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

# (file name, role) in order of preference; roles: body faces and bold headline faces.
_KNOWN = (
    ("NotoSerifCJK-Regular.ttc", "body"), ("NotoSansCJK-Regular.ttc", "body"), ("uming.ttc", "body"),
    ("ukai.ttc", "body"), ("wqy-zenhei.ttc", "body"),
    ("NotoSansCJK-Bold.ttc", "bold"), ("NotoSerifCJK-Bold.ttc", "bold"), ("wqy-zenhei.ttc", "bold"),
)
_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"))
_SC_MARKS = (" SC", " CN", "WenQuanYi Zen Hei")


@dataclass(frozen=True)
class Face:
    """One face of a font file: ``path`` and the collection ``index`` of its simplified-Chinese face."""

    path: str
    index: int
    name: str

    def at(self, size: int) -> ImageFont.FreeTypeFont:
        """The face at ``size`` pixels."""
        return _load(self.path, self.index, size)


@functools.lru_cache(maxsize=256)
def _load(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


def _sc_index(path: str) -> tuple[int, str] | None:
    for index in range(16):
        try:
            font = ImageFont.truetype(path, 12, index=index)
        except OSError:
            break
        name = " ".join(font.getname())
        if any(m in name for m in _SC_MARKS):
            return index, name
    return None


@functools.lru_cache(maxsize=1)
def find_faces() -> dict[str, tuple[Face, ...]]:
    """Installed faces by role (``body``, ``bold``); ``NEWSSEG_FONT_DIRS`` (``:``-separated) adds places."""
    dirs = [d for d in os.environ.get("NEWSSEG_FONT_DIRS", "").split(":") if d] + list(_DIRS)
    files: dict[str, str] = {}
    for d in dirs:
        for p in sorted(Path(d).rglob("*.tt[cf]")) if Path(d).is_dir() else ():
            files.setdefault(p.name, str(p))
    out: dict[str, list[Face]] = {"body": [], "bold": []}
    for fname, role in _KNOWN:
        if fname in files and (found := _sc_index(files[fname])) is not None:
            out[role].append(Face(files[fname], found[0], found[1]))
    if not out["body"]:
        raise RuntimeError(
            "no simplified-Chinese font found for rendering; install one, e.g. "
            "`apt-get install fonts-noto-cjk fonts-wqy-zenhei` (or set NEWSSEG_FONT_DIRS)")
    if not out["bold"]:
        out["bold"] = out["body"][:1]
    return {k: tuple(v) for k, v in out.items()}
