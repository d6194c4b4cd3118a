"""``newsseg select``: uncertainty per page and a diverse pick."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from newsseg.select import pick


def test_pick_skips_near_duplicates_when_diversity_is_on() -> None:
    texts = ["本报讯 项目开工建设进展顺利" * 5, "本报讯 项目开工建设进展顺利" * 5 + "。", "法院审理案件依法公开宣判" * 5]
    scores = [0.9, 0.89, 0.5]
    assert pick(texts, scores, 2, diversity=0.0) == [0, 1]      # uncertainty only: both twins
    assert pick(texts, scores, 2, diversity=0.5) == [0, 2]      # the twin is too close to what was picked
    assert pick(texts, scores, 10) == [0, 2, 1] and pick(texts, scores, 0) == []


def test_page_uncertainty_without_and_with_a_page_model(tiny_seg: Any, compose: Callable[..., list]) -> None:
    from newsseg.select import page_uncertainty

    pages = compose(3, seed=21)
    unc = page_uncertainty(tiny_seg, pages)
    assert [u["id"] for u in unc] == [p.id for p in pages]
    assert all(0.0 < u["tags"] <= 1.0 and u["links"] == 0.0 and u["score"] == u["tags"] for u in unc)


def test_cli_select_writes_n_pages_with_their_ranking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from newsseg.cli import main
    from newsseg.data.pages import read_pages

    src = Path(__file__).resolve().parents[1] / "data" / "pages" / "dev.jsonl"
    assert main(["select", str(src), "-n", "5", "-o", str(tmp_path / "sel.jsonl")]) == 0  # the shipped model
    picked = list(read_pages(tmp_path / "sel.jsonl", topics=None))
    assert len(picked) == 5 and all(not p.articles for p in picked) and len({p.id for p in picked}) == 5
    ranking = [ln for ln in capsys.readouterr().out.splitlines()[1:] if ln.strip()]
    assert [ln.split()[1] for ln in ranking] == [p.id for p in picked]
    assert all(float(ln.split()[2]) > 0 for ln in ranking)
