"""`newsseg pretrain`: masked-character pretraining on unlabelled pages, resumed, and fine-tuned by `newsseg train`."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
from safetensors.torch import load_file

from newsseg.data.pages import write_pages
from newsseg.model.segmenter import Segmenter
from newsseg.train.pretrain import PretrainArguments, corpus_texts, mlm_windows, page_texts, pretrain

from conftest import SMALL_CORPUS

TINY = dict(base_model="scratch-tiny", max_length=64, batch_size=16, learning_rate=5e-3, warmup_ratio=0.0)


@pytest.fixture(scope="module")
def unlabelled(compose: Callable[..., list], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight composed pages as an archive would hand them over: page JSONL (their spans are ignored)."""
    d = tmp_path_factory.mktemp("unlabelled")
    write_pages(compose(8, seed=21), d / "pages.jsonl")
    return d / "pages.jsonl"


@pytest.fixture(scope="module")
def pretrained(unlabelled: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("mlm")
    report = pretrain([unlabelled], out, PretrainArguments(**TINY, max_steps=40, save_steps=20),
                      corpus=SMALL_CORPUS, progress=False)
    return out, report


def test_windows_are_the_segmenters_training_windows(unlabelled: Path, tmp_path: Path) -> None:
    """Same tokenizer, [NL] tokens, line-length types and cuts as `newsseg train`'s windows."""
    from newsseg.train.trainer import windows_dataset

    seg = Segmenter.build("scratch-tiny", max_length=64, line_buckets=32)
    ds = windows_dataset([str(unlabelled)], seg, 0.25, tmp_path / "cache")
    w = mlm_windows(page_texts([unlabelled]), seg.tokenizer, 64, 32, overlap=0.25)
    assert w["input_ids"] == ds["input_ids"] and w["token_type_ids"] == ds["token_type_ids"]
    assert any(seg.vocab.newline_id in row for row in w["input_ids"])
    assert max(max(r) for r in w["token_type_ids"]) > 1  # line lengths reach the encoder


def test_corpus_text_is_the_training_split_only() -> None:
    from newsseg.data.corpus import fit_ids, heldout_ids

    ids = {i.split("/", 1)[1] for i, _ in corpus_texts(SMALL_CORPUS)}
    assert ids and not ids & (heldout_ids(SMALL_CORPUS) | fit_ids(SMALL_CORPUS))


def test_pretraining_learns_the_characters(pretrained: tuple[Path, dict[str, Any]]) -> None:
    out, report = pretrained
    n_vocab = json.loads((out / "config.json").read_text())["vocab_size"]
    first = report["eval_curve"][0]["eval_loss"]
    # A random 21k-way guess costs ln(21k) ~ 10; 40 steps learn at least the character frequencies.
    assert first < math.log(n_vocab)
    assert report["eval_loss"] < math.log(n_vocab) - 2.0, report["eval_loss"]
    assert report["eval_loss"] <= first + 1e-6
    assert report["corpus_articles"] > 0 and report["pages"] == 8 and report["steps"] == 40


def test_checkpoint_is_a_plain_bert_with_unseen_characters_tied(pretrained: tuple[Path, dict[str, Any]]) -> None:
    from transformers import AutoConfig, BertForMaskedLM

    out, report = pretrained
    cfg = AutoConfig.from_pretrained(out)
    assert cfg.model_type == "bert" and cfg.architectures == ["BertForMaskedLM"] and cfg.type_vocab_size == 32
    mlm = BertForMaskedLM.from_pretrained(out)
    emb = mlm.get_input_embeddings().weight
    seen = set(json.loads((out / "pretrain_seen_ids.json").read_text()))
    seg = Segmenter.build("scratch-tiny")
    unk = seg.vocab.unk_id
    unseen = [i for i in range(emb.shape[0]) if i not in seen and i not in set(seg.tokenizer.all_special_ids)]
    assert len(unseen) == report["tied_unseen_embeddings"] > 1000
    assert torch.equal(emb[unseen[0]], emb[unk]) and torch.equal(emb[unseen[-1]], emb[unk])
    seen_char = next(i for i in sorted(seen) if i not in set(seg.tokenizer.all_special_ids))
    assert not torch.equal(emb[seen_char], emb[unk])


def test_rerun_resumes_from_the_last_checkpoint(pretrained: tuple[Path, dict[str, Any]], unlabelled: Path,
                                                tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import shutil

    out, _ = pretrained
    copy = tmp_path / "mlm"
    shutil.copytree(out, copy)
    with caplog.at_level(logging.WARNING, logger="newsseg.train.pretrain"):
        report = pretrain([unlabelled], copy, PretrainArguments(**TINY, max_steps=50, save_steps=20),
                          corpus=SMALL_CORPUS, progress=False)
    assert any("resuming from" in r.message and "checkpoint-40" in r.message for r in caplog.records)
    assert report["steps"] == 50


def test_train_fine_tunes_the_pretrained_encoder(pretrained: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from newsseg.train.args import RunConfig
    from newsseg.train.trainer import train

    out, _ = pretrained
    seg = Segmenter.build(str(out), max_length=64, line_buckets=32)
    weights = load_file(str(out / "model.safetensors"))
    for name in ("bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight",
                 "bert.embeddings.token_type_embeddings.weight"):
        assert torch.equal(seg.model.state_dict()[name], weights[name]), name
    cfg = RunConfig.from_dict({
        "model": {"base_model": str(out), "max_length": 64},
        "data": {"corpus": str(SMALL_CORPUS), "compose_pages": 4, "eval_pages": 2, "seed": 5,
                 "tune_linking": False, "article_topic": False},
        "training": {"max_steps": 3, "per_device_train_batch_size": 8, "eval_strategy": "no", "save_strategy": "no",
                     "load_best_model_at_end": False, "disable_tqdm": True},
    })
    metrics = train(cfg, tmp_path / "model")
    tuned = Segmenter.from_pretrained(tmp_path / "model")
    assert tuned.model.config.type_vocab_size == 32
    # Characters seen by either run keep their own vectors; only those seen by neither are tied.
    seen = set(json.loads((out / "pretrain_seen_ids.json").read_text()))
    assert 0 < metrics["tied_unseen_embeddings"] <= tuned.model.config.vocab_size - len(seen)


def test_pretraining_continues_a_bert_checkpoint(hf_bert_dir: tuple[Path, Any], unlabelled: Path,
                                                 tmp_path: Path) -> None:
    """bert-base-chinese and the like: layout tokens are added and line-length types widened, as `train` does."""
    d, mlm = hf_bert_dir
    report = pretrain([unlabelled], tmp_path / "out",
                      PretrainArguments(base_model=str(d), max_length=64, max_steps=2, batch_size=4), progress=False)
    cfg = json.loads((tmp_path / "out" / "config.json").read_text())
    assert cfg["vocab_size"] > mlm.config.vocab_size and cfg["type_vocab_size"] == 32
    assert report["steps"] == 2
    seg = Segmenter.build(str(tmp_path / "out"), max_length=64, line_buckets=32)
    assert seg.model.get_input_embeddings().num_embeddings == len(seg.tokenizer)


def test_cli_reports_bad_settings_in_one_line(unlabelled: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from newsseg.cli import main

    assert main(["pretrain", str(unlabelled), "-o", str(tmp_path / "x"), "--set", "mlm_prob=0.2"]) == 2
    assert "did you mean 'mlm_probability'" in capsys.readouterr().err
    assert main(["pretrain", "-o", str(tmp_path / "x")]) == 2
    assert "give unlabelled pages" in capsys.readouterr().err
