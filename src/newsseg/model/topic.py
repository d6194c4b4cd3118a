"""The topic of an assembled article, decided once per article.

The encoder's topic head labels every token from a window of ~254 characters; an article's topic
used to be the majority of those votes. A topic is a property of the whole article, and its words say
it best: a character n-gram model that reads the article's text at once labels whole real articles
far better than per-token votes (``shared/REAL_PAGES.md``: macro-F1 0.96 for a TF-IDF linear model
against 0.80–0.82 for the token head). So an article's topic combines both, in log space::

    log p(topic) ∝ (1 - w) · log p_encoder(topic) + w · log p_ngrams(topic)

``p_encoder`` is the article's mean token topic distribution, ``p_ngrams`` a multinomial logistic
regression over hashed, TF-IDF-weighted character 1–2-grams of the article's text (whitespace and
OCR line breaks removed) fitted on the training split of the corpus, and ``w`` is fitted on the
decoder-fit pages. Hashing (scikit-learn's ``HashingVectorizer``) needs no stored vocabulary: the
model is three arrays in ``topic_ngrams.safetensors`` beside the encoder, and the settings in
``config.article_topic``. No pickles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from newsseg.data.pages import Page

WEIGHTS_FILE = "topic_ngrams.safetensors"


def _vectorizer(n_features: int, ngram_max: int) -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char", ngram_range=(1, ngram_max), n_features=n_features,
                             alternate_sign=False, norm=None, lowercase=False)


def _squash(text: str) -> str:
    """The article's characters without whitespace: OCR line breaks cut words, not meaning."""
    return "".join(text.split())


@dataclass
class NgramTopicModel:
    """Character n-gram topic classifier over whole articles.

    Example::

        m = NgramTopicModel.fit(["垃圾分类进社区…", "法院巡回审判…"], ["sanitation", "legal"],
                                ["sanitation", "legal"])
        m.predict_proba(["街道开展垃圾分类宣传"])   # rows sum to 1, columns in ``m.labels`` order
    """

    labels: list[str]
    idf: np.ndarray          # [n_features] inverse document frequency of each hashed n-gram
    coef: np.ndarray         # [n_labels, n_features]
    intercept: np.ndarray    # [n_labels]
    ngram_max: int = 2

    @property
    def n_features(self) -> int:
        return int(self.idf.shape[0])

    def features(self, texts: Sequence[str]) -> Any:
        """Sublinear TF × IDF, L2-normalised rows (scipy sparse)."""
        from sklearn.preprocessing import normalize

        x = _vectorizer(self.n_features, self.ngram_max).transform([_squash(t) for t in texts]).tocsr()
        x.data = 1.0 + np.log(x.data)
        return normalize(x.multiply(self.idf[None, :]).tocsr())

    def log_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``[len(texts), n_labels]`` log-probabilities."""
        z = np.asarray(self.features(texts) @ self.coef.T) + self.intercept
        z -= z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.exp(self.log_proba(texts))

    @classmethod
    def fit(cls, texts: Sequence[str], y: Sequence[str], labels: Sequence[str], n_features: int = 1 << 17,
            ngram_max: int = 2, C: float = 1000.0) -> "NgramTopicModel":
        """Fit on whole articles (``texts``) with topics ``y``; ``labels`` fixes the column order.

        Defaults chosen on the decoder-fit split's articles, bodies only (macro-F1: 1–3-grams C=10
        0.834, C=100 0.877; 1–2-grams C=10 0.887, C=100 0.907, C=1000 0.928; 1-grams C=1000 0.933).
        Weak regularisation suits it: thousands of rare n-grams each say a little.
        """
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.linear_model import LogisticRegression

        missing = sorted(set(labels) - set(y))
        if missing:
            raise ValueError(f"no training article for topic(s) {missing}")
        counts = _vectorizer(n_features, ngram_max).transform([_squash(t) for t in texts])
        tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
        model = cls(list(labels), tfidf.idf_.astype(np.float32), np.zeros((0, 0), np.float32),
                    np.zeros(0, np.float32), ngram_max)
        lr = LogisticRegression(C=C, max_iter=2000).fit(model.features(texts), list(y))
        order = [list(lr.classes_).index(t) for t in labels]
        model.coef = lr.coef_[order].astype(np.float32)
        model.intercept = lr.intercept_[order].astype(np.float32)
        return model

    def save(self, directory: str | Path) -> dict[str, Any]:
        """Write the arrays to ``directory/topic_ngrams.safetensors``; returns the config entry."""
        from safetensors.numpy import save_file

        save_file({"idf": self.idf, "coef": self.coef, "intercept": self.intercept},
                  str(Path(directory) / WEIGHTS_FILE), metadata={"format": "np"})
        return {"file": WEIGHTS_FILE, "labels": self.labels, "ngram_max": self.ngram_max}

    @classmethod
    def load(cls, directory: str | Path, entry: Mapping[str, Any]) -> "NgramTopicModel":
        from safetensors.numpy import load_file

        arrays = load_file(str(Path(directory) / entry.get("file", WEIGHTS_FILE)))
        model = cls(list(entry["labels"]), arrays["idf"], arrays["coef"], arrays["intercept"],
                    int(entry.get("ngram_max", 2)))
        if model.coef.shape != (len(model.labels), model.n_features) or model.intercept.shape != (len(model.labels),):
            raise ValueError(f"{directory}/{WEIGHTS_FILE}: array shapes {model.coef.shape} do not match "
                             f"{len(model.labels)} labels and {model.n_features} features")
        return model


def encoder_topic_mass(page: Page, char_index: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """``[n_articles, n_topics]``: each article's mean token topic distribution (its body tokens;
    all its tokens when it has no body), from the encoder's per-token probabilities."""
    out = np.zeros((len(page.articles), probs.shape[1]))
    for i, art in enumerate(page.articles):
        spans = [s for s in art.spans if s.role == "body"] or art.spans
        for s in spans:
            a, b = np.searchsorted(char_index, [s.start, s.end])
            out[i] += probs[a:b].sum(0)
        out[i] /= max(out[i].sum(), 1e-12)
    return out


def line_topic_mass(page: Page, char_index: np.ndarray, lines: Sequence[tuple[int, int]],
                    line_topics: np.ndarray) -> np.ndarray:
    """``[n_articles, n_topics]``: each article's mean line topic distribution from the page model's
    topic head (the lines whose first character lies in one of its spans; uniform if none does)."""
    k = line_topics.shape[1]
    out = np.full((len(page.articles), k), 1.0 / max(k, 1))
    if not len(lines) or not k:
        return out
    firsts = char_index[[a for a, _ in lines]]
    for i, art in enumerate(page.articles):
        inside = np.zeros(len(firsts), dtype=bool)
        for s in art.spans:
            inside |= (firsts >= s.start) & (firsts < s.end)
        if inside.any():
            out[i] = line_topics[inside].mean(0)
    return out


def combine(encoder: np.ndarray, ngrams: np.ndarray | None, weight: float) -> np.ndarray:
    """Log-linear mix of two distributions (rows), renormalised; ``weight`` is the second's share (the
    n-gram model's, or the page model's line states' against the encoder's votes)."""
    if ngrams is None or weight <= 0:
        return encoder
    z = (1 - weight) * np.log(np.clip(encoder, 1e-9, None)) + weight * np.log(np.clip(ngrams, 1e-9, None))
    z -= z.max(1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(1, keepdims=True)


def assign_topics(page: Page, encoder: np.ndarray, ngrams: np.ndarray | None, weight: float,
                  labels: Sequence[str]) -> Page:
    """Set each article's topic from :func:`combine` (in place; returns the page)."""
    if not page.articles:
        return page
    for art, row in zip(page.articles, combine(encoder, ngrams, weight)):
        art.topic = labels[int(np.argmax(row))]
    return page


def topic_evidence(pages: Sequence[Page], char_indexes: Sequence[np.ndarray], topic_probs: Sequence[np.ndarray],
                   model: NgramTopicModel | None, line_masses: Sequence[np.ndarray | None] | None = None,
                   line_weight: float = 0.0) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Per decoded page, ``(encoder mass, n-gram probabilities)`` of its articles (rows in article
    order), ready for :func:`assign_topics`. The n-gram model reads all articles of all pages in one call.

    ``line_masses``: per page, the page model's :func:`line_topic_mass` (or ``None``), mixed into the
    encoder mass at ``line_weight`` by :func:`combine`. Without ``model`` the n-gram part is ``None``.
    """
    texts = [article_texts(p) for p in pages]
    flat = (model.predict_proba([t for ts in texts for t in ts]) if model is not None and any(texts) else None)
    out, at = [], 0
    for i, (page, ci, tp, ts) in enumerate(zip(pages, char_indexes, topic_probs, texts)):
        mass = encoder_topic_mass(page, ci, tp)
        lines = line_masses[i] if line_masses is not None else None
        if lines is not None and line_weight > 0:
            mass = combine(mass, lines, line_weight)
        out.append((mass, None if flat is None else flat[at:at + len(ts)]))
        at += len(ts)
    return out


def article_texts(page: Page) -> list[str]:
    """Each article's text, headline first then body fragments in reading order."""
    return ["".join(page.text[s.start:s.end] for s in sorted(a.spans, key=lambda s: (s.role != "headline", s.start)))
            for a in page.articles]
