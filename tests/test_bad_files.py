"""Bad files and interrupted writes: every problem is named (file, line, byte), nothing is lost (docs/SPEC.md §6).

Exit codes of ``newsseg predict`` / ``segment``: 0 every page written; 1 some pages could not be
read or predicted (all the others were written); 2 unusable invocation (missing input, output is a
directory, bad option, model that cannot be loaded), nothing written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

import pytest

from newsseg.cli import main
from newsseg.data import pages as pages_mod
from newsseg.atomic import atomic_output, atomic_write_text, partial_path
from newsseg.data.pages import Page, validate_page, write_pages
from newsseg.model.segmenter import Segmenter

GOOD = '{"id": "good-%d", "text": "本报讯 第%d页正文。\\n记者 张伟"}'


@pytest.fixture()
def predict(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """``predict(*inputs, out=..., extra=[...])`` -> (exit code, stderr, output lines)."""

    def run(*inputs: Path, out: Path, extra: Iterable[str] = ()) -> tuple[int, str, list[dict[str, Any]]]:
        capsys.readouterr()
        rc = main(["predict", "--model", str(tiny_dir), *map(str, inputs), "-o", str(out), "-q", *extra])
        err = capsys.readouterr().err
        lines = out.read_bytes().decode("utf-8").split("\n")[:-1] if out.exists() else []
        try:
            return rc, err, [json.loads(line) for line in lines]
        except ValueError:  # not an output of ours (a stale file the test planted)
            return rc, err, []

    return run


def _check(d: dict[str, Any], text: str) -> None:
    assert d["text"] == text
    validate_page(Page.from_dict(d), topics=None)


# ------------------------------------------------------------------------------- invalid UTF-8
def test_invalid_utf8_txt_names_file_and_byte_offset(predict: Any, tmp_path: Path) -> None:
    d = tmp_path / "pages"
    d.mkdir()
    (d / "a-good.txt").write_text("本报讯 正文。", encoding="utf-8")
    bad = d / "b-bad.txt"
    bad.write_bytes("本报讯".encode() + b"\xff\xfe" + "正文".encode())
    out = tmp_path / "out.jsonl"
    rc, err, got = predict(d, out=out)
    assert rc == 1
    assert f"{bad}: invalid utf-8 at byte offset 9" in err and "--encoding-errors replace" in err
    assert [g["id"] for g in got] == ["a-good"]  # the readable page is still written

    rc, err, got = predict(d, out=out, extra=["--encoding-errors", "replace"])
    assert rc == 0 and [g["id"] for g in got] == ["a-good", "b-bad"]
    _check(got[1], "本报讯\ufffd\ufffd正文")


def test_invalid_utf8_jsonl_line_names_line_and_file_offset(predict: Any, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    line1 = (GOOD % (1, 1) + "\n").encode()
    line2 = b'{"id": "bad", "text": "\xe4\xb8"}\n'  # a character cut in half
    src.write_bytes(line1 + line2 + (GOOD % (3, 3) + "\n").encode())
    out = tmp_path / "out.jsonl"
    rc, err, got = predict(src, out=out)
    assert rc == 1 and [g["id"] for g in got] == ["good-1", "good-3"]
    assert f"{src}:2: invalid utf-8 at byte offset {len(line1) + 23}" in err

    rc, _, got = predict(src, out=out, extra=["--encoding-errors", "replace"])
    assert rc == 0 and [g["id"] for g in got] == ["good-1", "bad", "good-3"]
    _check(got[1], "\ufffd")


# ----------------------------------------------------------------------- invalid JSON / schema
BAD_LINES = [  # (line, what the message must say)
    ('{"id": "torn", "text": "本报', "invalid JSON: Unterminated string"),
    ("not json at all", "invalid JSON: Expecting value"),
    ('["a list", "not an object"]', "expected a JSON object, got list"),
    ('{"id": "no-text"}', "missing field 'text'"),
    ('{"id": "num", "text": 42}', "'text' must be a string, got int"),
    ('{"id": ["x"], "text": "本报讯"}', "'id' must be a string"),
    ('{"id": "arts", "text": "本报讯", "articles": "none"}', "'articles' must be a list"),
    ('{"id": "span", "text": "本报讯", "articles": [{"spans": [{"start": "0", "end": 2, "role": "body"}]}]}',
     "'start' must be an integer"),
    ("[" * 100_000, "invalid JSON: RecursionError"),
    ('{"id": "bigint", "text": "x", "n": ' + "9" * 5000 + "}", "invalid JSON: ValueError"),
]


def test_invalid_lines_reported_with_line_numbers_others_processed(predict: Any, tmp_path: Path) -> None:
    src = tmp_path / "mixed.jsonl"
    lines = []
    for i, (bad, _) in enumerate(BAD_LINES):
        lines += [GOOD % (i, i), bad]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    rc, err, got = predict(src, out=out)
    assert rc == 1
    assert [g["id"] for g in got] == [f"good-{i}" for i in range(len(BAD_LINES))]
    reported = [line for line in err.splitlines() if line.startswith(f"newsseg: {src}:")]
    assert len(reported) == len(BAD_LINES)
    for (bad, msg), line, lineno in zip(BAD_LINES, reported, range(2, 2 * len(BAD_LINES) + 1, 2)):
        assert line.startswith(f"newsseg: {src}:{lineno}: ") and msg in line, (line, msg)


def test_bom_blank_lines_and_crlf_are_fine(predict: Any, tmp_path: Path) -> None:
    src = tmp_path / "windows.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + (GOOD % (1, 1)).encode() + b"\r\n\r\n   \r\n"
                    + (GOOD % (2, 2)).encode() + b"\r\n")
    rc, err, got = predict(src, out=tmp_path / "out.jsonl")
    assert rc == 0, err
    assert [g["id"] for g in got] == ["good-1", "good-2"]


# ------------------------------------------------------------------------------- gold validation
GOLD_TEXT = "本报讯 甲区召开会议。\n"  # 12 characters: index 3 is a space, 11 a newline


def _art(start: int, end: int, role: str = "body", topic: str = "legal", aid: str = "a2") -> dict[str, Any]:
    return {"id": aid, "topic": topic, "spans": [{"start": start, "end": end, "role": role}]}


BAD_GOLD = [  # (articles of one page, what `newsseg validate` must say)
    ([_art(0, 3, aid="a1"), _art(2, 8)], "span [2, 8) of article 'a2' overlaps span [0, 3) of article 'a1'"),
    ([_art(4, 99)], "article 'a2' span [4, 99): out of range for a text of 12 characters"),
    ([_art(-1, 3)], "article 'a2' span [-1, 3): out of range"),
    ([_art(2, 2)], "article 'a2' span [2, 2): out of range"),
    ([_art(3, 6)], "article 'a2' span [3, 6): starts or ends on whitespace"),
    ([_art(4, 12)], "article 'a2' span [4, 12): starts or ends on whitespace"),
    ([_art(0, 3, role="caption")], "article 'a2' span [0, 3): unknown role 'caption'"),
    ([_art(0, 3, topic="sports")], "article 'a2': unknown topic 'sports'"),
    ([_art(0, 3), _art(4, 10)], "duplicate article id 'a2'"),
]


def test_validate_names_page_and_span(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pages = [{"id": "ok", "text": GOLD_TEXT, "articles": [_art(0, 3), _art(4, 11, aid="a3")]}]
    pages += [{"id": f"p{i}", "text": GOLD_TEXT, "articles": arts} for i, (arts, _) in enumerate(BAD_GOLD)]
    src = tmp_path / "gold.jsonl"
    src.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pages), encoding="utf-8")
    assert main(["validate", str(src)]) == 1
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert len(err) == len(BAD_GOLD) and "1 valid page(s)" in captured.out
    for i, ((_, msg), line) in enumerate(zip(BAD_GOLD, err)):
        assert line.startswith(f"{src}:{i + 2}: page 'p{i}'") and msg in line, (line, msg)


def test_predict_ignores_bad_gold_spans(predict: Any, tmp_path: Path) -> None:
    """Gold articles in a predict input are replaced, so their offsets need not be valid."""
    src = tmp_path / "gold.jsonl"
    src.write_text(json.dumps({"id": "p", "text": "本报讯 正文。", "articles": [
        {"id": "a1", "topic": "sports", "spans": [{"start": 5, "end": 500, "role": "body"}]}]}) + "\n",
        encoding="utf-8")
    rc, _, got = predict(src, out=tmp_path / "out.jsonl")
    assert rc == 0 and got[0]["id"] == "p"
    _check(got[0], "本报讯 正文。")


# ------------------------------------------------------------------------- directories and files
def test_empty_input_directory(predict: Any, tmp_path: Path) -> None:
    d = tmp_path / "empty"
    d.mkdir()
    (d / "README.md").write_text("not a page", encoding="utf-8")  # other files are not pages
    out = tmp_path / "out.jsonl"
    rc, err, got = predict(d, out=out)
    assert rc == 1 and f"{d}: directory holds no .txt or .jsonl files" in err
    assert out.exists() and got == []  # a complete, empty result


def test_broken_symlink_in_directory_is_reported(predict: Any, tmp_path: Path) -> None:
    d = tmp_path / "pages"
    d.mkdir()
    (d / "a.txt").write_text("本报讯 正文。", encoding="utf-8")
    (d / "b.txt").symlink_to(tmp_path / "gone.txt")
    rc, err, got = predict(d, out=tmp_path / "out.jsonl")
    assert rc == 1 and f"{d / 'b.txt'}: broken symbolic link" in err
    assert [g["id"] for g in got] == ["a"]


def test_unreadable_file_is_reported(predict: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulated with a patched ``open``: tests run as root here, where ``chmod 000`` blocks nothing."""
    good, locked = tmp_path / "a.txt", tmp_path / "locked.txt"
    good.write_text("本报讯 正文。", encoding="utf-8")
    locked.write_text("本报讯 正文。", encoding="utf-8")

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(file) == locked:
            raise PermissionError(13, "Permission denied", str(file))
        return open(file, *args, **kwargs)

    monkeypatch.setattr(pages_mod, "open", guarded_open, raising=False)
    rc, err, got = predict(good, locked, out=tmp_path / "out.jsonl")
    assert rc == 1 and f"{locked}: cannot read: Permission denied" in err
    assert [g["id"] for g in got] == ["a"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_chmod(predict: Any, tmp_path: Path) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_text("本报讯", encoding="utf-8")
    locked.chmod(0)
    rc, err, got = predict(locked, out=tmp_path / "out.jsonl")
    assert rc == 1 and "cannot read: Permission denied" in err and got == []


def test_usage_errors_exit_2_and_write_nothing(predict: Any, tmp_path: Path, tiny_dir: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "a.txt"
    page.write_text("本报讯", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    # A missing input is reported before the model is even looked at.
    assert main(["predict", "--model", str(tmp_path / "no-model"), str(tmp_path / "typo.txt"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no such file or directory" in err and "typo.txt" in err and "no-model" not in err
    assert main(["predict", "--model", str(tiny_dir), str(page), "-o", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["predict", "--model", str(tiny_dir), str(page), "-o", str(out), "--batch-size", "0"]) == 2
    assert main(["segment", "--model", str(tiny_dir), str(tmp_path / "typo.txt")]) == 2
    with pytest.raises(SystemExit) as e:  # argparse: missing -o
        main(["predict", str(page)])
    assert e.value.code == 2
    assert not out.exists() and not partial_path(out).exists()


def test_odd_but_valid_pages_all_predicted(predict: Any, tmp_path: Path) -> None:
    texts = {"empty": "", "blank": " \n\t\u3000\n", "latin": "Page 3 · Sports\nNo Chinese here.",
             "control": "本报讯\x00\x07\x1b 正文\x7f。", "traditional": "國際新聞\n臺灣經濟穩定增長。",
             "emoji": "👍本报讯🎉 点赞👨‍👩‍👧", "nul-only": "\x00" * 50}
    d = tmp_path / "pages"
    d.mkdir()
    for name, text in texts.items():
        (d / f"{name}.txt").write_text(text, encoding="utf-8", newline="")
    rc, err, got = predict(d, out=tmp_path / "out.jsonl")
    assert rc == 0, err
    assert sorted(g["id"] for g in got) == sorted(texts)
    for g in got:
        _check(g, texts[g["id"]])
    by_id = {g["id"]: g for g in got}
    assert by_id["empty"]["articles"] == [] and by_id["blank"]["articles"] == []


def test_a_page_the_model_fails_on_is_reported_not_fatal(predict: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real = Segmenter.predict_pages

    def flaky(self: Segmenter, pages: Iterable[Page], *args: Any, **kwargs: Any) -> Iterator[Page]:
        pages = list(pages)
        if any("BOOM" in p.text for p in pages):
            raise RuntimeError("simulated model bug")
        return real(self, pages, *args, **kwargs)

    monkeypatch.setattr(Segmenter, "predict_pages", flaky)
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([GOOD % (1, 1), '{"id": "boom", "text": "BOOM"}', GOOD % (3, 3)]) + "\n",
                   encoding="utf-8")
    rc, err, got = predict(src, out=tmp_path / "out.jsonl")
    assert rc == 1
    assert "page 'boom': prediction failed (RuntimeError: simulated model bug)" in err
    assert [g["id"] for g in got] == ["good-1", "good-3"]


# ------------------------------------------------------------------------ atomic output, resume
@pytest.fixture()
def five_pages(tmp_path: Path) -> Path:
    src = tmp_path / "five.jsonl"
    src.write_text("".join(GOOD % (i, i) + "\n" for i in range(5)), encoding="utf-8")
    return src


def test_interrupted_predict_never_leaves_a_complete_looking_output(
        predict: Any, five_pages: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean = tmp_path / "clean.jsonl"
    assert predict(five_pages, out=clean)[0] == 0
    out = tmp_path / "out.jsonl"
    out.write_text("stale result of an older run\n", encoding="utf-8")
    real, calls = Page.to_json, []

    def dies_on_third_page(self: Page) -> str:
        calls.append(self.id)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C, or any crash, while page 3 is being written
        return real(self)

    monkeypatch.setattr(Page, "to_json", dies_on_third_page)
    rc, err, _ = predict(five_pages, out=out)
    assert rc == 130 and "re-run with --resume" in err
    assert out.read_text(encoding="utf-8") == "stale result of an older run\n"  # untouched
    part = partial_path(out)
    assert part.name == ".out.jsonl.partial"  # hidden, and not *.jsonl: never taken for a result
    assert [json.loads(line)["id"] for line in part.read_text(encoding="utf-8").splitlines()] == ["good-0", "good-1"]

    monkeypatch.setattr(Page, "to_json", real)
    rc, err, _ = predict(five_pages, out=out, extra=["--resume"])
    assert rc == 0 and "2 kept from the earlier run" in err
    assert out.read_bytes() == clean.read_bytes() and not part.exists()


def test_resume_after_torn_output(predict: Any, five_pages: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out, clean = tmp_path / "out.jsonl", tmp_path / "clean.jsonl"
    assert predict(five_pages, out=clean)[0] == 0
    lines = clean.read_bytes().split(b"\n")
    out.write_bytes(b"\n".join(lines[:2]) + b"\n" + lines[2][: len(lines[2]) // 2 + 1])  # torn mid-character
    rc, err, got = predict(five_pages, out=out, extra=["--resume"])
    assert rc == 0 and "2 kept from the earlier run" in err and "2 already there" in err
    assert out.read_bytes() == clean.read_bytes()  # every page exactly once, as a clean run

    def must_not_run(*args: Any, **kwargs: Any) -> Iterator[Page]:
        raise AssertionError("a resumed, complete output must not be recomputed")

    monkeypatch.setattr(Segmenter, "predict_pages", must_not_run)
    rc, err, _ = predict(five_pages, out=out, extra=["--resume"])
    assert rc == 0 and "5 already there" in err and out.read_bytes() == clean.read_bytes()


def test_atomic_output_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    atomic_write_text(target, "old")
    with pytest.raises(OSError), atomic_output(target) as tmp:
        tmp.write_text("half of the new", encoding="utf-8")
        raise OSError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]  # no temporary left behind
    n = write_pages([Page("p", "本报讯\ud800")], tmp_path / "pages.jsonl")  # lone surrogate: still writable
    assert n == 1 and json.loads((tmp_path / "pages.jsonl").read_text(encoding="utf-8"))["text"] == "本报讯\ud800"


def test_evaluate_report_files_are_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from matplotlib.figure import Figure

    from newsseg.evaluate import runner

    gold = Page("g", "本报讯 正文。", [])
    write_pages([gold], tmp_path / "gold.jsonl")
    write_pages([gold], tmp_path / "pred.jsonl")
    out = tmp_path / "report"
    runner.evaluate(tmp_path / "gold.jsonl", pred=tmp_path / "pred.jsonl", out_dir=out, quiet=True)
    png = out / "confusion_pred.png"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert png.read_bytes()[:4] == b"\x89PNG"

    def crash_mid_write(self: Figure, fname: Any, *args: Any, **kwargs: Any) -> None:
        Path(fname).write_bytes(b"\x89PN")  # a few bytes, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", crash_mid_write)
    with pytest.raises(OSError):
        runner.evaluate(tmp_path / "gold.jsonl", pred=tmp_path / "pred.jsonl", out_dir=out, quiet=True)
    assert png.read_bytes() == before[png.name]  # the old plot, whole
    assert sorted(p.name for p in out.iterdir()) == sorted(before)  # no temporary files left
    # Written before the plot: each is a whole new file, never a torn one.
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8"))["systems"]["pred"]
    assert (out / "pages.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    # Through the CLI: exit 1 and one line saying why, not a traceback.
    from newsseg.cli import main

    rc = main(["evaluate", str(tmp_path / "gold.jsonl"), "--pred", str(tmp_path / "pred.jsonl"), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot write the report" in err and "No space left" in err and "Traceback" not in err


def test_archive_encodings_are_detected_and_non_text_files_named(predict: Any, tmp_path: Path) -> None:
    """GBK/GB18030, Big5 and UTF-16 pages are read as what they are (--encoding auto, the default);
    a .docx, a PDF and an image saved as .txt are named, not predicted; --encoding NAME forces a codec."""
    sample = (Path(__file__).resolve().parents[1] / "data" / "pages" / "gaoxin-times-2021-05-p1.txt").read_text(
        encoding="utf-8")
    trad = "本報訊 高新區召開國家衛生城市複審工作現場觀摩會，動員全區上下提高認識、強力攻堅、形成合力。\n" * 6
    d = tmp_path / "pages"
    d.mkdir()
    (d / "a-gbk.txt").write_bytes(sample.encode("gbk"))
    (d / "b-big5.txt").write_bytes(trad.encode("big5"))
    (d / "c-utf16.txt").write_bytes(sample.encode("utf-16"))
    (d / "d-docx.txt").write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)))
    (d / "e-pdf.txt").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj")
    out = tmp_path / "out.jsonl"
    rc, err, got = predict(d, out=out)
    assert rc == 1
    assert [g["id"] for g in got] == ["a-gbk", "b-big5", "c-utf16"]
    assert got[0]["text"] == sample and got[1]["text"] == trad and got[2]["text"] == sample
    assert all(g["articles"] for g in got)
    assert "d-docx.txt: this is a ZIP archive (.docx" in err and "e-pdf.txt: this is a PDF document" in err
    # Naming the codec overrides detection; the wrong one is an error naming the byte offset.
    rc, err, got = predict(d / "a-gbk.txt", out=out, extra=["--encoding", "gb18030"])
    assert rc == 0 and got[0]["text"] == sample
    rc, err, _ = predict(d / "a-gbk.txt", out=out, extra=["--encoding", "utf-8"])
    assert rc == 1 and "invalid utf-8 at byte offset 1" in err  # the page starts with a space
