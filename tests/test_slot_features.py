"""Slot features: where each piece of an OCR line sits across the page (newsseg.model.page_features)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from newsseg.model.lines import line_spans
from newsseg.model.page_features import N_SLOT_FEATURES, n_page_features, slot_features


def test_slot_features_of_a_page_read_across_two_columns(tiny_seg: Any) -> None:
    text = "甲乙丙   丁戊己\n庚辛壬   癸子丑\n长长长长长长长长长长\n  缩进的一行"
    enc = tiny_seg.vocab.encode(text)
    lines = line_spans(text, enc.char_index, "gutters")
    assert len(lines) == 6
    f = slot_features(text, enc.char_index, lines)
    assert f.shape == (6, N_SLOT_FEATURES) and f.dtype == np.float32
    wide = np.percentile([9, 9, 10, 7], 90)  # the lines are 9, 9, 10 and 7 characters long
    # the right column's offset; a line alone on its row (the indented one too) sits at 0
    np.testing.assert_allclose(f[:, 0], [0, 6 / wide, 0, 6 / wide, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(f[:, 1], [0, 1 / 8, 0, 1 / 8, 0, 0])                # which piece of its line
    np.testing.assert_allclose(f[:, 2], [2 / 8, 2 / 8, 2 / 8, 2 / 8, 1 / 8, 1 / 8])  # pieces on its line
    np.testing.assert_allclose(f[:, 3], [1, 1, 1, 1, 0, 0])
    assert slot_features(text, enc.char_index, []).shape == (0, N_SLOT_FEATURES)


def test_a_page_model_with_slot_features_saves_the_setting_and_predicts_the_same_after_loading(
        tiny_seg: Any, compose: Callable[..., list], tmp_path: Path) -> None:
    from newsseg.data.pages import Page
    from newsseg.model.segmenter import Segmenter
    from newsseg.train.args import PageFitArguments
    from newsseg.train.page_fit import fit_page_model

    torch.set_num_threads(1)
    seg = Segmenter(copy.deepcopy(tiny_seg.model), tiny_seg.tokenizer)
    seg.config = seg.model.config
    args = PageFitArguments(hidden=16, layers=1, heads=2, max_lines=32, epochs=1, batch_size=4, slot_features=True)
    fit_page_model(seg, compose(4, seed=21), compose(2, seed=22), args, tmp_path / "trainer", progress=False)
    assert seg.page_model.cfg.slot_features
    assert seg.page_model.cfg.n_features == n_page_features(seg.config.hidden_size, slots=True)
    seg.save_pretrained(tmp_path / "m")
    loaded = Segmenter.from_pretrained(tmp_path / "m")
    assert loaded.page_model.cfg.slot_features
    pages = [Page(p.id, p.text) for p in compose(2, seed=23)]
    assert [p.to_dict() for p in seg.predict_pages(pages)] == [p.to_dict() for p in loaded.predict_pages(pages)]
