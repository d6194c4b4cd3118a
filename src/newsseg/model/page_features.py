"""One input vector per line for the page model, and the gold targets of each line.

A line's vector is the encoder's last hidden states averaged over the line's tokens (what the
character model understood of it) next to the 47 numbers of :func:`newsseg.model.lines.line_features`
(the encoder's boundary probabilities over the line and its neighbours, and the line's shape: length
against the page's typical line, blank lines around it, punctuation, byline and lead cues, position).
Lines are those of :func:`newsseg.model.lines.line_spans`, cut as the page model was trained
(``PageModelConfig.line_split``): with ``"gutters"`` two columns read across on one OCR line are two
lines here, with ``"spaces"`` every inner whitespace run starts a new piece. A page model trained
with ``slot_features`` also reads where each piece sits across its OCR line (:func:`slot_features`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from newsseg.data.encoding import IGNORE_INDEX, Encoded, codepoints, token_labels
from newsseg.data.pages import Page
from newsseg.model.lines import N_FEATURES, consistent_tags, gold_line_tags, line_features, line_spans

Lines = list[tuple[int, int]]


N_SLOT_FEATURES = 4


def n_page_features(hidden_size: int, slots: bool = False) -> int:
    """Width of a line vector for an encoder of ``hidden_size`` (with ``slots``: and the slot numbers)."""
    return hidden_size + N_FEATURES + (N_SLOT_FEATURES if slots else 0)


def slot_features(text: str, char_index: np.ndarray, lines: Lines) -> np.ndarray:
    """Where each unit sits across its OCR line, ``[units, 4]``: its start offset in the line over the
    page's wide lines, which piece of the line it is, how many pieces the line has, and whether it
    has company.

    An engine that reads straight across the columns writes one line per row of the page, each holding
    a piece of every column; the same column's pieces come back every few units at the same offset.
    Nothing else in a line vector says where across the page a piece lies. A line with one piece gets
    offset 0: there the offset would only be its indentation, which on composed pages taught the model
    a cue that narrow columns break (train/README.md, "Slot features").
    """
    if not lines:
        return np.zeros((0, N_SLOT_FEATURES), dtype=np.float32)
    starts = char_index[np.asarray([a for a, _ in lines], dtype=np.int64)]
    newlines = np.flatnonzero(codepoints(text) == 10)
    row = np.searchsorted(newlines, starts)  # the OCR line (row of text) each unit starts on
    row_start = np.where(row > 0, newlines[np.maximum(row - 1, 0)] + 1, 0)
    offset = (starts - row_start).astype(np.float64)
    bounds = np.r_[-1, newlines, len(text)]
    wide = float(np.percentile(np.diff(bounds) - 1, 90)) or 1.0
    first = np.r_[True, row[1:] != row[:-1]]
    piece = np.arange(len(row)) - np.maximum.accumulate(np.where(first, np.arange(len(row)), 0))
    count = np.bincount(row)[row]
    return np.stack([np.where(count > 1, offset / wide, 0.0), np.minimum(piece, 8) / 8, np.minimum(count, 8) / 8,
                     (count > 1).astype(np.float64)], axis=1).astype(np.float32)


def line_shape(text: str, char_index: np.ndarray, probs: np.ndarray, lines: Lines, slots: bool = False) -> np.ndarray:
    """The part of each line's vector that is not the encoder's pooled states: the 47 numbers of
    :func:`~newsseg.model.lines.line_features` (from the encoder's boundary ``probs``), then with
    ``slots`` the :func:`slot_features`. One definition for inference and end-to-end training."""
    shape = line_features(text, char_index, probs, lines)
    return np.hstack([shape, slot_features(text, char_index, lines)]) if slots else shape


def page_line_inputs(text: str, char_index: np.ndarray, probs: np.ndarray, hidden: np.ndarray,
                     split: str = "gutters", slots: bool = False) -> tuple[Lines, np.ndarray]:
    """The page's lines (token ranges, cut by ``split``) and one float32 vector per line (with ``slots``,
    ending in :func:`slot_features`)."""
    lines = line_spans(text, char_index, split)
    if not lines:
        return lines, np.zeros((0, n_page_features(hidden.shape[1], slots)), dtype=np.float32)
    a, b = np.asarray(lines, dtype=np.int64).T
    # Mean over [a, b) of each line at once; the odd slots of reduceat are the gaps between lines.
    padded = np.vstack([hidden, np.zeros((1, hidden.shape[1]), dtype=hidden.dtype)])
    pooled = np.add.reduceat(padded.astype(np.float64), np.stack([a, b], 1).ravel())[::2] / (b - a)[:, None]
    return lines, np.hstack([pooled, line_shape(text, char_index, probs, lines, slots)]).astype(np.float32)


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

