"""One input vector per line for the page model, and the gold targets of each line.

A line's vector is the encoder's last hidden states averaged over the line's tokens (what the
character model understood of it) next to the 47 numbers of :func:`newsseg.model.lines.line_features`
(the encoder's boundary probabilities over the line and its neighbours, and the line's shape: length
against the page's typical line, blank lines around it, punctuation, byline and lead cues, position).
Lines are those of :func:`newsseg.model.lines.line_spans`, cut as the page model was trained
(``PageModelConfig.line_split``): with ``"gutters"`` two columns read across on one OCR line are two
lines here, with ``"spaces"`` every inner whitespace run starts a new piece.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from newsseg.data.encoding import IGNORE_INDEX, Encoded, token_labels
from newsseg.data.pages import Page
from newsseg.model.lines import N_FEATURES, consistent_tags, gold_line_tags, line_features, line_spans

Lines = list[tuple[int, int]]


def n_page_features(hidden_size: int) -> int:
    """Width of a line vector for an encoder of ``hidden_size``."""
    return hidden_size + N_FEATURES


def page_line_inputs(text: str, char_index: np.ndarray, probs: np.ndarray, hidden: np.ndarray,
                     split: str = "gutters") -> tuple[Lines, np.ndarray]:
    """The page's lines (token ranges, cut by ``split``) and one float32 vector per line."""
    lines = line_spans(text, char_index, split)
    if not lines:
        return lines, np.zeros((0, hidden.shape[1] + N_FEATURES), dtype=np.float32)
    a, b = np.asarray(lines, dtype=np.int64).T
    # Mean over [a, b) of each line at once; the odd slots of reduceat are the gaps between lines.
    padded = np.vstack([hidden, np.zeros((1, hidden.shape[1]), dtype=hidden.dtype)])
    pooled = np.add.reduceat(padded.astype(np.float64), np.stack([a, b], 1).ravel())[::2] / (b - a)[:, None]
    shape = line_features(text, char_index, probs, lines)
    return lines, np.hstack([pooled, shape]).astype(np.float32)


def gold_line_targets(gold: Page, enc: Encoded, lines: Sequence[tuple[int, int]],
                      topics: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each line's gold tag (the label of its first token), article index and span index (-1: none),
    and its article's topic id (-100: none, or a topic not in ``topics``)."""
    owner = np.full(len(gold.text) + 1, -1, dtype=np.int64)
    span = np.full(len(gold.text) + 1, -1, dtype=np.int64)
    k = 0
    for i, art in enumerate(gold.articles):
        for s in art.spans:
            owner[s.start:s.end] = i
            span[s.start:s.end] = k
            k += 1
    tags = consistent_tags(gold_line_tags(token_labels(gold, enc, topics)[0], lines))
    firsts = enc.char_index[[a for a, _ in lines]] if lines else np.zeros(0, dtype=np.int64)
    topic_id = {t: i for i, t in enumerate(topics)}
    art_topic = np.array([topic_id.get(a.topic, IGNORE_INDEX) for a in gold.articles] + [IGNORE_INDEX], dtype=np.int64)
    return tags, owner[firsts], span[firsts], art_topic[owner[firsts]]  # owner -1 picks the last slot

