"""Training with the Hugging Face ``Trainer``: pages -> windows (``datasets`` map + cache) -> model.

``train(config, output_dir)`` composes training pages from the training corpus (held-out articles
are refused by the composer), adds any user page files, tokenises them into windows through
``datasets.map`` (cached under the output dir), trains, keeps the best epoch, and writes the model,
tokenizer, resolved config and final metrics. Re-running into the same directory resumes from the
last checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from newsseg.data.encoding import IGNORE_INDEX, CharVocab, token_labels, training_windows
from newsseg.data.pages import Page, write_pages
from newsseg.model.modeling import tie_unseen_embeddings
from newsseg.model.segmenter import Segmenter
from newsseg.train.args import DataArguments, RunConfig
from newsseg.train.pretrain import pretrained_seen_ids
from newsseg.train.rundir import DEFAULT_EPOCHS, last_complete_checkpoint

logger = logging.getLogger(__name__)

# Defaults that make a recipe work without a [training] table; a recipe overrides any of them.
TRAINING_DEFAULTS: dict[str, Any] = {
    "num_train_epochs": DEFAULT_EPOCHS, "learning_rate": 5e-4, "per_device_train_batch_size": 8,
    "per_device_eval_batch_size": 16, "warmup_steps": 0.06, "weight_decay": 0.01,
    "lr_scheduler_type": "linear", "eval_strategy": "epoch", "save_strategy": "epoch",
    "save_total_limit": 2, "load_best_model_at_end": True, "metric_for_best_model": "eval_loss",
    "greater_is_better": False, "logging_steps": 20, "seed": 42, "report_to": [],
    "dataloader_num_workers": 0, "use_cpu": not torch.cuda.is_available(),
}


def compose_split(data: DataArguments, out: Path, split: str) -> list[str]:
    """Compose the train or eval pages into ``out`` once (re-used on resume); returns the files.

    Training pages come from the corpus's ``train`` split. Eval pages (per-epoch evaluation and the
    decoder fit after training) come from its ``fit`` split, articles the encoder never trains on:
    a decoder stacked on the encoder must be fitted on what the encoder does with unseen text. A
    corpus without ``fit.txt`` falls back to training articles, with a warning. ``data.ocr_share`` of
    the pages are OCR'd instead; with ``data.ocr_encoder`` off the OCR'd training pages are built for
    the page model but left out of the returned (encoder) files.
    """
    from newsseg.data.composer import ComposerConfig, compose_pages
    from newsseg.data.corpus import DEFAULT_CORPUS_DIR, heldout_ids, load_corpus

    n = data.compose_pages if split == "train" else data.eval_pages
    files = list(data.train_files if split == "train" else data.eval_files)
    if split == "eval" and files:
        return files
    n_ocr = round(n * data.ocr_share)
    if n_ocr > 0 and split == "train" and not data.ocr_encoder:
        _ocr_split(data, out, split, n_ocr)  # for the page model (_fit_page_model reads it), not the encoder
    elif n_ocr > 0:
        n -= n_ocr
        files.append(str(_ocr_split(data, out, split, n_ocr)))
    if n > 0:
        path = out / f"composed-{split}.jsonl"
        if not path.exists():
            corpus_dir = data.corpus or DEFAULT_CORPUS_DIR
            corpus = load_corpus(corpus_dir, split="train" if split == "train" else "fit")
            if not corpus:
                logger.warning("%s has no decoder-fit split (fit.txt): eval pages are composed from training "
                               "articles, so the decoder fit sees text the encoder trained on", corpus_dir)
                corpus = load_corpus(corpus_dir, split="train")
            seed = data.seed if split == "train" else data.seed + 100000
            # The held-out list is the chosen corpus's own, not the repository's.
            write_pages(compose_pages(corpus, n, seed, ComposerConfig.from_dict(data.composer),
                                      heldout=heldout_ids(corpus_dir)), path)
        files.append(str(path))
    if not files:
        raise ValueError(f"no {split} data: set data.compose_pages > 0 or data.{split}_files")
    return files


def windows_dataset(files: list[str], seg: Segmenter, overlap: float, cache_dir: Path,
                    num_proc: int | None = None) -> Any:
    """Page JSONL -> a ``datasets.Dataset`` of windows with ``input_ids``, ``labels``, ``topic_labels``."""
    import datasets

    vocab_items = seg.tokenizer.get_vocab()
    topics = list(seg.config.topic_labels)
    max_tokens = seg.max_tokens
    cls_id, sep_id = seg.tokenizer.cls_token_id, seg.tokenizer.sep_token_id
    nl = seg.config.newline_token
    n_buckets = seg.config.line_buckets

    def encode(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        vocab = CharVocab(vocab_items, newline_token=nl)
        out: dict[str, list[Any]] = {"input_ids": [], "token_type_ids": [], "labels": [], "topic_labels": []}
        for pid, text, arts in zip(batch["id"], batch["text"], batch["articles"]):
            page = Page.from_dict({"id": pid, "text": text, "articles": arts or []})
            enc = vocab.encode(page.text)
            lab, top = token_labels(page, enc, topics)
            for w, ids, types in training_windows(page.text, enc, max_tokens, overlap, n_buckets, cls_id, sep_id):
                # [CLS] and [SEP] carry no label: -100 keeps them out of both losses.
                out["input_ids"].append(ids)
                out["token_type_ids"].append(types)
                out["labels"].append([IGNORE_INDEX, *lab[w.start:w.end].tolist(), IGNORE_INDEX])
                out["topic_labels"].append([IGNORE_INDEX, *top[w.start:w.end].tolist(), IGNORE_INDEX])
        return out

    ds = datasets.load_dataset("json", data_files=files, split="train", cache_dir=str(cache_dir))
    return ds.map(encode, batched=True, batch_size=32, remove_columns=ds.column_names, num_proc=num_proc,
                  desc="windows")


class WindowCollator:
    """Pads a batch of windows; while training, swaps a share of characters for ``[UNK]``."""

    def __init__(self, pad_id: int, unk_id: int, special_ids: list[int], unk_dropout: float = 0.0):
        self.pad_id, self.unk_id, self.unk_dropout = pad_id, unk_id, unk_dropout
        self.special = torch.tensor(special_ids)
        self.training = True

    def __call__(self, feats: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in feats)

        def pad(key: str, value: int) -> torch.Tensor:
            return torch.tensor([f[key] + [value] * (width - len(f[key])) for f in feats], dtype=torch.long)

        ids = pad("input_ids", self.pad_id)
        mask = (torch.arange(width)[None, :] < torch.tensor([len(f["input_ids"]) for f in feats])[:, None]).long()
        if self.training and self.unk_dropout > 0:
            # The mask is seeded by the batch's own content, not the global RNG: the data loader
            # draws one batch ahead, so a global draw would differ after resuming from a checkpoint.
            gen = torch.Generator().manual_seed(int((ids * torch.arange(1, width + 1)).sum()) % (2 ** 62))
            noise = torch.rand(ids.shape, generator=gen)
            drop = (noise < self.unk_dropout) & ~torch.isin(ids, self.special) & mask.bool()
            ids = ids.masked_fill(drop, self.unk_id)
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": pad("token_type_ids", 0),
                "labels": pad("labels", IGNORE_INDEX),
                "topic_labels": pad("topic_labels", IGNORE_INDEX)}


def compute_metrics(eval_pred: Any) -> dict[str, float]:
    """Token-level scores per epoch (page-level metrics come from ``newsseg evaluate``)."""
    from sklearn.metrics import accuracy_score, f1_score

    (b_pred, t_pred), (b_gold, t_gold) = eval_pred.predictions, eval_pred.label_ids
    m = b_gold != IGNORE_INDEX
    tm = t_gold != IGNORE_INDEX
    return {
        "boundary_acc": float(accuracy_score(b_gold[m], b_pred[m])),
        "boundary_macro_f1": float(f1_score(b_gold[m], b_pred[m], average="macro", labels=[0, 1, 2, 3, 4],
                                            zero_division=0)),
        "topic_acc": float(accuracy_score(t_gold[tm], t_pred[tm])) if tm.any() else 0.0,
    }


def _argmax_logits(logits: Any, labels: Any) -> tuple[torch.Tensor, torch.Tensor]:
    # Keep only argmaxes: storing full logits of every eval window would grow memory for nothing.
    return logits[0].argmax(-1), logits[1].argmax(-1)


def _trainer_class() -> type:
    from transformers import Trainer

    class SegmenterTrainer(Trainer):
        """Evaluates on clean windows: ``[UNK]`` dropout is for training batches only."""

        def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
            coll = self.data_collator
            prev, coll.training = coll.training, False
            try:
                return super().evaluate(*args, **kwargs)
            finally:
                coll.training = prev

    return SegmenterTrainer


def _ocr_split(data: DataArguments, out: Path, split: str, n: int) -> Path:
    """Render + OCR ``n`` pages of the split's articles (from the shared cache when built before)."""
    from newsseg.data.corpus import DEFAULT_CORPUS_DIR, load_corpus
    from newsseg.ocr.render import RenderConfig
    from newsseg.ocr.store import OcrSettings, build_ocr_pages

    path = out / f"ocr-{split}.jsonl"
    if not path.exists():
        corpus = load_corpus(data.corpus or DEFAULT_CORPUS_DIR, split="train" if split == "train" else "fit")
        seed = data.seed if split == "train" else data.seed + 100000
        settings = OcrSettings(seed=seed, render=RenderConfig.from_dict(data.ocr_render))
        pages, stats, folder = build_ocr_pages(corpus, n, settings, data.ocr_cache)
        logger.info("%d OCR'd %s pages from %s (box/alignment agreement %.4f)", n, split, folder, stats.agreement)
        write_pages(pages, path)
    return path


def _fit_page_model(seg: Segmenter, config: RunConfig, out: Path, fit_pages: list[Any], progress: bool
                    ) -> dict[str, Any]:
    """Train the page model on fresh training-split pages (+ the run's OCR'd training pages, if any)."""
    from dataclasses import replace

    from newsseg.data.pages import read_pages
    from newsseg.train.page_fit import CACHE_VERSION, fit_page_model

    pc, dc = config.page_model, config.data
    data = replace(dc, seed=dc.seed + 200000, compose_pages=pc.compose_pages, ocr_share=0.0, train_files=[])
    page_dir = out / "page-model"
    page_dir.mkdir(exist_ok=True)
    files = compose_split(data, page_dir, "train") + ([str(out / "ocr-train.jsonl")]
                                                      if (out / "ocr-train.jsonl").exists() else [])
    pages = [p for f in files for p in read_pages(f, topics=None)]
    return fit_page_model(seg, pages, fit_pages, pc, page_dir / "trainer", progress, cache=page_dir / f"train-lines-{CACHE_VERSION}-{pc.line_split}{'-slots' if pc.slot_features else ''}.npz")


def train(config: RunConfig, output_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Train a segmenter from a recipe into ``output_dir``; returns the final evaluation metrics."""
    from transformers import TrainingArguments, set_seed

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    targs = TrainingArguments(output_dir=str(out / "checkpoints"), **{**TRAINING_DEFAULTS, **config.training})
    set_seed(targs.seed)
    mc, dc = config.model, config.data
    seg = Segmenter.build(mc.base_model, topics=mc.topics, max_length=mc.max_length,
                          topic_loss_weight=mc.topic_loss_weight,
                          boundary_class_weights=mc.boundary_class_weights, window_overlap=mc.window_overlap,
                          line_buckets=mc.line_buckets)
    config.save(out / "training_config.json")
    eval_files = compose_split(dc, out, "eval")
    train_ds = windows_dataset(compose_split(dc, out, "train"), seg, dc.train_overlap, out / "cache", dc.num_proc)
    eval_ds = windows_dataset(eval_files, seg, dc.train_overlap, out / "cache", dc.num_proc)
    collator = WindowCollator(seg.tokenizer.pad_token_id, seg.vocab.unk_id, seg.tokenizer.all_special_ids,
                              dc.unk_dropout)
    trainer = _trainer_class()(model=seg.model, args=targs, train_dataset=train_ds, eval_dataset=eval_ds,
                      data_collator=collator, compute_metrics=compute_metrics,
                      preprocess_logits_for_metrics=_argmax_logits)
    trainer.model_accepts_loss_kwargs = False
    last = last_complete_checkpoint(targs.output_dir)
    if last:
        logger.warning("resuming from %s", last)
    result = trainer.train(resume_from_checkpoint=last)
    collator.training = False
    metrics = {**result.metrics, **trainer.evaluate()}
    if not trainer.is_world_process_zero():
        # Under torchrun every rank gets here; one writes the model, or they race on the same files.
        return metrics
    seg.model = trainer.model
    pretrained = pretrained_seen_ids(mc.base_model)
    if mc.base_model.startswith("scratch-") or pretrained:
        # Characters neither fine-tuning nor `newsseg pretrain` trained on (weight decay moved them).
        seen = pretrained | {int(t) for row in train_ds["input_ids"] for t in row}
        metrics["tied_unseen_embeddings"] = tie_unseen_embeddings(seg.model, seg.tokenizer, seen)
    metrics["train_windows"], metrics["eval_windows"] = len(train_ds), len(eval_ds)
    if dc.tune_linking or dc.article_topic or config.page_model.enabled or dc.score_calibration:
        # Both decoder fits read the same eval pages (composed from the decoder-fit split).
        from newsseg.data.pages import read_pages

        seg.model.eval()
        fit_pages = [p for f in eval_files for p in read_pages(f, topics=None)]
    if dc.tune_linking:
        from newsseg.train.linking import tune_linking

        _, before, after = tune_linking(seg, fit_pages, progress=not targs.disable_tqdm)
        metrics["decode_objective_default"], metrics["decode_objective_tuned"] = before, after
    if dc.article_topic:
        from newsseg.data.corpus import DEFAULT_CORPUS_DIR, load_corpus
        from newsseg.train.topic_fit import fit_article_topic

        fit = fit_article_topic(seg, load_corpus(dc.corpus or DEFAULT_CORPUS_DIR, split="train"), fit_pages)
        metrics["article_topic_macro_f1_by_weight"], metrics["article_topic_weight"] = \
            fit["macro_f1_by_weight"], fit["weight"]
    if config.page_model.enabled:
        metrics["page_model"] = _fit_page_model(seg, config, out, fit_pages, progress=not targs.disable_tqdm)
    if dc.score_calibration:  # last: it calibrates the scores of the decoder as fitted above
        from newsseg.train.score_fit import fit_score_calibration

        metrics["score_calibration"] = fit_score_calibration(seg, fit_pages)
    seg.save_pretrained(out, half=mc.save_half)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics
