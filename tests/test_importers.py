"""Label Studio and doccano import (newsseg.data.importers) and the ``import``/``validate`` verbs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from newsseg.data.commands import register
from newsseg.data.importers import AnnotationImportError, import_doccano, import_labelstudio
from newsseg.data.pages import read_pages

DATA = Path(__file__).parent / "data"
LS = DATA / "labelstudio_export.json"
DOCCANO = DATA / "doccano_export.jsonl"


def _texts(page) -> dict[str, list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    return {a.id: [(s.role, page.text[s.start:s.end]) for s in a.spans] for a in page.articles}


def _task(text: str, results: list[dict], **data: object) -> dict:
    return {"id": 7, "data": {"text": text, **data}, "annotations": [{"result": results}]}


def _lab(start: int, end: int, text: str, label: str) -> dict:
    return {"type": "labels", "value": {"start": start, "end": end, "text": text, "labels": [label]}}


def test_labelstudio_example_with_utf16_offsets() -> None:
    pages = import_labelstudio(LS)
    assert [p.id for p in pages] == ["101", "102"]
    p = pages[0]
    assert "📰" in p.text and "𠀀" in p.text  # astral characters: exported offsets are UTF-16 units
    assert _texts(p) == {
        "a1": [("headline", "总投资96.6亿元\n高新区重点项目集中开工"),  # trailing newline trimmed
               ("body", "本报讯 5月11日，高新区6个重点项目集中开工，总投资96.6亿元。𠀀\n记者 孙庆辉")],  # byline merged
        "a2": [("headline", "城关街道新引进3家商贸企业"),
               ("body", "本报讯 今年以来，城关街道新引进商贸企业3家，预计年销售额达2.6亿元。\n通讯员 庞晓雪")]}
    assert [a.topic for a in p.articles] == ["projects", "investment"]  # label suffix and topic_a2 choice
    assert pages[1].articles[0].topic == "legal"  # data.topics map
    assert "高新区在行动" not in "".join(p.text[s.start:s.end] for s, _ in p.spans)


def test_doccano_example() -> None:
    pages = import_doccano(DOCCANO)
    assert [p.id for p in pages] == ["doc-1", "doc-2"]
    assert _texts(pages[0])["a1"][1] == ("body", "本报讯 10月12日，滨江快速路高架主线全线贯通。\n通讯员 马丽君")
    assert pages[1].articles[0].topic == "other" and pages[1].articles[0].id == "t"


@pytest.mark.parametrize("results, message", [
    ([_lab(0, 2, "不对", "body:a1:legal")], "does not match"),
    ([_lab(0, 4, "标题正文", "body")], "ROLE:ARTICLE"),
    ([_lab(0, 2, "标题", "headline:a1")], "has no topic"),
    ([_lab(0, 4, "标题正文", "body:a1:legal"), _lab(2, 6, "正文内容", "body:a2:other")], "overlaps"),
    ([_lab(0, 2, "标题", "headline:a1:legal"), _lab(2, 4, "正文", "body:a1:other")], "two topics"),
    ([_lab(0, 99, None, "body:a1:legal")], "out of range"),  # type: ignore[arg-type]
    ([_lab(0, 2, "标题", "headline:a1:sports")], "unknown topic"),
])
def test_labelstudio_rejections_name_file_task_and_span(tmp_path: Path, results: list, message: str) -> None:
    f = tmp_path / "ls.json"
    f.write_text(json.dumps([_task("标题正文内容", results)], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(AnnotationImportError, match=message) as e:
        import_labelstudio(f)
    assert f"{f}: task 7" in str(e.value)


def test_bad_tasks_are_skipped_and_reported_when_collecting(tmp_path: Path) -> None:
    good = _task("标题\n正文", [_lab(0, 2, "标题", "headline:a1:legal"), _lab(3, 5, "正文", "body:a1")])
    bad = {**_task("标题正文", [_lab(0, 2, "错了", "body:a1:legal")]), "id": 8}
    cancelled = {"id": 9, "data": {"text": "x"}, "annotations": [{"was_cancelled": True, "result": []}]}
    f = tmp_path / "ls.json"
    f.write_text(json.dumps([good, bad, cancelled], ensure_ascii=False), encoding="utf-8")
    errors: list[str] = []
    pages = import_labelstudio(f, errors=errors)
    assert [p.id for p in pages] == ["7"]
    assert len(errors) == 2 and "task 8 span 0" in errors[0] and "task 9" in errors[1]


def test_utf16_offsets_without_span_text(tmp_path: Path) -> None:
    text = "😀标题\n正文"
    f = tmp_path / "ls.json"
    res = [{"type": "labels", "value": {"start": 2, "end": 4, "labels": ["headline:a:other"]}},
           {"type": "labels", "value": {"start": 5, "end": 7, "labels": ["body:a"]}}]
    f.write_text(json.dumps([_task(text, res)], ensure_ascii=False), encoding="utf-8")
    assert _texts(import_labelstudio(f)[0]) == {"a": [("headline", "标题"), ("body", "正文")]}


def test_doccano_rejections(tmp_path: Path) -> None:
    f = tmp_path / "d.jsonl"
    f.write_text('{"text": "标题正文", "label": [[0, 2, "headline:a1:legal"], [1, 3, "body:a1"]]}\n'
                 '{"text": "标题", "label": [[0, 2, "headline"]]}\n{not json\n', encoding="utf-8")
    errors: list[str] = []
    assert import_doccano(f, errors=errors) == []
    assert f"{f}:1" in errors[0] and "overlaps" in errors[0]
    assert f"{f}:2 span 0" in errors[1] and f"{f}:3: invalid JSON" in errors[2]


def test_missing_or_broken_export(tmp_path: Path) -> None:
    with pytest.raises(AnnotationImportError, match="no such file"):
        import_labelstudio(tmp_path / "none.json")
    (tmp_path / "x.json").write_text("[{", encoding="utf-8")
    with pytest.raises(AnnotationImportError, match="not a JSON export"):
        import_labelstudio(tmp_path / "x.json")


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_import_and_validate_verbs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ls.jsonl"
    assert _cli(["import", "labelstudio", str(LS), "-o", str(out)]) == 0
    assert [p.id for p in read_pages(out)] == ["101", "102"]
    assert _cli(["import", "doccano", str(DOCCANO), "-o", str(tmp_path / "d.jsonl")]) == 0
    assert _cli(["validate", str(out), str(tmp_path / "d.jsonl")]) == 0
    assert "4 valid page(s), 0 with errors" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "标题", "articles": []}\n'
                   '{"id": "b", "text": "标题", "articles": [{"id": "x", "topic": "other", '
                   '"spans": [{"start": 0, "end": 9, "role": "body"}]}]}\n', encoding="utf-8")
    assert _cli(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2:" in err and "out of range" in err
