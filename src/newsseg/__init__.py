"""newsseg: segment OCR'd Chinese newspaper pages into articles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from newsseg.data.pages import Article, Page, Span

__version__ = "0.1.0"
__all__ = ["Segmenter", "Page", "Article", "Span", "__version__"]

if TYPE_CHECKING:
    from newsseg.model.segmenter import Segmenter


def __getattr__(name: str) -> Any:
    # Import torch/transformers only when the model is actually used, so `newsseg --help` stays fast.
    if name == "Segmenter":
        from newsseg.model.segmenter import Segmenter
        return Segmenter
    raise AttributeError(name)
