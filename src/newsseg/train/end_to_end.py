"""Train the character encoder and the page model together, end to end.

The page model is first trained on line vectors of a frozen encoder (:mod:`newsseg.train.page_fit`):
the encoder pass runs once and thousands of pages train in minutes. This step then lets the page
model's losses reach the encoder: each training page is cut into the encoder's windows, the encoder
runs on all of them with gradients, its last hidden states are stitched back into one state per
token (each token from the window where it has most context, as at inference) and averaged over each
line, and the line vectors go through the page transformer, the CRF, the pair head and the topic
head. The encoder's own token loss (boundaries + topic, weighted by ``token_loss_weight``) is kept
beside the page losses: the decoder still reads its token probabilities (mid-line starts, topic
votes, the line shape features), so its heads must stay trained.

The 47 shape numbers of a line (:func:`newsseg.model.lines.line_features`) are computed on every
step from the encoder's *current* boundary probabilities, without gradient: a line vector is then
exactly what :func:`newsseg.model.page_features.page_line_inputs` gives the same encoder at inference.

Example::

    from newsseg import Segmenter
    from newsseg.train.args import PageFitArguments
    from newsseg.train.end_to_end import train_end_to_end
    seg = Segmenter.from_pretrained("model")
    train_end_to_end(seg, seg.page_model, train_pages, PageFitArguments(end_to_end_pages=1000), "runs/e2e")
    seg.save_pretrained("runs/e2e")   # both the encoder and the page model have changed
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from newsseg.data.encoding import IGNORE_INDEX, best_window, token_labels, training_windows
from newsseg.data.pages import Page
from newsseg.model.lines import consistent_tags, line_spans
from newsseg.model.page_features import gold_line_targets, line_shape
from newsseg.model.page_model import PageModel, random_line_window
from newsseg.model.segmenter import Segmenter
from newsseg.train.args import PageFitArguments

logger = logging.getLogger(__name__)


@dataclass
class PageWindows:
    """One training page as the joint model reads it: encoder windows and line-level targets."""

    text: str
    char_index: np.ndarray
    ids: list[list[int]]           # each window: [CLS] ids [SEP]
    types: list[list[int]]         # line-length buckets (token_type_ids)
    labels: list[list[int]]        # boundary label per window position (-100 on [CLS]/[SEP])
    topic_labels: list[list[int]]
    owner_row: np.ndarray          # per page token: the window it is read from
    owner_col: np.ndarray          # per page token: its position in that window (after [CLS])
    lines: list[tuple[int, int]]
    tags: np.ndarray
    articles: np.ndarray
    spans: np.ndarray
    topics: np.ndarray
    crop: tuple[int, int] = (0, 0)  # the lines [a, b) the page model reads this time
    row0: int = 0                  # first window row of this page in a batch


def page_windows(seg: Segmenter, gold: Page, split: str) -> PageWindows | None:
    """Cut a gold page into the encoder's windows (as training and inference cut them) with its targets."""
    topics = list(seg.config.topic_labels)
    enc = seg.vocab.encode(gold.text)
    n = len(enc.input_ids)
    lines = line_spans(gold.text, enc.char_index, split)
    if n == 0 or not lines:
        return None
    lab, top = token_labels(gold, enc, topics)
    tok = seg.tokenizer
    cut = list(training_windows(gold.text, enc, seg.max_tokens, seg.config.window_overlap,
                                seg.config.line_buckets, tok.cls_token_id, tok.sep_token_id))
    wins = [w for w, _, _ in cut]
    owner = best_window(wins, n)
    starts = np.array([w.start for w in wins], dtype=np.int64)
    return PageWindows(
        gold.text, enc.char_index, [ids for _, ids, _ in cut],
        [types if seg.config.line_buckets else [0] * len(types) for _, _, types in cut],
        [[IGNORE_INDEX, *lab[w.start:w.end].tolist(), IGNORE_INDEX] for w in wins],
        [[IGNORE_INDEX, *top[w.start:w.end].tolist(), IGNORE_INDEX] for w in wins],
        owner, np.arange(n) - starts[owner] + 1, lines, *gold_line_targets(gold, enc, lines, topics))


class PageWindowSet(torch.utils.data.Dataset):
    """Pages for joint training; a page longer than ``max_lines`` lines is read through a random crop
    of its lines, new each epoch (what the page model reads at once at inference)."""

    def __init__(self, pages: Sequence[PageWindows], max_lines: int, seed: int):
        self.pages, self.max_lines = pages, max_lines
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.pages)

    def __getitem__(self, i: int) -> PageWindows:
        p = self.pages[i]
        return replace(p, crop=random_line_window(self.rng, len(p.lines), self.max_lines))


def collate_pages(items: list[PageWindows]) -> dict[str, Any]:
    """All windows of a batch of pages padded into one encoder batch; ``pages`` says whose rows are whose."""
    width = max(len(ids) for p in items for ids in p.ids)
    rows = [(p, k) for p in items for k in range(len(p.ids))]

    def pad(key: str, value: int) -> torch.Tensor:
        return torch.tensor([getattr(p, key)[k] + [value] * (width - len(getattr(p, key)[k])) for p, k in rows],
                            dtype=torch.long)

    lengths = torch.tensor([len(p.ids[k]) for p, k in rows])
    pages, row0 = [], 0
    for p in items:
        pages.append(replace(p, row0=row0))
        row0 += len(p.ids)
    return {"input_ids": pad("ids", 0), "attention_mask": (torch.arange(width)[None] < lengths[:, None]).long(),
            "token_type_ids": pad("types", 0), "token_labels": pad("labels", IGNORE_INDEX),
            "token_topics": pad("topic_labels", IGNORE_INDEX), "pages": pages}


def pool_lines(hidden: torch.Tensor, lines: Sequence[tuple[int, int]]) -> torch.Tensor:
    """Mean of ``hidden[a:b]`` for each line ``[a, b)``, differentiable, ``[lines, hidden]``."""
    a, b = np.asarray(lines, dtype=np.int64).T
    line_of = torch.from_numpy(np.repeat(np.arange(len(a)), b - a))
    tokens = torch.from_numpy(np.concatenate([np.arange(s, e) for s, e in zip(a, b)]))
    sums = hidden.new_zeros(len(a), hidden.shape[1]).index_add(0, line_of, hidden[tokens])
    return sums / torch.from_numpy(b - a).to(hidden.dtype)[:, None]


class EndToEndModel(nn.Module):
    """The segmenter's encoder under the page model, one module for the ``Trainer``; the loss is the page
    model's (CRF + pair + topic) plus ``token_loss_weight`` times the encoder's token loss."""

    def __init__(self, encoder: nn.Module, page: PageModel, token_loss_weight: float = 1.0):
        super().__init__()
        self.encoder, self.page, self.token_loss_weight = encoder, page, token_loss_weight

    def line_vectors(self, hidden: torch.Tensor, probs: torch.Tensor, p: PageWindows) -> torch.Tensor:
        """One page's line vectors over its crop: pooled hidden states (with gradient) + line shape."""
        rows, cols = torch.from_numpy(p.row0 + p.owner_row), torch.from_numpy(p.owner_col)
        a, b = p.crop
        shape = line_shape(p.text, p.char_index, probs[rows, cols].numpy().astype(np.float64), p.lines,
                           self.page.cfg.slot_features)[a:b]
        pooled = pool_lines(hidden[rows, cols], p.lines[a:b])
        return torch.cat([pooled, torch.from_numpy(shape).to(pooled.dtype)], 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor,
                token_labels: torch.Tensor, token_topics: torch.Tensor, pages: list[PageWindows]) -> dict[str, torch.Tensor]:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                           labels=token_labels, topic_labels=token_topics)
        probs = out.boundary_logits.detach().float().softmax(-1)
        vecs = [self.line_vectors(out.hidden_states, probs, p) for p in pages]
        n = max(len(v) for v in vecs)
        feats = vecs[0].new_zeros(len(pages), n, vecs[0].shape[1])
        mask = torch.zeros(len(pages), n, dtype=torch.bool)
        targets = {k: torch.full((len(pages), n), fill, dtype=torch.long)
                   for k, fill in (("tags", 0), ("articles", -1), ("spans", -1), ("topics", IGNORE_INDEX))}
        for r, (v, p) in enumerate(zip(vecs, pages)):
            a, b = p.crop
            feats[r, :len(v)], mask[r, :len(v)] = v, True
            targets["tags"][r, :len(v)] = torch.from_numpy(consistent_tags(p.tags[a:b]))
            for k in ("articles", "spans", "topics"):
                targets[k][r, :len(v)] = torch.from_numpy(getattr(p, k)[a:b])
        page_out = self.page(feats, mask, **targets)
        loss = page_out["loss"] + self.token_loss_weight * out.loss
        return {"loss": loss, "page_loss": page_out["loss"].detach(), "token_loss": out.loss.detach()}


def train_end_to_end(seg: Segmenter, page: PageModel, train_pages: Sequence[Page], args: PageFitArguments,
                     output_dir: str | Path, progress: bool = True) -> dict[str, Any]:
    """Train ``seg``'s encoder and ``page`` together on ``args.end_to_end_pages`` of ``train_pages`` (a
    seeded draw), in place; returns what was run. Both are left in eval mode."""
    from transformers import Trainer, TrainingArguments

    rng = np.random.default_rng(args.seed)
    chosen = [train_pages[i] for i in rng.permutation(len(train_pages))[:args.end_to_end_pages]]
    split = page.cfg.line_split
    items = [w for w in (page_windows(seg, g, split) for g in chosen) if w is not None]
    model = EndToEndModel(seg.model, page, args.end_to_end_token_loss_weight)
    torch.manual_seed(args.seed)
    targs = TrainingArguments(
        output_dir=str(output_dir), num_train_epochs=args.end_to_end_epochs,
        learning_rate=args.end_to_end_learning_rate, per_device_train_batch_size=args.end_to_end_batch_size,
        lr_scheduler_type="linear", warmup_steps=0.05, weight_decay=0.01, logging_steps=25, save_strategy="no",
        report_to=[], seed=args.seed, remove_unused_columns=False, disable_tqdm=not progress, use_cpu=True,
        dataloader_num_workers=0)
    trainer = Trainer(model=model, args=targs, train_dataset=PageWindowSet(items, page.cfg.max_lines, args.seed),
                      data_collator=collate_pages)
    t0 = time.time()
    result = trainer.train()
    seg.model.eval()
    page.eval()
    logger.info("end to end: %d pages, %d steps in %.0f s", len(items), result.global_step, time.time() - t0)
    return {"pages": len(items), "steps": int(result.global_step), "seconds": round(time.time() - t0, 1),
            "train_loss": round(float(result.training_loss), 4)}
