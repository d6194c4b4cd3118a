"""Label Studio round trip: predictions exported as pre-annotations come back exactly when accepted."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from newsseg.data.pages import Article, Page, Span

EMOJI_PAGE = Page("p-emoji", "头条标题\n😀正文第一行，\n正文第二行。\n", [
    Article("a1", "other", [Span(0, 4, "headline", score=0.9), Span(5, 18, "body", score=0.8)], score=0.85)])


def _spans(pages: list[Page]) -> list[Any]:
    return [(p.id, [(a.id, a.topic, [(s.start, s.end, s.role) for s in a.spans]) for a in p.articles]) for p in pages]


def _accept(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What Label Studio exports when an annotator submits the pre-annotations unchanged."""
    out = copy.deepcopy(tasks)
    for i, t in enumerate(out):
        t["id"] = i + 1
        t["annotations"] = [{"id": i + 1, "result": t["predictions"][0]["result"], "was_cancelled": False}]
    return out


@pytest.fixture(scope="module")
def predicted(trained_dir: Path) -> list[Page]:
    from newsseg.data.pages import read_pages
    from newsseg.model.segmenter import Segmenter

    seg = Segmenter.from_pretrained(trained_dir)
    gold = list(read_pages(Path(__file__).resolve().parents[1] / "data" / "pages" / "dev.jsonl", topics=None))[:4]
    return list(seg.pipe(gold)) + [EMOJI_PAGE]


def test_uncorrected_round_trip_returns_the_predicted_spans(predicted: list[Page], tmp_path: Path) -> None:
    from newsseg.data.importers import import_labelstudio
    from newsseg.data.labelstudio import labelstudio_tasks

    tasks = labelstudio_tasks(predicted, "test")
    assert sum(len(a.spans) for p in predicted[:-1] for a in p.articles) >= 5  # the model predicted something
    emoji = tasks[-1]["predictions"][0]["result"][1]["value"]
    assert (emoji["start"], emoji["end"]) == (5, 19)  # UTF-16 units: the emoji counts two
    assert tasks[0]["predictions"][0]["score"] == pytest.approx(
        sum(a.score for a in predicted[0].articles) / len(predicted[0].articles), abs=1e-4)
    (tmp_path / "accepted.json").write_text(json.dumps(_accept(tasks), ensure_ascii=False), encoding="utf-8")
    assert _spans(import_labelstudio(tmp_path / "accepted.json")) == _spans(predicted)
    (tmp_path / "tasks.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    assert _spans(import_labelstudio(tmp_path / "tasks.json", use_predictions=True)) == _spans(predicted)


def test_a_correction_comes_back(predicted: list[Page], tmp_path: Path) -> None:
    from newsseg.data.importers import import_labelstudio
    from newsseg.data.labelstudio import labelstudio_tasks

    tasks = _accept(labelstudio_tasks([EMOJI_PAGE]))
    for r in tasks[0]["annotations"][0]["result"]:
        if r["type"] == "choices":
            r["value"]["choices"] = ["legal"]  # the annotator changes the topic
    (tmp_path / "corrected.json").write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    (page,) = import_labelstudio(tmp_path / "corrected.json")
    assert page.articles[0].topic == "legal"


def test_cli_export_writes_tasks_and_a_config_that_names_every_label(predicted: list[Page], tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from newsseg.cli import main
    from newsseg.data.pages import write_pages

    write_pages(predicted, tmp_path / "pred.jsonl")
    assert main(["export", "labelstudio", str(tmp_path / "pred.jsonl"), "-o", str(tmp_path / "tasks.json")]) == 0
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    root = ET.fromstring((tmp_path / "labels.xml").read_text(encoding="utf-8"))
    labels = {e.get("value") for e in root.iter("Label")}
    choices = {e.get("name") for e in root.iter("Choices")}
    for t in tasks:
        for r in t["predictions"][0]["result"]:
            if r["type"] == "labels":
                assert r["value"]["labels"][0] in labels
            else:
                assert r["from_name"] in choices
    assert main(["import", "labelstudio", str(tmp_path / "tasks.json"), "-o", str(tmp_path / "back.jsonl"),
                 "--predictions"]) == 0
