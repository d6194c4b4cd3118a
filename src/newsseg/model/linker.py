"""A learned linker: which body fragments of a page belong to one article.

The hand-weighted linker adds five cues with weights found by coordinate search. This one learns
the pair score: a logistic regression over features of two body fragments (topic agreement, text
similarity, reading-order and character distance, leads, sentence ends, bylines, jump lines),
fitted on decoder-fit pages whose gold articles are known. Clustering stays the same average-link
merge with the same hard constraint (two leads never share an article); the merge threshold is on
the model's log-odds. The fitted model is a few numbers in ``config.linker`` (JSON, no pickle).

Example::

    linker = fit_linker(blocks_per_page, golds)        # newsseg.train.linking does this at train time
    scores = linker.pair_scores(bodies, sim)           # log-odds that two fragments share an article
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np

from newsseg.data.cues import SENTENCE_END, is_byline
from newsseg.data.pages import Page

FEATURES: tuple[str, ...] = (
    "topic_cos", "text_sim", "adjacent", "adjacent_midsentence", "first_midsentence", "lead_first",
    "lead_second", "one_lead", "log_order_gap", "log_char_gap", "byline_between", "jump_out", "jump_in",
    "log_len_first", "log_len_second",
)
# A continuation line: "下转第4版" at the end of the first part, "上接第1版"/"接上栏" at the start of the next.
_JUMP_OUT = re.compile(r"(下转|转第|转\s*\d+\s*版|未完)[^\n]{0,8}\s*$")
_JUMP_IN = re.compile(r"^\s*[（(]?\s*(上接|接上|接第|续上)")


class PairLinker(Protocol):
    """What linking asks of a learned linker: body-pair log-odds and a merge threshold
    (:class:`LearnedLinker`, or the page model's :class:`newsseg.model.page_decoding.PageLinks`, which
    also scores headlines against body clusters with a ``head_scores`` method)."""

    threshold: float

    def pair_scores(self, bodies: Sequence[Any], sim: np.ndarray) -> np.ndarray: ...


PAGE_FEATURE = "page_logit"  # the page model's pair log-odds, the last feature of a stacked linker


def with_page(feats: np.ndarray, page: np.ndarray | None) -> np.ndarray:
    """``feats`` ``[k, k, F]`` with the page model's ``[k, k]`` pair log-odds appended (when given)."""
    return feats if page is None else np.concatenate([feats, page[..., None]], axis=-1)


def unit_rows(v: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (all-zero rows stay zero), for cosine similarity by matmul."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def pair_features(bodies: Sequence[Any], sim: np.ndarray) -> np.ndarray:
    """Features of every ordered pair (i, j) of body fragments, shape ``[k, k, len(FEATURES)]``.

    ``bodies`` are :class:`newsseg.model.decoding.Fragment` objects in page order; ``sim`` is the
    block's text similarity indexed by ``Fragment.order``. The matrix is symmetrised by taking,
    for each unordered pair, the features with the earlier fragment first.
    """
    k = len(bodies)
    orders = np.array([f.order for f in bodies])
    topics = unit_rows(np.stack([f.topic for f in bodies]).astype(np.float64))
    starts = np.array([f.span.start for f in bodies])
    ends = np.array([f.span.end for f in bodies])
    lead = np.array([f.lead for f in bodies], dtype=np.float64)
    mid = np.array([f.text.rstrip()[-1:] not in SENTENCE_END for f in bodies], dtype=np.float64)
    jump_out = np.array([bool(_JUMP_OUT.search(f.text)) for f in bodies], dtype=np.float64)
    jump_in = np.array([bool(_JUMP_IN.match(f.text)) for f in bodies], dtype=np.float64)
    closes = np.array([is_byline(f.text.rstrip().rsplit("\n", 1)[-1]) for f in bodies], dtype=np.float64)
    length = np.log1p(np.array([len(f.text) for f in bodies], dtype=np.float64))

    first = np.arange(k)[:, None] <= np.arange(k)[None, :]  # i before j (bodies are in page order)
    a = np.where(first, np.arange(k)[:, None], np.arange(k)[None, :])  # the earlier of the two
    b = np.where(first, np.arange(k)[None, :], np.arange(k)[:, None])  # the later
    adjacent = (orders[b] == orders[a] + 1).astype(np.float64)
    # A byline at the end of the earlier fragment, or of any body between the two, closes an article.
    closed_before = np.concatenate([[0.0], np.cumsum(closes)])
    byline_between = (closed_before[b] - closed_before[a] > 0).astype(np.float64)
    feats = np.stack([
        topics @ topics.T,
        sim[np.ix_(orders, orders)],
        adjacent,
        adjacent * mid[a],
        mid[a],
        lead[a],
        lead[b],
        (lead[a] + lead[b] == 1).astype(np.float64),
        np.log1p(np.abs(orders[b] - orders[a])),
        np.log1p(np.maximum(0, starts[b] - ends[a])) / 5.0,
        byline_between,
        jump_out[a],
        jump_in[b],
        length[a] / 5.0,
        length[b] / 5.0,
    ], axis=-1)
    return feats


@dataclass
class LearnedLinker:
    """Logistic pair scores for body fragments; ``threshold`` is the log-odds a merge must exceed."""

    coef: list[float]
    intercept: float
    threshold: float = 0.0
    features: list[str] = field(default_factory=lambda: list(FEATURES))

    def pair_scores(self, bodies: Sequence[Any], sim: np.ndarray, page: np.ndarray | None = None) -> np.ndarray:
        """Log-odds that fragments i and j belong to one article, ``[k, k]`` (diagonal unset).

        A linker stacked on the page model (features end in ``page_logit``) also takes ``page``, the
        page model's fragment-pair log-odds (:class:`newsseg.model.page_decoding.PageLinks`).
        """
        stacked = self.features == [*FEATURES, PAGE_FEATURE]
        if self.features != list(FEATURES) and not stacked:
            raise ValueError(f"linker was fitted on features {self.features}, this code computes {list(FEATURES)}")
        if stacked and page is None:
            raise ValueError("this linker is stacked on the page model: pass its pair scores as page=")
        return with_page(pair_features(bodies, sim), page if stacked else None) @ np.asarray(self.coef) + self.intercept

    def to_dict(self) -> dict[str, Any]:
        return {"coef": [round(float(c), 6) for c in self.coef], "intercept": round(float(self.intercept), 6),
                "threshold": float(self.threshold), "features": list(self.features)}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> LearnedLinker | None:
        if not d:
            return None
        return cls([float(c) for c in d["coef"]], float(d["intercept"]), float(d.get("threshold", 0.0)),
                   list(d.get("features", FEATURES)))


def gold_owner(gold: Page, start: int, end: int) -> str | None:
    """The gold article holding most of ``[start, end)``'s characters (``None``: furniture)."""
    best, best_n = None, 0
    for art in gold.articles:
        n = sum(max(0, min(end, s.end) - max(start, s.start)) for s in art.spans)
        if n > best_n:
            best, best_n = art.id, n
    return best


def linker_training_pairs(blocks: Sequence[tuple[Sequence[Any], np.ndarray]], gold: Page,
                          page: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(features, same-article labels) for every unordered pair of predicted body fragments of a page.

    A fragment's gold article is the one holding most of its characters; furniture (no gold owner)
    pairs with nothing. ``page`` (the page model's :class:`~newsseg.model.page_decoding.PageLinks`)
    adds its pair log-odds as the last feature.
    """
    xs, ys = [], []
    for block, sim in blocks:
        bodies = [f for f in block if f.span.role == "body"]
        if len(bodies) < 2:
            continue
        owners = [gold_owner(gold, f.span.start, f.span.end) for f in bodies]
        feats = with_page(pair_features(bodies, sim), None if page is None else page.page_scores(bodies))
        iu = np.triu_indices(len(bodies), 1)
        xs.append(feats[iu])
        ys.append(np.array([owners[i] is not None and owners[i] == owners[j] for i, j in zip(*iu)]))
    if not xs:
        return np.zeros((0, len(FEATURES) + (page is not None))), np.zeros(0, dtype=bool)
    return np.concatenate(xs), np.concatenate(ys)


def fit_linker(x: np.ndarray, y: np.ndarray, c: float = 1.0) -> LearnedLinker | None:
    """Fit the pair model (scikit-learn's logistic regression); ``None`` when one class is missing.

    ``x`` with one column more than :data:`FEATURES` is a linker stacked on the page model.
    """
    if len(y) == 0 or y.all() or not y.any():
        return None
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=c, max_iter=2000)
    lr.fit(x, y)
    names = list(FEATURES) + ([PAGE_FEATURE] if x.shape[1] == len(FEATURES) + 1 else [])
    return LearnedLinker(lr.coef_[0].tolist(), float(lr.intercept_[0]), features=names)
