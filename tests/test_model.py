"""SegmenterModel / Segmenter: save-load round trip, label maps, BERT checkpoints, long pages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from newsseg.data.encoding import BOUNDARY_LABELS, IGNORE_INDEX, NEWLINE_TOKEN, token_labels
from newsseg.data.pages import Article, Page, Span, validate_page
from newsseg.model.configuration import SegmenterConfig
from newsseg.model.modeling import SegmenterModel
from newsseg.model.segmenter import ModelLoadError, Segmenter


def _ids(seg: Segmenter, text: str) -> torch.Tensor:
    enc = seg.vocab.encode(text)
    tok = seg.tokenizer
    return torch.tensor([[tok.cls_token_id, *enc.input_ids[:seg.max_tokens].tolist(), tok.sep_token_id]])


def _logits(seg: Segmenter, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.inference_mode():
        out = seg.model.eval()(input_ids=ids)
    return out.boundary_logits, out.topic_logits


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# ------------------------------------------------------------------------------ save / load
def test_save_load_gives_identical_logits(tiny_seg: Segmenter, tiny_dir: Path, sample_text: str) -> None:
    assert (tiny_dir / "model.safetensors").exists() and (tiny_dir / "config.json").exists()
    back = Segmenter.from_pretrained(tiny_dir)
    ids = _ids(tiny_seg, sample_text)
    assert ids.shape[1] == 64
    for a, b in zip(_logits(tiny_seg, ids), _logits(back, ids)):
        assert torch.equal(a, b)
    assert back.tokenizer.get_vocab() == tiny_seg.tokenizer.get_vocab()
    assert back.vocab.newline_id == tiny_seg.vocab.newline_id
    # And the whole predict path agrees.
    assert back.predict(sample_text[:120]).to_dict() == tiny_seg.predict(sample_text[:120]).to_dict()


def test_half_precision_save_loads_back_as_float32(tiny_seg: Segmenter, tiny_dir: Path, tmp_path: Path,
                                                   sample_text: str) -> None:
    tiny_seg.save_pretrained(tmp_path, half=True)
    assert (tmp_path / "model.safetensors").stat().st_size < 0.6 * (tiny_dir / "model.safetensors").stat().st_size
    back = Segmenter.from_pretrained(tmp_path)
    assert back.model.boundary_head.weight.dtype == torch.float32
    assert tiny_seg.model.boundary_head.weight.dtype == torch.float32  # the in-memory model is untouched
    ids = _ids(tiny_seg, sample_text)
    for a, b in zip(_logits(tiny_seg, ids), _logits(back, ids)):
        assert torch.allclose(a, b, atol=2e-2)


def test_label_maps_and_knobs_survive_save_load(tmp_path: Path) -> None:
    torch.manual_seed(1)
    seg = Segmenter.build("scratch-tiny", topics=["sports", "weather", "other"], max_length=32,
                          topic_loss_weight=0.5, window_overlap=0.3)
    seg.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    assert cfg["topic_labels"] == ["sports", "weather", "other"]
    back = Segmenter.from_pretrained(tmp_path)
    assert back.config.topic_labels == ["sports", "weather", "other"]
    assert [back.config.id2label[i] for i in range(5)] == list(BOUNDARY_LABELS)
    assert back.config.label2id == {l: i for i, l in enumerate(BOUNDARY_LABELS)}
    assert back.model.topic_head.out_features == 3
    assert back.config.topic_loss_weight == 0.5 and back.config.window_overlap == 0.3
    page = back.predict("体育新闻\n本报讯 比赛结束。")
    assert all(a.topic in {"sports", "weather", "other"} for a in page.articles)


@pytest.mark.parametrize("topics", [["a", "b", "c", "d", "e", "f"], ["a", "b"]])
def test_config_whose_topic_head_size_mismatches_is_rejected(tiny_dir: Path, tmp_path: Path,
                                                             topics: list[str]) -> None:
    d = _copy(tiny_dir, tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text(encoding="utf-8"))
    cfg["topic_labels"] = topics
    (d / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=str(d)):
        Segmenter.from_pretrained(d)


def test_config_with_foreign_boundary_labels_is_rejected(tiny_dir: Path, tmp_path: Path) -> None:
    d = _copy(tiny_dir, tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text(encoding="utf-8"))
    cfg["id2label"] = {"0": "O", "1": "B-PER", "2": "I-PER", "3": "B-LOC", "4": "I-LOC"}
    cfg["label2id"] = {v: int(k) for k, v in cfg["id2label"].items()}
    (d / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="boundary labels"):
        Segmenter.from_pretrained(d)


def test_missing_or_pickle_only_model_dirs_are_refused(tiny_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        Segmenter.from_pretrained(tmp_path / "nope")
    d = _copy(tiny_dir, tmp_path / "m")
    (d / "model.safetensors").rename(d / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="safetensors"):
        Segmenter.from_pretrained(d)


# -------------------------------------------------------------------------------------- loss
def test_loss_sums_both_heads_with_the_configured_weight() -> None:
    torch.manual_seed(0)
    cfg = SegmenterConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                          intermediate_size=32, max_position_embeddings=16, topic_loss_weight=0.25)
    model = SegmenterModel(cfg).eval()
    ids = torch.randint(5, 50, (2, 10))
    labels = torch.randint(0, 5, (2, 10))
    topics = torch.randint(0, 5, (2, 10))
    labels[:, 0] = topics[:, 0] = IGNORE_INDEX
    out = model(input_ids=ids, labels=labels, topic_labels=topics)
    assert torch.allclose(out.loss, out.boundary_loss + 0.25 * out.topic_loss)
    # A window of furniture only: no topic to learn, and the loss must stay finite.
    out = model(input_ids=ids, labels=labels, topic_labels=torch.full_like(topics, IGNORE_INDEX))
    assert torch.isfinite(out.loss) and out.topic_loss.item() == 0.0


# ------------------------------------------------------------- a standard Hugging Face BERT
# (hf_bert_dir: conftest.py)
def test_bert_checkpoint_loads_with_a_newline_token_and_trains(hf_bert_dir: tuple[Path, Any], sample_text: str,
                                                               tmp_path: Path) -> None:
    d, mlm = hf_bert_dir
    n_vocab = mlm.config.vocab_size
    seg = Segmenter.build(str(d), topics=["sanitation", "projects", "legal", "investment", "other"])
    # The newline and whitespace tokens were added to the vocabulary and the embeddings grew by three rows.
    assert seg.tokenizer.convert_tokens_to_ids(NEWLINE_TOKEN) == n_vocab == seg.vocab.newline_id
    assert {seg.vocab.space_id, seg.vocab.ideographic_space_id} == {n_vocab + 1, n_vocab + 2}
    emb = seg.model.get_input_embeddings().weight
    assert emb.shape == (n_vocab + 3, 32) and seg.model.config.vocab_size == n_vocab + 3
    # The encoder's weights are the checkpoint's, not a fresh initialisation.
    assert torch.equal(emb[:n_vocab], mlm.bert.embeddings.word_embeddings.weight)
    layer, ref = seg.model.bert.encoder.layer[1], mlm.bert.encoder.layer[1]
    assert torch.equal(layer.output.dense.weight, ref.output.dense.weight)
    assert seg.max_tokens == 62
    enc = seg.vocab.encode(sample_text)
    assert (enc.input_ids == seg.vocab.unk_id).sum() == 0

    # One training step on the first window of the sample page, labels from a hand-made page.
    page = Page("p", sample_text, [Article("a1", "sanitation", [Span(1, 70, "body")])])
    lab, top = token_labels(page, enc, seg.config.topic_labels)
    n = seg.max_tokens
    tok = seg.tokenizer
    ids = torch.tensor([[tok.cls_token_id, *enc.input_ids[:n].tolist(), tok.sep_token_id]])
    labels = torch.tensor([[IGNORE_INDEX, *lab[:n].tolist(), IGNORE_INDEX]])
    topics = torch.tensor([[IGNORE_INDEX, *top[:n].tolist(), IGNORE_INDEX]])
    assert (ids == seg.vocab.newline_id).any()
    model = seg.model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(5):
        out = model(input_ids=ids, labels=labels, topic_labels=topics)
        out.loss.backward()
        if not losses:  # the line breaks reach the model: the new token's embedding gets a gradient
            assert emb.grad[seg.vocab.newline_id].abs().sum() > 0
        opt.step()
        opt.zero_grad()
        losses.append(out.loss.item())
    assert np.isfinite(losses).all() and losses[-1] < losses[0]

    # The fine-tuned model saves and reloads like any newsseg model.
    seg.save_pretrained(tmp_path)
    back = Segmenter.from_pretrained(tmp_path)
    assert len(back.tokenizer) == n_vocab + 3
    for a, b in zip(_logits(seg, ids), _logits(back, ids)):
        assert torch.equal(a, b)


# ---------------------------------------------------------------------------------- long pages
def test_predict_on_a_50k_character_page(trained_dir: Path, sample_text: str) -> None:
    seg = Segmenter.from_pretrained(trained_dir)
    text = ("\n".join([sample_text] * 19))[:50_000]
    assert len(seg.vocab.encode(text).input_ids) > 500 * seg.max_tokens  # ~1000 overlapping windows
    page = seg.predict(text, batch_size=64)
    assert page.text == text
    validate_page(page, seg.config.topic_labels)  # in range, no overlap, no whitespace at the edges
    assert len(page.articles) >= 10
    assert page.spans[-1][0].end > 49_000  # predictions reach the end of the page
    assert all(0.0 <= a.score <= 1.0 for a in page.articles)
    # Windows do not leak across pages: a page predicted alone or in a batch gives the same result.
    short = text[:3000]
    assert seg.predict([short, text[:100]], batch_size=3)[0].to_dict()["articles"] == \
        seg.predict(short).to_dict()["articles"]


def test_saved_weights_are_readable_by_others_under_the_umask(tiny_seg: Segmenter, tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        tiny_seg.save_pretrained(tmp_path)
    finally:
        os.umask(old)
    for f in tmp_path.glob("*.safetensors"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f.name


def test_build_honours_max_length_for_a_checkpoint(hf_bert_dir: tuple[Path, Any], tmp_path: Path) -> None:
    d, mlm = hf_bert_dir
    seg = Segmenter.build(str(d), max_length=32)
    assert seg.max_tokens == 30 and seg.config.max_position_embeddings == mlm.config.max_position_embeddings
    seg.save_pretrained(tmp_path)
    assert Segmenter.from_pretrained(tmp_path).max_tokens == 30
    with pytest.raises(ValueError, match="exceeds"):
        Segmenter.build(str(d), max_length=mlm.config.max_position_embeddings + 1)
