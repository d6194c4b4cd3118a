"""Scale-out: ``predict --workers N``, Ray Data batch inference and 2-process (gloo) training.

Each test starts processes (spawned workers, a local Ray instance, torchrun), so each takes
10–40 s on two busy cores: they are marked ``slow`` and kept in the suite.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from newsseg.data.pages import Page, write_pages
from newsseg.distributed import chunked, predict_parallel, threads_per_worker
from newsseg.model.segmenter import Segmenter

ROOT = Path(__file__).resolve().parents[1]
SMALL_CORPUS = Path(__file__).parent / "data" / "corpus_small"


def _local(model_dir: Path, pages: list[Page], chunk_pages: int = 64) -> list[str]:
    seg = Segmenter.from_pretrained(model_dir)
    return [p.to_json() for p in seg.predict_pages([Page(p.id, p.text) for p in pages], chunk_pages=chunk_pages)]


def test_threads_and_chunks() -> None:
    assert threads_per_worker(2, cores=16) == 8 and threads_per_worker(4, cores=2) == 1
    assert [len(c) for c in chunked((Page(str(i), "x") for i in range(5)), 2)] == [2, 2, 1]


@pytest.mark.slow
def test_predict_parallel_matches_one_process(tiny_dir: Path, compose: Callable[..., list]) -> None:
    pages = compose(5, seed=21)
    # chunks of 2 pages: three chunks over two workers, so both work and the order must be restored
    got = [p.to_json() for p in predict_parallel(pages, tiny_dir, workers=2, chunk_pages=2, threads=1)]
    assert got == _local(tiny_dir, pages, chunk_pages=2)


@pytest.mark.slow
def test_cli_predict_workers_same_output_and_errors(tiny_dir: Path, compose: Callable[..., list],
                                                     tmp_path: Path) -> None:
    from newsseg.cli import main

    pages = compose(3, seed=22)
    src = tmp_path / "in.jsonl"
    write_pages(pages, src)
    with open(src, "a", encoding="utf-8") as fh:
        fh.write("{not json\n")  # one unreadable line: reported, the others written, exit code 1
    rc1 = main(["predict", str(src), "-o", str(tmp_path / "one.jsonl"), "--model", str(tiny_dir), "-q"])
    rc2 = main(["predict", str(src), "-o", str(tmp_path / "two.jsonl"), "--model", str(tiny_dir), "-q",
                "--workers", "2", "--threads", "1"])
    assert rc1 == rc2 == 1
    one = (tmp_path / "one.jsonl").read_bytes()
    assert one == (tmp_path / "two.jsonl").read_bytes() and one.count(b"\n") == 3


@pytest.mark.slow
def test_ray_data_matches_local_run(tiny_dir: Path, compose: Callable[..., list], tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from newsseg.distributed import predict_ray

    pages = compose(5, seed=23)
    write_pages(pages[:3], tmp_path / "shard-0.jsonl")
    write_pages(pages[3:], tmp_path / "shard-1.jsonl")
    with open(tmp_path / "shard-1.jsonl", "a", encoding="utf-8") as fh:
        fh.write("[1, 2]\n")  # not a page: reported, not fatal
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        res = predict_ray([tmp_path / "shard-0.jsonl", tmp_path / "shard-1.jsonl"], tmp_path / "out.jsonl",
                          tiny_dir, actors=2, chunk_pages=2)
    finally:
        ray.shutdown()
    assert res["written"] == 5 and len(res["errors"]) == 1 and "shard-1.jsonl" in res["errors"][0]
    got = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    want = _local(tiny_dir, pages, chunk_pages=2)
    assert [json.loads(g)["id"] for g in got] == [p.id for p in pages]  # input order
    assert got == want


@pytest.mark.slow
def test_torchrun_two_process_gloo_training(tmp_path: Path) -> None:
    cfg = tmp_path / "ddp.toml"
    cfg.write_text(f"""
[model]
base_model = "scratch-tiny"
max_length = 64
[data]
corpus = "{SMALL_CORPUS.as_posix()}"
compose_pages = 4
eval_pages = 2
tune_linking = false
[training]
max_steps = 2
per_device_train_batch_size = 2
eval_strategy = "no"
save_strategy = "no"
load_best_model_at_end = false
disable_tqdm = true
""", encoding="utf-8")
    out = tmp_path / "model"
    # --standalone: a local rendezvous on a free port, so a busy 29500 (another job) cannot fail the test.
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "newsseg.cli",
           "train", str(cfg), "-o", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    metrics: dict[str, Any] = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    # Two ranks share each step's windows: an epoch has ceil(windows / (2 per device * 2 ranks)) steps.
    assert metrics["epoch"] == pytest.approx(2 / math.ceil(metrics["train_windows"] / 4))
    Segmenter.from_pretrained(out).predict("本报讯 记者 张三\n标题\n正文。")
    assert shutil.which("torchrun") is not None  # the documented command exists too
