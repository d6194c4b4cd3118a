"""Token predictions -> spans with roles -> articles.

Linking is where detached headlines and split fragments come back to their article. The model
gives every token a topic distribution; on top of that, fragments of one article share names,
places and phrases, which char n-gram TF-IDF similarity picks up (a headline almost always repeats
a phrase of its body). Scores combine topic agreement, text similarity and reading-order
proximity; weights live in ``config.link`` so a trained model carries its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np

from newsseg.data.cues import LEAD_RE, SENTENCE_END, is_byline
from newsseg.data.encoding import LABEL_IS_B, LABEL_ROLE, codepoints, labels_to_spans, line_token_spans
from newsseg.data.pages import Article, Page, Span
from newsseg.model.linker import LearnedLinker, PairLinker, unit_rows

# Linking is quadratic in fragments (pairwise similarity, average-link merging). A real page has
# tens; a 1 MB page or OCR garbage can yield 10^5, which would need terabytes. Fragments are
# therefore linked within consecutive blocks of this many, so cost stays linear in page length.
LINK_BLOCK = 256

DEFAULT_LINK: dict[str, float] = {
    "body_topic": 1.0,     # weight of topic-distribution cosine between body clusters
    "body_text": 2.0,      # weight of char n-gram TF-IDF cosine between body clusters
    "body_adjacent": 0.6,  # bonus when two fragments follow each other with nothing between
    "body_midsentence": 0.4,  # bonus when the earlier fragment stops mid-sentence
    "body_orphan": 0.5,    # bonus for joining a fragment without a lead to one with a lead
    "body_threshold": 1.3,  # merge body clusters whose score exceeds this
    "head_topic": 1.0,
    "head_text": 3.0,
    "head_before": 0.5,    # headline directly before the cluster's first fragment
    "head_after": 0.25,    # headline directly after the cluster's last fragment
    "start_line": 0.5,     # Viterbi: log-penalty for opening a span at a line start
    "start_mid": 4.0,      # ... and in the middle of a line (OCR rarely starts an article mid-line)
    "end_mid": 2.0,        # ... for closing a span in the middle of a line
    "start_after_byline": 0.5,  # ... discount at the first line after a byline (an article just ended)
    "head_split": 1.0,     # ... extra for a headline directly after a headline (kicker + title = one)
    # Not a weight: 1 splits OCR lines at gutters (two columns read across, see GUTTER_RE) into two
    # lines for the line tagger and the Viterbi line starts; never tuned.
    "split_gutters": 1.0,
}
UNTUNED_KEYS = frozenset({"split_gutters"})

VITERBI_KEYS = frozenset({"start_line", "start_mid", "end_mid", "start_after_byline", "head_split"})


def gutter_split(w: Mapping[str, float]) -> str:
    """The line split (:data:`~newsseg.data.encoding.LINE_SPLITS`) the hand decoder's weights ask for."""
    return "gutters" if w["split_gutters"] else "none"


def _transitions(start_pen: float, end_pen: float, head_split: float) -> np.ndarray:
    """Log transition scores ``[from, to]`` of the BIO chain, with span open/close penalties."""
    t = np.zeros((5, 5))
    t[:, LABEL_IS_B] -= start_pen
    t[[1, 2], 1] -= head_split
    for f in range(5):
        for to in (2, 4):  # I-x may only follow B-x or I-x of the same role
            if LABEL_ROLE[f] != LABEL_ROLE[to]:
                t[f, to] = -np.inf
    t[1:, 0] -= end_pen  # leaving a span for furniture
    return t


def token_kinds(text: str, char_index: np.ndarray, w: Mapping[str, float]) -> np.ndarray:
    """Per token, which transition matrix applies: 0 mid-line, 1 line start, 2 line after a byline."""
    n = len(char_index)
    kind = np.zeros(n, dtype=np.int8)
    if n == 0:
        return kind
    kind[0] = 1
    kind[1:] = codepoints(text)[char_index[:-1]] == 10
    kind[line_token_spans(text, char_index, gutter_split(w))[0]] = 1  # a line's first character, after any indentation
    if w["start_after_byline"]:
        line_start, last_line = 0, ""
        for ln in text.split("\n"):
            if ln.strip():
                if is_byline(last_line.strip()):
                    k = int(np.searchsorted(char_index, line_start))
                    if k < n and kind[k] == 1:
                        kind[k] = 2
                last_line = ln
            line_start += len(ln) + 1
    return kind


# Pages decoded together by viterbi_many are padded to the longest: cap the padded cells per group.
VITERBI_GROUP_TOKENS = 1 << 20


def viterbi_many(pages: Sequence[tuple[np.ndarray, np.ndarray]], w: Mapping[str, float]) -> list[np.ndarray]:
    """Most likely label sequence of each page under BIO constraints and span open/close penalties.

    ``pages`` holds ``(token_kinds, probs)`` per page. Per-token argmax scatters one-character
    "headlines" through body text; a span that must pay to open (cheap at a line start, dear
    mid-line) and to close only appears where the model is sure. The recursion is sequential in the
    tokens, so its numpy calls cost the same for one page as for many: pages of similar length are
    run side by side (longest first, a page leaves the batch where it ends) instead of one by one.
    """
    trans = np.stack([_transitions(w["start_mid"], w["end_mid"], w["head_split"]),
                      _transitions(w["start_line"], 0.0, w["head_split"]),
                      _transitions(w["start_line"] - w["start_after_byline"], 0.0, w["head_split"])])
    out: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(pages)
    order = sorted((k for k in range(len(pages)) if len(pages[k][0])), key=lambda k: -len(pages[k][0]))
    while order:
        n_max = len(pages[order[0]][0])
        size = max(1, VITERBI_GROUP_TOKENS // n_max)
        group, order = order[:size], order[size:]
        lens = np.array([len(pages[k][0]) for k in group])
        logp = np.zeros((len(group), n_max, 5))
        kind = np.zeros((len(group), n_max), dtype=np.int64)
        for r, k in enumerate(group):
            kind[r, :lens[r]] = pages[k][0]
            logp[r, :lens[r]] = np.log(np.clip(pages[k][1], 1e-9, 1.0))
        back = np.zeros((len(group), n_max, 5), dtype=np.int8)
        score = logp[:, 0].copy()
        score[:, [2, 4]] = -np.inf  # a page cannot open inside a span
        live = len(group)  # pages still running at token i: a prefix, as lengths are sorted
        ends = np.zeros(len(group), dtype=np.int64)
        for i in range(1, n_max):
            while lens[live - 1] <= i:
                live -= 1
                ends[live] = int(score[live].argmax())
            cand = score[:live, :, None] + trans[kind[:live, i]]
            back[:live, i] = cand.argmax(1)
            score[:live] = cand.max(1) + logp[:live, i]
        ends[:live] = score[:live].argmax(1)
        # Backtrace, also side by side: a page joins once i reaches its last token.
        labels = np.zeros((len(group), n_max), dtype=np.int64)
        rows = np.arange(len(group))
        cur = ends.copy()
        for i in range(n_max - 1, -1, -1):
            started = lens - 1 >= i
            cur = np.where(lens - 1 == i, ends, cur)
            labels[started, i] = cur[started]
            if i:
                cur = np.where(started, back[rows, i, cur], cur)
        for r, k in enumerate(group):
            out[k] = labels[r, :lens[r]]
    return out


def viterbi_labels(text: str, char_index: np.ndarray, probs: np.ndarray, w: Mapping[str, float]) -> np.ndarray:
    """:func:`viterbi_many` for one page."""
    return viterbi_many([(token_kinds(text, char_index, w), probs)], w)[0]


@dataclass
class Fragment:
    """A predicted span with what linking needs to know about it."""

    span: Span
    order: int
    topic: np.ndarray
    text: str
    lead: bool = False


def _text_sim(texts: Sequence[str]) -> np.ndarray:
    """Pairwise char 2–3-gram TF-IDF cosine among the page's fragments (idf within the page).

    The same numbers as scikit-learn's ``TfidfVectorizer(analyzer="char", ngram_range=(2, 3),
    sublinear_tf=True)`` (lower-cased, smooth idf, l2 rows; pinned by a test), computed on code-point
    arrays: the vectoriser's per-call Python work cost more than the encoder on short pages.
    """
    n = len(texts)
    if n < 2:
        return np.zeros((n, n))
    docs = ["".join(t.split()).lower() for t in texts]
    cp = codepoints("".join(docs)).astype(np.int64)
    doc = np.repeat(np.arange(n), [len(d) for d in docs])
    cells, n_terms = [], 0
    for k in (2, 3):
        m = len(cp) - k + 1
        if m <= 0:
            continue
        inside = doc[:m] == doc[k - 1:]  # n-grams do not cross fragments
        key = cp[:m]
        for j in range(1, k):  # code points are < 2^21, so three fit in one int64
            key = key * (1 << 21) + cp[j:j + m]
        terms, ids = np.unique(key[inside], return_inverse=True)
        cells.append((ids.reshape(-1) + n_terms) * n + doc[:m][inside])
        n_terms += len(terms)
    if n_terms == 0:  # every fragment shorter than two characters
        return np.zeros((n, n))
    # One entry per (term, fragment) that has it, sorted by term: raw counts -> sublinear tf * idf.
    cell, tf = np.unique(np.concatenate(cells), return_counts=True)
    term, frag = cell // n, cell % n
    df = np.bincount(term, minlength=n_terms)
    w = (1.0 + np.log(tf)) * (np.log((1 + n) / (1 + df)) + 1.0)[term]
    w /= np.sqrt(np.bincount(frag, weights=w * w, minlength=n))[frag]
    # Gram matrix over dense slices of terms: one slice on a normal page, bounded memory on a huge one.
    gram = np.zeros((n, n))
    step = max(1, (1 << 22) // n)
    bounds = np.searchsorted(term, np.arange(0, n_terms + step, step))
    for t0, (lo, hi) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist())):
        if hi > lo:
            dense = np.zeros((n, min(step, n_terms - t0 * step)))
            dense[frag[lo:hi], term[lo:hi] - t0 * step] = w[lo:hi]
            gram += dense @ dense.T
    return gram


def decode_page(page_id: str, text: str, char_index: np.ndarray, boundary_probs: np.ndarray,
                topic_probs: np.ndarray, topic_labels: Sequence[str],
                link: Mapping[str, float] | None = None, line_head: Mapping[str, Any] | None = None,
                labels: np.ndarray | None = None, linker: LearnedLinker | None = None) -> Page:
    """Turn per-token probabilities of both heads into a page with linked, scored articles.

    With a fitted ``line_head`` (see :mod:`newsseg.model.lines`) tags are decided per line;
    without one, by a constrained Viterbi pass over the tokens. ``labels`` skips that step (see
    :func:`decode_pages`). With a ``linker`` (:mod:`newsseg.model.linker`) body fragments are
    linked by its learned pair scores instead of the hand-weighted ``body_*`` cues.
    """
    w = {**DEFAULT_LINK, **(link or {})}
    blocks = fragment_blocks(text, char_index, boundary_probs, topic_probs, w, line_head, labels)
    return link_blocks(page_id, text, blocks, topic_labels, w, linker)


PageProbs = tuple[Page, np.ndarray, np.ndarray, np.ndarray]  # page, char_index, boundary probs, topic probs


def decode_pages(items: Sequence[PageProbs], topic_labels: Sequence[str], link: Mapping[str, float] | None = None,
                 line_head: Mapping[str, Any] | None = None, linker: LearnedLinker | None = None) -> list[Page]:
    """:func:`decode_page` for many pages; without a line head their Viterbi passes run side by side."""
    w = {**DEFAULT_LINK, **(link or {})}
    labels: Sequence[np.ndarray | None] = [None] * len(items)
    if not line_head:
        labels = viterbi_many([(token_kinds(p.text, ci, w), b) for p, ci, b, _ in items], w)
    return [decode_page(p.id, p.text, ci, b, t, topic_labels, w, line_head, lab, linker)
            for (p, ci, b, t), lab in zip(items, labels)]


FragmentBlocks = list[tuple[list[Fragment], np.ndarray]]


def fragment_blocks(text: str, char_index: np.ndarray, boundary_probs: np.ndarray, topic_probs: np.ndarray,
                    w: Mapping[str, float], line_head: Mapping[str, Any] | None = None,
                    labels: np.ndarray | None = None) -> FragmentBlocks:
    """Spans as fragments, in blocks of at most ``LINK_BLOCK`` with their text similarities.

    Split from :func:`link_blocks` so that linking weights can be tuned without redoing this part
    (with a line head, nothing here depends on the weights).
    """
    if len(char_index) == 0:
        return []
    if labels is None and line_head:
        from newsseg.model.lines import line_labels

        labels = line_labels(text, char_index, boundary_probs, line_head, gutter_split(w))
    elif labels is None:
        labels = viterbi_labels(text, char_index, boundary_probs, w)
    spans = labels_to_spans(text, char_index, labels)
    if not spans:
        return []
    # Token index range of each span: char_index is sorted, so a binary search finds them all;
    # per-span sums come from one reduceat (the odd slots are the gaps between spans).
    bounds = np.searchsorted(char_index, [(s.start, s.end) for s in spans])
    lo, hi = bounds[:, 0], bounds[:, 1]
    at = bounds.ravel()
    conf = np.add.reduceat(np.append(boundary_probs.max(-1).astype(np.float64), 0.0), at)[::2] / (hi - lo)
    topics = np.add.reduceat(np.vstack([topic_probs, np.zeros((1, topic_probs.shape[1]))]), at)[::2]
    frags: list[Fragment] = []
    for i, s in enumerate(spans):
        s.score = float(conf[i])
        frag_text = text[s.start:s.end]
        frags.append(Fragment(s, i % LINK_BLOCK, topics[i], frag_text,
                              lead=s.role == "body" and bool(LEAD_RE.match(frag_text))))
    blocks = [frags[b0:b0 + LINK_BLOCK] for b0 in range(0, len(frags), LINK_BLOCK)]
    return [(block, _text_sim([f.text for f in block])) for block in blocks]


def link_blocks(page_id: str, text: str, blocks: FragmentBlocks, topic_labels: Sequence[str],
                w: Mapping[str, float], linker: PairLinker | None = None) -> Page:
    """Link each block's fragments into articles; each article gets a topic and a score."""
    w = {**DEFAULT_LINK, **w}
    arts = []
    for block, sim in blocks:
        clusters = _cluster_bodies([f for f in block if f.span.role == "body"], sim, w, linker)
        for members in _attach_headlines(block, clusters, sim, w, linker):
            fs = sorted((block[m] for m in members), key=lambda f: f.span.start)
            topic = topic_labels[int(np.argmax(sum(f.topic for f in fs)))]
            score = float(np.mean([f.span.score for f in fs]))
            arts.append(Article("", topic, _merge_adjacent(fs, text), score=score))
    arts.sort(key=lambda a: a.spans[0].start)
    for i, a in enumerate(arts):
        a.id = f"a{i + 1}"
    return Page(page_id, text, arts)


def _score(x: float | None) -> float:
    return 1.0 if x is None else x  # a score of 0.0 is a score, not a missing one


def _merge_adjacent(frags: list[Fragment], text: str) -> list[Span]:
    """One span per contiguous run: same-role fragments of one article with nothing between them
    (no other span, and only whitespace: furniture between them keeps them apart) are one fragment
    that the tagger cut in two (a span is a maximal contiguous piece)."""
    out: list[Span] = []
    prev: Fragment | None = None
    for f in frags:
        if prev is not None and f.order == prev.order + 1 and f.span.role == out[-1].role \
                and not text[out[-1].end:f.span.start].strip():
            last = out[-1]
            out[-1] = Span(last.start, f.span.end, last.role, score=min(_score(last.score), _score(f.span.score)))
        else:
            out.append(replace(f.span))
        prev = f
    return out


def _body_scores(bodies: list[Fragment], sim: np.ndarray, w: Mapping[str, float]) -> np.ndarray:
    """The hand-weighted pair score of body fragments: topic and text similarity, adjacency bonuses."""
    orders = np.array([f.order for f in bodies])
    topics = unit_rows(np.stack([f.topic for f in bodies]).astype(np.float64))
    S = w["body_topic"] * (topics @ topics.T) + w["body_text"] * sim[np.ix_(orders, orders)]
    for i in range(len(bodies) - 1):
        if orders[i + 1] == orders[i] + 1:  # nothing predicted between them
            bonus = w["body_adjacent"]
            if bodies[i].text.rstrip()[-1:] not in SENTENCE_END:
                bonus += w["body_midsentence"]
            S[i, i + 1] += bonus
            S[i + 1, i] += bonus
    leads = np.array([f.lead for f in bodies], dtype=np.int64)
    # A split article has one lead: a lead-less fragment most likely continues a fragment with one.
    return S + w["body_orphan"] * (leads[:, None] != leads[None, :])


def _cluster_bodies(bodies: list[Fragment], sim: np.ndarray, w: Mapping[str, float],
                    linker: PairLinker | None = None) -> list[list[int]]:
    """Greedy average-link merging of body fragments; two leads never share an article.

    The cluster-pair score matrix is updated in place after each merge (Lance–Williams), so a page
    with many predicted fragments costs O(k^2) per merge instead of recomputing every pair.
    """
    k = len(bodies)
    if k < 2:
        return [[f.order] for f in bodies]
    orders = np.array([f.order for f in bodies])
    if linker is not None:
        S, threshold = linker.pair_scores(bodies, sim), linker.threshold
    else:
        S, threshold = _body_scores(bodies, sim, w), w["body_threshold"]
    leads = np.array([f.lead for f in bodies], dtype=np.int64)
    np.fill_diagonal(S, -np.inf)
    sizes = np.ones(k)
    members: list[list[int]] = [[int(o)] for o in orders]
    alive = np.ones(k, dtype=bool)
    while True:
        both_lead = (leads[:, None] + leads[None, :]) > 1
        cand = np.where(both_lead | ~alive[:, None] | ~alive[None, :], -np.inf, S)
        i, j = np.unravel_index(int(np.argmax(cand)), cand.shape)
        if not cand[i, j] > threshold:
            break
        # Average linkage: the merged cluster's score to any other is the size-weighted mean.
        row = (sizes[i] * S[i] + sizes[j] * S[j]) / (sizes[i] + sizes[j])
        S[i, :], S[:, i] = row, row
        S[i, i] = -np.inf
        sizes[i] += sizes[j]
        leads[i] += leads[j]
        members[i] += members[j]
        alive[j] = False
    return [sorted(members[i]) for i in range(k) if alive[i]]


def _attach_headlines(frags: list[Fragment], clusters: list[list[int]], sim: np.ndarray,
                      w: Mapping[str, float], linker: Any = None) -> list[list[int]]:
    """Give each headline span to one body cluster, one-to-one where possible (Hungarian).

    Adjacent headline spans are NOT pre-merged: on real pages the headlines of different
    articles often sit together (all four on the sample page), and the one-to-one assignment is
    what keeps them apart. A kicker the model split from its title competes for the same article
    and, having lost, joins its best match as an extra headline.
    """
    heads = [f.order for f in frags if f.span.role == "headline"]
    groups = [list(c) for c in clusters]
    if not groups or not heads:
        return groups + [[h] for h in heads]

    htopic = unit_rows(np.stack([frags[h].topic for h in heads]))
    gtopic = unit_rows(np.stack([sum(frags[m].topic for m in g) for g in groups]))
    score = w["head_topic"] * (htopic @ gtopic.T)
    hsim = sim[heads]  # [n_heads, n_frags]
    score += w["head_text"] * np.stack([hsim[:, g].max(1) for g in groups], axis=1)
    first, last, hs = np.array([min(g) for g in groups]), np.array([max(g) for g in groups]), np.array(heads)
    score += w["head_before"] * (first[None, :] == hs[:, None] + 1)
    score += w["head_after"] * (last[None, :] == hs[:, None] - 1)
    if hasattr(linker, "head_scores"):  # the page model's log-odds, plus the hand cues at a fitted weight
        score = linker.head_scores([frags[h] for h in heads], [[frags[m] for m in g] for g in groups]) \
            + getattr(linker, "head_hand_weight", 0.0) * score
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-score)
    assigned = set(rows.tolist())
    for i, j in zip(rows, cols):
        groups[j].append(heads[i])
    for i, h in enumerate(heads):
        if i not in assigned:  # more headlines than bodies: join the best-scoring article
            groups[int(np.argmax(score[i]))].append(h)
    return groups
