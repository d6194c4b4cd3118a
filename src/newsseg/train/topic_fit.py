"""Fit the article-level topic model (:mod:`newsseg.model.topic`) after the encoder is trained.

The n-gram classifier is fitted on whole articles of the training split; its weight against the
encoder's token votes is chosen on the decoder-fit pages (articles the encoder never trained on) by
topic macro-F1 of the decoded pages. Both steps take seconds.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

from newsseg.data.corpus import CorpusArticle
from newsseg.data.pages import Page
from newsseg.model.decoding import decode_pages
from newsseg.model.linker import LearnedLinker
from newsseg.model.segmenter import Segmenter
from newsseg.model.topic import NgramTopicModel, assign_topics, topic_evidence

logger = logging.getLogger(__name__)

WEIGHTS: tuple[float, ...] = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0)


def corpus_article_text(a: CorpusArticle) -> str:
    """An article as the page shows it: headline, byline, body and caption."""
    return "".join([*a.headline, a.byline, *a.body, a.caption or ""])


def fit_article_topic(seg: Segmenter, articles: Sequence[CorpusArticle], pages: Sequence[Page],
                      weights: Sequence[float] = WEIGHTS, batch_size: int = 16) -> dict[str, Any]:
    """Fit the n-gram model on ``articles`` and its weight on gold ``pages``; installs both on ``seg``.

    Returns ``{"macro_f1_by_weight": {w: f1}, "weight": best}``; ties go to the smaller weight (the
    encoder alone when the n-grams do not help).
    """
    from newsseg.evaluate.metrics import score_corpus

    topics = list(seg.config.topic_labels)
    model = NgramTopicModel.fit([corpus_article_text(a) for a in articles], [a.topic for a in articles], topics)
    # page_probs yields in input order: each gold page pairs with its own probabilities.
    cached = [(g, e, b, t) for g, (_, e, b, t) in
              zip(pages, seg.page_probs([Page(p.id, p.text, []) for p in pages], batch_size)) if b is not None]
    golds = [g for g, *_ in cached]
    decoded = decode_pages([(Page(g.id, g.text, []), e.char_index, b, t) for g, e, b, t in cached], topics,
                           seg.config.link, seg.config.line_head, LearnedLinker.from_dict(seg.config.linker))
    evidence = topic_evidence(decoded, [e.char_index for _, e, _, _ in cached], [t for *_, t in cached], model)
    scores: dict[float, float] = {}
    for w in weights:
        preds = [assign_topics(d, m, g, w, topics) for d, (m, g) in zip(decoded, evidence)]
        scores[w] = float(score_corpus(golds, preds, topics)["overall"]["topic_macro_f1"] or 0.0)
    best = max(weights, key=lambda w: (scores[w], -w))
    logger.info("article topic: macro-F1 by n-gram weight %s -> %s", scores, best)
    seg.set_article_topic(model, best)
    return {"macro_f1_by_weight": {str(w): round(s, 4) for w, s in scores.items()}, "weight": best}
