"""Train the page model (:mod:`newsseg.model.page_model`) on top of a trained character encoder.

The encoder runs once per page (its weights stay as they are) and each page becomes a sequence of
line vectors with gold line tags and article ids; the page transformer, CRF and pair head are then
trained on those sequences with the Hugging Face ``Trainer``, on random crops of at most
``max_lines`` lines (what the model reads at once at inference). Finally linking is fitted on the
decoder-fit pages with the decoder's own objective (:func:`fit_linking`). Evaluation pages never enter either step.

Example::

    from newsseg import Segmenter
    from newsseg.train.args import PageFitArguments
    from newsseg.train.page_fit import fit_page_model
    seg = Segmenter.from_pretrained("model")
    fit_page_model(seg, train_pages, fit_pages, PageFitArguments(), "runs/page")   # sets seg.page_model
"""

from __future__ import annotations

import copy

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from newsseg.data.encoding import IGNORE_INDEX
from newsseg.data.pages import Page
from newsseg.model.linker import LearnedLinker
from newsseg.model.lines import consistent_tags
from newsseg.model.page_features import gold_line_targets, page_line_inputs
from newsseg.model.page_model import PageDecoded, PageModel, PageModelConfig, random_line_window
from newsseg.model.segmenter import Segmenter
from newsseg.train.args import PageFitArguments

logger = logging.getLogger(__name__)


@dataclass
class PageExample:
    """One page as the page model sees it, with what decoding and scoring need."""

    page: Page
    char_index: np.ndarray
    boundary_probs: np.ndarray
    topic_probs: np.ndarray
    lines: list[tuple[int, int]]
    features: np.ndarray
    tags: np.ndarray
    articles: np.ndarray
    spans: np.ndarray
    topics: np.ndarray


def page_examples(seg: Segmenter, golds: Sequence[Page], batch_size: int = 16, progress: bool = True,
                  desc: str = "page model: encoder pass", split: str | None = None,
                  slots: bool | None = None) -> list[PageExample]:
    """Run the encoder over gold pages (text only) and build their line vectors and targets, with lines
    cut by ``split`` and slot features if ``slots`` (default for both: as the segmenter's page model was
    trained; without one, gutters and no slots)."""
    split = split or seg.line_split
    slots = seg.slot_features if slots is None else slots
    from tqdm.auto import tqdm

    topics = list(seg.config.topic_labels)
    out: list[PageExample] = []
    texts = (Page(g.id, g.text, []) for g in tqdm(golds, desc=desc, unit="page", disable=not progress))
    for gold, (_, enc, b, t, h) in zip(golds, seg.page_states(texts, batch_size)):
        if b is None:
            continue
        lines, feats = page_line_inputs(gold.text, enc.char_index, b, h, split, slots)
        if not lines:
            continue
        out.append(PageExample(gold, enc.char_index, b, t, lines, feats, *gold_line_targets(gold, enc, lines, topics)))
    return out


@dataclass
class LineSeq:
    """A page reduced to what training reads: line vectors, gold tags, gold article, span and topic ids."""

    features: np.ndarray
    tags: np.ndarray
    articles: np.ndarray
    spans: np.ndarray
    topics: np.ndarray


def line_sequences(seg: Segmenter, golds: Sequence[Page], cache: Path | None = None, progress: bool = True,
                   split: str | None = None, slots: bool | None = None) -> list[LineSeq]:
    """Training sequences of gold pages, read from ``cache`` (an ``.npz``) when it exists, else built and
    written there: the encoder pass over thousands of pages costs minutes, a re-run with other page-model
    settings need not repeat it. The cache name should say which encoder, pages and line split it holds."""
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as z:  # each z[key] reads the whole array: read each once
            lengths, arrays = z["lengths"], [z[k] for k in LINE_ARRAYS]
        cuts = np.cumsum(np.concatenate([[0], lengths]))
        return [LineSeq(*(x[a:b] for x in arrays)) for a, b in zip(cuts[:-1], cuts[1:])]
    seqs = [LineSeq(ex.features, ex.tags, ex.articles, ex.spans, ex.topics)
            for ex in page_examples(seg, golds, progress=progress, desc="page model: encoder pass (train)", split=split,
                                    slots=slots)]
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, lengths=np.array([len(q.tags) for q in seqs]),
                 **{k: np.concatenate([getattr(q, k) for q in seqs]) for k in LINE_ARRAYS})
    return seqs


LINE_ARRAYS = ("features", "tags", "articles", "spans", "topics")  # LineSeq's fields, as the cache stores them
CACHE_VERSION = "lines-v4"  # bump when line vectors or targets change: older caches are then not read


def fit_line_inputs(seg: Segmenter, args: PageFitArguments) -> tuple[str, bool]:
    """The line split and slot features of a page-model fit's line vectors: a warm start keeps the
    continued model's own, a new model takes ``args``'."""
    if args.warm_start and seg.page_model is not None:
        return seg.line_split, seg.slot_features
    return args.line_split, args.slot_features


def copy_page_model(model: PageModel) -> PageModel:
    """A new page model with ``model``'s config (a copy) and weights."""
    out = PageModel(copy.deepcopy(model.cfg))
    out.load_state_dict(model.state_dict())
    return out


def cache_key(model_dir: str | Path, files: Sequence[str | Path], split: str = "gutters", slots: bool = False) -> str:
    """A name for the sequences of ``files`` under the encoder in ``model_dir`` (content hashes) with
    lines cut by ``split`` (and slot features if ``slots``)."""
    import hashlib

    h = hashlib.sha1(CACHE_VERSION.encode())
    h.update(split.encode() + (b"+slots" if slots else b""))
    for f in [Path(model_dir) / "model.safetensors", *map(Path, files)]:
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


class LineCrops(torch.utils.data.Dataset):
    """Training items: a random window of at most ``max_lines`` lines of each page, new each epoch."""

    def __init__(self, examples: Sequence[LineSeq | PageExample], max_lines: int, seed: int, random: bool = True):
        self.examples, self.max_lines, self.random = examples, max_lines, random
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict[str, np.ndarray]:
        ex = self.examples[i]
        n = len(ex.tags)
        a, b = random_line_window(self.rng, n, self.max_lines) if self.random else (0, min(n, self.max_lines))
        return {"features": ex.features[a:b], "tags": consistent_tags(ex.tags[a:b]), "articles": ex.articles[a:b],
                "spans": ex.spans[a:b], "topics": ex.topics[a:b]}


def collate(items: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    """Pad a batch of line sequences; ``mask`` marks real lines."""
    n = max(len(it["tags"]) for it in items)
    f = items[0]["features"].shape[1]
    feats = torch.zeros(len(items), n, f)
    tags = torch.zeros(len(items), n, dtype=torch.long)
    arts = torch.full((len(items), n), -1, dtype=torch.long)
    spans = torch.full((len(items), n), -1, dtype=torch.long)
    topics = torch.full((len(items), n), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros(len(items), n, dtype=torch.bool)
    for r, it in enumerate(items):
        k = len(it["tags"])
        feats[r, :k] = torch.from_numpy(it["features"])
        tags[r, :k] = torch.from_numpy(it["tags"])
        arts[r, :k] = torch.from_numpy(it["articles"])
        spans[r, :k] = torch.from_numpy(it["spans"])
        topics[r, :k] = torch.from_numpy(it["topics"])
        mask[r, :k] = True
    return {"features": feats, "mask": mask, "tags": tags, "articles": arts, "spans": spans, "topics": topics}


def train_page_model(train: Sequence[LineSeq | PageExample], args: PageFitArguments, output_dir: str | Path,
                     progress: bool = True, init: PageModel | None = None, n_topics: int = 0) -> PageModel:
    """Train a page model on examples with the ``Trainer`` (no evaluation pages: see the module doc).

    ``init``: continue this model (a copy: its sizes, normalisation and fitted linking are kept)
    instead of building a new one from ``args``. ``n_topics``: give a new model a topic head over
    that many topics (when ``args.topic_loss_weight > 0``).
    """
    from transformers import Trainer, TrainingArguments

    torch.manual_seed(args.seed)
    if init is not None:
        model = copy_page_model(init)
    else:
        x = np.vstack([ex.features for ex in train]).astype(np.float64)
        std = x.std(0)
        cfg = PageModelConfig(n_features=x.shape[1], hidden=args.hidden, layers=args.layers, heads=args.heads,
                              ff=2 * args.hidden, max_lines=args.max_lines, link_loss_weight=args.link_loss_weight,
                              cross_fragment_only=args.cross_fragment_only, line_split=args.line_split,
                              slot_features=args.slot_features,
                              n_topics=n_topics if args.topic_loss_weight > 0 else 0,
                              topic_loss_weight=args.topic_loss_weight,
                              mean=x.mean(0).tolist(), std=np.where(std > 1e-6, std, 1.0).tolist())
        model = PageModel(cfg)
    targs = TrainingArguments(
        output_dir=str(output_dir), num_train_epochs=args.epochs, learning_rate=args.learning_rate,
        per_device_train_batch_size=args.batch_size, lr_scheduler_type="linear", warmup_steps=0.05,
        weight_decay=0.01, logging_steps=50, save_strategy="no", report_to=[], seed=args.seed,
        remove_unused_columns=False, disable_tqdm=not progress, use_cpu=True, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=targs, train_dataset=LineCrops(train, args.max_lines, args.seed),
                      data_collator=collate)
    trainer.train()
    return model.eval()


def decode_examples(model: PageModel, examples: Sequence[PageExample], topics: Sequence[str],
                    link: dict[str, float] | None = None, hand: Any = None,
                    decoded: Sequence[PageDecoded] | None = None) -> list[Page]:
    """Decode examples as :class:`~newsseg.model.segmenter.Segmenter` does with this page model
    (``hand``: the model's fitted hand linker, used when ``use_links`` is off; ``decoded``: the
    model's :meth:`~PageModel.decode` of each example, when the caller already has it)."""
    from newsseg.model.page_decoding import decode_with_page_model

    decoded = decoded or [model.decode(ex.features) for ex in examples]
    return [decode_with_page_model(ex.page.id, ex.page.text, ex.char_index, ex.boundary_probs, ex.topic_probs,
                                   topics, ex.lines, dec.tags, dec.logits, model.cfg, link, hand)
            for ex, dec in zip(examples, decoded)]


THRESHOLDS: tuple[float, ...] = tuple(np.round(np.arange(-3.0, 3.01, 0.5), 2))
HEAD_HAND_WEIGHTS: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def _best_threshold(score: Callable[[float], float]) -> tuple[float, float]:
    tried = {float(th): score(float(th)) for th in THRESHOLDS}
    return max(tried.items(), key=lambda kv: (kv[1], -abs(kv[0])))


def fit_linking(model: PageModel, fit: Sequence[PageExample], topics: Sequence[str],
                link: dict[str, float] | None = None) -> dict[str, float]:
    """Fit how the page model links, on the decoder-fit pages, by the decoder objective
    (:func:`newsseg.train.linking.decode_objective`):

    1. the merge threshold on the pair head's log-odds alone;
    2. a learned linker stacked on them (:mod:`newsseg.model.linker`'s logistic regression over the
       hand cues plus the pair head's log-odds, fitted on the same pages' gold links) and its threshold;
    3. the weight of the hand headline cues added to the page model's headline scores.

    Each step is kept (``model.cfg.stack``, ``model.cfg.head_hand_weight``) only if it beats what
    came before it.
    """
    from newsseg.model.decoding import DEFAULT_LINK, link_blocks
    from newsseg.model.linker import fit_linker, linker_training_pairs
    from newsseg.model.page_decoding import PageLinks, page_model_blocks
    from newsseg.train.linking import decode_objective

    golds = [ex.page for ex in fit]
    w = {**DEFAULT_LINK, **(link or {})}
    # The page model's tags and log-odds, and the fragments they make, do not depend on how fragments
    # are linked: built once, every trial below only links.
    prepared = []
    for ex in fit:
        tags, logits, _ = model.decode(ex.features)
        blocks, starts = page_model_blocks(ex.page.text, ex.char_index, ex.boundary_probs, ex.topic_probs,
                                           ex.lines, tags, w)
        prepared.append((blocks, starts, logits))

    def objective(th: float, stack: LearnedLinker | None = None, head_hand: float = 0.0) -> float:
        preds = [link_blocks(ex.page.id, ex.page.text, blocks, topics, w, PageLinks(starts, logits, th, stack, head_hand))
                 for ex, (blocks, starts, logits) in zip(fit, prepared)]
        return decode_objective(golds, preds, topics)

    th, alone = _best_threshold(objective)
    model.cfg.threshold, model.cfg.stack = th, {}
    out = {"threshold": th, "objective_pair_head": alone}
    pairs = [linker_training_pairs(blocks, ex.page, PageLinks(starts, logits))
             for ex, (blocks, starts, logits) in zip(fit, prepared)]
    stack = fit_linker(np.concatenate([x for x, _ in pairs]), np.concatenate([y for _, y in pairs])) if pairs else None
    if stack is not None:
        def stacked(t: float) -> float:
            stack.threshold = t
            return objective(th, stack)

        stack.threshold, out["objective_stacked"] = _best_threshold(stacked)
        if out["objective_stacked"] > alone + 1e-6:
            model.cfg.stack = stack.to_dict()
    best = max(alone, out.get("objective_stacked", alone))
    # 3. the hand headline cues (a headline repeats words of its body) beside the page model's headline scores
    kept = LearnedLinker.from_dict(model.cfg.stack)
    tried = {wt: objective(th, kept, wt) for wt in HEAD_HAND_WEIGHTS[1:]}
    wt, score = max(tried.items(), key=lambda kv: (kv[1], -kv[0]))
    out["objective_head_hand"], out["head_hand_weight"] = score, wt
    model.cfg.head_hand_weight = wt if score > best + 1e-6 else 0.0
    out["objective"] = max(best, score)
    logger.info("page model linking on %d fit pages: pair head %.4f (threshold %.2f), stacked %s -> %s", len(fit),
                alone, th, out.get("objective_stacked"), "stacked" if model.cfg.stack else "pair head")
    return out


TOPIC_STATE_WEIGHTS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)


def fit_topic_state_weight(model: PageModel, fit: Sequence[PageExample], seg: Segmenter) -> dict[str, Any]:
    """Fit ``model.cfg.topic_state_weight``, the share of the line states' topic against the encoder's token
    votes in an article's topic (the n-gram model keeps its weight), by topic macro-F1 of the decoder-fit
    pages as the page model assembles them; ties go to the smaller share."""
    from newsseg.evaluate.metrics import score_corpus
    from newsseg.model.topic import assign_topics, line_topic_mass, topic_evidence

    topics = list(seg.config.topic_labels)
    decoded = [model.decode(ex.features) for ex in fit]  # once: tags and links for the pages, topics for the mix
    preds = decode_examples(model, fit, topics, seg.config.link, LearnedLinker.from_dict(seg.config.linker), decoded)
    masses = [line_topic_mass(p, ex.char_index, ex.lines, dec.topics) for p, ex, dec in zip(preds, fit, decoded)]
    ngram_weight = seg.ngram_topic_weight
    scores: dict[float, float] = {}
    for w in TOPIC_STATE_WEIGHTS:
        evidence = topic_evidence(preds, [ex.char_index for ex in fit], [ex.topic_probs for ex in fit],
                                  seg.article_topic, masses, w)
        for p, (mass, ngrams) in zip(preds, evidence):  # every article's topic is set again at each weight
            assign_topics(p, mass, ngrams, ngram_weight, topics)
        scores[w] = float(score_corpus([ex.page for ex in fit], preds, topics)["overall"]["topic_macro_f1"] or 0.0)
    model.cfg.topic_state_weight = max(TOPIC_STATE_WEIGHTS, key=lambda w: (scores[w], -w))
    logger.info("page model topic: macro-F1 by line-state share %s -> %s", scores, model.cfg.topic_state_weight)
    return {"macro_f1_by_weight": {str(w): round(v, 4) for w, v in scores.items()}, "weight": model.cfg.topic_state_weight}


def fit_page_model(seg: Segmenter, train_pages: Sequence[Page], fit_pages: Sequence[Page], args: PageFitArguments,
                   output_dir: str | Path, progress: bool = True, cache: Path | None = None) -> dict[str, Any]:
    """Train the page model, fit its threshold, install it in ``seg``; returns what was measured.

    ``cache``: an ``.npz`` for the training sequences (see :func:`line_sequences`).
    """
    init = seg.page_model if args.warm_start else None
    if args.warm_start and init is None:
        raise ValueError("page_model.warm_start: the segmenter has no page model to continue")
    if not fit_pages and init is None:
        raise ValueError("a new page model needs decoder-fit pages to fit its linking on")
    if args.epochs == 0 and init is None:
        raise ValueError("page_model.epochs=0 keeps a page model as it is: only with warm_start")
    split, slots = fit_line_inputs(seg, args)
    report: dict[str, Any] = {"train_pages": len(train_pages)}
    if args.epochs > 0:
        train = line_sequences(seg, train_pages, cache, progress, split, slots)
        model = train_page_model(train, args, output_dir, progress, init=init, n_topics=len(seg.config.topic_labels))
        report["train_pages"] = len(train)
    else:  # only the end-to-end step below (if any) trains: no encoder pass over the training pages
        model = copy_page_model(init)
    if args.end_to_end_pages:
        from newsseg.train.end_to_end import train_end_to_end

        report["end_to_end"] = train_end_to_end(seg, model, train_pages, args, Path(output_dir) / "end-to-end", progress)
    linking: dict[str, Any] = {"linking": "kept from the model continued"}
    if fit_pages:
        fit = page_examples(seg, fit_pages, progress=progress, desc="page model: encoder pass (fit)", split=split,
                            slots=slots)
        linking = fit_linking(model, fit, seg.config.topic_labels, seg.config.link)
        if model.topic_head is not None:
            linking["topic_state_weight"] = fit_topic_state_weight(model, fit, seg)
    seg.page_model = model
    return {**report, "fit_pages": len(fit_pages), **linking, "stacked": bool(model.cfg.stack),
            "warm_start": init is not None}
