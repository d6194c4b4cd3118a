"""Traditional-character pages are read as simplified, offsets unchanged, and say so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from newsseg.cli import main
from newsseg.data.script import simplified_view, to_simplified

opencc = pytest.importorskip("opencc")


@pytest.fixture(scope="module")
def traditional_sample(sample_text: str) -> str:
    return opencc.OpenCC("s2t").convert(sample_text)


def test_to_simplified_keeps_every_offset(sample_text: str, traditional_sample: str) -> None:
    assert traditional_sample != sample_text and len(traditional_sample) == len(sample_text)
    back = to_simplified(traditional_sample)
    assert len(back) == len(traditional_sample)
    assert [i for i, c in enumerate(traditional_sample) if c == "\n"] == [i for i, c in enumerate(back) if c == "\n"]
    same = sum(a == b for a, b in zip(back, sample_text)) / len(sample_text)
    assert same > 0.995  # s2t then t2s gives the page back, bar a handful of one-to-many characters
    assert to_simplified("乾隆年間，空氣乾燥") == "乾隆年间，空气干燥"  # phrase-aware, not a blind table
    assert to_simplified("舊\ud800時") == "旧\ud800时"  # a lone surrogate (broken input) stays, the rest converts


def test_auto_converts_traditional_pages_only(sample_text: str, traditional_sample: str) -> None:
    assert simplified_view(sample_text) == (sample_text, False)
    text, converted = simplified_view(traditional_sample)
    assert converted and text == to_simplified(traditional_sample)
    # A simplified page quoting a few traditional names stays as it is under "auto".
    quoted = sample_text.replace("高新区", "高新區", 2)
    assert simplified_view(quoted) == (quoted, False)
    assert simplified_view(quoted, "convert")[1] and simplified_view(traditional_sample, "keep") == (traditional_sample, False)
    with pytest.raises(ValueError, match="traditional mode"):
        simplified_view(sample_text, "maybe")


def test_traditional_page_predicted_as_its_simplified_twin(tiny_seg: Any, traditional_sample: str) -> None:
    simple = to_simplified(traditional_sample)
    got = tiny_seg.predict(traditional_sample)
    want = tiny_seg.predict(simple)
    assert got.text == traditional_sample and got.script == "traditional"  # original text reported
    strip = [{k: v for k, v in a.to_dict().items()} for a in want.articles]
    assert [a.to_dict() for a in got.articles] == strip  # same spans, topics, scores
    assert want.script == ""
    tiny_seg.traditional = "keep"
    try:
        assert tiny_seg.predict(traditional_sample).script == ""
    finally:
        tiny_seg.traditional = "auto"


def test_cli_marks_and_counts_converted_pages(tiny_dir: Path, tmp_path: Path, sample_text: str,
                                              traditional_sample: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "trad.txt").write_bytes(traditional_sample.encode("big5", errors="replace"))
    (tmp_path / "in" / "simp.txt").write_text(sample_text, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--model", str(tiny_dir), str(tmp_path / "in"), "-o", str(out), "-q"]) == 0
    got = {d["id"]: d for d in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert got["trad"]["script"] == "traditional" and got["trad"]["encoding"] == "big5"
    assert "script" not in got["simp"]
    assert "1 in traditional characters read as simplified" in capsys.readouterr().err
