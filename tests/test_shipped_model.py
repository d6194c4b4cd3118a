"""The shipped model does what the README says it does: its dev.jsonl metrics are pinned, and the
README's sample output is what ``newsseg segment`` prints. A retrained ``model/`` fails these until
the pins and the README are updated together (``python tests/test_shipped_model.py`` rewrites the pins)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PINS = ROOT / "tests" / "data" / "shipped_dev_metrics.json"
DEV = ROOT / "data" / "pages" / "dev.jsonl"
SAMPLE = ROOT / "data" / "pages" / "gaoxin-times-2021-05-p1.txt"
METRICS = ("bcubed_f1", "link_f1", "headline_f1", "line_f1", "pk", "topic_macro_f1")


def shipped_dev_metrics() -> dict[str, Any]:
    from newsseg.evaluate.runner import evaluate

    return evaluate(DEV, quiet=True)["systems"]["model"]["overall"]


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    return shipped_dev_metrics()


def test_shipped_dev_metrics_are_pinned(measured: dict[str, Any]) -> None:
    pins = json.loads(PINS.read_text(encoding="utf-8"))
    for key in (*METRICS, "n_pred_articles"):
        assert measured[key] == pytest.approx(pins[key], abs=1e-6), key


def test_readme_quotes_the_measured_dev_metrics(measured: dict[str, Any]) -> None:
    for doc in (ROOT / "README.md", ROOT / "model" / "README.md"):
        row = next(ln for ln in doc.read_text(encoding="utf-8").splitlines() if ln.startswith("| dev.jsonl"))
        news = [cell.split("/")[-1].strip(" *") for cell in row.split("|")[2:8]]  # "old / new" cells
        assert news == [f"{measured[k]:.3f}" for k in METRICS], doc


def test_readme_sample_output_is_what_segment_prints(capsys: pytest.CaptureFixture[str]) -> None:
    from newsseg.cli import main

    assert main(["segment", str(SAMPLE), "-q"]) == 0
    printed = [ln for ln in capsys.readouterr().out.splitlines() if not ln.startswith("    ")]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"What the first command prints.*?```\n(.*?)```", readme, re.S)
    assert block is not None
    assert block.group(1).splitlines() == printed


if __name__ == "__main__":  # rewrite the pins from the model now in model/
    got = shipped_dev_metrics()
    pins = json.loads(PINS.read_text(encoding="utf-8"))
    pins.update({k: got[k] for k in (*METRICS, "n_pred_articles")})
    PINS.write_text(json.dumps(pins, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: round(got[k], 4) for k in METRICS}), file=sys.stderr)
