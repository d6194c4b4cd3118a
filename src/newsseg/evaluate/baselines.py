"""Two baselines a reviewer would ask for, producing page-format predictions (docs/SPEC.md §2).

Both label each non-blank line ``B-body`` / ``I-body`` / ``B-head`` / ``I-head`` / ``O`` and share
one assembler: a ``B-body`` line opens a new article, ``I-body`` continues the current one (a new
span if something else came between), consecutive headline lines form one headline span, and a
headline span joins the article of the nearest following body span (the nearest preceding one at
the end of the page). They differ in how lines get their labels and topics:

* :class:`RuleBaseline`: layout rules (lead markers such as ``本报讯``, bylines, short lines without
  sentence punctuation) and topic by keyword weights learned from training pages.
* :class:`SklearnBaseline`: logistic regression over TF-IDF character n-grams plus line-shape
  features per line, and TF-IDF + logistic regression for the topic of each assembled article.

Both are fit at evaluation time (seconds on ~500 pages); nothing is pickled to disk.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from newsseg.data.encoding import page_from_spans
from newsseg.data.pages import Article, Page, Span
from newsseg.data.cues import LEAD_RE, SENTENCE_END, is_byline

LABELS: tuple[str, ...] = ("B-body", "I-body", "B-head", "I-head", "O")
# 、 is left out: headlines list things with it too (聚焦新能源、水务和城市更新).
SENTENCE_PUNCT = re.compile(r"[。，；：,;:]")
FURNITURE_RE = re.compile(r"^第\s*\S{1,3}\s*版|责任编辑|版式|校对|星期[一二三四五六日天]|^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日$")
# Hand-listed keywords: the rule baseline's topic model before (or without) training pages.
SEED_KEYWORDS: dict[str, tuple[str, ...]] = {
    "sanitation": ("卫生", "创卫", "环境", "垃圾", "保洁", "整治", "爱卫"),
    "projects": ("项目", "开工", "建设", "总投资", "竣工", "工程"),
    "legal": ("政法", "法院", "检察", "公安", "司法", "教育整顿", "执法"),
    "investment": ("招商", "签约", "投资", "落地", "会见", "入驻", "企业"),
    "other": ("学校", "文化", "医院", "农业", "党建", "交通", "比赛", "通知"),
}


@dataclass
class Line:
    """A non-blank line: offsets of its first / past-last non-whitespace character, and its text."""

    start: int
    end: int
    text: str
    blank_before: bool
    blank_after: bool


def page_lines(text: str) -> list[Line]:
    """The non-blank lines of a page, with whether a blank line (or the page edge) surrounds each."""
    out: list[Line] = []
    pos, blank = 0, True
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            if out and blank:
                out[-1].blank_after = True
            lead = len(raw) - len(raw.lstrip())
            out.append(Line(pos + lead, pos + lead + len(stripped), stripped, blank, False))
        blank = not stripped
        pos += len(raw) + 1
    if out:
        out[-1].blank_after = True
    return out




def gold_line_labels(page: Page, lines: Sequence[Line]) -> list[str]:
    """Training labels: the role of the gold span holding each line's first character, B- if it starts there."""
    spans = [s for s, _ in page.spans]
    starts = np.array([s.start for s in spans])
    out = []
    for ln in lines:
        i = int(np.searchsorted(starts, ln.start, side="right")) - 1 if len(spans) else -1
        if i < 0 or ln.start >= spans[i].end:
            out.append("O")
        else:
            tag = "head" if spans[i].role == "headline" else "body"
            out.append(("B-" if spans[i].start >= ln.start else "I-") + tag)
    return out


def assemble(page_id: str, text: str, lines: Sequence[Line], labels: Sequence[str],
             line_scores: Sequence[float] | None = None) -> Page:
    """Turn line labels into spans and articles (topic ``other`` until the caller sets it)."""
    bodies: list[list[Span]] = []  # per article, its spans (headlines appended at the end)
    pending: list[Span] = []  # headlines waiting for the next body span
    # The open span: [role, article, first line, last line].
    cur: list[Any] | None = None

    def close() -> None:
        nonlocal cur
        if cur is None:
            return
        role, art, a, b = cur
        sp = Span(lines[a].start, lines[b].end, role,
                  float(np.mean(line_scores[a:b + 1])) if line_scores is not None else None)
        (bodies[art] if role == "body" else pending).append(sp)
        cur = None

    for i, lab in enumerate(labels):
        role = {"body": "body", "head": "headline"}.get(lab[2:])
        if cur is not None and lab.startswith("I-") and cur[0] == role:
            cur[3] = i
            continue
        close()
        if role == "body":
            if lab == "B-body" or not bodies:
                bodies.append([])
            bodies[-1].extend(pending)  # headlines join the nearest following body's article
            pending.clear()
            cur = ["body", len(bodies) - 1, i, i]
        elif role == "headline":
            cur = ["headline", -1, i, i]
    close()
    if pending:  # headlines after the last body go to it; with no body at all they stand alone
        if not bodies:
            bodies.append([])
        bodies[-1].extend(pending)
    return page_from_spans(page_id, text, [("other", b) for b in bodies])


def _as_pages(texts_or_pages: Iterable[str | Page]) -> list[Page]:
    return [x if isinstance(x, Page) else Page(f"page-{i + 1}", x) for i, x in enumerate(texts_or_pages)]


def _article_text(page: Page, spans: Sequence[Span]) -> str:
    return "\n".join(page.text[s.start:s.end] for s in spans)


def _body_spans(art: Article) -> list[Span]:
    """What a topic classifier reads: the body spans, or the headlines of a headline-only article."""
    return [s for s in art.spans if s.role == "body"] or art.spans


class RuleBaseline:
    """Layout rules for spans, keyword weights for topics.

    A line starting with a lead marker (``本报讯`` …) or following a byline opens a new article;
    a line without sentence punctuation is a headline line when it sits in a block of at most 3
    such lines between blank lines, or when it is short (at least 2 characters shorter than the
    page's median line), follows a sentence end and is followed by a blank line or a lead;
    furniture patterns (``第N版``, ``责任编辑`` …) are outside.
    """

    def __init__(self, top_k: int = 60) -> None:
        self.top_k = top_k
        self.keywords: dict[str, dict[str, float]] = {t: {w: 1.0 for w in ws} for t, ws in SEED_KEYWORDS.items()}

    def fit(self, pages: Iterable[Page]) -> "RuleBaseline":
        """Learn per-topic keyword weights: the character bigrams most over-represented in each topic."""
        counts: dict[str, Counter[str]] = {}
        for page in pages:
            for art in page.articles:
                text = _article_text(page, art.spans)
                c = counts.setdefault(art.topic, Counter())
                c.update(text[i:i + 2] for i in range(len(text) - 1) if not any(ch.isspace() for ch in text[i:i + 2]))
        if not counts:
            return self
        total = sum(counts.values(), Counter())
        n_all, vocab = sum(total.values()), len(total)
        self.keywords = {}
        for topic, c in counts.items():
            n_t = sum(c.values())
            # Smoothed log-odds of a bigram inside the topic vs. in every other topic.
            lo = {w: math.log((k + 1) / (n_t + vocab)) - math.log((total[w] - k + 1) / (n_all - n_t + vocab))
                  for w, k in c.items() if k >= 3}
            best = sorted(lo.items(), key=lambda kv: (-kv[1], kv[0]))[:self.top_k]
            self.keywords[topic] = {w: v for w, v in best if v > 0}
        return self

    def topic(self, text: str) -> str:
        """The topic whose keywords score highest in ``text`` (the first listed topic on ties)."""
        scores = {t: sum(w * text.count(k) for k, w in kw.items()) for t, kw in self.keywords.items()}
        best = max(scores.values(), default=0.0)
        return next((t for t, s in scores.items() if s == best), "other") if best > 0 else "other"

    def line_labels(self, lines: Sequence[Line]) -> list[str]:
        """Rule labels of a page's non-blank lines."""
        if not lines:
            return []
        median = float(np.median([len(ln.text) for ln in lines]))
        plain = [not SENTENCE_PUNCT.search(ln.text) and not LEAD_RE.match(ln.text) and not is_byline(ln.text)
                 and not FURNITURE_RE.search(ln.text) for ln in lines]
        head = [False] * len(lines)
        # Blocks between blank lines made only of "plain" lines (at most 3) are headline blocks.
        block: list[int] = []
        for i, ln in enumerate(lines):
            block = [i] if ln.blank_before else block + [i]
            if ln.blank_after and len(block) <= 3 and all(plain[j] for j in block):
                for j in block:
                    head[j] = True
        # A short plain line after a sentence end is a headline when a lead or blank line follows
        # (a paragraph's first line, also short and plain, runs on into the next line instead).
        for i, ln in enumerate(lines):
            prev_end = i == 0 or lines[i - 1].text.endswith(tuple(SENTENCE_END)) or is_byline(lines[i - 1].text)
            next_new = ln.blank_after or bool(LEAD_RE.match(lines[i + 1].text))
            if plain[i] and len(ln.text) <= median - 2 and (prev_end or head[i - 1]) and next_new:
                head[i] = True
        out: list[str] = []
        for i, ln in enumerate(lines):
            prev = out[-1] if out else "O"
            if FURNITURE_RE.search(ln.text):
                out.append("O")
            elif head[i]:
                out.append("I-head" if prev.endswith("head") and not ln.blank_before else "B-head")
            elif (LEAD_RE.match(ln.text) or prev.endswith("head")
                  or (i and is_byline(lines[i - 1].text) and not is_byline(ln.text))):
                out.append("B-body")
            else:  # continuation; after furniture the assembler opens a new span of the same article
                out.append("I-body")
        return out

    def predict(self, texts_or_pages: Iterable[str | Page]) -> list[Page]:
        """Predicted pages (same ids and text) for page texts or pages."""
        out = []
        for p in _as_pages(texts_or_pages):
            lines = page_lines(p.text)
            page = assemble(p.id, p.text, lines, self.line_labels(lines))
            for art in page.articles:
                art.topic = self.topic(_article_text(page, _body_spans(art)))
            out.append(page)
        return out


def line_features(lines: Sequence[Line]) -> np.ndarray:
    """Dense line-shape features: length, punctuation, lead / byline / furniture cues, position, neighbours."""
    n = len(lines)
    if not n:
        return np.zeros((0, 16))
    lens = np.array([len(ln.text) for ln in lines], dtype=float)
    med = max(1.0, float(np.median(lens)))
    ends = np.array([ln.text.endswith(tuple(SENTENCE_END)) for ln in lines], dtype=float)
    punct = np.array([bool(SENTENCE_PUNCT.search(ln.text)) for ln in lines], dtype=float)
    prev_len, next_len = np.r_[0.0, lens[:-1]], np.r_[lens[1:], 0.0]
    return np.column_stack([
        lens / 20, lens / med, np.abs(lens - med) / med, ends, punct,
        [bool(LEAD_RE.match(ln.text)) for ln in lines], [is_byline(ln.text) for ln in lines],
        [bool(FURNITURE_RE.search(ln.text)) for ln in lines],
        np.arange(n) / max(1, n - 1), prev_len / med, next_len / med,
        np.r_[1.0, ends[:-1]], np.r_[0.0, punct[:-1]], np.r_[punct[1:], 0.0],
        [ln.blank_before for ln in lines], [ln.blank_after for ln in lines],
    ]).astype(float)


class SklearnBaseline:
    """Per-line logistic regression for span starts and roles, then per-article topic regression."""

    def __init__(self, max_features: int = 5000, C: float = 4.0, max_iter: int = 30, seed: int = 0) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.line_vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), max_features=max_features,
                                        sublinear_tf=True, min_df=2)
        # saga with a loose tolerance and few epochs: ~70k lines from 500 pages fit in about 2 s at
        # nearly the accuracy of a converged lbfgs fit (which takes 10–25 s here).
        self.line_clf = LogisticRegression(C=C, solver="saga", max_iter=max_iter, tol=1e-3, random_state=seed)
        self.topic_vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), max_features=2 * max_features,
                                         sublinear_tf=True, min_df=2)
        self.topic_clf = LogisticRegression(C=10.0, solver="saga", max_iter=2 * max_iter, tol=1e-3,
                                            random_state=seed)

    def _x(self, pages_lines: Sequence[Sequence[Line]], fit: bool = False) -> Any:
        from scipy.sparse import csr_matrix, hstack

        flat = [ln.text for lines in pages_lines for ln in lines]
        dense = np.vstack([line_features(lines) for lines in pages_lines] or [np.zeros((0, 16))])
        tfidf = self.line_vec.fit_transform(flat) if fit else self.line_vec.transform(flat)
        return hstack([tfidf, csr_matrix(dense)]).tocsr()

    def fit(self, pages: Iterable[Page]) -> "SklearnBaseline":
        """Fit the line and topic classifiers on gold pages."""
        from sklearn.exceptions import ConvergenceWarning

        pages = list(pages)
        all_lines = [page_lines(p.text) for p in pages]
        y = [lab for p, lines in zip(pages, all_lines) for lab in gold_line_labels(p, lines)]
        texts = [_article_text(p, _body_spans(a)) for p in pages for a in p.articles]
        topics = [a.topic for p in pages for a in p.articles]
        if len(set(y)) < 2 or len(set(topics)) < 2:
            raise ValueError("SklearnBaseline.fit needs pages with at least two line labels and two topics")
        with warnings.catch_warnings():  # the capped saga epochs are deliberate (see __init__)
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.line_clf.fit(self._x(all_lines, fit=True), y)
            self.topic_clf.fit(self.topic_vec.fit_transform(texts), topics)
        return self

    def predict(self, texts_or_pages: Iterable[str | Page]) -> list[Page]:
        """Predicted pages (same ids and text) for page texts or pages."""
        pages = _as_pages(texts_or_pages)
        all_lines = [page_lines(p.text) for p in pages]
        x = self._x(all_lines)
        probs = self.line_clf.predict_proba(x) if x.shape[0] else np.zeros((0, len(self.line_clf.classes_)))
        classes = list(self.line_clf.classes_)
        out, at = [], 0
        for p, lines in zip(pages, all_lines):
            pr = probs[at:at + len(lines)]
            at += len(lines)
            labels = [classes[j] for j in pr.argmax(1)] if len(lines) else []
            page = assemble(p.id, p.text, lines, labels, pr.max(1) if len(lines) else None)
            if page.articles:
                texts = [_article_text(page, _body_spans(a)) for a in page.articles]
                tp = self.topic_clf.predict_proba(self.topic_vec.transform(texts))
                for art, row in zip(page.articles, tp):
                    art.topic, art.score = str(self.topic_clf.classes_[row.argmax()]), float(row.max())
            out.append(page)
        return out


def train_baselines(pages: Iterable[Page]) -> dict[str, Any]:
    """Both baselines fit on the same pages: ``{"rules": RuleBaseline, "sklearn": SklearnBaseline}``."""
    pages = list(pages)
    return {"rules": RuleBaseline().fit(pages), "sklearn": SklearnBaseline().fit(pages)}


__all__ = ["RuleBaseline", "SklearnBaseline", "train_baselines", "page_lines", "gold_line_labels",
           "assemble", "LABELS"]
