"""Page segmentation metrics (docs/SPEC.md §3), over a gold and a predicted :class:`~newsseg.data.pages.Page`.

Every character-level metric skips whitespace. Conventions for edge cases (documented in
``evaluate/README.md`` and pinned in ``tests/test_metrics.py``):

* A metric whose denominator is empty is ``None`` ("n/a") and is left out of corpus averages:
  B-cubed on a page without gold span characters, Pk/WindowDiff on a page with fewer than two
  non-whitespace characters, headline exact-match rate without gold headlines, topic scores
  without gold articles.
* The set-matching F1 scores (line boundary, headline) are ``2·tp / (2·tp + fp + fn)``, which is
  1.0 when there is nothing to find and nothing was predicted. Precision is 1.0 with no predictions
  and recall is 1.0 with no gold items, so a missing prediction scores P = 1, R = 0, F1 = 0.
* Corpus scores are micro-averaged over characters / lines / headlines / articles, except Pk and
  WindowDiff, which are the mean of the per-page values.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from newsseg.data.encoding import codepoints, whitespace_mask
from newsseg.data.pages import DEFAULT_TOPICS, Page, Span

NO_TOPIC = "none"  # predicted topic of a gold article that no predicted span covers

# (key, label, higher_is_better): the rows of every side-by-side table, in order.
METRICS: tuple[tuple[str, str, bool], ...] = (
    ("bcubed_f1", "article assembly B³ F1", True),
    ("bcubed_precision", "B³ precision", True),
    ("bcubed_recall", "B³ recall", True),
    ("link_f1", "pairwise fragment link F1", True),
    ("link_precision", "link precision", True),
    ("link_recall", "link recall", True),
    ("pk", "Pk (lower is better)", False),
    ("windowdiff", "WindowDiff (lower is better)", False),
    ("line_f1", "line boundary F1 (exact)", True),
    ("line_precision", "line boundary precision", True),
    ("line_recall", "line boundary recall", True),
    ("line_f1_tol1", "line boundary F1 (±1 line)", True),
    ("headline_f1", "headline F1 (IoU ≥ 0.5)", True),
    ("headline_precision", "headline precision", True),
    ("headline_recall", "headline recall", True),
    ("headline_exact", "headline exact-match rate", True),
    ("topic_accuracy", "topic accuracy", True),
    ("topic_macro_f1", "topic macro-F1", True),
)


@dataclass
class PageCounts:
    """Additive counts of one page (or, summed, of a corpus) from which the metrics are computed."""

    n_chars: int = 0
    bc_n: int = 0
    bc_p: float = 0.0
    bc_r: float = 0.0
    line_gold: int = 0
    line_pred: int = 0
    line_tp: int = 0
    line_tp_tol: int = 0
    hl_gold: int = 0
    hl_pred: int = 0
    hl_tp: int = 0
    hl_exact: int = 0
    link_gold: int = 0
    link_pred: int = 0
    link_tp: int = 0
    n_pred_articles: int = 0
    topic_true: list[str] = field(default_factory=list)
    topic_pred: list[str] = field(default_factory=list)

    def __add__(self, o: "PageCounts") -> "PageCounts":
        nums = {k: getattr(self, k) + getattr(o, k) for k in self.__dataclass_fields__
                if k not in ("topic_true", "topic_pred")}
        return PageCounts(**nums, topic_true=self.topic_true + o.topic_true,
                          topic_pred=self.topic_pred + o.topic_pred)


# ---------------------------------------------------------------- per-character views of a page

def char_articles(page: Page) -> np.ndarray:
    """Article index per character (-1 = outside every span). Out-of-range offsets are clipped."""
    ids = np.full(len(page.text), -1, dtype=np.int64)
    for i, art in enumerate(page.articles):
        for s in art.spans:
            ids[max(0, s.start):max(0, s.end)] = i
    return ids


def nonspace_mask(text: str) -> np.ndarray:
    """True for every non-whitespace character."""
    return ~whitespace_mask(codepoints(text))


def _trim(span: Span, cum: np.ndarray) -> tuple[int, int] | None:
    """(first, last + 1) non-whitespace offsets inside a span; None if it holds none."""
    n = len(cum) - 1
    a, b = max(0, span.start), min(n, span.end)
    if a >= b or cum[b] == cum[a]:
        return None
    # cum[i] counts non-space chars before i, so the first non-space char is where cum steps up.
    first = int(np.searchsorted(cum, cum[a], side="right")) - 1
    last = int(np.searchsorted(cum, cum[b], side="left"))
    return first, last


# ------------------------------------------------------------------------------ the metrics

def bcubed_sums(gold_ids: np.ndarray, pred_ids: np.ndarray, mask: np.ndarray) -> tuple[float, float, int]:
    """Summed per-character B-cubed precision and recall over gold-span characters, and their count.

    A character outside every predicted span is its own singleton cluster.
    """
    sel = mask & (gold_ids >= 0)
    g, p = gold_ids[sel], pred_ids[sel].copy()
    n = len(g)
    if n == 0:
        return 0.0, 0.0, 0
    out = p < 0
    p[out] = -1 - np.arange(int(out.sum()))  # a fresh cluster id per unassigned char
    pairs, n_gp = np.unique(np.stack([g, p]), axis=1, return_counts=True)
    size_g = dict(zip(*np.unique(g, return_counts=True)))
    size_p = dict(zip(*np.unique(p, return_counts=True)))
    # Each of the n_gp chars of a (gold, pred) cell has precision n_gp/|P| and recall n_gp/|G|.
    p_sum = sum(c * c / size_p[pp] for (_, pp), c in zip(pairs.T, n_gp))
    r_sum = sum(c * c / size_g[gg] for (gg, _), c in zip(pairs.T, n_gp))
    return float(p_sum), float(r_sum), n


def pk_windowdiff(gold_seq: np.ndarray, pred_seq: np.ndarray,
                  k: int | None = None) -> tuple[float | None, float | None, int | None]:
    """Pk and WindowDiff of two label sequences (a segment = a run of equal labels).

    ``k`` defaults to half the mean gold segment length (rounded half up, at least 1, at most
    n - 1). Returns ``(None, None, None)`` for sequences shorter than two.
    """
    n = len(gold_seq)
    if n < 2:
        return None, None, None
    b_ref = (gold_seq[1:] != gold_seq[:-1]).astype(np.int64)
    b_hyp = (pred_seq[1:] != pred_seq[:-1]).astype(np.int64)
    if k is None:
        k = int(n / (b_ref.sum() + 1) / 2 + 0.5)
    k = min(max(1, k), n - 1)
    c_ref = np.concatenate([[0], np.cumsum(b_ref)])
    c_hyp = np.concatenate([[0], np.cumsum(b_hyp)])
    # Boundaries inside window i (between positions i and i + k): b[i:i+k].
    ref = c_ref[k:] - c_ref[:-k]
    hyp = c_hyp[k:] - c_hyp[:-k]
    return float(np.mean((ref > 0) != (hyp > 0))), float(np.mean(ref != hyp)), k


def _start_lines(page: Page, cum: np.ndarray, newlines: list[int]) -> set[int]:
    """Line numbers (0-based) on which a span's first non-whitespace character lies."""
    out = set()
    for s, _ in page.spans:
        t = _trim(s, cum)
        if t is not None:
            out.add(bisect.bisect_left(newlines, t[0]))
    return out


def match_lines(gold: set[int], pred: set[int], tol: int = 1) -> int:
    """Size of a maximum one-to-one matching of gold and predicted lines at most ``tol`` apart.

    Greedy in line order is optimal for interval constraints: each gold line takes the
    earliest free predicted line within reach.
    """
    ps = sorted(pred)
    j, tp = 0, 0
    for g in sorted(gold):
        while j < len(ps) and ps[j] < g - tol:
            j += 1
        if j < len(ps) and ps[j] <= g + tol:
            tp += 1
            j += 1
    return tp


def _headlines(page: Page, cum: np.ndarray) -> list[tuple[int, int]]:
    return [t for s, _ in page.spans if s.role == "headline" and (t := _trim(s, cum)) is not None]


def match_headlines(gold: list[tuple[int, int]], pred: list[tuple[int, int]],
                    cum: np.ndarray) -> tuple[int, int]:
    """(matched, exact) headline counts: one-to-one matches at non-whitespace IoU ≥ 0.5, exact boundaries."""
    if not gold or not pred:
        return 0, 0
    from scipy.optimize import linear_sum_assignment

    iou = np.zeros((len(gold), len(pred)))
    for i, (ga, gb) in enumerate(gold):
        for j, (pa, pb) in enumerate(pred):
            lo, hi = max(ga, pa), min(gb, pb)
            inter = float(cum[hi] - cum[lo]) if hi > lo else 0.0
            iou[i, j] = inter / (cum[gb] - cum[ga] + cum[pb] - cum[pa] - inter)
    ok = iou >= 0.5
    # Maximise the number of qualifying pairs first, then their IoU.
    rows, cols = linear_sum_assignment(ok * 2.0 + iou, maximize=True)
    matched = int(ok[rows, cols].sum())
    exact = len(set(gold) & set(pred))
    return matched, exact


def _topic_rank(topics: Sequence[str]) -> Any:
    order = {t: i for i, t in enumerate(topics)}
    return lambda t: (order.get(t, len(order)), t)


def topic_pairs(gold: Page, pred: Page, pred_ids: np.ndarray, mask: np.ndarray,
                topics: Sequence[str] = DEFAULT_TOPICS) -> tuple[list[str], list[str]]:
    """(gold topics, predicted topics), one pair per gold article.

    The predicted topic is the topic of the predicted articles covering most of the gold article's
    non-whitespace body characters (its headline characters if it has no body); ties go to the
    topic listed first in ``topics``; :data:`NO_TOPIC` if no predicted span covers any of them.
    """
    rank = _topic_rank(topics)
    y_true, y_pred = [], []
    for art in gold.articles:
        spans = [s for s in art.spans if s.role == "body"] or art.spans
        votes: Counter[str] = Counter()
        for s in spans:
            ids = pred_ids[s.start:s.end][mask[s.start:s.end]]
            for i, c in zip(*np.unique(ids[ids >= 0], return_counts=True)):
                votes[pred.articles[int(i)].topic] += int(c)
        best = max(votes.values(), default=0)
        y_true.append(art.topic)
        y_pred.append(min((t for t, c in votes.items() if c == best), key=rank) if best else NO_TOPIC)
    return y_true, y_pred


def link_counts(gold: Page, p_ids: np.ndarray, mask: np.ndarray) -> tuple[int, int, int]:
    """Pairwise fragment links (HEADLINES' association measure, on text): over all pairs of gold
    spans of the page, gold links (same gold article), predicted links (same predicted article) and
    both. A gold span's predicted article holds most of its non-whitespace characters; none when
    most lie outside every predicted span (then the span links to nothing)."""
    spans = [(i, s) for i, a in enumerate(gold.articles) for s in a.spans]
    owner: list[int] = []
    for _, s in spans:
        sel = p_ids[max(0, s.start):max(0, s.end)][mask[max(0, s.start):max(0, s.end)]]
        if len(sel) == 0:
            owner.append(-1)
            continue
        vals, counts = np.unique(sel, return_counts=True)
        owner.append(int(vals[np.argmax(counts)]))
    n_gold = n_pred = tp = 0
    for x in range(len(spans)):
        for y in range(x + 1, len(spans)):
            g = spans[x][0] == spans[y][0]
            p = owner[x] >= 0 and owner[x] == owner[y]
            n_gold += g
            n_pred += p
            tp += g and p
    return n_gold, n_pred, tp


# ------------------------------------------------------------------------- scoring pages

def count_page(gold: Page, pred: Page | None, topics: Sequence[str] = DEFAULT_TOPICS) -> PageCounts:
    """The additive counts of one page. ``pred=None`` means no prediction (no articles)."""
    pred = pred if pred is not None else Page(gold.id, gold.text, [])
    if pred.text != gold.text:
        raise ValueError(f"page {gold.id!r}: predicted text differs from the gold text")
    text = gold.text
    mask = nonspace_mask(text)
    cum = np.concatenate([[0], np.cumsum(mask)])
    newlines = [i for i, c in enumerate(text) if c == "\n"]
    g_ids, p_ids = char_articles(gold), char_articles(pred)
    bc_p, bc_r, bc_n = bcubed_sums(g_ids, p_ids, mask)
    g_lines, p_lines = _start_lines(gold, cum, newlines), _start_lines(pred, cum, newlines)
    g_hl, p_hl = _headlines(gold, cum), _headlines(pred, cum)
    hl_tp, hl_exact = match_headlines(g_hl, p_hl, cum)
    y_true, y_pred = topic_pairs(gold, pred, p_ids, mask, topics)
    link_gold, link_pred, link_tp = link_counts(gold, p_ids, mask)
    return PageCounts(
        n_chars=int(mask.sum()), bc_n=bc_n, bc_p=bc_p, bc_r=bc_r,
        line_gold=len(g_lines), line_pred=len(p_lines), line_tp=len(g_lines & p_lines),
        line_tp_tol=match_lines(g_lines, p_lines, 1),
        hl_gold=len(g_hl), hl_pred=len(p_hl), hl_tp=hl_tp, hl_exact=hl_exact,
        link_gold=link_gold, link_pred=link_pred, link_tp=link_tp,
        n_pred_articles=len(pred.articles), topic_true=y_true, topic_pred=y_pred)


def page_pk(gold: Page, pred: Page | None) -> tuple[float | None, float | None, int | None]:
    """Pk, WindowDiff and k over the page's non-whitespace characters (label = article or furniture)."""
    pred = pred if pred is not None else Page(gold.id, gold.text, [])
    mask = nonspace_mask(gold.text)
    return pk_windowdiff(char_articles(gold)[mask], char_articles(pred)[mask])


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


def _f1(tp: int, n_gold: int, n_pred: int) -> float:
    fp, fn = n_pred - tp, n_gold - tp
    return 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else 1.0


def finish(c: PageCounts, topics: Sequence[str] = DEFAULT_TOPICS) -> dict[str, Any]:
    """Metrics (see :data:`METRICS`) and counts from summed :class:`PageCounts` (Pk/WD not included)."""
    from sklearn.metrics import accuracy_score, f1_score

    bp, br = _div(c.bc_p, c.bc_n), _div(c.bc_r, c.bc_n)
    bf = (2 * bp * br / (bp + br) if bp + br else 0.0) if bp is not None and br is not None else None
    gold_topics = sorted(set(c.topic_true), key=_topic_rank(topics))
    has_topics = bool(c.topic_true)
    return {
        "bcubed_precision": bp, "bcubed_recall": br, "bcubed_f1": bf,
        "link_precision": c.link_tp / c.link_pred if c.link_pred else 1.0,
        "link_recall": c.link_tp / c.link_gold if c.link_gold else 1.0,
        "link_f1": _f1(c.link_tp, c.link_gold, c.link_pred),
        "n_gold_links": c.link_gold, "n_pred_links": c.link_pred,
        "line_precision": c.line_tp / c.line_pred if c.line_pred else 1.0,
        "line_recall": c.line_tp / c.line_gold if c.line_gold else 1.0,
        "line_f1": _f1(c.line_tp, c.line_gold, c.line_pred),
        "line_f1_tol1": _f1(c.line_tp_tol, c.line_gold, c.line_pred),
        "headline_precision": c.hl_tp / c.hl_pred if c.hl_pred else 1.0,
        "headline_recall": c.hl_tp / c.hl_gold if c.hl_gold else 1.0,
        "headline_f1": _f1(c.hl_tp, c.hl_gold, c.hl_pred),
        "headline_exact": _div(c.hl_exact, c.hl_gold),
        "topic_accuracy": float(accuracy_score(c.topic_true, c.topic_pred)) if has_topics else None,
        "topic_macro_f1": float(f1_score(c.topic_true, c.topic_pred, labels=gold_topics,
                                         average="macro", zero_division=0)) if has_topics else None,
        "n_chars": c.n_chars, "n_gold_chars": c.bc_n,
        "n_gold_articles": len(c.topic_true), "n_pred_articles": c.n_pred_articles,
        "n_gold_starts": c.line_gold, "n_pred_starts": c.line_pred,
        "n_gold_headlines": c.hl_gold, "n_pred_headlines": c.hl_pred,
    }


def _score(gold: Page, pred: Page | None, topics: Sequence[str]) -> tuple[dict[str, Any], PageCounts]:
    c = count_page(gold, pred, topics)
    pk, wd, k = page_pk(gold, pred)
    return {"id": gold.id, **finish(c, topics), "pk": pk, "windowdiff": wd, "k": k,
            "topics_gold": c.topic_true, "topics_pred": c.topic_pred}, c


def score_page(gold: Page, pred: Page | None, topics: Sequence[str] = DEFAULT_TOPICS) -> dict[str, Any]:
    """Every metric of one page, plus counts and the (gold, predicted) topic per gold article.

    Raises ``ValueError`` if the predicted text is not the gold text.
    """
    return _score(gold, pred, topics)[0]


def confusion(y_true: Sequence[str], y_pred: Sequence[str],
              topics: Sequence[str] = DEFAULT_TOPICS) -> dict[str, Any]:
    """Topic confusion matrix (rows gold, columns predicted) over ``topics`` + any others seen + ``none``."""
    from sklearn.metrics import confusion_matrix

    seen = (set(y_true) | set(y_pred)) - set(topics) - {NO_TOPIC}
    labels = [*topics, *sorted(seen), NO_TOPIC]
    m = confusion_matrix(list(y_true), list(y_pred), labels=labels) if y_true else np.zeros((len(labels),) * 2)
    return {"labels": labels, "matrix": np.asarray(m, dtype=int).tolist()}


def page_group(page_id: str) -> str:
    """The group of a page: its id without a trailing number (``hard-split-03`` -> ``hard-split``).
    Evaluation sets name pages by layout, so groups are layouts."""
    return re.sub(r"[-_]\d+$", "", page_id) or page_id


def _overall(total: PageCounts, pages: Sequence[dict[str, Any]], topics: Sequence[str]) -> dict[str, Any]:
    pks = [p["pk"] for p in pages if p["pk"] is not None]
    wds = [p["windowdiff"] for p in pages if p["windowdiff"] is not None]
    return {**finish(total, topics), "pk": float(np.mean(pks)) if pks else None,
            "windowdiff": float(np.mean(wds)) if wds else None, "n_pages": len(pages)}


def score_corpus(golds: Iterable[Page], preds: Iterable[Page | None],
                 topics: Sequence[str] = DEFAULT_TOPICS) -> dict[str, Any]:
    """Overall, per-group and per-page metrics of paired gold / predicted pages (``None`` = no prediction).

    Returns ``{"overall": {...}, "groups": {group: {...}}, "pages": [score_page(...), ...],
    "confusion": {"labels", "matrix"}}``; groups are :func:`page_group` of the page ids (layouts).
    Overall scores are micro-averaged over characters, lines, headlines, links and articles; Pk and
    WindowDiff are the mean over pages where they are defined.
    """
    total, pages = PageCounts(), []
    counts: dict[str, list[PageCounts]] = {}
    scored: dict[str, list[dict[str, Any]]] = {}
    for gold, pred in zip(golds, preds, strict=True):
        page, c = _score(gold, pred, topics)
        total = total + c
        pages.append(page)
        counts.setdefault(page_group(gold.id), []).append(c)
        scored.setdefault(page_group(gold.id), []).append(page)
    return {"overall": _overall(total, pages, topics),
            "groups": {g: _overall(sum(cs, PageCounts()), scored[g], topics) for g, cs in counts.items()},
            "pages": pages, "confusion": confusion(total.topic_true, total.topic_pred, topics)}
