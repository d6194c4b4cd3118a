"""Articles as users want them: joined text, per-article JSONL/CSV, pipe(), directory input, resume."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from newsseg.cli import main
from newsseg.data.articles import CSV_FIELDS, article_records, csv_header, csv_row, join_headline, join_lines
from newsseg.data.pages import Article, Page, PageError, Span, iter_pages


# ----------------------------------------------------------------------------- joining OCR lines
@pytest.mark.parametrize("raw, joined", [
    ("本报讯 今年以来，全区\n重点项目建设开局\n良好。", "本报讯 今年以来，全区重点项目建设开局良好。"),
    ("总投资达\n1.2亿元，其中\n“钉子”精神", "总投资达1.2亿元，其中“钉子”精神"),
    ("采用BIM\nmodel 技术，共120\n45个车位", "采用BIM model 技术，共120 45个车位"),  # Latin/digit pairs keep a space
    ("第一段结束。\n\n第二段开始，\n接着写。", "第一段结束。\n第二段开始，接着写。"),     # blank line: a paragraph
    ("第一段结束。\n　　第二段开始，\n接着写。", "第一段结束。\n第二段开始，接着写。"),   # indented line: a paragraph
    ("  \n行尾空格   \n  ", "行尾空格"),
])
def test_join_lines(raw: str, joined: str) -> None:
    assert join_lines(raw) == joined


def test_join_headline() -> None:
    assert join_headline(["正视问题 狠抓落实\n", "以“绣花”之功\n推进创卫复审"]) == "正视问题 狠抓落实 以“绣花”之功 推进创卫复审"


def _page() -> Page:
    text = "第1版\n项目开工\n本报讯 乙区\n项目开工，\n总投资3亿元。\n\n会上，甲区召开\n会议，部署工作。\n记者 张伟\n"
    head = text.index("项目开工")
    b1 = text.index("本报讯")
    b2 = text.index("会上")
    return Page("pg", text, [
        Article("a1", "projects", [Span(b1, text.index("\n\n"), "body"), Span(head, head + 4, "headline")], 0.5),
        Article("a2", "other", [Span(b2, len(text) - 1, "body")], 0.0)], source="in/pg.txt", encoding="gb18030")


def test_article_fields_joined_and_raw() -> None:
    page = _page()
    a1, a2 = page.articles
    assert a1.headline == "项目开工" and a1.body == "本报讯 乙区项目开工，总投资3亿元。"
    assert a1.body_raw == "本报讯 乙区\n项目开工，\n总投资3亿元。"
    assert a2.body == "会上，甲区召开会议，部署工作。记者 张伟"
    d = page.to_dict()
    assert d["source"] == "in/pg.txt" and d["encoding"] == "gb18030"
    back = Page.from_dict(json.loads(json.dumps(d, ensure_ascii=False)))
    assert (back.source, back.encoding, back.articles[0].body) == ("in/pg.txt", "gb18030", a1.body)


def test_article_records_and_csv() -> None:
    recs = list(article_records(_page()))
    assert [r["article_id"] for r in recs] == ["a1", "a2"]
    assert recs[0]["spans"][0]["role"] == "headline"  # fragments in page order
    assert recs[1]["score"] == 0.0  # a zero score stays zero
    rows = list(csv.DictReader(io.StringIO(csv_header() + "".join(csv_row(r) for r in recs))))
    assert tuple(rows[0]) == CSV_FIELDS
    assert rows[0]["headline"] == "项目开工" and rows[0]["source"] == "in/pg.txt"
    assert rows[0]["spans"].count(";") == 1 and rows[0]["spans"].endswith(":body")


# ------------------------------------------------------------------------------- directory input
def test_directory_input_ids_sources_and_skips(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    for sub in ("a", "b", ".git"):
        (root / sub).mkdir(parents=True)
    (root / "a" / "p1.txt").write_text("甲页", encoding="utf-8")
    gbk = "本报讯 乙区召开卫生城市复审动员会，部署下一阶段环境整治工作。\n记者 张伟\n"
    (root / "b" / "p1.TXT").write_bytes(gbk.encode("gb18030"))
    (root / ".git" / "x.txt").write_text("hidden", encoding="utf-8")
    (root / ".hidden.txt").write_text("hidden", encoding="utf-8")
    (root / "scan.pdf").write_bytes(b"%PDF-1.4")
    skipped: list[str] = []
    got = list(iter_pages([root], encoding="auto", skipped=skipped))
    assert not any(isinstance(g, PageError) for g in got)
    assert [(p.id, p.text) for p in got] == [("a/p1", "甲页"), ("b/p1", gbk)]  # distinct ids
    assert got[0].source == str(root / "a" / "p1.txt") and got[0].encoding == "utf-8"
    assert got[1].encoding in ("gb18030", "gbk", "gb2312")
    assert skipped == [str(root / "scan.pdf")]


def test_directory_with_duplicate_file_names_predicts_both(tiny_dir: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "archive"
    for sub in ("a", "b"):
        (root / sub).mkdir(parents=True)
        (root / sub / "p1.txt").write_text(f"本报讯 {sub}区召开会议。\n记者 张伟\n", encoding="utf-8")
    (root / "notes.docx").write_bytes(b"PK\x03\x04")
    out = tmp_path / "pred.jsonl"
    assert main(["predict", "--model", str(tiny_dir), str(root), "-o", str(out), "-q"]) == 0
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(d["id"], d["source"]) for d in got] == [("a/p1", str(root / "a" / "p1.txt")),
                                                     ("b/p1", str(root / "b" / "p1.txt"))]
    assert "notes.docx" in capsys.readouterr().err  # the skipped file is named in the summary
    # --resume keeps both: ids no longer collide.
    assert main(["predict", "--model", str(tiny_dir), str(root), "-o", str(out), "-q", "--resume"]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2


def test_resume_recomputes_a_page_whose_text_changed(tiny_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    pages = [{"id": f"p{i}", "text": f"本报讯 第{i}页正文。\n记者 张伟"} for i in range(3)]
    src.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pages), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["predict", "--model", str(tiny_dir), str(src), "-o", str(out), "-q"]) == 0
    pages[1]["text"] = "本报讯 这一页改过了。\n记者 李明"
    src.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pages), encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", "--model", str(tiny_dir), str(src), "-o", str(out), "-q", "--resume"]) == 0
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    # Unchanged pages are kept (written first), the changed one is redone; no stale line survives.
    assert sorted((d["id"], d["text"]) for d in got) == [(p["id"], p["text"]) for p in pages]
    assert "1 pages written" in capsys.readouterr().err


# ------------------------------------------------------------------------------ output formats
@pytest.mark.parametrize("fmt", ["articles", "csv"])
def test_predict_article_formats(tiny_dir: Path, tmp_path: Path, sample_text: str, fmt: str) -> None:
    page = tmp_path / "gaoxin.txt"
    page.write_text(sample_text, encoding="utf-8")
    out = tmp_path / f"articles.{fmt}"
    pages_out = tmp_path / "pages.jsonl"
    assert main(["predict", "--model", str(tiny_dir), str(page), "-o", str(pages_out), "-q"]) == 0
    assert main(["predict", "--model", str(tiny_dir), str(page), "-o", str(out), "-q", "--format", fmt]) == 0
    pred = Page.from_dict(json.loads(pages_out.read_text(encoding="utf-8")))
    want = list(article_records(pred))
    if fmt == "articles":
        got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert got == want
    else:
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert [(r["article_id"], r["headline"], r["body"]) for r in rows] == \
            [(w["article_id"], w["headline"], w["body"]) for w in want]
    assert all(w["source"] == str(page) for w in want)


def test_resume_only_with_page_output(tiny_dir: Path, tmp_path: Path, sample_text: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "p.txt"
    page.write_text(sample_text, encoding="utf-8")
    rc = main(["predict", "--model", str(tiny_dir), str(page), "-o", str(tmp_path / "o.csv"), "--format", "csv",
               "--resume"])
    assert rc == 2 and "--resume" in capsys.readouterr().err


def test_segment_json(tiny_dir: Path, tmp_path: Path, sample_text: str, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "p.txt"
    page.write_text(sample_text, encoding="utf-8")
    assert main(["segment", str(page), "--model", str(tiny_dir), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and all(set(CSV_FIELDS) <= set(r) for r in lines)


def test_usage_errors_answer_before_torch_is_imported(tmp_path: Path) -> None:
    code = ("import sys\nfrom newsseg.cli import main\n"
            f"rc1 = main(['predict', {str(tmp_path / 'missing.txt')!r}, '-o', {str(tmp_path / 'o.jsonl')!r}])\n"
            f"rc2 = main(['predict', {str(tmp_path)!r}, '-o', {str(tmp_path / 'o.jsonl')!r}, '--batch-size', '0'])\n"
            "print(rc1, rc2, 'torch' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.split() == ["2", "2", "False"], r.stderr


# ---------------------------------------------------------------------------------- Python API
def test_pipe_streams_texts_dicts_and_pages(tiny_seg: Any, sample_text: str) -> None:
    items = [sample_text, {"id": "d1", "text": "本报讯 甲区召开会议。", "source": "x.jsonl:1"},
             Page("p1", "本报讯 乙区项目开工。", [], source="y.txt")]
    got = list(tiny_seg.pipe(iter(items), batch_size=2))
    assert [p.id for p in got] == ["page-1", "d1", "p1"]
    assert [p.source for p in got] == ["", "x.jsonl:1", "y.txt"]
    assert got[0].to_dict()["articles"] == tiny_seg.predict(sample_text).to_dict()["articles"]
    with pytest.raises(TypeError, match="item 0"):
        list(tiny_seg.pipe([3]))


def test_predict_of_a_dict_is_an_error_with_the_fix(tiny_seg: Any) -> None:
    with pytest.raises(TypeError, match=r"page\['text'\]"):
        tiny_seg.predict({"id": "p", "text": "本报讯 甲区召开会议。"})
    with pytest.raises(TypeError, match="pipe"):
        tiny_seg.predict([{"id": "p", "text": "x"}])


def test_progress_moves_within_a_long_page(tiny_seg: Any, tiny_dir: Path, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    tiny_seg.on_batch = lambda done, total: calls.append((done, total))
    try:
        tiny_seg.predict("本报讯 甲区召开会议，部署工作。\n" * 200, batch_size=4)  # one page, many windows
    finally:
        tiny_seg.on_batch = None
    assert len(calls) > 5 and calls[-1][0] == calls[-1][1]
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    # The CLI with its bars on (no -q): both bars run and the output is the same as with -q.
    page = tmp_path / "long.txt"
    page.write_text("本报讯 乙区项目开工。\n" * 300, encoding="utf-8")
    loud, quiet = tmp_path / "loud.jsonl", tmp_path / "quiet.jsonl"
    assert main(["predict", "--model", str(tiny_dir), str(page), "-o", str(loud), "--batch-size", "2"]) == 0
    assert main(["predict", "--model", str(tiny_dir), str(page), "-o", str(quiet), "--batch-size", "2", "-q"]) == 0
    assert loud.read_bytes() == quiet.read_bytes()
