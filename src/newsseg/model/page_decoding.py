"""Decode a page with the page model: its CRF line tags make the fragments, its pair head links them.

The fragments are runs of lines tagged by :class:`newsseg.model.page_model.PageModel`; two
fragments' "same article" score is the mean of the page model's log-odds over all pairs of their
lines. Clustering keeps the page's constraints (:func:`newsseg.model.decoding.link_blocks`: two leads
never share an article, each headline goes to one article, one-to-one where possible), with
:class:`PageLinks` in place of the hand-weighted cues.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from newsseg.data.pages import Page
from newsseg.model.decoding import DEFAULT_LINK, FragmentBlocks, fragment_blocks, link_blocks
from newsseg.model.linker import LearnedLinker, PairLinker
from newsseg.model.lines import tags_to_token_labels


@dataclass
class PageLinks:
    """Fragment-pair scores from the page model's line-pair log-odds (the linker interface of
    :func:`newsseg.model.decoding.link_blocks`)."""

    line_starts: np.ndarray   # character offset of each line's first token, ascending
    logits: np.ndarray        # [n_lines, n_lines] same-article log-odds
    threshold: float = 0.0    # a merge must score above this
    # A learned linker stacked on these scores (its last feature is the page model's pair log-odds,
    # the others the hand cues of newsseg.model.linker); its threshold replaces ``threshold``.
    stack: LearnedLinker | None = None
    # Weight of the hand-weighted headline cues (text similarity, topic, adjacency) added to the page
    # model's headline-to-article log-odds (fitted; 0: the page model alone).
    head_hand_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.stack is not None:
            self.threshold = self.stack.threshold

    def _members(self, frags: Sequence[Any]) -> np.ndarray:
        """``[len(frags), n_lines]``: 1 / (the fragment's line count) on its lines, 0 elsewhere."""
        m = np.zeros((len(frags), len(self.line_starts)))
        for i, f in enumerate(frags):
            lo, hi = np.searchsorted(self.line_starts, [f.span.start, f.span.end])
            lo = min(int(lo), len(self.line_starts) - 1)
            hi = max(int(hi), lo + 1)
            m[i, lo:hi] = 1.0 / (hi - lo)
        return m

    def _between(self, a: Sequence[Any], b: Sequence[Any]) -> np.ndarray:
        # The mean of logits over all (line of x, line of y) pairs, for every x in a and y in b at once.
        return self._members(a) @ self.logits @ self._members(b).T

    def page_scores(self, bodies: Sequence[Any]) -> np.ndarray:
        """Mean line-pair log-odds between every two body fragments."""
        return self._between(bodies, bodies)

    def pair_scores(self, bodies: Sequence[Any], sim: np.ndarray) -> np.ndarray:
        """The page model's fragment-pair log-odds, or the stacked linker's over them and the hand cues."""
        page = self.page_scores(bodies)
        return page if self.stack is None else self.stack.pair_scores(bodies, sim, page)

    def head_scores(self, heads: Sequence[Any], groups: Sequence[Sequence[Any]]) -> np.ndarray:
        """Log-odds that each headline fragment belongs with each body cluster (mean over its lines)."""
        # A cluster's lines weigh equally: its membership row is the union of its fragments' lines.
        m = np.stack([(self._members(g) > 0).any(0) for g in groups]).astype(np.float64)
        m /= np.maximum(m.sum(1, keepdims=True), 1.0)
        return self._members(heads) @ self.logits @ m.T


def page_model_blocks(text: str, char_index: np.ndarray, boundary_probs: np.ndarray, topic_probs: np.ndarray,
                      lines: Sequence[tuple[int, int]], tags: np.ndarray, w: Mapping[str, float]
                      ) -> tuple[FragmentBlocks, np.ndarray]:
    """The fragments of the page model's line ``tags`` (in linking blocks) and each line's first character.

    Nothing here depends on how fragments are then linked: a fit that tries many linkings builds it once.
    """
    labels = tags_to_token_labels(len(char_index), lines, tags)
    blocks = fragment_blocks(text, char_index, boundary_probs, topic_probs, w, labels=labels)
    starts = char_index[[a for a, _ in lines]] if len(lines) else np.zeros(0, dtype=np.int64)
    return blocks, starts


def page_model_linker(cfg: Any, starts: np.ndarray, logits: np.ndarray, hand: PairLinker | None = None
                      ) -> PairLinker | None:
    """How a page model's config links: its :class:`PageLinks` (threshold, stacked linker, headline
    weight), or with ``use_links`` off, ``hand`` (the fitted hand linker; ``None``: the hand weights)."""
    if not cfg.use_links:
        return hand
    return PageLinks(starts, logits, cfg.threshold, LearnedLinker.from_dict(cfg.stack), cfg.head_hand_weight)


def decode_with_page_model(page_id: str, text: str, char_index: np.ndarray, boundary_probs: np.ndarray,
                           topic_probs: np.ndarray, topic_labels: Sequence[str], lines: Sequence[tuple[int, int]],
                           tags: np.ndarray, logits: np.ndarray, cfg: Any, link: Mapping[str, float] | None = None,
                           hand: PairLinker | None = None) -> Page:
    """A page with articles from the page model's line ``tags`` and pair ``logits``, linked as its config
    ``cfg`` (:class:`~newsseg.model.page_model.PageModelConfig`) says (see :func:`page_model_linker`)."""
    w = {**DEFAULT_LINK, **(link or {})}
    blocks, starts = page_model_blocks(text, char_index, boundary_probs, topic_probs, lines, tags, w)
    return link_blocks(page_id, text, blocks, topic_labels, w, page_model_linker(cfg, starts, logits, hand))
