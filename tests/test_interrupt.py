"""Interrupted training: kill ``newsseg train`` mid-run, re-run the same command, get the same model.

One tiny recipe (scratch-tiny, 20 composed pages, 5 epochs = 70 steps, a checkpoint every 10 steps)
is trained four times as subprocesses: once without interruption, and once killed with SIGKILL after
its first checkpoint, resumed and stopped with SIGTERM after a later one, then resumed to the end.
The final evaluation metrics and weights must equal the uninterrupted run's.

Tolerance: 1e-6 absolute on every eval metric (measured here: bit-identical on CPU), with the
default ``unk_dropout = 0.02`` on: the collator seeds its [UNK] mask from the batch's content, not
from the global RNG, which accelerate's dataloader advances one batch ahead of a checkpoint.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SMALL_CORPUS = Path(__file__).parent / "data" / "corpus_small"
RECIPE = f"""
[model]
base_model = "scratch-tiny"
max_length = 64

[data]
corpus = "{SMALL_CORPUS.as_posix()}"
compose_pages = 20
eval_pages = 4
seed = 3
unk_dropout = 0.02

[training]
num_train_epochs = 5
learning_rate = 3e-3
per_device_train_batch_size = 16
save_strategy = "steps"
save_steps = 10
save_total_limit = 2
eval_strategy = "epoch"
load_best_model_at_end = false
logging_steps = 10
disable_tqdm = true
seed = 42
"""
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
       "TOKENIZERS_PARALLELISM": "false"}


def _start(recipe: Path, out: Path) -> subprocess.Popen[bytes]:
    log = open(out.with_suffix(".log"), "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "newsseg.cli", "train", str(recipe), "-o", str(out)],
                            stdout=log, stderr=subprocess.STDOUT, env=ENV)


def _checkpoints(out: Path) -> list[int]:
    """Steps of the checkpoints that were completely written (trainer_state.json is saved last)."""
    return sorted(int(Path(p).parent.name.rsplit("-", 1)[1])
                  for p in glob.glob(f"{out}/checkpoints/checkpoint-*/trainer_state.json"))


def _kill_after_checkpoint(recipe: Path, out: Path, sig: signal.Signals, after_step: int) -> int:
    """Run training and send ``sig`` as soon as a checkpoint beyond ``after_step`` is complete."""
    proc = _start(recipe, out)
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            steps = [s for s in _checkpoints(out) if s > after_step]
            if steps:
                proc.send_signal(sig)
                proc.wait(30)
                return steps[0]
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    raise AssertionError(f"no new checkpoint before the run ended (rc={proc.returncode}): "
                         f"{out.with_suffix('.log').read_text(errors='replace')[-2000:]}")


def _eval_metrics(out: Path) -> dict[str, float]:
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return {k: v for k, v in m.items() if k.startswith("eval_") and not k.endswith(("_runtime", "_per_second"))}


def test_killed_training_resumes_to_the_same_result(tmp_path: Path) -> None:
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE, encoding="utf-8")
    clean, run = tmp_path / "clean", tmp_path / "run"
    uninterrupted = _start(recipe, clean)  # in parallel: this box has two cores

    first = _kill_after_checkpoint(recipe, run, signal.SIGKILL, after_step=0)
    assert not (run / "metrics.json").exists()
    second = _kill_after_checkpoint(recipe, run, signal.SIGTERM, after_step=first)
    assert not (run / "metrics.json").exists()
    # A run killed while saving leaves a checkpoint without trainer_state.json: it must be skipped.
    torn = run / "checkpoints" / f"checkpoint-{second + 5}"
    torn.mkdir()
    (torn / "model.safetensors").write_bytes(b"\0" * 100)

    final = subprocess.run([sys.executable, "-m", "newsseg.cli", "train", str(recipe), "-o", str(run)],
                           capture_output=True, text=True, env=ENV, timeout=300)
    assert final.returncode == 0, final.stderr[-3000:]
    assert uninterrupted.wait(300) == 0, clean.with_suffix(".log").read_text(errors="replace")[-3000:]

    log = run.with_suffix(".log").read_text(errors="replace")
    assert f"resuming from {run / 'checkpoints' / f'checkpoint-{first}'}" in log  # the SIGTERM run
    assert f"skipping incomplete checkpoint {torn}" in final.stderr
    assert f"resuming from {run / 'checkpoints' / f'checkpoint-{second}'}" in final.stderr
    last = run / "checkpoints" / f"checkpoint-{max(_checkpoints(run))}"
    state = json.loads((last / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["global_step"] == state["max_steps"] > second and state["epoch"] == pytest.approx(5.0)

    want, got = _eval_metrics(clean), _eval_metrics(run)
    assert set(got) == set(want) and "eval_loss" in got
    for k in want:
        assert got[k] == pytest.approx(want[k], abs=1e-6), k

    from safetensors.torch import load_file

    w_clean, w_run = load_file(clean / "model.safetensors"), load_file(run / "model.safetensors")
    assert w_clean.keys() == w_run.keys()
    assert all((w_clean[k] - w_run[k]).abs().max().item() <= 1e-6 for k in w_clean)
