"""``predict --review-below``: doubtful pages are also written to OUTPUT.review.jsonl."""

from __future__ import annotations

import json
from pathlib import Path

from newsseg.data.pages import Article, Page, Span
from newsseg.predict import needs_review, review_path


def test_needs_review() -> None:
    arts = [Article("a1", "other", [Span(0, 2, "body")], score=0.9), Article("a2", "legal", [Span(3, 5, "body")], score=0.7)]
    assert needs_review(Page("p", "甲乙 丙丁", arts), 0.8)
    assert not needs_review(Page("p", "甲乙 丙丁", arts), 0.6)
    assert needs_review(Page("p", "甲乙 丙丁", []), 0.1)  # nothing found: a person should look
    assert review_path("out/pred.jsonl") == Path("out/pred.review.jsonl")


def test_cli_review_below_writes_the_doubtful_pages(trained_dir: Path, tmp_path: Path) -> None:
    from newsseg.cli import main

    src = Path(__file__).resolve().parents[1] / "data" / "pages" / "dev.jsonl"
    out = tmp_path / "pred.jsonl"
    assert main(["predict", str(src), "-o", str(out), "--model", str(trained_dir), "--review-below", "0.6", "-q"]) == 0
    pages = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    reviewed = [json.loads(l) for l in review_path(out).read_text(encoding="utf-8").splitlines()]
    want = [p["id"] for p in pages
            if not p["articles"] or min(a["score"] for a in p["articles"]) < 0.6]
    assert [p["id"] for p in reviewed] == want
    assert main(["predict", str(src), "-o", str(tmp_path / "all.jsonl"), "--model", str(trained_dir),
                 "--review-below", "1.01", "-q"]) == 0  # every score is below 1.01: every page goes to review
    assert len(review_path(tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()) == len(pages)
    assert main(["predict", str(src), "-o", str(tmp_path / "b.jsonl"), "--model", str(trained_dir), "-q"]) == 0
    assert not review_path(tmp_path / "b.jsonl").exists()  # no flag, no review file
