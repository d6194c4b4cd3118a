"""``newsseg select``: which unlabelled pages are worth a person's time to label.

Each page gets an uncertainty from the model's own outputs:

* tags: for every line, 1 - the encoder's largest boundary probability at the line's first
  character (where the page model decides a line's tag), averaged over the page's lines;
* links (models with a page model): for every pair of lines in two different predicted fragments,
  4·p·(1-p) of the page model's "same article" probability p (1 at p = 0.5, 0 when sure), averaged.

Pages are then picked one of two ways. ``cluster`` (:func:`pick_clustered`, the CLI default): the pool
cut into N clusters of like pages, the most uncertain page of each. ``uncertain`` (:func:`pick`):
greedily by uncertainty minus ``diversity`` × the largest character 2-gram TF-IDF cosine to a page
already picked. Measured in a simulated loop (evaluate/active_loop.py, data/ANNOTATION.md), neither
taught the model more than random pages; ``cluster`` did better than ``uncertain`` on the validation pages.

Example::

    from newsseg import Segmenter
    from newsseg.select import page_uncertainty, pick
    seg = Segmenter.from_pretrained()
    unc = page_uncertainty(seg, pages)              # [{"id", "tags", "links", "score"}, …]
    order = pick([p.text for p in pages], [u["score"] for u in unc], n=20)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from newsseg.data.pages import Page


def page_uncertainty(seg: Any, pages: Sequence[Page], batch_size: int = 16) -> list[dict[str, Any]]:
    """Tag and link uncertainty of each page under ``seg`` (see the module doc)."""
    from newsseg.model.lines import line_spans
    from newsseg.model.page_features import page_line_inputs

    out = []
    pm = getattr(seg, "page_model", None)
    split = seg.line_split
    for page, enc, b, _, h in seg.page_states((Page(p.id, p.text, []) for p in pages), batch_size, hidden=pm is not None):
        tags = links = 0.0
        if b is not None:
            lines = line_spans(page.text, enc.char_index, split)
            if lines:
                tags = float(np.mean(1.0 - b[[a for a, _ in lines]].max(1)))
            if pm is not None and lines:
                _, feats = page_line_inputs(page.text, enc.char_index, b, h, split, pm.cfg.slot_features)
                line_tags, logits, _ = pm.decode(feats)
                frag = np.cumsum(np.isin(line_tags, (1, 3)) | (line_tags == 0))  # a new id at each B- or O
                inside = line_tags > 0
                pairs = inside[:, None] & inside[None, :] & (frag[:, None] != frag[None, :])
                if pairs.any():
                    p = 1.0 / (1.0 + np.exp(-logits[pairs]))
                    links = float(np.mean(4.0 * p * (1.0 - p)))
        out.append({"id": page.id, "tags": tags, "links": links, "score": tags + links})
    return out


def _bigram_tfidf(texts: Sequence[str]) -> Any:
    """Character 2-gram TF-IDF rows (unit length) of the pages' text without whitespace: what makes two pages alike."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char", ngram_range=(2, 2), sublinear_tf=True).fit_transform(
        ["".join(t.split()) or " " for t in texts])


def pick(texts: Sequence[str], scores: Sequence[float], n: int, diversity: float = 0.5) -> list[int]:
    """Indices of ``n`` pages, greedily by score minus ``diversity`` × largest similarity to those picked."""
    n = min(n, len(texts))
    if n <= 0:
        return []
    x = _bigram_tfidf(texts)
    sim = (x @ x.T).toarray()
    s = np.asarray(scores, dtype=np.float64)
    closest = np.zeros(len(texts))
    chosen: list[int] = []
    free = np.ones(len(texts), dtype=bool)
    for _ in range(n):
        gain = np.where(free, s - diversity * closest, -np.inf)
        k = int(np.argmax(gain))
        chosen.append(k)
        free[k] = False
        closest = np.maximum(closest, sim[k])
    return chosen


def layout_features(text: str) -> np.ndarray:
    """A page's shape, for telling layouts apart: line count, line length (mean, spread, share of short
    lines), blank and indented lines."""
    lines = text.split("\n")
    lens = np.array([len(ln.strip()) for ln in lines], dtype=np.float64)
    full = lens[lens > 0]
    med = float(np.median(full)) if full.size else 0.0
    return np.array([np.log1p(len(lines)), np.log1p(med), float(full.std() / med) if med else 0.0,
                     float(np.mean(full < 0.5 * med)) if full.size else 0.0, float(np.mean(lens == 0)),
                     float(np.mean([ln[:1] in ("\u3000", " ") for ln in lines if ln.strip()] or [0.0]))])


def pick_clustered(texts: Sequence[str], scores: Sequence[float], n: int, seed: int = 0) -> list[int]:
    """Indices of ``n`` pages: the pool cut into ``n`` clusters of like pages (character 2-gram TF-IDF
    reduced by SVD, beside the standardised :func:`layout_features`, k-means), and from each cluster
    its most uncertain page; most uncertain first.

    Uncertainty alone prefers outliers; the clusters make the picks cover what the pool is made of.
    """
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import StandardScaler, normalize

    n = min(n, len(texts))
    if n <= 0:
        return []
    s = np.asarray(scores, dtype=np.float64)
    if n == len(texts):
        return [int(k) for k in np.argsort(-s, kind="stable")]
    x = _bigram_tfidf(texts)
    k = max(1, min(48, x.shape[1] - 1, len(texts) - 1))
    words = normalize(TruncatedSVD(k, random_state=seed).fit_transform(x)) if k > 1 else np.zeros((len(texts), 1))
    shape = StandardScaler().fit_transform(np.stack([layout_features(t) for t in texts]))
    # Both halves weigh alike: unit-norm text vectors beside layout features scaled to norm ~1.
    feats = np.hstack([words, shape / np.sqrt(shape.shape[1])])
    labels = KMeans(n_clusters=n, n_init=4, random_state=seed).fit_predict(feats)
    picks = [int(max(np.flatnonzero(labels == c), key=lambda i: (s[i], -i))) for c in range(n) if (labels == c).any()]
    return sorted(picks, key=lambda i: (-s[i], i))


def cmd_select(args: Any) -> int:
    """Rank unlabelled pages, print the ranking and write the chosen pages (no articles) as JSONL."""
    import sys

    from newsseg.data.pages import PageFormatError, write_pages
    from newsseg.model.segmenter import ModelLoadError, Segmenter
    from newsseg.predict import read_reporting

    errors: list[str] = []
    try:
        seg = Segmenter.from_pretrained(args.model)
        pages = list(read_reporting(args.inputs, "strict", errors, "auto"))
    except (ModelLoadError, PageFormatError, OSError) as e:
        print(f"newsseg select: {e}", file=sys.stderr)
        return 2
    for e in errors:
        print(e, file=sys.stderr)
    unc = page_uncertainty(seg, pages)
    if args.strategy == "cluster":
        order = pick_clustered([p.text for p in pages], [u["score"] for u in unc], args.n)
    else:
        order = pick([p.text for p in pages], [u["score"] for u in unc], args.n, args.diversity)
    write_pages([Page(pages[k].id, pages[k].text, [], source=pages[k].source) for k in order], args.out)
    print("rank  page  uncertainty (tags + links)")
    for r, k in enumerate(order, 1):
        print(f"{r:4d}  {pages[k].id}  {unc[k]['score']:.4f} ({unc[k]['tags']:.4f} + {unc[k]['links']:.4f})")
    print(f"{len(order)} of {len(pages)} pages written to {args.out}", file=sys.stderr)
    return 1 if errors else 0


def register(sub: Any) -> None:
    """Add ``select`` to the CLI."""
    p = sub.add_parser("select", help="pick the unlabelled pages most worth labelling",
                       description="Rank pages by the model's uncertainty about their line tags and links, "
                                   "with a diversity term against near-duplicates, and write the top N "
                                   "(without articles) for labelling, e.g. with newsseg export labelstudio after "
                                   "newsseg predict.")
    p.add_argument("inputs", nargs="+", help=".txt / .jsonl files or directories")
    p.add_argument("-n", type=int, default=20, help="pages to pick (default 20)")
    p.add_argument("-o", "--out", required=True, help="output page JSONL of the picked pages")
    p.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    p.add_argument("--strategy", choices=["uncertain", "cluster"], default="cluster",
                   help="'uncertain': most uncertain first, less the similarity to pages already picked (--diversity); "
                        "'cluster': the pool cut into N clusters of like pages, the most uncertain of each")
    p.add_argument("--diversity", type=float, default=0.5,
                   help="with --strategy uncertain: weight of the similarity to pages already picked (0: uncertainty only)")
    p.set_defaults(func=cmd_select)
