"""Composer, layout primitives, OCR noise and name substitution."""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

import pytest

from newsseg.data.commands import register
from newsseg.data.composer import COLUMN_LABELS, ComposerConfig, compose, compose_pages
from newsseg.data.corpus import load_corpus
from newsseg.data.layout import Block, BodyLayout, assemble, body_fragments, headline_block, wrap
from newsseg.data.names import find_names, place_kind, swap_names
from newsseg.data.noise import apply_ocr_noise
from newsseg.data.pages import read_pages, validate_page

SMALL = Path(__file__).parent / "data" / "corpus_small"


@pytest.fixture(scope="module")
def train() -> list:
    return load_corpus(SMALL, split="train")


def _pages(train: list, n: int, seed: int = 0, **knobs: object) -> list:
    return list(compose_pages(train, n, seed, ComposerConfig.from_dict(knobs), heldout=set()))


# ------------------------------------------------------------------ layout primitives
def test_wrap_breaks_mid_word_and_counts_ascii_as_half() -> None:
    assert wrap("一二三四五六七八九十", 4) == ["一二三四", "五六七八", "九十"]
    assert wrap("ab12一二三", 2) == ["ab12", "一二", "三"]  # four half-width chars fill two columns


def test_wrap_keeps_punctuation_rules() -> None:
    lines = wrap("一二三，四五六。”七八“九十", 3)
    assert all(ln[0] not in "，。”" for ln in lines)           # closing marks hang at the line end
    assert all(ln[-1] != "“" for ln in lines)                # opening quotes start the next line
    assert "".join(lines) == "一二三，四五六。”七八“九十"


def test_headline_block_one_line_each_and_wraps_long_lines() -> None:
    assert headline_block(["总投资96.6亿元", "高新区集中开工"], blank=True) == "总投资96.6亿元\n\n高新区集中开工"
    long = "高新区举办迎接国家卫生城市复审工作现场观摩会暨动员大会"
    assert headline_block([long], max_width=24).split("\n") == [long[:24], long[24:]]


def test_body_fragments_exact_cuts_and_credit_modes() -> None:
    paras = ["一二三四五六七八九十", "甲乙丙丁戊己庚辛", "子丑寅卯"]
    frags = body_fragments(paras, "记者 王明\n通讯员 李红", BodyLayout([4, 6], cuts=[(1, 1)]))
    assert frags == ["一二三四\n五六七八\n九十\n甲乙丙丁", "戊己庚辛\n子丑寅卯\n记者 王明\n通讯员 李红"]
    joined = body_fragments(paras, "记者 王明\n通讯员 李红", BodyLayout([20], byline="joined", para_blank=True))
    assert joined == ["一二三四五六七八九十\n\n甲乙丙丁戊己庚辛\n\n子丑寅卯\n记者 王明 通讯员 李红"]
    app = body_fragments(paras[:1], "记者 王明", BodyLayout([6], byline="append"))
    assert app == ["一二三四五六\n七八九十记者 王明"]
    with pytest.raises(ValueError, match="cut"):
        body_fragments(paras, "", BodyLayout([4, 4], cuts=[(5, 0)]))


def test_column_breaks_insert_blank_lines_mid_paragraph() -> None:
    frags = body_fragments(["一二三四五六七八九十一二"], "", BodyLayout([2], column=(3, 0)))
    assert frags == ["一二\n三四\n五六\n\n七八\n九十\n一二"]


def test_assemble_spans_and_merge_of_adjacent_fragments() -> None:
    page = assemble("p", [Block("高新时报"), Block("标题", "a", "headline"), Block("正文一", "a", "body", "\n"),
                          Block("正文二", "a", "body"), Block("第1版")], {"a": "projects"})
    assert page.text == "高新时报\n\n标题\n正文一\n\n正文二\n\n第1版"
    spans = [(page.text[s.start:s.end], s.role) for s in page.articles[0].spans]
    assert spans == [("标题", "headline"), ("正文一\n\n正文二", "body")]


# ------------------------------------------------------------------ composed pages
def test_many_pages_validate_with_and_without_noise(train: list) -> None:
    for seed in range(3):
        for page in _pages(train, 60, seed, noise_rate=0.0) + _pages(train, 60, seed, noise_rate=0.05):
            validate_page(page)
            assert 1 <= len(page.articles) <= 6


def test_page_i_is_the_same_whatever_n_pages(train: list) -> None:
    a = _pages(train, 8, seed=7)
    b = _pages(train, 3, seed=7)
    assert [p.to_json() for p in a[:3]] == [p.to_json() for p in b]
    assert a[0].text != _pages(train, 1, seed=8)[0].text
    assert a[0].id == "syn-7-000000"


def test_layout_variety_over_pages(train: list) -> None:
    pages = _pages(train, 300, seed=1, noise_rate=0.0)
    split = detached = same_topic = lead_last = header = brief = label = 0
    for p in pages:
        topics = [a.topic for a in p.articles]
        same_topic += len(topics) != len(set(topics))
        brief += p.text.split("\n", 1)[0] in ("简讯", "新闻速递", "综合新闻", "本地快讯", "短新闻", "动态")
        header += bool(re.search(r"\d{4}年\d{1,2}月\d{1,2}日 星期[一二三四五六日]", p.text))
        label += any(ln in COLUMN_LABELS for ln in p.text.split("\n"))
        order = p.spans
        for a in p.articles:
            bodies = [s for s in a.spans if s.role == "body"]
            split += len(bodies) > 1
            head = next(s for s in a.spans if s.role == "headline")
            i = next(k for k, (s, _) in enumerate(order) if s is head)
            neighbours = {order[k][1].id for k in (i - 1, i + 1) if 0 <= k < len(order)}
            detached += a.id not in neighbours
            lead_last += len(bodies) > 1 and order[-1][0] is bodies[-1] and p.text[bodies[-1].start:].startswith("本报讯")
    for name, n in [("split", split), ("detached", detached), ("same topic", same_topic), ("lead last", lead_last),
                    ("header", header), ("brief", brief), ("column label", label)]:
        assert n > 0, f"no page with {name} in 300 pages"


def test_furniture_is_outside_spans(train: list) -> None:
    for p in _pages(train, 100, seed=2, noise_rate=0.0):
        covered = [False] * len(p.text)
        for s, _ in p.spans:
            covered[s.start:s.end] = [True] * (s.end - s.start)
        pos = 0
        for line in p.text.split("\n"):
            furniture = line in COLUMN_LABELS or re.fullmatch(r".*(第\d版|[ABC]\d版|星期[一二三四五六日]).*", line) \
                or line.startswith(("责任编辑", "校对", "美编", "编辑", "版式", "审读"))
            if furniture and line:
                assert not any(covered[pos:pos + len(line)]), f"{p.id}: furniture {line!r} inside a span"
            pos += len(line) + 1


def test_column_widths_follow_config(train: list) -> None:
    pages = _pages(train, 20, seed=3, width_min=10, width_max=10, wide_prob=0.0, line_jitter=0.0,
                   noise_rate=0.0, byline_weights=[1, 0, 0], caption_prob=0.0, name_swap_prob=0.0)
    credits = {ln for a in train for ln in a.byline.split("\n")}  # credit lines are never wrapped
    widths = [sum(1 if ord(c) < 0x2000 else 2 for c in ln) for p in pages for a in p.articles
              for s in a.spans if s.role == "body" for ln in p.text[s.start:s.end].split("\n")
              if ln not in credits]
    assert max(widths) <= 2 * 12  # ten characters plus at most two hanging punctuation marks
    assert widths.count(20) > len(widths) / 3


def test_heldout_articles_are_refused(train: list) -> None:
    everything = load_corpus(SMALL)
    with pytest.raises(ValueError, match="inv-002") as e:
        list(compose_pages(everything, 1, 0))
    assert "oth-004" in str(e.value) and "san-002" in str(e.value)
    with pytest.raises(ValueError, match="san-001"):
        list(compose_pages(train, 1, 0, heldout={"san-001"}))
    assert len(list(compose_pages(everything, 2, 0, allow_heldout=True))) == 2


def test_config_from_dict_parses_cli_strings() -> None:
    cfg = ComposerConfig.from_dict({"width_max": "16", "fragment_weights": "[1, 1]", "noise_rate": 0})
    assert cfg.width_max == 16 and cfg.fragment_weights == (1, 1) and cfg.noise_rate == 0
    with pytest.raises(ValueError, match="unknown composer knob 'widht_max'"):
        ComposerConfig.from_dict({"widht_max": 3})
    with pytest.raises(ValueError, match="min_articles"):
        ComposerConfig.from_dict({"min_articles": 5, "max_articles": 2})


def test_compose_writes_valid_jsonl_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.jsonl"
    res = compose(SMALL, 25, 4, out, noise_rate=0.02)
    assert res["pages"] == 25 and res["corpus_articles"] == 9
    assert len(read_pages(out)) == 25
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["compose", "--corpus", str(SMALL), "--pages", "5", "--seed", "4", "-o",
                              str(tmp_path / "q.jsonl"), "--set", "noise_rate=0.02", "-q"])
    assert args.func(args) == 0
    first = json.loads((tmp_path / "q.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first == json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    args = parser.parse_args(["compose", "--corpus", str(SMALL), "-o", str(tmp_path / "r.jsonl"), "--set", "bad=1"])
    assert args.func(args) == 1 and "unknown composer knob" in capsys.readouterr().err


# ------------------------------------------------------------------ noise
def test_noise_keeps_spans_valid_and_changes_text(train: list) -> None:
    clean = _pages(train, 40, seed=5, noise_rate=0.0)
    rng = random.Random(0)
    changed = 0
    for p in clean:
        for rate in (0.01, 0.1, 0.3):
            q = apply_ocr_noise(p, rate, rng)
            validate_page(q)
            assert [len(a.spans) for a in q.articles] == [len(a.spans) for a in p.articles]
            changed += q.text != p.text
    assert changed >= 100
    assert apply_ocr_noise(clean[0], 0.0, rng).to_json() == clean[0].to_json()


def test_noise_moves_spans_with_the_text() -> None:
    page = assemble("n", [Block("第1版"), Block("标题一", "a", "headline"), Block("本报讯 正文，正文。" * 5, "a", "body"),
                          Block("标题二", "b", "headline")], {"a": "legal", "b": "other"})
    for seed in range(30):
        q = apply_ocr_noise(page, 0.2, random.Random(seed))
        validate_page(q)
        # The last headline is 3 characters at the end: whatever happened before, its span still ends the text.
        last = q.articles[1].spans[0]
        assert q.text[last.start:last.end].strip() and last.end >= len(q.text.rstrip()) - 1


# ------------------------------------------------------------------ names
def test_swap_names_is_consistent() -> None:
    art = load_corpus(SMALL)[0]  # 高新区, 枫杨办事处, 和谐社区, 张红军, credits
    found = find_names(art)
    assert {"高新区": "新区", "枫杨办事处": "办事处", "和谐社区": "社区", "张红军": "person", "孙庆辉": "person",
            "方宝岭": "person"}.items() <= found.items()
    new = swap_names(art, random.Random(3), found)
    text = "\n".join(new.body + [new.byline, new.caption or ""])
    for name in found:
        assert name not in text
    lead = new.body[0]
    place = lead[lead.index("日，") + 2:lead.index("召开")]
    assert place_kind(place) == "新区" and place != "高新区"
    reporter = new.byline.split("\n")[0].split()[1]
    assert new.byline.startswith("记者 ") and len(reporter) == 3
    photographer = new.byline.split("\n")[1].split()[1]
    assert new.caption is not None and new.caption.endswith(f" {photographer} 摄")  # same person, same new name
