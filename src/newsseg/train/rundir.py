"""A training run's output directory: is it finished, and what starting over removes.

Re-running ``newsseg train`` into a directory whose run stopped part-way resumes from its last
checkpoint, and so does a finished run asked for more epochs (it trains on). A *finished* run that
already reached what the recipe asks for is not resumed: the Trainer would find nothing left to do,
and the decoder fits would run again and overwrite ``metrics.json`` with the metrics of a zero-step
"training". ``--overwrite`` removes what a run wrote and starts over.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_EPOCHS = 3  # num_train_epochs when a recipe does not set it

# What `train()` writes; --overwrite removes these and nothing else (the directory may hold the
# user's own files: a README, notes, a recipe).
RUN_ARTIFACTS: tuple[str, ...] = (
    "checkpoints", "cache", "composed-train.jsonl", "composed-eval.jsonl", "ocr-train.jsonl", "ocr-eval.jsonl",
    "training_config.json", "metrics.json", "config.json", "model.safetensors", "tokenizer.json",
    "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "topic_ngrams.safetensors",
)


def last_complete_checkpoint(checkpoint_dir: str | os.PathLike[str]) -> str | None:
    """The newest ``checkpoint-N`` that was completely written, or ``None``.

    The Trainer writes ``trainer_state.json`` last, so a run killed while saving leaves a folder
    without it (or with it cut short); resuming from that one would crash on every re-run.
    """
    found = []
    for d in Path(checkpoint_dir).glob("checkpoint-*"):
        step = d.name.rsplit("-", 1)[-1]
        try:
            json.loads((d / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            if d.is_dir():
                logger.warning("skipping incomplete checkpoint %s (interrupted while saving)", d)
            continue
        if step.isdigit():
            found.append((int(step), str(d)))
    return max(found)[1] if found else None


def last_checkpoint_state(out: str | Path) -> dict[str, Any] | None:
    """The ``trainer_state.json`` of the newest complete checkpoint under ``out/checkpoints`` (``None`` if none)."""
    last = last_complete_checkpoint(Path(out) / "checkpoints")
    return None if last is None else json.loads((Path(last) / "trainer_state.json").read_text(encoding="utf-8"))


def finished_run(out: str | Path, training: dict[str, Any]) -> Path | None:
    """``out/metrics.json`` when ``out`` holds a finished run that already trained as far as the
    ``[training]`` table asks (``max_steps`` when set, else ``num_train_epochs``); else ``None``."""
    metrics = Path(out) / "metrics.json"
    if not metrics.is_file():
        return None
    state = last_checkpoint_state(out)
    if state is None:  # finished, checkpoints cleaned away: nothing to resume from either
        return metrics
    max_steps = int(training.get("max_steps", -1) or -1)
    if max_steps > 0:
        return metrics if int(state.get("global_step", 0)) >= max_steps else None
    epochs = float(training.get("num_train_epochs", DEFAULT_EPOCHS))
    return metrics if float(state.get("epoch", 0.0)) >= epochs - 1e-6 else None


def clear_run(out: str | Path) -> list[str]:
    """Remove what a training run wrote into ``out``; returns the names removed."""
    removed = []
    for name in RUN_ARTIFACTS:
        path = Path(out) / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(name)
    return removed
