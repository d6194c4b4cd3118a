"""End-to-end training of the encoder under the page model (newsseg.train.end_to_end)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch

from newsseg.train.end_to_end import (EndToEndModel, PageWindowSet, collate_pages, page_windows, pool_lines,
                                      train_end_to_end)


@pytest.fixture(scope="module")
def e2e_seg(tiny_seg: Any, compose: Callable[..., list], tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """A copy of the tiny random encoder with a tiny page model trained on it, saved (read-only for tests)."""
    from newsseg.model.segmenter import Segmenter
    from newsseg.train.args import PageFitArguments
    from newsseg.train.page_fit import fit_page_model

    torch.set_num_threads(1)
    seg = Segmenter(copy.deepcopy(tiny_seg.model), tiny_seg.tokenizer)
    seg.config = seg.model.config
    out = tmp_path_factory.mktemp("e2e")
    args = PageFitArguments(hidden=16, layers=1, heads=2, max_lines=32, epochs=1, batch_size=4)
    fit_page_model(seg, compose(6, seed=5), compose(3, seed=6), args, out / "trainer", progress=False)
    seg.save_pretrained(out)
    return seg, out


def test_pool_lines_is_the_mean_of_each_line_and_passes_gradients() -> None:
    h = torch.arange(12, dtype=torch.float32).reshape(6, 2).requires_grad_()
    pooled = pool_lines(h, [(0, 2), (3, 6)])
    assert torch.equal(pooled, torch.tensor([[1.0, 2.0], [8.0, 9.0]]))
    pooled.sum().backward()
    # token 2 lies between the lines: no gradient; each line's tokens share 1 / its length
    assert torch.allclose(h.grad[:, 0], torch.tensor([0.5, 0.5, 0.0, 1 / 3, 1 / 3, 1 / 3]))


def test_joint_line_vectors_are_the_line_vectors_of_inference(e2e_seg: tuple[Any, Path],
                                                             compose: Callable[..., list]) -> None:
    """Stitched across several windows (64-token windows, pages of hundreds of tokens), pooled in torch, with
    the shape features of the encoder's current probabilities: what page_line_inputs gives at inference."""
    from newsseg.model.page_features import page_line_inputs

    seg, _ = e2e_seg
    page = compose(1, seed=11)[0]
    pw = page_windows(seg, page, seg.line_split)
    assert pw is not None and len(pw.ids) > 2
    batch = collate_pages([PageWindowSet([pw], 10 ** 6, 0)[0]])
    model = EndToEndModel(seg.model, seg.page_model).eval()
    with torch.no_grad():
        out = seg.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                        token_type_ids=batch["token_type_ids"])
        joint = model.line_vectors(out.hidden_states, out.boundary_logits.float().softmax(-1), batch["pages"][0])
    _, enc, probs, _, hidden = next(seg.page_states([page], 8))
    lines, feats = page_line_inputs(page.text, enc.char_index, probs, hidden, seg.line_split)
    assert lines == pw.lines
    np.testing.assert_allclose(joint.numpy(), feats, atol=1e-4)


def test_collate_keeps_each_pages_rows_and_crops_long_pages(e2e_seg: tuple[Any, Path],
                                                           compose: Callable[..., list]) -> None:
    seg, _ = e2e_seg
    pws = [page_windows(seg, p, seg.line_split) for p in compose(2, seed=12)]
    items = PageWindowSet(pws, max_lines=5, seed=0)
    batch = collate_pages([items[0], items[1]])
    a, b = batch["pages"]
    assert (a.row0, b.row0) == (0, len(a.ids)) and batch["input_ids"].shape[0] == len(a.ids) + len(b.ids)
    for p in (a, b):
        lo, hi = p.crop
        assert hi - lo == min(5, len(p.lines)) and 0 <= lo and hi <= len(p.lines)
    # padding positions carry no label and no attention
    assert (batch["token_labels"][batch["attention_mask"] == 0] == -100).all()


def test_end_to_end_trains_encoder_and_page_model_together(e2e_seg: tuple[Any, Path],
                                                           compose: Callable[..., list], tmp_path: Path) -> None:
    """The joint loss falls on the pages trained on, and both the encoder and the page model move."""
    from newsseg.model.segmenter import Segmenter
    from newsseg.train.args import PageFitArguments

    _, saved = e2e_seg
    seg = Segmenter.from_pretrained(saved)
    pages = compose(4, seed=13)
    enc0 = {k: v.clone() for k, v in seg.model.state_dict().items()}
    page0 = {k: v.clone() for k, v in seg.page_model.state_dict().items()}

    def joint_loss() -> float:
        model = EndToEndModel(seg.model, seg.page_model).eval()
        items = PageWindowSet([page_windows(seg, p, seg.line_split) for p in pages], 10 ** 6, 0)
        with torch.no_grad():
            return float(model(**collate_pages([items[i] for i in range(len(items))]))["loss"])

    before = joint_loss()
    args = PageFitArguments(end_to_end_pages=4, end_to_end_epochs=6, end_to_end_learning_rate=3e-3,
                            end_to_end_batch_size=2)
    report = train_end_to_end(seg, seg.page_model, pages, args, tmp_path, progress=False)
    assert report["pages"] == 4 and report["steps"] == 12
    assert joint_loss() < before
    assert any(not torch.equal(v, seg.model.state_dict()[k]) for k, v in enc0.items() if "bert.encoder" in k)
    assert any(not torch.equal(v, seg.page_model.state_dict()[k]) for k, v in page0.items())
    assert not seg.model.training and not seg.page_model.training


def test_fit_page_model_end_to_end_only_saves_a_new_encoder(e2e_seg: tuple[Any, Path], compose: Callable[..., list],
                                                            tmp_path: Path) -> None:
    """`--set warm_start=true --set epochs=0 --set end_to_end_pages=N`: no frozen-encoder pass, only the joint
    step; the saved encoder differs from the one it started from, and linking is re-fitted on --fit pages."""
    import json

    from newsseg.cli import main
    from newsseg.data.pages import write_pages

    _, saved = e2e_seg
    write_pages(compose(3, seed=14), tmp_path / "train.jsonl")
    write_pages(compose(2, seed=15), tmp_path / "fit.jsonl")
    common = ["fit-page-model", "--model", str(saved), "--train", str(tmp_path / "train.jsonl"),
              "--fit", str(tmp_path / "fit.jsonl"), "--no-cache", "-q"]
    assert main([*common, "-o", str(tmp_path / "new"), "--set", "warm_start=true", "--set", "epochs=0",
                 "--set", "end_to_end_pages=3", "--set", "end_to_end_batch_size=1",
                 "--set", "end_to_end_learning_rate=3e-3"]) == 0
    report = json.loads((tmp_path / "new" / "page_model_metrics.json").read_text())
    assert report["end_to_end"]["pages"] == 3 and report["end_to_end"]["steps"] == 3 and report["fit_pages"] == 2
    assert (saved / "model.safetensors").read_bytes() != (tmp_path / "new" / "model.safetensors").read_bytes()
    # epochs=0 keeps a page model as it is: there must be one to keep
    assert main([*common, "-o", str(tmp_path / "bad"), "--set", "epochs=0"]) == 2


@pytest.mark.parametrize("setting", ["end_to_end_pages=-1", "end_to_end_batch_size=0", "end_to_end_epochs=0",
                                     "epochs=-1"])
def test_bad_end_to_end_settings_are_refused(setting: str) -> None:
    from newsseg.train.args import PageFitArguments, build_from_pairs

    with pytest.raises(ValueError):
        build_from_pairs(PageFitArguments, [setting], "page_model")


def test_stage_clock_times_the_page_models_forward_pass_inside_its_step(e2e_seg: tuple[Any, Path],
                                                                       compose: Callable[..., list]) -> None:
    from newsseg.bench_clock import StageClock
    from newsseg.data.pages import Page

    seg, _ = e2e_seg
    pages = [Page(p.id, p.text) for p in compose(2, seed=16)]
    plain = [p.to_dict() for p in seg.predict_pages(pages, batch_size=4)]
    clock = StageClock(seg)
    with clock.attach():
        timed = [p.to_dict() for p in seg.predict_pages(pages, batch_size=4)]
    assert timed == plain and "decode" not in vars(seg.page_model)  # unwrapped again
    assert 0 < clock.page_forward < clock.seconds["page model"]
