"""A cache of OCR'd pages: render + Tesseract once per (articles, seed, settings), reuse forever.

Rendering and OCR cost seconds per page, so pages are built in parallel (one Tesseract thread per
process), each written to its own file as soon as it is done: an interrupted build resumes where it
stopped, and a finished one is read back instantly. The cache key hashes everything a page depends
on (the articles' text, the seed, the render settings, the engine's version, language and page
segmentation mode), so a change to any of them builds a new set instead of reusing a stale one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import statistics
import subprocess
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from tqdm.auto import tqdm

from newsseg.data.corpus import CorpusArticle
from newsseg.data.encoding import GUTTER_RE
from newsseg.data.names import find_names
from newsseg.atomic import atomic_write_text
from newsseg.data.pages import Page, dumps_json
from newsseg.ocr.engine import run_tesseract
from newsseg.ocr.gold import GoldStats, gold_page
from newsseg.ocr.render import RenderConfig, render_page

# Bump when the renderer or the gold rules change what a page comes out as: the cache key holds it.
PAGE_FORMAT_VERSION = 1
ARTICLES_PER_PAGE = 14   # offered to the renderer; as many as fit are drawn (usually 4–8)


def default_cache_dir() -> Path:
    """``$NEWSSEG_CACHE/ocr``, else ``~/.cache/newsseg/ocr``: outside git, shared by runs."""
    root = os.environ.get("NEWSSEG_CACHE") or Path.home() / ".cache" / "newsseg"
    return Path(root) / "ocr"


@dataclass
class OcrSettings:
    """What an OCR'd page set depends on besides its articles."""

    seed: int | str = 0
    render: RenderConfig = dataclasses.field(default_factory=RenderConfig)
    lang: str = "chi_sim"
    psm: int = 3

    def key(self, articles: Sequence[CorpusArticle]) -> str:
        version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        blob = json.dumps({"version": PAGE_FORMAT_VERSION, "seed": str(self.seed), "render": dataclasses.asdict(self.render), "lang": self.lang,
                           "psm": self.psm, "engine": version,
                           "articles": [dataclasses.asdict(a) for a in articles]}, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def pick_articles(articles: Sequence[CorpusArticle], seed: int | str, index: int) -> list[CorpusArticle]:
    """The articles offered to page ``index``; depends only on ``(seed, index)`` and the articles."""
    rng = random.Random(f"ocr-pick:{seed}:{index}")
    return rng.sample(list(articles), min(ARTICLES_PER_PAGE, len(articles)))


def reading_order(text: str, chars_per_line: int) -> str:
    """How the engine read the page: ``across`` (median line well over a column: lines run across
    gutters), ``mixed`` (over 10 % of lines hold a gutter) or ``columns`` (column by column)."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if not lines:
        return "columns"
    if statistics.median(len(ln) for ln in lines) > 1.5 * chars_per_line:
        return "across"
    return "mixed" if sum(bool(GUTTER_RE.search(ln)) for ln in lines) > 0.1 * len(lines) else "columns"


_NAMES: dict[str, dict[str, str]] = {}   # per worker process: find_names results by article id


def build_page(articles: Sequence[CorpusArticle], settings: OcrSettings, index: int,
               image_path: str | None = None) -> tuple[Page, GoldStats, dict[str, Any]]:
    """Render, OCR and label page ``index``; returns the page, its gold statistics and its settings."""
    chosen = pick_articles(articles, settings.seed, index)
    for a in chosen:
        if a.id not in _NAMES:
            _NAMES[a.id] = find_names(a)
    rendered = render_page(chosen, settings.render, seed=f"{settings.seed}:{index}",
                           page_id=f"ocr-{settings.seed}-{index:05d}", names=_NAMES)
    if image_path:
        rendered.image.save(image_path)
    ocr = run_tesseract(rendered.image, lang=settings.lang, psm=settings.psm, threads=1)
    page, stats = gold_page(rendered, ocr)
    return page, stats, rendered.settings


_ARTICLES: Sequence[CorpusArticle] = ()   # per worker process: set once by the pool initializer


def _init_worker(articles: Sequence[CorpusArticle]) -> None:
    global _ARTICLES
    _ARTICLES = articles


def _build_to_file(args: tuple[OcrSettings, int, Path, bool]) -> int:
    settings, index, folder, keep_image = args
    articles = _ARTICLES
    image = str(folder / "images" / f"{index:05d}.png") if keep_image else None
    page, stats, meta = build_page(articles, settings, index, image)
    record = {"page": page.to_dict(), "stats": dataclasses.asdict(stats), "render": meta}
    atomic_write_text(folder / "pages" / f"{index:05d}.json", dumps_json(record) + "\n")
    return index


def build_ocr_pages(articles: Sequence[CorpusArticle], n_pages: int, settings: OcrSettings | None = None,
                    cache_dir: str | os.PathLike[str] | None = None, workers: int | None = None,
                    keep_images: bool = False, progress: bool = True) -> tuple[list[Page], GoldStats, Path]:
    """Pages ``0..n_pages-1`` of the set ``(articles, settings)``, built where missing from the cache.

    Returns the pages in order, their summed gold statistics and the cache folder. Page ids name the
    reading order (:func:`reading_order`), so evaluation reports each kind:
    ``ocr-{seed}-{columns|mixed|across}-{index}``.
    """
    settings = settings or OcrSettings()
    folder = Path(cache_dir or default_cache_dir()) / settings.key(articles)
    (folder / "pages").mkdir(parents=True, exist_ok=True)
    if keep_images:
        (folder / "images").mkdir(exist_ok=True)
    (folder / "settings.json").write_text(json.dumps(
        {"seed": str(settings.seed), "render": dataclasses.asdict(settings.render), "lang": settings.lang,
         "psm": settings.psm, "articles": len(articles)}, indent=2), encoding="utf-8")
    todo = [i for i in range(n_pages) if not (folder / "pages" / f"{i:05d}.json").is_file()]
    workers = workers or min(len(os.sched_getaffinity(0)), max(1, len(todo)))
    if todo:
        jobs = [(settings, i, folder, keep_images) for i in todo]
        _init_worker(articles)
        bar = tqdm(total=n_pages, initial=n_pages - len(todo), desc="render+OCR", unit="page", disable=not progress)
        if workers == 1:
            for job in jobs:
                _build_to_file(job)
                bar.update()
        else:
            with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(articles,)) as pool:
                for _ in pool.map(_build_to_file, jobs, chunksize=1):
                    bar.update()
        bar.close()
    pages, total = [], GoldStats()
    for i in range(n_pages):
        record = json.loads((folder / "pages" / f"{i:05d}.json").read_text(encoding="utf-8"))
        page = Page.from_dict(record["page"])
        page.id = f"ocr-{settings.seed}-{reading_order(page.text, record['render']['chars_per_line'])}-{i:05d}"
        pages.append(page)
        total.add(GoldStats(**record["stats"]))
    return pages, total, folder
