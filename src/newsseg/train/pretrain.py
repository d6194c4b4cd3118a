"""Masked-language-model pretraining of the character encoder on unlabelled page text (issue 14).

An archive has millions of unlabelled OCR pages of its own papers. ``pretrain`` adapts the encoder to
that text before any labels: the same tokenizer, the same ``[NL]``/whitespace layout tokens and the same
line-length features (``token_type_ids``) as the segmenter, so the checkpoint it writes is exactly what
``newsseg train … --set model.base_model=DIR`` fine-tunes.

Example::

    from newsseg.train.pretrain import PretrainArguments, pretrain
    args = PretrainArguments(base_model="scratch-tiny", max_length=64, epochs=1)
    pretrain(["data/pages/dev.jsonl"], "runs/pretrain-demo", args)   # a BERT checkpoint dir

The output is a plain ``BertForMaskedLM`` checkpoint (``model.safetensors``, ``config.json``, the
tokenizer) plus ``pretrain.json`` (arguments, data sizes, losses) and ``pretrain_seen_ids.json``: the
character ids the encoder has trained on, so fine-tuning ties only characters that neither run saw
to ``[UNK]`` (:func:`newsseg.model.modeling.tie_unseen_embeddings`).
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import torch

logger = logging.getLogger(__name__)

SEEN_IDS_FILE = "pretrain_seen_ids.json"


@dataclass
class PretrainArguments:
    """``newsseg pretrain`` settings (``--set key=value``)."""

    base_model: str = field(default="scratch-mini", metadata={
        "help": "A built-in size to start from random weights (scratch-tiny/-mini/-small/-medium), or a BERT "
                "checkpoint (hub id or directory, e.g. bert-base-chinese) to continue pretraining."})
    max_length: int = field(default=256, metadata={"help": "Window length in tokens, [CLS] and [SEP] included."})
    line_buckets: int = field(default=32, metadata={
        "help": "Line-length buckets through token_type_ids, as the segmenter's model.line_buckets (must match)."})
    mlm_probability: float = field(default=0.15, metadata={"help": "Share of characters chosen for prediction."})
    epochs: float = field(default=1.0, metadata={"help": "Passes over the windows."})
    max_steps: int = field(default=-1, metadata={"help": "Stop after this many steps (> 0 overrides epochs)."})
    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW peak learning rate (linear decay)."})
    warmup_ratio: float = field(default=0.06, metadata={"help": "Share of steps spent warming up."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    batch_size: int = field(default=16, metadata={"help": "Windows per step."})
    overlap: float = field(default=0.0, metadata={"help": "Overlap of consecutive windows of a text (fraction)."})
    save_steps: int = field(default=500, metadata={"help": "Checkpoint every this many steps (resume point)."})
    seed: int = field(default=42, metadata={"help": "Seed of initialisation and masking."})


def page_texts(paths: Sequence[str | os.PathLike[str]], encoding: str = "auto") -> Iterator[tuple[str, str]]:
    """``(id, text)`` of every readable page in ``.txt`` files, ``.jsonl`` files and directories of them.

    Gold spans in JSONL are ignored (pretraining needs none); unreadable pages are logged and skipped.
    """
    from newsseg.data.pages import PageError, iter_pages

    for page in iter_pages(paths, topics=None, encoding=encoding, errors="replace", provenance=False):
        if isinstance(page, PageError):
            logger.warning("skipped %s: %s", page.source, page.message)
        elif page.text.strip():
            yield page.id, page.text


def corpus_texts(corpus_dir: str | os.PathLike[str]) -> Iterator[tuple[str, str]]:
    """The corpus's training-split articles as plain text: headline lines, body paragraphs, byline.

    Held-out and decoder-fit articles are never read, so pretraining cannot see evaluation text.
    """
    from newsseg.data.corpus import load_corpus

    for a in load_corpus(corpus_dir, split="train"):
        yield f"corpus/{a.id}", "\n".join([*a.headline, *a.body, *([a.byline] if a.byline else [])])


def mlm_windows(texts: Iterable[tuple[str, str]], tokenizer: Any, max_length: int, line_buckets: int,
                overlap: float = 0.0) -> dict[str, list[list[int]]]:
    """Cut texts into ``[CLS] … [SEP]`` windows exactly as the segmenter encodes pages for training."""
    from newsseg.data.encoding import NEWLINE_TOKEN, CharVocab, training_windows

    vocab = CharVocab(tokenizer.get_vocab(), newline_token=NEWLINE_TOKEN)
    out: dict[str, list[list[int]]] = {"input_ids": [], "token_type_ids": []}
    for _, text in texts:
        for _, ids, types in training_windows(text, vocab.encode(text), max_length - 2, overlap, line_buckets,
                                              tokenizer.cls_token_id, tokenizer.sep_token_id):
            out["input_ids"].append(ids)
            out["token_type_ids"].append(types)
    return out


def _masked_only_class() -> type:
    from transformers import BertForMaskedLM
    from transformers.modeling_outputs import MaskedLMOutput

    class MaskedOnlyBertForMaskedLM(BertForMaskedLM):
        """``BertForMaskedLM`` whose vocabulary projection runs on the masked positions only.

        The projection onto ~21k characters costs more than a small encoder itself; ~85 % of its
        rows carry no label. Weights and keys are BertForMaskedLM's, so the checkpoint loads as one.
        """

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                    token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                    **kwargs: Any) -> MaskedLMOutput:
            if labels is None:
                return super().forward(input_ids=input_ids, attention_mask=attention_mask,
                                       token_type_ids=token_type_ids, **kwargs)
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            picked = labels != -100
            logits = self.cls(hidden[picked])
            loss = torch.nn.functional.cross_entropy(logits.float(), labels[picked]) if picked.any() \
                else logits.sum() * 0.0
            return MaskedLMOutput(loss=loss, logits=logits)

    return MaskedOnlyBertForMaskedLM


def build_mlm_model(args: PretrainArguments) -> tuple[Any, Any]:
    """``(masked LM, tokenizer)``: random weights for a built-in size, else the checkpoint's."""
    from transformers import BertConfig

    from newsseg.model.configuration import SCRATCH_SIZES
    from newsseg.model.modeling import add_layout_inputs
    from newsseg.model.tokenizer import builtin_tokenizer, load_tokenizer

    if args.base_model in SCRATCH_SIZES:
        tok = builtin_tokenizer()
        cfg = BertConfig(vocab_size=len(tok), max_position_embeddings=args.max_length, pad_token_id=tok.pad_token_id,
                         type_vocab_size=max(2, args.line_buckets), **SCRATCH_SIZES[args.base_model])
        return _masked_only_class()(cfg), tok
    tok = load_tokenizer(args.base_model)
    model = _masked_only_class().from_pretrained(args.base_model, use_safetensors=True)
    if args.max_length > model.config.max_position_embeddings:
        raise ValueError(f"max_length {args.max_length} exceeds the {model.config.max_position_embeddings} "
                         f"positions of {args.base_model}")
    add_layout_inputs(model, tok, args.line_buckets)
    return model, tok


def _last_checkpoint(folder: Path) -> str | None:
    from newsseg.train.rundir import last_complete_checkpoint

    return last_complete_checkpoint(str(folder)) if folder.exists() else None


def pretrain(pages: Sequence[str | os.PathLike[str]], output_dir: str | os.PathLike[str],
             args: PretrainArguments | None = None, corpus: str | os.PathLike[str] | None = None,
             progress: bool = True) -> dict[str, Any]:
    """Pretrain the encoder with masked characters on ``pages`` (and ``corpus``'s training articles).

    Re-running into the same ``output_dir`` resumes from the last checkpoint. Returns the report that
    is also written to ``output_dir/pretrain.json``.
    """
    import datasets
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments, set_seed

    from newsseg.model.modeling import tie_unseen_embeddings

    args = args or PretrainArguments()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(args.seed)
    model, tok = build_mlm_model(args)
    texts: list[tuple[str, str]] = list(page_texts(pages)) if pages else []
    n_pages = len(texts)
    if corpus is not None:
        texts += list(corpus_texts(corpus))
    if not texts:
        raise ValueError("no text to pretrain on: give page files or directories (or --corpus)")
    windows = mlm_windows(texts, tok, args.max_length, args.line_buckets, args.overlap)
    ds = datasets.Dataset.from_dict(windows)
    held = max(1, min(200, len(ds) // 50))  # a fixed slice for the masked-LM loss curve
    split = ds.train_test_split(test_size=held, seed=args.seed, shuffle=True)
    collator = DataCollatorForLanguageModeling(tok, mlm=True, mlm_probability=args.mlm_probability,
                                               seed=args.seed)
    steps_per_epoch = math.ceil(len(split["train"]) / args.batch_size)
    targs = TrainingArguments(
        output_dir=str(out / "checkpoints"), num_train_epochs=args.epochs, max_steps=args.max_steps,
        learning_rate=args.learning_rate, warmup_steps=args.warmup_ratio, weight_decay=args.weight_decay,
        per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=args.batch_size * 2,
        eval_strategy="steps", eval_steps=args.save_steps, save_strategy="steps", save_steps=args.save_steps,
        save_total_limit=2, logging_steps=50, seed=args.seed, report_to=[], disable_tqdm=not progress,
        use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0)
    trainer = Trainer(model=model, args=targs, train_dataset=split["train"], eval_dataset=split["test"],
                      data_collator=collator)
    trainer.model_accepts_loss_kwargs = False
    last = _last_checkpoint(out / "checkpoints")
    if last:
        logger.warning("resuming from %s", last)
    result = trainer.train(resume_from_checkpoint=last)
    final = trainer.evaluate()
    seen = sorted({t for row in windows["input_ids"] for t in row})
    tied = tie_unseen_embeddings(trainer.model, tok, set(seen))
    trainer.model.save_pretrained(out)
    trainer.model.config.architectures = ["BertForMaskedLM"]  # a plain checkpoint for any BERT loader
    trainer.model.config.save_pretrained(out)
    tok.save_pretrained(out)
    (out / SEEN_IDS_FILE).write_text(json.dumps(seen), encoding="utf-8")
    # One point per step: the final evaluate() repeats the last scheduled one (with other random masks).
    curve = list({h["step"]: {"step": h["step"], "eval_loss": h["eval_loss"]}
                  for h in trainer.state.log_history if "eval_loss" in h}.values())
    report = {"args": asdict(args), "pages": n_pages, "corpus_articles": len(texts) - n_pages,
              "windows": len(ds), "heldout_windows": held, "steps": result.global_step,
              "steps_per_epoch": steps_per_epoch, "train_loss": result.training_loss,
              "eval_loss": final["eval_loss"], "eval_perplexity": math.exp(min(final["eval_loss"], 50.0)),
              "eval_curve": curve, "train_runtime_s": result.metrics.get("train_runtime"),
              "seen_characters": len(seen), "tied_unseen_embeddings": tied,
              "inputs": [str(p) for p in pages], "corpus": str(corpus) if corpus is not None else None}
    (out / "pretrain.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def pretrained_seen_ids(base_model: str) -> set[int]:
    """Character ids a ``newsseg pretrain`` checkpoint trained on; empty for any other base model."""
    f = Path(base_model) / SEEN_IDS_FILE
    return set(json.loads(f.read_text(encoding="utf-8"))) if f.is_file() else set()
