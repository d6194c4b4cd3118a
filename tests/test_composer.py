"""Composer, layout primitives, OCR noise and name substitution."""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

import pytest

from newsseg.data.commands import register
from newsseg.data.composer import BRIEF_LABELS, ComposerConfig, compose, compose_pages
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
            assert 1 <= len(page.articles) <= 12


def test_page_i_is_the_same_whatever_n_pages(train: list) -> None:
    a = _pages(train, 8, seed=7)
    b = _pages(train, 3, seed=7)
    assert [p.to_json() for p in a[:3]] == [p.to_json() for p in b]
    assert a[0].text != _pages(train, 1, seed=8)[0].text
    assert a[0].id == "syn-7-000000"


JUMP_RE = re.compile(r"^[（(]?(下转|上接|转第|接第|转下栏|接上栏|紧转下栏)")
FURNITURE_RE = re.compile(r"第\d{1,2}版|第[一二三四五六七八九十]+版|[ABCD]\d{1,2}版?|星期[一二三四五六日]|周[一二三四五六日]$|"
                          r"^(责任编辑|编辑|校对|美编|版式|审读|组版|责编|值班主任|本版编辑)|^[-—·]?\s*\d{1,2}\s*[-—·]?$|"
                          r"^第\d{1,2}页$|^【.{2,6}】$|^■.{2,6}$")


def _line_widths(p: object) -> list[int]:
    """Lengths of the body lines of a page (visible characters)."""
    return [len(ln.strip()) for a in p.articles for s in a.spans if s.role == "body"  # type: ignore[attr-defined]
            for ln in p.text[s.start:s.end].split("\n") if ln.strip()]  # type: ignore[attr-defined]


def test_layout_variety_over_pages(train: list) -> None:
    """Every layout of shared/REAL_PAGES.md shows up in 400 pages."""
    pages = _pages(train, 400, seed=1, noise_rate=0.0)
    seen: dict[str, int] = dict.fromkeys(
        ("split", "four fragments", "detached", "same topic", "lead last", "header", "brief page", "jump lines",
         "no blank line", "blank lines", "indented", "headline zone on top", "narrow columns ≤ 7",
         "wide columns ≥ 28", "mixed widths", "paragraph per line", "headline joined on one line"), 0)
    for p in pages:
        topics = [a.topic for a in p.articles]
        lines = p.text.split("\n")
        seen["same topic"] += len(topics) != len(set(topics))
        seen["brief page"] += any(ln in BRIEF_LABELS for ln in lines[:6]) and len(p.articles) >= 6
        seen["header"] += bool(re.search(r"\d{4}[年.-]\d{1,2}[月.-]\d{1,2}", p.text))
        seen["jump lines"] += any(JUMP_RE.match(ln) for ln in lines)
        seen["no blank line"] += "\n\n" not in p.text
        seen["blank lines"] += "\n\n" in p.text
        seen["indented"] += "\n\u3000\u3000" in p.text or "\n  " in p.text
        order = p.spans
        first = next((k for k, (s, _) in enumerate(order)), None)
        heads = [k for k, (s, _) in enumerate(order) if s.role == "headline"]
        seen["headline zone on top"] += first == 0 and len(heads) >= 3 and heads[:3] == [0, 1, 2]
        widths = _line_widths(p)
        if widths:
            med = sorted(widths)[len(widths) // 2]
            seen["narrow columns ≤ 7"] += med <= 7
            seen["wide columns ≥ 28"] += med >= 28
            body_lines = [ln.strip() for a in p.articles for sp in a.spans if sp.role == "body"
                          for ln in p.text[sp.start:sp.end].split("\n") if ln.strip()]
            credits = {c for a in train for c in a.byline.split("\n")} | {a.caption for a in train}
            seen["paragraph per line"] += len(body_lines) >= 5 and all(
                ln[-1] in "。！？”）" or ln in credits or any(c in ln for c in credits if c) for ln in body_lines)
            seen["mixed widths"] += len({w for w in widths if w > 3}) > 3 and max(widths) > 2 * med > 0
        for a in p.articles:
            bodies = [s for s in a.spans if s.role == "body"]
            seen["split"] += len(bodies) > 1
            seen["four fragments"] += len(bodies) >= 4
            head = next(s for s in a.spans if s.role == "headline")
            text = p.text[head.start:head.end]
            seen["headline joined on one line"] += "\n" not in text and " " in text and len(text) > 20
            i = next(k for k, (s, _) in enumerate(order) if s is head)
            neighbours = {order[k][1].id for k in (i - 1, i + 1) if 0 <= k < len(order)}
            seen["detached"] += a.id not in neighbours
            seen["lead last"] += len(bodies) > 1 and order[-1][0] is bodies[-1] and bodies[0] is not bodies[-1]
    missing = [name for name, n in seen.items() if n == 0]
    assert not missing, f"no page with {missing} in 400 pages: {seen}"


def test_furniture_is_outside_spans(train: list) -> None:
    n_furniture = 0
    for p in _pages(train, 150, seed=2, noise_rate=0.0):
        covered = [False] * len(p.text)
        for s, _ in p.spans:
            covered[s.start:s.end] = [True] * (s.end - s.start)
        pos = 0
        for line in p.text.split("\n"):
            if line.strip() and (JUMP_RE.match(line) or FURNITURE_RE.search(line)) and len(line) <= 40:
                # A printed line that looks like furniture is outside every span, unless article text
                # happens to look so (then at least it is not the whole line of a headline).
                if not any(covered[pos:pos + len(line)]):
                    n_furniture += 1
                else:
                    assert not JUMP_RE.match(line), f"{p.id}: jump line {line!r} inside a span"
            pos += len(line) + 1
    assert n_furniture > 150


def test_column_widths_follow_config(train: list) -> None:
    pages = _pages(train, 20, seed=3, width_min=10, width_max=10, wide_prob=0.0, line_jitter=0.0,
                   noise_rate=0.0, byline_weights=[1, 0, 0], caption_prob=0.0, name_swap_prob=0.0,
                   paragraph_line_prob=0.0, indent_prob=0.0)
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


def test_noise_table_and_edit_kinds() -> None:
    from newsseg.data.noise import lookalike_pairs

    assert len(lookalike_pairs()) >= 200
    assert {frozenset("己已"), frozenset("日曰"), frozenset("人入"), frozenset("土士")} <= lookalike_pairs()
    body = "会议指出，要把各项工作落到实处。区县干部深入一线，解决群众急难愁盼问题。" * 3
    page = assemble("n", [Block("标题", "a", "headline"), Block("\n".join([body[i:i + 12] for i in range(0, len(body), 12)]),
                                                                  "a", "body")], {"a": "other"})
    kinds = {"doubled": 0, "dropped": 0, "broken": 0, "garbage": 0}
    for seed in range(60):
        q = apply_ocr_noise(page, 0.1, random.Random(seed))
        validate_page(q)
        kinds["doubled"] += "，，" in q.text or "。。" in q.text
        kinds["dropped"] += q.text.count("，") + q.text.count(",") < page.text.count("，")
        kinds["broken"] += q.text.count("\n") > page.text.count("\n")
        kinds["garbage"] += any(c in q.text for c in "囗□■")
    assert all(kinds.values()), kinds


def test_legacy_noise_is_what_dev_pages_were_built_with() -> None:
    page = assemble("n", [Block("标题", "a", "headline"), Block("本报讯 正文，正文。" * 8, "a", "body")], {"a": "legal"})
    a = apply_ocr_noise(page, 0.1, random.Random(3), legacy=True)
    b = apply_ocr_noise(page, 0.1, random.Random(3), legacy=True)
    assert a.to_json() == b.to_json() and a.text != page.text


def test_indentation_and_byline_before_the_lead() -> None:
    frags = body_fragments(["一二三四五六", "七八九十"], "本报记者 王明", BodyLayout([4], indent="\u3000\u3000",
                                                                            byline_first=True))
    # The indentation takes two of the four columns of a paragraph's first line.
    assert frags == ["本报记者 王明\n\u3000\u3000一二\n三四五六\n\u3000\u3000七八\n九十"]
    page = assemble("p", [Block("标题", "a", "headline"), Block(frags[0].replace("本报记者 王明\n", ""), "a", "body")],
                    {"a": "other"})
    body = page.articles[0].spans[1]
    assert page.text[body.start] == "一" and page.text[body.start - 2:body.start] == "\u3000\u3000"
    validate_page(page)
