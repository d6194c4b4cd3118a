"""``newsseg select``: uncertainty per page and a diverse pick."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from newsseg.select import layout_features, pick, pick_clustered


def test_pick_skips_near_duplicates_when_diversity_is_on() -> None:
    texts = ["本报讯 项目开工建设进展顺利" * 5, "本报讯 项目开工建设进展顺利" * 5 + "。", "法院审理案件依法公开宣判" * 5]
    scores = [0.9, 0.89, 0.5]
    assert pick(texts, scores, 2, diversity=0.0) == [0, 1]      # uncertainty only: both twins
    assert pick(texts, scores, 2, diversity=0.5) == [0, 2]      # the twin is too close to what was picked
    assert pick(texts, scores, 10) == [0, 2, 1] and pick(texts, scores, 0) == []


def test_pick_clustered_takes_the_most_uncertain_page_of_each_kind() -> None:
    """Two kinds of page (one wide-column, one narrow-column and another subject); uncertainty alone would
    take three of the first kind, clusters take the most uncertain page of each kind."""
    wide = ["本报讯 项目开工建设进展顺利，总投资十亿元，年内竣工" * 3 + f"{i}\n" * 2 for i in range(4)]
    narrow = ["\n".join(["法院审理案件", "依法公开宣判", "当事人到庭"] * 4) + f"{i}" for i in range(4)]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.2, 0.55, 0.1]
    got = pick_clustered(wide + narrow, scores, 2)
    assert got == [0, 6]  # most uncertain first
    assert sorted(pick_clustered(wide + narrow, scores, 8)) == list(range(8)) and pick_clustered(wide, scores[:4], 0) == []
    assert layout_features(narrow[0])[1] < layout_features(wide[0])[1]  # median line length


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
    assert main(["select", str(src), "-n", "3", "--strategy", "cluster", "-o", str(tmp_path / "c.jsonl")]) == 0
    assert len(list(read_pages(tmp_path / "c.jsonl", topics=None))) == 3
