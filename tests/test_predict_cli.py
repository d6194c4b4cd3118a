"""`newsseg predict` on .txt / directory / JSONL inputs, exit codes, and the Python API."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from newsseg.cli import main
from newsseg.data.pages import Page, Span, validate_page, write_pages


def _out_pages(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _check_prediction(d: dict[str, Any], text: str, topics: list[str]) -> None:
    assert d["text"] == text
    page = Page.from_dict(d)
    validate_page(page, topics)
    for a in d["articles"]:
        assert 0.0 <= a["score"] <= 1.0
        assert all(0.0 <= s["score"] <= 1.0 for s in a["spans"])


@pytest.fixture()
def inputs(tmp_path: Path, sample_text: str, compose: Callable[..., list]) -> dict[str, Any]:
    """A .txt page, a directory of two .txt pages (one with CRLF line ends) and a 3-page JSONL."""
    composed = compose(5, seed=21)
    txt = tmp_path / "gaoxin.txt"
    txt.write_text(sample_text, encoding="utf-8")
    d = tmp_path / "pages"
    d.mkdir()
    (d / "b.txt").write_bytes(composed[0].text.replace("\n", "\r\n").encode("utf-8"))
    (d / "a.txt").write_text(composed[1].text, encoding="utf-8")
    jsonl = tmp_path / "more.jsonl"
    write_pages(composed[2:], jsonl)  # with gold articles: they are replaced by predictions
    expected = [("gaoxin", sample_text), ("a", composed[1].text), ("b", composed[0].text.replace("\n", "\r\n"))]
    expected += [(p.id, p.text) for p in composed[2:]]
    return {"args": [str(txt), str(d), str(jsonl)], "expected": expected, "dir": tmp_path}


def test_predict_txt_dir_and_jsonl(trained_dir: Path, inputs: dict[str, Any]) -> None:
    out = inputs["dir"] / "out" / "pred.jsonl"
    assert main(["predict", "--model", str(trained_dir), *inputs["args"], "-o", str(out), "-q"]) == 0
    got = _out_pages(out)
    assert [(d["id"], d["text"]) for d in got] == inputs["expected"]  # one line per page, in order
    topics = json.loads((trained_dir / "config.json").read_text(encoding="utf-8"))["topic_labels"]
    for d, (_, text) in zip(got, inputs["expected"]):
        _check_prediction(d, text, topics)
    assert any(d["articles"] for d in got)
    # Text is byte-identical to the input files, CRLF line ends included.
    assert got[2]["text"].encode("utf-8") == (Path(inputs["args"][1]) / "b.txt").read_bytes()
    assert "\r\n" in got[2]["text"]
    assert not list(out.parent.glob(".*partial"))  # the temporary file was renamed into place

    # Batch size changes the batching, not the result.
    out2 = inputs["dir"] / "pred2.jsonl"
    assert main(["predict", "--model", str(trained_dir), *inputs["args"], "-o", str(out2), "-q",
                 "--batch-size", "1"]) == 0
    assert out2.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_a_bad_page_is_reported_and_the_others_written(trained_dir: Path, inputs: dict[str, Any],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bad = inputs["dir"] / "bad.jsonl"
    bad.write_text('{"id": "ok-1", "text": "本报讯 今天。"}\n{"id": "broken", "text": \n'
                   '{"id": "ok-2", "text": "第二页\\n正文"}\n', encoding="utf-8")
    out = inputs["dir"] / "pred.jsonl"
    code = main(["predict", "--model", str(trained_dir), inputs["args"][0], str(bad), "-o", str(out), "-q"])
    assert code == 1
    assert [d["id"] for d in _out_pages(out)] == ["gaoxin", "ok-1", "ok-2"]
    err = capsys.readouterr().err
    assert f"{bad}:2" in err and "invalid JSON" in err


def test_missing_model_dir_exits_2(inputs: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    out = inputs["dir"] / "pred.jsonl"
    missing = inputs["dir"] / "no-model"
    assert main(["predict", "--model", str(missing), *inputs["args"], "-o", str(out), "-q"]) == 2
    assert str(missing) in capsys.readouterr().err
    assert not out.exists()


def test_missing_input_file_is_a_usage_error(trained_dir: Path, inputs: dict[str, Any],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = inputs["dir"] / "pred.jsonl"
    missing = inputs["dir"] / "nope.txt"
    code = main(["predict", "--model", str(trained_dir), str(missing), inputs["args"][0], "-o", str(out), "-q"])
    assert code == 2
    assert str(missing) in capsys.readouterr().err


def test_console_script_smoke(trained_dir: Path, inputs: dict[str, Any]) -> None:
    # The console script installed beside this interpreter (pip install -e .), not some other one on PATH.
    exe = Path(sys.executable).with_name("newsseg")
    cmd = [str(exe)] if exe.exists() else [shutil.which("newsseg") or "newsseg"]
    out = inputs["dir"] / "cli.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([*cmd, "predict", "--model", str(trained_dir), inputs["args"][0], "-o", str(out), "-q"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert "1 pages written" in r.stderr
    (d,) = _out_pages(out)
    assert d["id"] == "gaoxin" and d["text"] == inputs["expected"][0][1]


# ---------------------------------------------------------------------------------- Python API
def test_python_api(trained_dir: Path, sample_text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import newsseg
    from newsseg import Segmenter
    from newsseg.model.segmenter import Segmenter as Impl

    assert Segmenter is Impl and "Segmenter" in newsseg.__all__
    monkeypatch.setenv("NEWSSEG_MODEL", str(trained_dir))  # from_pretrained() without a path
    seg = Segmenter.from_pretrained()
    page = seg.predict(sample_text)
    assert isinstance(page, Page) and page.text == sample_text and page.articles
    topics = list(seg.config.topic_labels)
    for a in page.articles:
        assert a.topic in topics and 0.0 <= a.score <= 1.0
        assert a.spans and all(isinstance(s, Span) for s in a.spans)
        assert a.headline_raw == "\n".join(sample_text[s.start:s.end] for s in a.spans if s.role == "headline")
        assert a.body_raw == "\n".join(sample_text[s.start:s.end] for s in a.spans if s.role == "body")
        assert "\n" not in a.headline and len(a.body) <= len(a.body_raw)
    d = page.to_dict()
    assert set(d) == {"id", "text", "articles"}
    back = Page.from_dict(json.loads(json.dumps(d, ensure_ascii=False)))
    validate_page(back, topics)
    assert back.to_dict() == d

    texts = [sample_text, sample_text[:400], "", " \n\u3000\n"]
    pages = seg.predict(texts, batch_size=3)
    assert isinstance(pages, list) and [p.id for p in pages] == ["page-1", "page-2", "page-3", "page-4"]
    assert [p.text for p in pages] == texts
    assert pages[0].to_dict()["articles"] == d["articles"]  # batching does not change the result
    assert pages[2].articles == [] and pages[3].articles == []


def test_predict_pages_streams(trained_dir: Path) -> None:
    from newsseg import Segmenter

    seg = Segmenter.from_pretrained(trained_dir)
    read = 0

    def endless() -> Iterator[Page]:
        nonlocal read
        for i in itertools.count():
            read += 1
            yield Page(f"p{i}", f"本报讯 第{i}页。\n正文第二行。")

    first = list(itertools.islice(seg.predict_pages(endless(), batch_size=4, chunk_pages=8), 3))
    assert [p.id for p in first] == ["p0", "p1", "p2"]
    assert read <= 9  # one chunk read ahead, not the whole (endless) input
