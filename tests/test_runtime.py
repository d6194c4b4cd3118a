"""Process settings for batch inference (newsseg.runtime)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from newsseg import runtime


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "_tuned", None)
    for k in ("NEWSSEG_TUNE_MALLOC", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(k, raising=False)


@pytest.mark.parametrize("env", [{"NEWSSEG_TUNE_MALLOC": "0"}, {"MALLOC_MMAP_THRESHOLD_": "1048576"},
                                 {"MALLOC_TRIM_THRESHOLD_": "0"}])
def test_user_settings_win(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert runtime.tune_allocator() is False


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_sets_glibc_thresholds_once() -> None:
    assert runtime.tune_allocator() is True
    assert runtime.tune_allocator() is True  # cached: mallopt is called once per process


def test_predict_cli_process_tunes_the_allocator(tmp_path, tiny_dir) -> None:  # type: ignore[no-untyped-def]
    """`newsseg predict` runs tune_allocator before loading the model (checked in a fresh process)."""
    (tmp_path / "p.txt").write_text("标题\n本报讯 今天下雨。", encoding="utf-8")
    code = ("import sys, json; from newsseg import runtime; from newsseg.cli import predict_files; "
            f"predict_files([{str(tmp_path / 'p.txt')!r}], {str(tmp_path / 'o.jsonl')!r}, {str(tiny_dir)!r}, "
            "progress=False); print(json.dumps(runtime._tuned))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    want = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert out.stdout.strip().splitlines()[-1] == ("true" if want else "false")
