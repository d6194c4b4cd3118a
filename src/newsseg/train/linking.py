"""Fit the decoder's linking weights on composed validation pages.

The encoder runs once per page; only the cheap decoding step is repeated while a coordinate search
moves one weight at a time and keeps a change when the mean of B-cubed F1, line-boundary F1,
headline F1 and 1 - Pk improves. The
pages come from the training corpus (held-out articles are refused by the composer), so the
evaluation pages in ``data/pages`` never influence the weights.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from newsseg.data.pages import Page
from newsseg.model.decoding import (DEFAULT_LINK, UNTUNED_KEYS, VITERBI_KEYS, decode_pages, fragment_blocks, gutter_split,
                                     link_blocks)
from newsseg.model.linker import LearnedLinker, fit_linker, linker_training_pairs
from newsseg.model.segmenter import Segmenter

logger = logging.getLogger(__name__)

# Multipliers tried for each weight per round: 0 switches a cue off entirely.
FACTORS: tuple[float, ...] = (0.0, 0.25, 0.5, 2.0, 4.0)
# Merge thresholds (log-odds) tried for the learned linker.
THRESHOLDS: tuple[float, ...] = tuple(np.round(np.arange(-3.0, 3.01, 0.25), 2))


def fit_lines_on(cached: Sequence[tuple[Page, Any, np.ndarray, np.ndarray]], topics: Sequence[str],
                 split: str = "gutters") -> dict[str, Any]:
    """Fit the line-level tagger (:mod:`newsseg.model.lines`) on pages with cached probabilities."""
    from newsseg.data.encoding import token_labels
    from newsseg.model.lines import fit_line_head, gold_line_tags, line_features, line_spans

    rows, tags = [], []
    for page, enc, b, _ in cached:
        lines = line_spans(page.text, enc.char_index, split)
        rows.append(line_features(page.text, enc.char_index, b, lines))
        tags.append(gold_line_tags(token_labels(page, enc, topics)[0], lines))
    return fit_line_head(rows, tags)


def decode_objective(golds: Sequence[Page], preds: Sequence[Page], topics: Sequence[str]) -> float:
    """What :func:`tune_linking` maximises: the mean of B-cubed F1, line-boundary F1, headline F1 and 1 - Pk."""
    from newsseg.evaluate.metrics import score_corpus

    o = score_corpus(golds, preds, topics)["overall"]
    # Assembly alone would trade boundary and headline quality for bigger clusters: weigh all four.
    return float(np.mean([o["bcubed_f1"] or 0.0, o["line_f1"] or 0.0, o["headline_f1"] or 0.0,
                          1.0 - (o["pk"] if o["pk"] is not None else 1.0)]))


def tune_linking(seg: Segmenter, pages: Sequence[Page], rounds: int = 3, batch_size: int = 16,
                 fit_lines: bool = True, progress: bool = True, learn_linker: bool = True
                 ) -> tuple[dict[str, float], float, float]:
    """Coordinate search over ``config.link``; returns (weights, objective before, after).

    The objective is :func:`decode_objective`. With ``learn_linker`` (and a line head), a learned
    body-fragment linker (:mod:`newsseg.model.linker`) is then fitted on the same pages' gold links,
    its merge threshold searched, and it is kept in ``config.linker`` only if it beats the tuned hand
    weights (which stay in ``config.link`` either way: dropping ``config.linker`` is the ablation).

    The model's config is updated in place with the best weights found. ``progress`` shows a bar over
    the encoder pass and one over the trials (at most ``rounds`` x weights x factors; the search stops
    early when a round changes nothing).
    """
    from tqdm.auto import tqdm

    # Chunks of 64 pages, as predict_pages reads them: windows are batched within a chunk.
    chunks = [list(pages[i:i + 64]) for i in range(0, len(pages), 64)]
    cached = [(p, e, b, t) for chunk in tqdm(chunks, desc="decoder fit: encoder pass", unit="chunk",
                                             disable=not progress)
              for p, e, b, t in seg.page_probs(chunk, batch_size) if b is not None]
    golds = [c[0] for c in cached]
    topics = list(seg.config.topic_labels)
    head = seg.config.line_head if fit_lines is False else None
    current = {**DEFAULT_LINK, **seg.config.link}
    if fit_lines:
        head = seg.config.line_head = fit_lines_on(cached, topics, gutter_split(current))

    # With a line head the fragments do not depend on the weights: build them once.
    fixed = [fragment_blocks(p.text, e.char_index, b, t, current, head) for p, e, b, t in cached] \
        if head else None
    keys = [k for k in DEFAULT_LINK if not (head and k in VITERBI_KEYS) and k not in UNTUNED_KEYS]

    def f1(link: dict[str, float], linker: LearnedLinker | None = None) -> float:
        if fixed is not None:
            preds = [link_blocks(p.id, p.text, fb, topics, link, linker) for (p, *_), fb in zip(cached, fixed)]
        else:
            preds = decode_pages([(p, e.char_index, b, t) for p, e, b, t in cached], topics, link, head)
        return decode_objective(golds, preds, topics)

    best = dict(current)
    start = best_f1 = f1(best)
    bar = tqdm(total=rounds * len(keys) * len(FACTORS), desc="decoder fit: linking weights", unit="trial",
               disable=not progress)
    for _ in range(rounds):
        improved = False
        for key in keys:
            for fac in FACTORS:
                trial = {**best, key: best[key] * fac if best[key] else fac}
                score = f1(trial)
                bar.update()
                bar.set_postfix(objective=f"{best_f1:.4f}", refresh=False)
                if score > best_f1 + 1e-6:
                    best, best_f1, improved = trial, score, True
        if not improved:
            break
    bar.close()
    logger.info("decoding weights: objective %.4f -> %.4f on %d pages", start, best_f1, len(cached))
    seg.config.link = best
    seg.config.linker = {}
    if learn_linker and fixed is not None:
        pairs = [linker_training_pairs(fb, p) for (p, *_), fb in zip(cached, fixed)]
        linker = fit_linker(np.concatenate([x for x, _ in pairs]), np.concatenate([y for _, y in pairs]))
        if linker is not None:
            tried = {}
            for th in THRESHOLDS:
                linker.threshold = float(th)
                tried[float(th)] = f1(best, linker)
            th, score = max(tried.items(), key=lambda kv: (kv[1], -abs(kv[0])))
            linker.threshold = th
            logger.info("learned linker: objective %.4f at threshold %.2f (hand weights %.4f)", score, th, best_f1)
            if score > best_f1 + 1e-6:
                seg.config.linker, best_f1 = linker.to_dict(), score
    return best, start, best_f1
