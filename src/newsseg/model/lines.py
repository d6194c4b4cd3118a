"""A line-level decoding head stacked on the encoder's per-token probabilities.

OCR pages are made of lines, and almost every fragment starts at a line start; headline blocks are
whole lines. The encoder's per-character tags are noisy within a line, so this head decides one
tag per line (``O``, ``B-``/``I-headline``, ``B-``/``I-body``) from the encoder's probabilities
over the line and its neighbours plus the line's shape (length against the page's typical line,
blank lines around it, punctuation, byline and lead patterns). It is a multinomial logistic
regression fitted at train time on composed validation pages and stored as plain numbers in
``config.line_head``: no pickles.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from newsseg.data.encoding import LABEL_ROLE, codepoints, line_token_spans, whitespace_mask
from newsseg.data.cues import LEAD_RE, SENTENCE_END, is_byline

PUNCTUATION = frozenset("。，；：,;:！？")
N_FEATURES = 47


def line_spans(text: str, char_index: np.ndarray, split: str = "none") -> list[tuple[int, int]]:
    """Token ranges ``[a, b)`` of the page's non-empty lines, cut by ``split`` (see :func:`line_token_spans`)."""
    a, b = line_token_spans(text, char_index, split)
    return list(zip(a.tolist(), b.tolist()))


def line_features(text: str, char_index: np.ndarray, probs: np.ndarray,
                  lines: Sequence[tuple[int, int]]) -> np.ndarray:
    """One feature row per line: encoder probabilities (own line, first tokens, neighbours) + shape."""
    n = len(lines)
    if n == 0:
        return np.zeros((0, N_FEATURES))
    a, b = np.asarray(lines, dtype=np.int64).T
    strs = [text[s:e + 1].strip() for s, e in zip(char_index[a].tolist(), char_index[b - 1].tolist())]
    cps = codepoints(text)[char_index]
    visible = np.cumsum(~whitespace_mask(cps))
    newlines = np.cumsum(cps == 10)
    lens = (visible[b - 1] - np.where(a > 0, visible[a - 1], 0)).astype(float)
    med = float(np.median(lens)) or 1.0
    # Sums over [a, b) of each line at once; the odd slots of reduceat are the gaps between lines.
    padded = np.vstack([probs, np.zeros((1, probs.shape[1]))])
    mean_p = np.add.reduceat(padded, np.stack([a, b], 1).ravel())[::2] / (b - a)[:, None]
    first_p = probs[a]
    first3 = np.maximum.reduce([probs[np.minimum(a + k, b - 1)] for k in range(3)])
    head_b = first3[:, [1, 3]]
    prev_p = np.vstack([np.zeros((1, 5)), mean_p[:-1]])
    next_p = np.vstack([mean_p[1:], np.zeros((1, 5))])
    prev2_p = np.vstack([np.zeros((2, 5)), mean_p[:-2]])[:n]
    next2_p = np.vstack([mean_p[2:], np.zeros((2, 5))])[-n:]
    prev_len = np.concatenate([[0.0], lens[:-1]]) / med
    next_len = np.concatenate([lens[1:], [0.0]]) / med
    # Two or more newline tokens between two lines make a blank line (indentation tokens do not count).
    blank_before = np.concatenate([[0.0], (newlines[a[1:] - 1] - newlines[b[:-1] - 1]) > 1]).astype(float)
    blank_after = np.concatenate([blank_before[1:], [1.0]])
    ends = np.array([float(s[-1:] in SENTENCE_END) for s in strs])
    byline = np.array([float(is_byline(s)) for s in strs])
    lead = np.array([float(bool(LEAD_RE.match(s))) for s in strs])
    shape = np.stack([
        np.log1p(lens), lens / med, prev_len, next_len, blank_before, blank_after,
        ends,
        [float(not PUNCTUATION.isdisjoint(s)) for s in strs],
        byline,
        np.concatenate([[0.0], byline[:-1]]),
        lead,
        np.arange(n) / max(n - 1, 1),
        np.concatenate([[1.0], ends[:-1]]),  # previous line ends a sentence
        np.concatenate([lead[1:], [0.0]]),   # next line opens with a lead
        np.concatenate([byline[1:], [0.0]]),
    ], axis=1)
    return np.hstack([mean_p, first_p, head_b, prev_p, next_p, prev2_p, next2_p, shape])


def fit_line_head(rows: list[np.ndarray], labels: list[np.ndarray], C: float = 1.0) -> dict[str, Any]:
    """Fit the head on feature rows and gold line tags; returns the JSON-ready parameters."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, y = np.vstack(rows), np.concatenate(labels)
    scaler = StandardScaler().fit(X)
    lr = LogisticRegression(C=C, max_iter=3000).fit(scaler.transform(X), y)
    return {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(), "coef": lr.coef_.tolist(),
            "intercept": lr.intercept_.tolist(), "classes": [int(c) for c in lr.classes_]}


def predict_line_tags(head: Mapping[str, Any], feats: np.ndarray) -> np.ndarray:
    """Most likely tag per line, made consistent: ``I-x`` after anything but role x becomes ``B-x``."""
    if len(feats) == 0:
        return np.zeros(0, dtype=np.int64)
    z = (feats - np.asarray(head["mean"])) / np.asarray(head["scale"])
    logits = z @ np.asarray(head["coef"]).T + np.asarray(head["intercept"])
    classes = np.asarray(head["classes"])
    if logits.shape[1] == 1:  # binary LR stores one row
        logits = np.hstack([-logits, logits])
    return consistent_tags(classes[logits.argmax(1)])


def consistent_tags(tags: np.ndarray) -> np.ndarray:
    """Line tags a BIO chain can produce: ``I-x`` at the start or after a line of another role becomes ``B-x``.

    A line tag is its first token's label, so a span that starts mid-line (an OCR line holding a
    headline and the start of the body) gives its next line ``I-body`` after a headline line; a
    crop of a page can also start inside a span. Neither is a move the CRF may make.
    """
    out = np.array(tags, dtype=np.int64, copy=True)
    prev = 0
    for i, t in enumerate(out.tolist()):
        if t in (2, 4) and LABEL_ROLE[prev] != LABEL_ROLE[t]:
            out[i] = t - 1
        prev = int(out[i])
    return out


def line_labels(text: str, char_index: np.ndarray, probs: np.ndarray, head: Mapping[str, Any],
                split: str = "none") -> np.ndarray:
    """Per-token boundary labels from per-line tags (the first token carries ``B-``)."""
    lines = line_spans(text, char_index, split)
    return tags_to_token_labels(len(char_index), lines, predict_line_tags(head, line_features(text, char_index, probs, lines)))


def tags_to_token_labels(n_tokens: int, lines: Sequence[tuple[int, int]], tags: np.ndarray) -> np.ndarray:
    """Per-token boundary labels from one tag per line: a line's first token carries ``B-``, the rest ``I-``."""
    out = np.zeros(n_tokens, dtype=np.int64)
    for (a, b), t in zip(lines, np.asarray(tags).tolist()):
        out[a] = t
        out[a + 1:b] = t + 1 if t in (1, 3) else t
    return out


def gold_line_tags(token_labels: np.ndarray, lines: Sequence[tuple[int, int]]) -> np.ndarray:
    """The gold tag of each line: the label of its first token."""
    return np.array([int(token_labels[a]) for a, _ in lines], dtype=np.int64)
