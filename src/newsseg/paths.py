"""Where the shipped model and the corpus live: the repository's top-level ``model/`` and
``data/corpus/`` in a checkout (or an editable install), or the copies a wheel carries inside the
package (``newsseg/_resources/``, put there by the build's ``force-include``).

A leaf module: it imports nothing of newsseg, so every floor can use it.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parents[1]  # src/newsseg -> the repository root in a checkout


def resource_dir(repo_relative: str, packaged: str) -> Path:
    """The checkout's ``repo_relative`` directory when it exists, else the wheel's ``_resources/packaged``.

    A checkout wins so that a model or corpus edited in place is what runs; an installed wheel has
    no checkout around it (``site-packages/..`` holds no ``model/``), so the packaged copy is used.
    """
    here = _REPO / repo_relative
    if (_REPO / "pyproject.toml").is_file() and here.is_dir():
        return here
    return _PACKAGE / "_resources" / packaged


def shipped_model_dir() -> Path:
    """The shipped default model."""
    return resource_dir("model", "model")


def shipped_corpus_dir() -> Path:
    """The article corpus the composer uses by default."""
    return resource_dir("data/corpus", "corpus")
