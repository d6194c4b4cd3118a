"""The evaluation pages (data/pages/dev.jsonl, dev-hard.jsonl, dev-ocr.jsonl) and their separation from training data."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from newsseg.data.composer import compose_pages
from newsseg.data.corpus import fit_ids, heldout_ids, load_corpus
from newsseg.data.pages import read_pages, validate_page

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "data" / "pages" / "dev.jsonl"
DEV_HARD = ROOT / "data" / "pages" / "dev-hard.jsonl"
DEV_OCR = ROOT / "data" / "pages" / "dev-ocr.jsonl"
HARD_LAYOUTS = {"attached", "detached", "zone", "split", "briefs", "sametopic", "mixed", "transcript"}
SAMPLE = ROOT / "data" / "pages" / "gaoxin-times-2021-05-p1.txt"
CORPUS = ROOT / "data" / "corpus"
SAMPLE_ID = "gaoxin-times-2021-05-p1"


@pytest.fixture(scope="module")
def dev() -> list:
    return read_pages(DEV)  # validates every page


def test_dev_pages_validate_and_are_enough(dev: list) -> None:
    assert len(dev) >= 20
    assert len({p.id for p in dev}) == len(dev)
    assert dev[0].id == SAMPLE_ID


def test_sample_page_is_labelled_as_read(dev: list) -> None:
    p = dev[0]
    assert p.text == SAMPLE.read_text(encoding="utf-8")
    shared = ROOT.parent / "shared" / "samples" / SAMPLE.name
    if shared.exists():
        assert SAMPLE.read_bytes() == shared.read_bytes()
    arts = {a.id: a for a in p.articles}
    assert {a.topic for a in p.articles} == {"sanitation", "projects", "legal", "investment"}
    assert sum(len(a.spans) for a in p.articles) == 9
    assert arts["projects"].headline_raw == "总投资96.6亿元\n\n高新区第二季度重点项目集中开工"
    assert arts["projects"].headline == "总投资96.6亿元 高新区第二季度重点项目集中开工"
    assert arts["sanitation"].headline_raw.split("\n") == [
        "正视问题 狠抓落实", "以“绣花”之功推进创卫复审", "高新区举办迎接国家卫生城市复审工作现场观摩会"]
    assert arts["investment"].headline_raw == "高新区加快数字化转型\n为高质量发展注入新动能"
    # All four headlines come after the first three bodies; the projects lead closes the page.
    order = p.spans
    first_head = min(i for i, (s, _) in enumerate(order) if s.role == "headline")
    assert [a.id for _, a in order[:first_head]] == ["sanitation", "projects", "investment"]
    last, owner = order[-1]
    assert owner.id == "projects" and p.text[last.start:last.end].startswith("本报讯 夏意盎然")
    assert p.text[last.start:last.end].endswith("记者 孙庆辉 高新时报 方宝岭 文/图")
    # The column label and the bylines: furniture outside, credits inside bodies.
    label = p.text.index("高新区在行动")
    assert not any(s.start <= label < s.end for s, _ in order)
    assert arts["legal"].body_raw.endswith("记者 孙庆辉\n通讯员 冯瑶")
    assert arts["legal"].body.endswith("记者 孙庆辉通讯员 冯瑶")


def test_dev_articles_are_held_out_and_hard_layouts_dominate(dev: list) -> None:
    held = heldout_ids(CORPUS)
    corpus = {a.id: a for a in load_corpus(CORPUS)}
    hard = 0
    for p in dev[1:]:
        for a in p.articles:
            assert a.id in held, f"{p.id}: {a.id} is not held out"
            assert a.topic == corpus[a.id].topic
        order = p.spans
        split = any(sum(s.role == "body" for s in a.spans) > 1 for a in p.articles)
        detached = any(order[i][0].role == "headline" and not any(
            order[j][1] is order[i][1] for j in (i - 1, i + 1) if 0 <= j < len(order)) for i in range(len(order)))
        hard += split or detached
    assert hard >= len(dev[1:]) / 2


def test_training_composition_never_uses_dev_articles(dev: list) -> None:
    used = {a.id for p in dev[1:] for a in p.articles}
    train = load_corpus(CORPUS, split="train")
    assert not used & {a.id for a in train}
    pages = list(compose_pages(train, 300, seed=11))
    for p in pages:
        validate_page(p)
    seen = {a.id for p in pages for a in p.articles}
    assert seen and not seen & (used | heldout_ids(CORPUS))


def test_composer_refuses_a_dev_article(dev: list) -> None:
    held = load_corpus(CORPUS, split="heldout")
    dev_id = dev[1].articles[0].id
    article = next(a for a in held if a.id == dev_id)
    train = load_corpus(CORPUS, split="train")
    with pytest.raises(ValueError, match=dev_id):
        list(compose_pages(train[:5] + [article], 1, seed=0))
    plain = type(article)(**{**article.__dict__, "split": "train"})  # flag dropped: the id list still refuses it
    with pytest.raises(ValueError, match=dev_id):
        list(compose_pages([plain], 1, seed=0))


def test_dev_jsonl_is_what_build_dev_makes(dev: list) -> None:
    mod = _build_module("build_dev")
    assert [p.to_json() for p in mod.build()] == [p.to_json() for p in dev]  # type: ignore[attr-defined]


def _build_module(name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, ROOT / "data" / "pages" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up while the file executes
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def hard() -> list:
    return read_pages(DEV_HARD)


def test_dev_hard_covers_every_layout_with_held_out_articles(hard: list) -> None:
    assert len(hard) >= 40 and len({p.id for p in hard}) == len(hard)
    layouts = {p.id.split("-")[1] for p in hard}
    assert layouts == HARD_LAYOUTS
    held = heldout_ids(CORPUS)
    corpus = {a.id: a for a in load_corpus(CORPUS)}
    for p in hard:
        assert len(p.articles) >= 3, p.id
        for a in p.articles:
            assert a.id in held, f"{p.id}: {a.id} is not held out"
            assert a.topic == corpus[a.id].topic
    texts = [p.text for p in hard]
    assert sum("\n\n" not in t for t in texts) >= len(hard) / 4          # many pages without blank lines
    assert sum("\u3000\u3000" in t for t in texts) >= 5                    # full-width indentation
    assert sum(any(sum(s.role == "body" for s in a.spans) >= 3 for a in p.articles) for p in hard) >= 3


def test_dev_hard_is_what_its_builder_makes_from_the_plans(hard: list) -> None:
    mod = _build_module("build_dev_hard")
    assert [p.to_json() for p in mod.build()] == [p.to_json() for p in hard]  # type: ignore[attr-defined]


def test_dev_hard_builder_does_not_use_the_training_generator() -> None:
    """Hand-planned pages must not be laid out by the composer's functions or its furniture lists."""
    import ast

    tree = ast.parse((ROOT / "data" / "pages" / "build_dev_hard.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported, "no imports found: the check would pass vacuously"
    for module in ("composer", "layout", "noise", "furniture", "names"):
        assert f"newsseg.data.{module}" not in imported, module


def test_training_and_decoder_fit_pages_never_see_evaluation_articles(dev: list, hard: list) -> None:
    """Articles of evaluation pages are in neither the training split nor the decoder-fit split, and
    the two are disjoint, so the decoder is fitted on pages the encoder never trained on."""
    evaluation = {a.id for p in dev[1:] + hard for a in p.articles}
    train = {a.id for a in load_corpus(CORPUS, split="train")}
    fit = {a.id for a in load_corpus(CORPUS, split="fit")}
    assert fit == fit_ids(CORPUS) and len(fit) >= 0.08 * (len(train) + len(fit))
    assert not evaluation & train and not evaluation & fit and not train & fit
    for split, ids in (("train", train), ("fit", fit)):
        pages = list(compose_pages(load_corpus(CORPUS, split=split), 100, seed=5))  # type: ignore[arg-type]
        assert {a.id for p in pages for a in p.articles} <= ids


def test_dev_ocr_pages_are_tesseract_output_of_held_out_articles() -> None:
    """dev-ocr.jsonl: ≥ 30 rendered pages read by Tesseract; every article held out, topics as the corpus's;
    the text shows what an OCR engine does (two columns across a gutter, headlines sharing a line)."""
    from newsseg.data.encoding import GUTTER_RE

    pages = read_pages(DEV_OCR)  # validates every page
    assert len(pages) >= 30 and all(p.id.startswith("ocr-dev-ocr-") for p in pages)
    held = heldout_ids(CORPUS)
    corpus = {a.id: a for a in load_corpus(CORPUS)}
    for p in pages:
        assert len(p.articles) >= 2, p.id
        for a in p.articles:
            assert a.id in held and a.topic == corpus[a.id].topic, (p.id, a.id)
    lines = [ln for p in pages for ln in p.text.split("\n") if ln.strip()]
    assert 0.01 < sum(bool(GUTTER_RE.search(ln)) for ln in lines) / len(lines) < 0.2
    shared = [bool(p.text[p.text.rfind("\n", 0, s.start) + 1:s.start].strip())
              for p in pages for a in p.articles for s in a.spans if s.role == "headline"]
    assert sum(shared) / len(shared) > 0.1
