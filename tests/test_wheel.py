"""A plain ``pip install .`` (a wheel, not an editable install) carries the shipped model and the
corpus: segmenting the sample page and composing pages work from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_install_segments_the_sample_page_from_another_directory(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(wheels)],
                   check=True, capture_output=True)
    (wheel,) = wheels.glob("newsseg-*.whl")
    # A fresh environment that sees the installed dependencies (torch, transformers …) but gets
    # newsseg only from the wheel.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    page = elsewhere / "page.txt"
    page.write_bytes((ROOT / "data" / "pages" / "gaoxin-times-2021-05-p1.txt").read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("NEWSSEG_MODEL", "NEWSSEG_CORPUS", "PYTHONPATH")}
    where = subprocess.run([str(py), "-c", "import newsseg, newsseg.paths as p; print(newsseg.__file__); "
                            "print(p.shipped_model_dir()); print(p.shipped_corpus_dir())"],
                           cwd=elsewhere, env=env, check=True, capture_output=True, text=True).stdout.split()
    assert all(str(env_dir) in w for w in where), where  # the wheel's package and its packaged files
    out = subprocess.run([str(env_dir / "bin" / "newsseg"), "segment", str(page)], cwd=elsewhere, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "=== page:" in out.stdout or "articles ===" in out.stdout
    assert out.stdout.count("[a") >= 3  # the sample page's articles
    composed = subprocess.run([str(env_dir / "bin" / "newsseg"), "compose", "--pages", "3", "-o", "p.jsonl", "-q"],
                              cwd=elsewhere, env=env, capture_output=True, text=True)
    assert composed.returncode == 0, composed.stderr
    assert len((elsewhere / "p.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    helped = subprocess.run([str(env_dir / "bin" / "newsseg"), "predict", "--help"], cwd=elsewhere, env=env,
                            capture_output=True, text=True)
    assert helped.returncode == 0 and str(Path("_resources") / "model") in helped.stdout  # the real default
