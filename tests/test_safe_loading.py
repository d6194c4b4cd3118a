"""Safe model loading: safetensors only, no code from the model directory, label maps checked.

A model directory is untrusted input: it may come from a colleague, a download or an old run.
Loading it must never unpickle, never import code it names, and must refuse a config that does not
match the weights with a message that says what to do.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest

from newsseg.cli import main
from newsseg.model.segmenter import ModelLoadError, Segmenter

SRC = Path(__file__).resolve().parents[1] / "src" / "newsseg"


class _Exploit:
    """Pickles to a call that creates a marker file: proof that unpickling ran code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (Path.touch, (self.marker,))


@pytest.fixture()
def model_copy(tiny_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny model directory, free to vandalise."""
    d = tmp_path / "model"
    shutil.copytree(tiny_dir, d)
    return d


def _edit_config(d: Path, **changes: Any) -> None:
    cfg = json.loads((d / "config.json").read_text(encoding="utf-8"))
    cfg.update(changes)
    (d / "config.json").write_text(json.dumps(cfg), encoding="utf-8")


def _cli_exit(model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    page = tmp_path / "page.txt"
    page.write_text("本报讯 正文。", encoding="utf-8")
    capsys.readouterr()
    rc = main(["predict", "--model", str(model), str(page), "-o", str(tmp_path / "out.jsonl"), "-q"])
    return rc, capsys.readouterr().err


# ------------------------------------------------------------------------------- weights format
def test_pickle_only_dir_is_refused_with_a_working_conversion_command(
        model_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import torch
    from safetensors.torch import load_file

    torch.save(load_file(model_copy / "model.safetensors"), model_copy / "pytorch_model.bin")
    (model_copy / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="only pickle checkpoints .pytorch_model.bin.*safetensors only") as e:
        Segmenter.from_pretrained(model_copy)
    rc, err = _cli_exit(model_copy, tmp_path, capsys)
    assert rc == 2 and "pytorch_model.bin" in err and not (tmp_path / "out.jsonl").exists()

    # The message's command converts the checkpoint (weights_only=True refuses code) and then it loads.
    code = re.search(r'python -c "(.*)"$', str(e.value)).group(1)  # type: ignore[union-attr]
    assert "weights_only=True" in code
    monkeypatch.chdir(model_copy)
    exec(code, {})
    Segmenter.from_pretrained(model_copy).predict("本报讯 正文。")


def test_pickle_files_are_never_unpickled(model_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"weights": _Exploit(marker)})
    (model_copy / "pytorch_model.bin").write_bytes(payload)  # beside model.safetensors
    (model_copy / "training_args.bin").write_bytes(payload)
    Segmenter.from_pretrained(model_copy).predict("本报讯 正文。")
    (model_copy / "model.safetensors").unlink()  # now pickle-only
    with pytest.raises(ModelLoadError, match="pickle"):
        Segmenter.from_pretrained(model_copy)
    assert not marker.exists()


def test_config_auto_map_code_is_never_imported(model_copy: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "pwned"
    for name in ("evil_config.py", "evil_tok.py"):
        (model_copy / name).write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n", encoding="utf-8")
    _edit_config(model_copy, auto_map={"AutoConfig": "evil_config.EvilConfig", "AutoModel": "evil_config.EvilModel"})
    Segmenter.from_pretrained(model_copy)  # the config class is ours, auto_map is ignored
    assert not marker.exists()

    tok_cfg = model_copy / "tokenizer_config.json"
    tc = json.loads(tok_cfg.read_text(encoding="utf-8"))
    tok_cfg.write_text(json.dumps({**tc, "tokenizer_class": "EvilTokenizer",
                                   "auto_map": {"AutoTokenizer": ["evil_tok.EvilTokenizer", None]}}), encoding="utf-8")

    def no_prompt(*args: Any) -> str:
        raise AssertionError("asked the user whether to run the model directory's code")

    monkeypatch.setattr("builtins.input", no_prompt)
    with pytest.raises(ModelLoadError, match="custom code"):
        Segmenter.from_pretrained(model_copy)
    assert not marker.exists()


def test_no_code_path_enables_trust_remote_code_or_unsafe_loads() -> None:
    """Grep the package: nothing passes trust_remote_code=True, nothing unpickles a file."""
    offenders = []
    for f in SRC.rglob("*.py"):
        src = f.read_text(encoding="utf-8")
        if re.search(r"trust_remote_code\s*=\s*(?!False\b)", src):  # True, or passed through
            offenders.append(f"{f}: trust_remote_code enabled")
        for call in re.findall(r"torch\.load\(([^)]*)\)", src):
            if "weights_only=True" not in call:
                offenders.append(f"{f}: torch.load({call}) without weights_only=True")
        if re.search(r"\bpickle\.loads?\(|use_safetensors\s*=\s*False", src):
            offenders.append(f"{f}: unpickles")
    assert offenders == []
    seg_src = (SRC / "model" / "segmenter.py").read_text(encoding="utf-8")
    assert "use_safetensors=True" in seg_src and "trust_remote_code=False" in seg_src


# ------------------------------------------------------------------------------- config checks
def test_topic_labels_that_do_not_match_the_head(model_copy: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _edit_config(model_copy, topic_labels=["a", "b", "c"])  # the head has 5 outputs
    with pytest.raises(ModelLoadError, match=r"topic_labels \['a', 'b', 'c'\] has 3 labels but topic_head "
                                             r"in the weights has 5 outputs.*restore the config.json"):
        Segmenter.from_pretrained(model_copy)
    rc, err = _cli_exit(model_copy, tmp_path, capsys)
    assert rc == 2 and "topic_head" in err


@pytest.mark.parametrize("id2label", [
    {"0": "O", "1": "B-title", "2": "I-title", "3": "B-body", "4": "I-body"},  # renamed labels
    {"0": "O", "1": "B-body", "2": "I-body"},  # fewer labels
    {"0": "I-body", "1": "B-headline", "2": "I-headline", "3": "B-body", "4": "O"},  # reordered
])
def test_boundary_label_map_must_match_the_decoder(model_copy: Path, id2label: dict[str, str]) -> None:
    _edit_config(model_copy, id2label=id2label, label2id={v: int(k) for k, v in id2label.items()})
    with pytest.raises(ModelLoadError, match="id2label .* does not match the boundary labels"):
        Segmenter.from_pretrained(model_copy)


@pytest.mark.parametrize("damage, message", [
    ("no_config", "holds no config.json"),
    ("bad_json", "not a valid JSON file"),
    ("no_weights", "holds no model.safetensors"),
    ("truncated_weights", "cannot load model from .*SafetensorError"),
    ("no_tokenizer", "cannot load model from"),
    ("duplicate_topics", "must be a non-empty list of distinct names"),
    ("foreign_tokenizer", "tokenizer has ids up to .* but the embeddings have"),
])
def test_damaged_model_dirs_are_refused_clearly(model_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                damage: str, message: str) -> None:
    if damage == "no_config":
        (model_copy / "config.json").unlink()
    elif damage == "bad_json":
        (model_copy / "config.json").write_text('{"topic_labels": [', encoding="utf-8")
    elif damage == "no_weights":
        (model_copy / "model.safetensors").unlink()
    elif damage == "truncated_weights":
        w = model_copy / "model.safetensors"
        w.write_bytes(w.read_bytes()[:500])
    elif damage == "no_tokenizer":
        for f in model_copy.glob("tokenizer*"):
            f.unlink()
    elif damage == "duplicate_topics":
        _edit_config(model_copy, topic_labels=["legal", "legal", "other", "projects", "sanitation"])
    elif damage == "foreign_tokenizer":  # a tokenizer with more tokens than the embedding table
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(model_copy))
        tok.add_tokens([f"[X{i}]" for i in range(10)])
        tok.save_pretrained(str(model_copy))
    with pytest.raises(ModelLoadError, match=message):
        Segmenter.from_pretrained(model_copy)
    rc, err = _cli_exit(model_copy, tmp_path, capsys)
    assert rc == 2 and str(model_copy) in err and not (tmp_path / "out.jsonl").exists()


def test_missing_model_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelLoadError, match="does not exist .pass --model DIR, or set NEWSSEG_MODEL"):
        Segmenter.from_pretrained(tmp_path / "nowhere")
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="is not a directory"):
        Segmenter.from_pretrained(not_a_dir)
    monkeypatch.setenv("NEWSSEG_MODEL", str(tmp_path / "nowhere"))  # the default model, moved away
    with pytest.raises(ModelLoadError, match="nowhere"):
        Segmenter.from_pretrained()
    page = tmp_path / "p.txt"
    page.write_text("本报讯", encoding="utf-8")
    for verb in (["predict", str(page), "-o", str(tmp_path / "o.jsonl")], ["segment", str(page)]):
        assert main([verb[0], "--model", str(tmp_path / "nowhere"), *verb[1:]]) == 2
        assert "nowhere" in capsys.readouterr().err
    assert main(["evaluate", str(page), "--model", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
