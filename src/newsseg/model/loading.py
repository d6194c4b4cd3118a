"""Checks a model directory passes before anything in it is read, and the loader of parts stored
beside the encoder (the article topic model, the page model). Split from ``segmenter.py``, which
re-exports :class:`ModelLoadError`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from newsseg.model.configuration import SegmenterConfig


class ModelLoadError(RuntimeError):
    """A model directory that cannot be loaded safely; the message says why and what to do."""


def check_model_dir(path: Path) -> None:
    """Refuse, before reading anything, a directory without safetensors weights or ``config.json``."""
    if not path.is_dir():
        hint = "" if path.exists() else " (pass --model DIR, or set NEWSSEG_MODEL)"
        raise ModelLoadError(f"model directory {path} does not exist{hint}" if not path.exists()
                             else f"model path {path} is not a directory")
    files = {f.name for f in path.iterdir()}
    if not any(f.endswith(".safetensors") for f in files):
        pickles = sorted(f for f in files if f.endswith((".bin", ".pt", ".pth", ".ckpt")))
        if pickles:
            # torch.load(weights_only=True) refuses arbitrary objects; the user runs it on purpose.
            raise ModelLoadError(
                f"{path} holds only pickle checkpoints ({', '.join(pickles)}); newsseg loads weights from "
                "safetensors only, because unpickling can run arbitrary code. Convert a checkpoint you trust "
                f"with: cd {path} && python -c \"import torch; from safetensors.torch import save_file; "
                f"sd = torch.load('{pickles[0]}', map_location='cpu', weights_only=True); "
                "save_file({k: v.contiguous().clone() for k, v in sd.items()}, 'model.safetensors', "
                "metadata={'format': 'pt'})\"")
        raise ModelLoadError(f"{path} holds no model.safetensors")
    if "config.json" not in files:
        raise ModelLoadError(f"{path} holds no config.json (it stores the label maps; copy the one "
                             "saved with these weights)")


def check_shapes(path: Path, cfg: SegmenterConfig) -> None:
    """Compare the config's label maps with the head sizes in the safetensors headers (no weights read).

    A config.json edited or copied from another model would otherwise load with re-initialised
    heads or fail with a generic size-mismatch report.
    """
    from safetensors import safe_open

    shapes: dict[str, list[int]] = {}
    for f in sorted(path.glob("*.safetensors")):
        with safe_open(str(f), framework="pt") as st:
            for k in {"boundary_head.weight", "topic_head.weight"} & set(st.keys()):
                shapes[k] = list(st.get_slice(k).get_shape())
    for key, n, what in (("boundary_head.weight", len(cfg.id2label), f"id2label {list(cfg.id2label.values())}"),
                         ("topic_head.weight", cfg.num_topics, f"topic_labels {cfg.topic_labels}")):
        if key not in shapes:
            raise ModelLoadError(f"{path}: the weights have no {key}; this is not a newsseg model")
        if shapes[key][0] != n:
            raise ModelLoadError(
                f"{path}/config.json: {what} has {n} labels but {key.split('.')[0]} in the weights has "
                f"{shapes[key][0]} outputs; the config does not belong to these weights "
                "(restore the config.json saved with the model)")


def load_part(path: Path, entry: Mapping[str, Any] | None, load: Callable[[Path, Any], Any], what: str) -> Any:
    """A part stored beside the encoder under a ``config.json`` entry with a ``file`` (None without one)."""
    if not entry or not entry.get("file"):
        return None
    try:
        return load(path, dict(entry))
    except Exception as e:  # noqa: BLE001 - a missing or damaged file
        raise ModelLoadError(f"cannot load the {what} of {path}: {type(e).__name__}: {e}") from e
