"""Training throughput for ``newsseg bench``: the Trainer's steps against the pure forward + backward of
the same batches, for the encoder (tokens/s) and the page model (lines/s).

The gap between the two is what training spends outside the model: the data loader and collator,
the optimizer step and scheduler, logging. Both runs start from the model as saved (its weights only
set the numbers' values, not their cost) and train on copies, so the model directory is untouched.

Example::

    from newsseg.bench_train import train_throughput
    r = train_throughput("model", pages=20, steps=10)
    r["encoder"]["trainer_s"] / r["encoder"]["pure_s"]   # Trainer wall / pure forward + backward
"""

from __future__ import annotations

import contextlib
import copy
import io
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch


class _Recording:
    """A collator that keeps every batch it makes, so the same batches can be replayed."""

    def __init__(self, collate: Callable[[list[Any]], dict[str, torch.Tensor]]):
        self.collate, self.batches = collate, []

    def __call__(self, items: list[Any]) -> dict[str, torch.Tensor]:
        batch = self.collate(items)
        self.batches.append(batch)
        return batch


def _trainer_seconds(model: torch.nn.Module, dataset: Any, collate: _Recording, steps: int, batch_size: int,
                     out: Path) -> float:
    """Wall seconds of Trainer steps 2..``steps`` (AdamW, linear schedule, no logging, evaluation or saving):
    from the end of the first step to the end of the last, so set-up and the cold first step are out, as
    the pure run's warm-up batch is; each step's time includes fetching and collating its batch."""
    from transformers import Trainer, TrainerCallback, TrainingArguments

    ends: list[float] = []

    class _StepEnds(TrainerCallback):
        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            ends.append(time.perf_counter())

    args = TrainingArguments(output_dir=str(out), max_steps=steps, per_device_train_batch_size=batch_size,
                             learning_rate=1e-4, lr_scheduler_type="linear", save_strategy="no", report_to=[],
                             logging_strategy="no", disable_tqdm=True, use_cpu=True, dataloader_num_workers=0,
                             remove_unused_columns=False, seed=0)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collate, callbacks=[_StepEnds()])
    trainer.model_accepts_loss_kwargs = False
    with contextlib.redirect_stdout(io.StringIO()):  # the Trainer prints its summary; the bench prints one table
        trainer.train()
    return ends[-1] - ends[0]


def _pure_seconds(model: torch.nn.Module, batches: Sequence[dict[str, torch.Tensor]]) -> float:
    """Wall seconds of forward + backward over ``batches[1:]``, after ``batches[0]`` as a warm-up."""
    model.train()
    for i, batch in enumerate(batches):
        if i == 1:
            t = time.perf_counter()
        model.zero_grad(set_to_none=True)
        model(**batch)["loss"].backward()
    return time.perf_counter() - t


def _measure(model: torch.nn.Module, dataset: Any, collate: Callable[[list[Any]], dict[str, torch.Tensor]],
             steps: int, batch_size: int, out: Path, count: Callable[[dict[str, torch.Tensor]], int]) -> dict[str, Any]:
    if steps < 2:
        raise ValueError("training throughput needs 2 or more steps (the first is a warm-up)")
    rec = _Recording(collate)
    trainer_s = _trainer_seconds(copy.deepcopy(model), dataset, rec, steps, batch_size, out)
    batches = rec.batches[:steps]  # the loader may draw one batch ahead
    return {"steps": len(batches) - 1, "batch_size": batch_size, "units": sum(count(b) for b in batches[1:]),
            "trainer_s": trainer_s, "pure_s": _pure_seconds(copy.deepcopy(model), batches)}


def train_throughput(model_dir: str, pages: int = 60, steps: int = 20, seed: int = 0, batch_size: int = 16
                     ) -> dict[str, Any]:
    """Time ``steps`` training steps of the encoder (and of the page model, if the model has one) on
    windows / line sequences of ``pages`` composed training-split pages; the first step of each is a
    warm-up, so the figures cover ``steps - 1`` steps. See the module doc."""
    from newsseg.data.composer import compose_pages
    from newsseg.data.corpus import load_corpus
    from newsseg.data.pages import write_pages
    from newsseg.model.segmenter import Segmenter
    from newsseg.train.page_fit import LineCrops, collate, page_examples
    from newsseg.train.trainer import WindowCollator, windows_dataset

    seg = Segmenter.from_pretrained(model_dir)
    r: dict[str, Any] = {"pages": pages}
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        golds = list(compose_pages(load_corpus(split="train"), pages, seed + 500000))  # gold needed: labels
        write_pages(golds, tmpd / "pages.jsonl")
        ds = windows_dataset([str(tmpd / "pages.jsonl")], seg, 0.25, tmpd / "cache")
        coll = WindowCollator(seg.tokenizer.pad_token_id, seg.vocab.unk_id, seg.tokenizer.all_special_ids, 0.02)
        r["encoder"] = _measure(seg.model, ds, coll, steps, batch_size, tmpd / "enc",
                                lambda b: int(b["attention_mask"].sum()))
        if seg.page_model is not None:
            cfg = seg.page_model.cfg
            examples = page_examples(seg, golds, progress=False)
            r["page_model"] = _measure(seg.page_model, LineCrops(examples, cfg.max_lines, seed), collate, steps,
                                       batch_size, tmpd / "page", lambda b: int(b["mask"].sum()))
    return r


def throughput_rows(t: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Rows of the bench table for :func:`train_throughput`'s figures."""
    rows = []
    for key, what, unit in (("encoder", "encoder", "tokens"), ("page_model", "page model", "lines")):
        if key not in t:
            continue
        m = t[key]
        rows.append((f"training: {what}, {m['steps']} Trainer steps of batch {m['batch_size']} "
                     f"({m['units']:,} {unit}) vs the pure forward + backward of the same batches",
                     f"{m['units'] / m['trainer_s']:,.0f} {unit}/s ({m['trainer_s']:.1f} s); pure "
                     f"{m['units'] / m['pure_s']:,.0f} {unit}/s ({m['pure_s']:.1f} s)",
                     f"Trainer = {m['trainer_s'] / m['pure_s']:.2f}x pure", ""))
    return rows
