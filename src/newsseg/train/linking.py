"""Fit the decoder's linking weights on composed validation pages.

The encoder runs once per page; only the cheap decoding step is repeated while a coordinate search
moves one weight at a time and keeps a change when article-assembly B-cubed F1 improves. The
pages come from the training corpus (held-out articles are refused by the composer), so the
evaluation pages in ``data/pages`` never influence the weights.
"""

from __future__ import annotations

import logging
from typing import Sequence

from newsseg.data.pages import Page
from newsseg.model.decoding import DEFAULT_LINK, decode_page
from newsseg.model.segmenter import Segmenter

logger = logging.getLogger(__name__)

# Multipliers tried for each weight per round: 0 switches a cue off entirely.
FACTORS: tuple[float, ...] = (0.0, 0.5, 2.0)


def tune_linking(seg: Segmenter, pages: Sequence[Page], rounds: int = 2, batch_size: int = 16
                 ) -> tuple[dict[str, float], float, float]:
    """Coordinate search over ``config.link``; returns (weights, F1 before, F1 after).

    The model's config is updated in place with the best weights found.
    """
    from newsseg.evaluate.metrics import score_corpus

    cached = [(p, e, b, t) for p, e, b, t in seg.page_probs(list(pages), batch_size) if b is not None]
    golds = [c[0] for c in cached]
    topics = list(seg.config.topic_labels)

    def f1(link: dict[str, float]) -> float:
        preds = [decode_page(p.id, p.text, e.char_index, b, t, topics, link) for p, e, b, t in cached]
        return float(score_corpus(golds, preds, topics)["overall"]["bcubed_f1"] or 0.0)

    best = {**DEFAULT_LINK, **seg.config.link}
    start = best_f1 = f1(best)
    for _ in range(rounds):
        improved = False
        for key in DEFAULT_LINK:
            for fac in FACTORS:
                trial = {**best, key: best[key] * fac if best[key] else fac}
                score = f1(trial)
                if score > best_f1 + 1e-6:
                    best, best_f1, improved = trial, score, True
        if not improved:
            break
    logger.info("linking weights: B3 F1 %.4f -> %.4f on %d pages", start, best_f1, len(cached))
    seg.config.link = best
    return best, start, best_f1
