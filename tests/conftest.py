"""Shared fixtures: the small test corpus, composed pages, a tiny random and a tiny trained segmenter.

Models are built once per session and kept tiny (``scratch-tiny``/``scratch-mini``, 64–128 tokens)
so the suite runs in seconds on two busy cores. Torch runs single-threaded: on a shared machine
that is both faster (no thread contention) and bit-for-bit repeatable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL_CORPUS = Path(__file__).parent / "data" / "corpus_small"
DEV_PAGES = ROOT / "data" / "pages" / "dev.jsonl"
SAMPLE_TXT = ROOT / "data" / "pages" / "gaoxin-times-2021-05-p1.txt"
SAMPLE_ID = "gaoxin-times-2021-05-p1"


@pytest.fixture(scope="session")
def sample_text() -> str:
    return SAMPLE_TXT.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def small_train_corpus() -> list:
    from newsseg.data.corpus import load_corpus

    return load_corpus(SMALL_CORPUS, split="train")


@pytest.fixture(scope="session")
def compose(small_train_corpus: list) -> Callable[..., list]:
    """``compose(n, seed=0, **knobs)`` -> composed pages from the small corpus (its own held-out list)."""
    from newsseg.data.composer import ComposerConfig, compose_pages
    from newsseg.data.corpus import heldout_ids

    def make(n: int, seed: int = 0, **knobs: Any) -> list:
        cfg = ComposerConfig.from_dict(knobs)
        return list(compose_pages(small_train_corpus, n, seed, cfg, heldout=heldout_ids(SMALL_CORPUS)))

    return make


@pytest.fixture(scope="session")
def tiny_seg() -> Any:
    """An untrained ``scratch-tiny`` segmenter (64-token windows), seeded."""
    import torch

    from newsseg.model.segmenter import Segmenter

    torch.set_num_threads(1)
    torch.manual_seed(0)
    return Segmenter.build("scratch-tiny", max_length=64)


@pytest.fixture(scope="session")
def tiny_dir(tiny_seg: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tiny_seg`` saved with ``save_pretrained`` (do not modify: shared by the session)."""
    d = tmp_path_factory.mktemp("tiny-random")
    tiny_seg.save_pretrained(d)
    return d


# A small but complete run through newsseg.train.trainer.train: composed train and eval pages,
# per-epoch evaluation, checkpoints, best-model selection and linking-weight tuning; ~40 steps.
TRAINED_RECIPE: dict[str, Any] = {
    "model": {"base_model": "scratch-tiny", "max_length": 64},
    "data": {"corpus": str(SMALL_CORPUS), "compose_pages": 20, "eval_pages": 4, "seed": 3},
    "training": {"num_train_epochs": 3, "learning_rate": 5e-3, "per_device_train_batch_size": 16,
                 "logging_steps": 10, "disable_tqdm": True, "save_total_limit": 1},
}


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """``(model_dir, metrics)`` of a tiny model trained once per session (read-only for tests)."""
    import torch

    from newsseg.train.args import RunConfig
    from newsseg.train.trainer import train

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("trained")
    metrics = train(RunConfig.from_dict(TRAINED_RECIPE), out)
    return out, metrics


@pytest.fixture(scope="session")
def trained_dir(trained: tuple[Path, dict[str, Any]]) -> Path:
    return trained[0]


# Pages a model is trained to reproduce: clean (no OCR noise), 2–3 articles, no page header, plain
# layout (widths 8–20, blank lines between blocks, no indentation): the test is about the pipeline
# reproducing what it learned; how a model copes with harder layouts is for evaluation to say.
FIT_KNOBS: dict[str, Any] = {"noise_rate": 0.0, "min_articles": 2, "max_articles": 3, "header_prob": 0.0,
                             "editor_credit_prob": 0.0, "brief_page_prob": 0.0, "page_number_prob": 0.0,
                             "paragraph_line_prob": 0.0, "blank_weights": [0, 1, 0, 0],
                             "fragment_weights": [0.5, 0.33, 0.17], "width_min": 8, "width_max": 20,
                             "mixed_width_prob": 0.0, "indent_prob": 0.0, "jump_prob": 0.0,
                             "headline_mode_weights": [1, 0, 0, 0], "same_topic_prob": 0.0,
                             "topic_weights": {t: 1 for t in ("sanitation", "projects", "legal", "investment", "other")}}


@pytest.fixture(scope="session")
def fitted(compose: Callable[..., list], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A ``scratch-mini`` model trained for 40 epochs on six small composed pages (~15 s).

    Returns ``{"dir", "metrics", "pages", "files", "config"}``; windows of 128 tokens, so each page
    spans several overlapping windows and stitching is exercised.
    """
    import torch

    from newsseg.data.pages import write_pages
    from newsseg.train.args import RunConfig
    from newsseg.train.trainer import train

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("fitted")
    pages = compose(6, seed=7, **FIT_KNOBS)
    write_pages(pages, out / "pages.jsonl")
    files = [str(out / "pages.jsonl")]
    cfg = RunConfig.from_dict({
        "model": {"base_model": "scratch-mini", "max_length": 128},
        "data": {"train_files": files, "eval_files": files, "compose_pages": 0, "unk_dropout": 0.0,
                 "tune_linking": False, "article_topic": False},
        "training": {"num_train_epochs": 40, "learning_rate": 3e-3, "per_device_train_batch_size": 8,
                     "warmup_steps": 0, "eval_strategy": "no", "save_strategy": "no",
                     "load_best_model_at_end": False, "logging_steps": 50, "disable_tqdm": True},
    })
    metrics = train(cfg, out / "model")
    return {"dir": out / "model", "metrics": metrics, "pages": pages, "files": files, "config": cfg}


@pytest.fixture(scope="session")
def hf_bert_dir(tmp_path_factory: pytest.TempPathFactory, sample_text: str) -> tuple[Path, Any]:
    """A tiny random ``BertForMaskedLM`` + ``BertTokenizerFast`` saved like ``bert-base-chinese``."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    chars = sorted({c for c in sample_text if not c.isspace()} | set("0123456789abcdefghijklmnopqrstuvwxyz"))
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars])}
    d = tmp_path_factory.mktemp("hf-bert")
    BertTokenizerFast(vocab=vocab, do_lower_case=False).save_pretrained(d)
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    mlm = BertForMaskedLM(cfg)
    mlm.save_pretrained(d)
    assert (d / "model.safetensors").exists()
    return d, mlm
