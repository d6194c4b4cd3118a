"""Score a model, a prediction file and/or the baselines on gold pages, side by side."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

from newsseg.data.pages import DEFAULT_TOPICS, Page, PageError, PageFormatError, iter_pages, validate_page

BASELINE_PAGES = 500      # training pages for the baselines when the model has no recipe
MAX_BASELINE_PAGES = 600  # cap on the model recipe's page count: fitting stays within seconds


class EvaluationInputError(ValueError):
    """Bad input to :func:`evaluate` (unreadable gold file, unloadable model, …); the message says what."""


def read_gold(path: str | os.PathLike[str]) -> list[Page]:
    """Read and validate every gold page, reporting all bad lines at once."""
    pages, errors, seen = [], [], set()
    for item in iter_pages([path], validate=True, topics=None):
        if isinstance(item, PageError):
            errors.append(str(item))
        elif item.id in seen:
            errors.append(f"{path}: duplicate page id {item.id!r}")
        else:
            seen.add(item.id)
            pages.append(item)
    if errors:
        raise EvaluationInputError("bad gold pages:\n  " + "\n  ".join(errors))
    if not pages:
        raise EvaluationInputError(f"{path}: holds no pages")
    return pages


def read_predictions(path: str | os.PathLike[str], golds: Sequence[Page],
                     warnings: list[str]) -> list[Page | None]:
    """Prediction pages aligned with ``golds`` by page id; ``None`` where missing or unusable.

    Unreadable lines, unknown or duplicate ids, and text that differs from the gold text are
    reported in ``warnings``; predictions with invalid spans are reported and scored as given.
    """
    if not Path(path).is_file():
        raise EvaluationInputError(f"{path}: no such prediction file")
    gold_by_id = {g.id: g for g in golds}
    found: dict[str, Page] = {}
    for item in iter_pages([path], topics=None):
        if isinstance(item, PageError):
            warnings.append(f"prediction {item}")
            continue
        gold = gold_by_id.get(item.id)
        if gold is None:
            warnings.append(f"{path}: page {item.id!r} is not in the gold file (ignored)")
        elif item.id in found:
            warnings.append(f"{path}: duplicate page {item.id!r} (first kept)")
        elif item.text != gold.text:
            warnings.append(f"{path}: page {item.id!r}: text differs from the gold text (scored as no prediction)")
        else:
            try:
                validate_page(item, topics=None, where=f"{path}: page {item.id!r}")
            except PageFormatError as e:
                warnings.append(f"{e} (scored as given)")
            found[item.id] = item
    missing = [g.id for g in golds if g.id not in found]
    if missing:
        warnings.append(f"{path}: no usable prediction for {len(missing)} page(s), scored as empty: "
                        + ", ".join(missing[:20]) + (" …" if len(missing) > 20 else ""))
    return [found.get(g.id) for g in golds]


def baseline_recipe(model_dir: Path | None, train_pages: int | None) -> dict[str, Any]:
    """How many pages to compose for the baselines, with which seed and composer knobs.

    Follows the model's ``training_config.json`` (``data.compose_pages`` capped at 600,
    ``data.seed``, ``data.composer``) when there is one, else 500 pages, seed 0, default knobs.
    """
    data: dict[str, Any] = {}
    cfg_path = model_dir / "training_config.json" if model_dir is not None else None
    if cfg_path is not None and cfg_path.is_file():
        data = json.loads(cfg_path.read_text(encoding="utf-8")).get("data", {}) or {}
    n = BASELINE_PAGES if "compose_pages" not in data else min(int(data["compose_pages"]), MAX_BASELINE_PAGES)
    return {"pages": int(train_pages) if train_pages is not None else n, "seed": int(data.get("seed", 0)),
            "composer": dict(data.get("composer") or {}),
            "source": str(cfg_path) if data else "defaults"}


def compose_training_pages(recipe: dict[str, Any]) -> list[Page]:
    """Compose the baselines' training pages from the training split of the corpus."""
    from tqdm import tqdm
    try:
        from newsseg.data.composer import ComposerConfig, compose_pages
        from newsseg.data.corpus import load_corpus
    except ImportError as e:
        raise EvaluationInputError(f"baselines need the page composer (newsseg.data.composer): {e}") from e
    try:
        cfg = ComposerConfig.from_dict(recipe["composer"])
        pages = compose_pages(load_corpus(split="train"), recipe["pages"], recipe["seed"], cfg)
        return list(tqdm(pages, total=recipe["pages"], desc="composing baseline training pages",
                         file=sys.stderr, disable=None))
    except ValueError as e:  # bad knobs, or a corpus that cannot be read (CorpusError)
        raise EvaluationInputError(f"cannot compose baseline training pages ({recipe['source']}): {e}") from e


def _run_model(model: str | None, golds: Sequence[Page], batch_size: int,
               quantize: str | None = None) -> tuple[list[Page], Any]:
    from tqdm import tqdm
    try:
        from newsseg.model.segmenter import Segmenter
        from newsseg.runtime import tune_allocator

        tune_allocator()
        seg = Segmenter.from_pretrained(model, quantize=quantize)
    except (ImportError, OSError, RuntimeError, ValueError) as e:
        raise EvaluationInputError(f"cannot load model {model or '(default)'}: {e}  "
                                   "(score baselines or a prediction file alone with --no-model)") from e
    blank = (Page(g.id, g.text, []) for g in golds)  # the model never sees gold labels
    preds = list(tqdm(seg.predict_pages(blank, batch_size=batch_size), total=len(golds),
                      desc="model", file=sys.stderr, disable=None))
    return preds, seg


def _topics(golds: Iterable[Page], model_topics: Sequence[str] | None) -> list[str]:
    topics = list(model_topics or DEFAULT_TOPICS)
    return topics + sorted({a.topic for g in golds for a in g.articles} - set(topics))


def evaluate(gold: str | os.PathLike[str], model: str | None = None, pred: str | os.PathLike[str] | None = None,
             baselines: bool = False, out_dir: str | os.PathLike[str] | None = None, batch_size: int = 8,
             train_pages: int | None = None, no_model: bool = False, quiet: bool = False,
             command: str | None = None, quantize: str | None = None) -> dict[str, Any]:
    """Score systems on gold pages and return ``{"systems": {name: score_corpus(...)}, …}``.

    Systems: ``model`` (``Segmenter.from_pretrained(model)``; scored when ``model`` is given, or
    when neither ``pred`` nor ``no_model`` is), ``pred`` (a page-format prediction file matched by
    page id; missing pages count as empty predictions and are listed in ``warnings``), and with
    ``baselines`` the ``rules`` and ``sklearn`` baselines fit on composed training pages (see
    :func:`baseline_recipe`). Prints a side-by-side table unless ``quiet``; writes the report
    files (:func:`newsseg.evaluate.report.write_report`) when ``out_dir`` is given; ``command``
    (the command line that produced them) is recorded there.
    ``quantize='int8'`` runs the model with dynamic int8 quantisation (``Segmenter.from_pretrained``).
    Raises :class:`EvaluationInputError` on bad input.
    """
    from newsseg.evaluate.metrics import score_corpus
    from newsseg.evaluate.report import group_rows, side_by_side, text_table, write_report

    if no_model and model is not None:
        raise EvaluationInputError("--model and --no-model contradict each other")
    golds = read_gold(gold)
    warnings: list[str] = []
    if not any(g.articles for g in golds):
        warnings.append(f"{gold}: no gold page has an article: the scores compare predictions with nothing "
                        "(B³, topic and link scores are n/a or trivially perfect); is this an unlabelled file?")
    predictions: dict[str, list[Page | None]] = {}
    model_topics = None
    use_model = not no_model and (model is not None or pred is None)
    if use_model:
        preds, seg = _run_model(model, golds, batch_size, quantize)
        predictions["model"] = list(preds)
        model_topics = list(getattr(seg.config, "topic_labels", None) or []) or None
    if pred is not None:
        predictions["pred"] = read_predictions(pred, golds, warnings)
    recipe = None
    if baselines:
        from newsseg.evaluate.baselines import train_baselines

        model_dir = Path(model) if model is not None else None
        if use_model and model is None:
            from newsseg.model.segmenter import default_model_dir
            model_dir = default_model_dir()
        recipe = baseline_recipe(model_dir, train_pages)
        for name, b in train_baselines(compose_training_pages(recipe)).items():
            predictions[name] = list(b.predict(golds))
    if not predictions:
        raise EvaluationInputError("nothing to score: give --model, --pred or --baselines")
    topics = _topics(golds, model_topics)
    result: dict[str, Any] = {
        "gold": str(gold), "command": command, "n_pages": len(golds), "topics": topics,
        "systems": {name: score_corpus(golds, preds, topics) for name, preds in predictions.items()},
        "warnings": warnings, "baseline_training": recipe,
    }
    from newsseg.evaluate.calibration import REPORTED, score_calibrations

    for name, preds in predictions.items():  # do article and span scores mean what they say?
        result["systems"][name].update(score_calibrations(golds, preds))
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not quiet:
        print(text_table(side_by_side(result["systems"])))
        for name, s in result["systems"].items():
            for unit, (key, _) in REPORTED.items():
                c = s[key]
                if c[f"n_{unit}s"]:
                    auroc = f"{c['auroc']:.3f}" if c["auroc"] is not None else "n/a"
                    print(f"{name}: {unit} score calibration: ECE {c['ece']:.3f} over {c[f'n_{unit}s']} {unit}s "
                          f"(mean score {c['mean_score']:.3f}, share right {c['accuracy']:.3f}, AUROC right vs wrong {auroc})")
        layouts = group_rows(result["systems"])
        if layouts:
            print("\nby layout (micro-averaged over the pages of each group):")
            print(text_table(layouts))
    if out_dir is not None:
        paths = write_report(out_dir, result, golds, predictions)
        if not quiet:
            print(f"report written to {out_dir}: " + ", ".join(p.name for p in paths))
    return result
