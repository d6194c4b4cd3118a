"""The report files, the runner (prediction files, baselines) and the ``evaluate`` verb."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from newsseg.data.pages import Article, Page, Span, write_pages
from newsseg.evaluate import commands, runner
from newsseg.evaluate.report import markdown_table, side_by_side, text_table

TEXT1 = "第1版\n本报讯 甲区召开会议。\n记者 张伟\n\n项目开工\n本报讯 乙区项目开工。\n"
GOLD1 = Page("pg-1", TEXT1, [
    Article("a1", "legal", [Span(4, 21, "body")]),
    Article("a2", "projects", [Span(23, 27, "headline"), Span(28, 39, "body")])])
GOLD2 = Page("pg-2", "本报讯 丙区开展卫生整治。\n", [Article("a1", "sanitation", [Span(0, 13, "body")])])
GOLD3 = Page("pg-empty", "", [])


@pytest.fixture()
def gold_file(tmp_path: Path) -> Path:
    path = tmp_path / "gold.jsonl"
    write_pages([GOLD1, GOLD2, GOLD3], path)
    return path


def test_fixture_pages_are_valid() -> None:
    from newsseg.data.pages import validate_page

    for p in (GOLD1, GOLD2, GOLD3):
        validate_page(p)
    assert GOLD1.articles[0].body.endswith("张伟") and GOLD1.articles[1].headline == "项目开工"


def test_prediction_file_and_report(gold_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # pg-1 predicted as one article, pg-2 missing, plus a page the gold file does not have.
    pred1 = Page("pg-1", TEXT1, [Article("a1", "legal", [Span(4, 39, "body")], score=0.9)])
    write_pages([pred1, Page("stray", "x", []), GOLD3], tmp_path / "pred.jsonl")
    out = tmp_path / "report"
    res = runner.evaluate(gold_file, pred=tmp_path / "pred.jsonl", out_dir=out, command="newsseg evaluate …")
    assert list(res["systems"]) == ["pred"]  # a prediction file alone runs no model
    assert any("pg-2" in w and "scored as empty" in w for w in res["warnings"])
    assert any("stray" in w for w in res["warnings"])
    pages = res["systems"]["pred"]["pages"]
    assert [p["id"] for p in pages] == ["pg-1", "pg-2", "pg-empty"]
    # pg-2 unpredicted: 12 non-space gold chars, each its own singleton -> recall 12·(1/12)/12.
    assert pages[1]["n_pred_articles"] == 0 and pages[1]["bcubed_recall"] == pytest.approx(1 / 12)
    printed = capsys.readouterr().out
    assert "article assembly B³ F1" in printed and "pred" in printed

    for name in ("metrics.json", "report.md", "pages.html", "confusion_pred.png", "pred_pred.jsonl"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "confusion_pred.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["systems"]["pred"]["overall"]["n_pages"] == 3
    html = (out / "pages.html").read_text(encoding="utf-8")
    for pid in ("pg-1", "pg-2", "pg-empty"):
        assert f">{pid}</h2>" in html and f">{pid}</a>" in html
    assert 'class="err' in html           # pg-1's merged articles are marked
    assert "no prediction" in html        # pg-2
    assert "a1 · legal 0.90" in html      # topic badge with score
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "newsseg evaluate …" in md and "| pg-2 |" in md and "gold \\ pred" in md


def test_baselines_through_the_runner(gold_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def fake_compose(recipe: dict) -> list[Page]:  # stands in for the corpus + composer
        seen.update(recipe)
        return [GOLD1, GOLD2] * 3

    monkeypatch.setattr(runner, "compose_training_pages", fake_compose)
    res = runner.evaluate(gold_file, baselines=True, no_model=True, quiet=True)
    assert list(res["systems"]) == ["rules", "sklearn"]
    assert seen == {"pages": 500, "seed": 0, "composer": {}, "source": "defaults"}
    rules = res["systems"]["rules"]["pages"][0]
    assert rules["line_f1"] == 1.0  # both 本报讯 leads and the headline start where gold's spans start


def test_baseline_recipe_follows_the_model(tmp_path: Path) -> None:
    (tmp_path / "training_config.json").write_text(json.dumps(
        {"data": {"compose_pages": 20000, "seed": 7, "composer": {"noise_rate": 0.02}}}))
    r = runner.baseline_recipe(tmp_path, None)
    assert (r["pages"], r["seed"], r["composer"]) == (600, 7, {"noise_rate": 0.02})
    assert runner.baseline_recipe(tmp_path, 50)["pages"] == 50
    assert runner.baseline_recipe(None, None)["pages"] == 500


def test_tables() -> None:
    systems = {"a": {"overall": {"bcubed_f1": 0.5, "pk": None}}, "b": {"overall": {"bcubed_f1": 1.0}}}
    rows = side_by_side(systems)
    assert rows[0] == ["metric", "a", "b"] and rows[1] == ["article assembly B³ F1", "0.500", "1.000"]
    assert "n/a" in text_table(rows) and markdown_table(rows).startswith("| metric | a | b |")


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="newsseg")
    commands.register(parser.add_subparsers())
    args = parser.parse_args(["evaluate", *argv])
    return args.func(args)


def test_cli_exit_codes(gold_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_pages([GOLD1, GOLD2], tmp_path / "pred.jsonl")
    assert run_cli(str(gold_file), "--pred", str(tmp_path / "pred.jsonl")) == 0
    assert "1.000" in capsys.readouterr().out

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "abc", "articles": [{"id": "a", "topic": "other", '
                   '"spans": [{"start": 1, "end": 9, "role": "body"}]}]}\nnot json\n', encoding="utf-8")
    assert run_cli(str(bad), "--no-model", "--pred", str(tmp_path / "pred.jsonl")) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1" in err and "out of range" in err and f"{bad}:2" in err and "invalid JSON" in err

    assert run_cli(str(tmp_path / "missing.jsonl"), "--no-model", "--baselines") == 2
    assert "no such file" in capsys.readouterr().err
    assert run_cli(str(gold_file), "--no-model") == 2
    assert "nothing to score" in capsys.readouterr().err
    assert run_cli(str(gold_file), "--pred", str(tmp_path / "nope.jsonl")) == 2
    assert "no such prediction file" in capsys.readouterr().err


def test_gold_without_articles_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = tmp_path / "unlabelled.jsonl"
    write_pages([Page("p1", "标题\n正文。"), Page("p2", "第1版\n正文。")], gold)
    res = runner.evaluate(gold, pred=gold, quiet=True)
    assert any("no gold page has an article" in w for w in res["warnings"])
    assert "no gold page has an article" in capsys.readouterr().err
