"""Corpus loading, validation, held-out list and statistics (newsseg.data.corpus)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsseg.data import corpus as corpus_mod
from newsseg.data.corpus import (CorpusArticle, CorpusError, corpus_stats, fit_ids, format_stats, heldout_ids,
                                 load_corpus, select_fit, select_heldout, write_fit, write_heldout)
from newsseg.data.cues import lead_style

SMALL = Path(__file__).parent / "data" / "corpus_small"
REPO_CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"

GOOD = {"id": "san-900", "topic": "sanitation", "subject": "sanitation", "headline": ["标题"],
        "headline_style": "single", "body": ["本报讯 正文。"], "byline": "记者 王明", "caption": None}


def _write(tmp: Path, rows: list[object], name: str = "c.jsonl") -> Path:
    p = tmp / name
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                         for r in rows), encoding="utf-8")
    return p


def test_load_small_corpus_in_file_order() -> None:
    arts = load_corpus(SMALL)
    assert [a.id for a in arts][:3] == ["san-001", "san-002", "prj-001"]
    assert len(arts) == 12
    assert arts[0].byline == "记者 孙庆辉\n高新时报 方宝岭 文/图"
    assert arts[0].headline == ["正视问题 狠抓落实", "以“绣花”之功推进创卫复审"]


def test_splits_follow_heldout_txt() -> None:
    assert heldout_ids(SMALL) == {"san-002", "inv-002", "oth-004"}  # comments and blank lines ignored
    train = load_corpus(SMALL, split="train")
    held = load_corpus(SMALL, split="heldout")
    assert {a.id for a in held} == {"san-002", "inv-002", "oth-004"}
    assert all(a.heldout for a in held) and not any(a.heldout for a in train)
    assert len(train) + len(held) == len(load_corpus(SMALL))
    with pytest.raises(ValueError, match="split"):
        load_corpus(SMALL, split="dev")  # type: ignore[arg-type]


def test_single_file_and_missing_heldout(tmp_path: Path) -> None:
    f = _write(tmp_path, [GOOD])
    assert heldout_ids(f) == set()
    assert [a.id for a in load_corpus(f)] == ["san-900"]
    with pytest.raises(CorpusError, match="no such"):
        load_corpus(tmp_path / "missing.jsonl")


@pytest.mark.parametrize("bad, message", [
    ('{"id": "x"', "invalid JSON"),
    ({**GOOD, "topic": "sports"}, "unknown topic"),
    ({**GOOD, "headline": []}, "headline"),
    ({**GOOD, "headline": ["a", "b", "c", "d"]}, "at most 3"),
    ({**GOOD, "body": ["第一段\n第二段"]}, "newline"),
    ({**GOOD, "headline_style": "banner"}, "headline_style"),
    ({k: v for k, v in GOOD.items() if k != "body"}, "missing field 'body'"),
    ({**GOOD, "caption": 3}, "caption"),
    ({**GOOD, "byline_pos": "middle"}, "byline_pos"),
    ({**GOOD, "byline": "", "byline_pos": "before"}, "byline_pos"),
])
def test_bad_records_name_file_and_line(tmp_path: Path, bad: object, message: str) -> None:
    f = _write(tmp_path, [{**GOOD, "id": "san-901"}, bad])
    with pytest.raises(CorpusError, match=message) as e:
        load_corpus(f)
    assert f"{f}:2" in str(e.value)


def test_duplicate_id_names_both_places(tmp_path: Path) -> None:
    _write(tmp_path, [GOOD], "a.jsonl")
    f = _write(tmp_path, [GOOD], "b.jsonl")
    with pytest.raises(CorpusError, match="duplicate id 'san-900'") as e:
        load_corpus(tmp_path)
    assert f"{f}:1" in str(e.value) and "a.jsonl:1" in str(e.value)


def test_any_topic_when_topics_none(tmp_path: Path) -> None:
    f = _write(tmp_path, [{**GOOD, "topic": "sports"}])
    assert load_corpus(f, topics=None)[0].topic == "sports"


def test_select_heldout_is_deterministic_and_spread() -> None:
    arts = load_corpus(SMALL)
    a = select_heldout(arts, per_topic=1, n_other=3)
    assert a == select_heldout(list(reversed(arts)), per_topic=1, n_other=3)
    by_id = {x.id: x for x in arts}
    topics = [by_id[i].topic for i in a]
    assert sorted(topics) == ["investment", "legal", "other", "other", "other", "projects", "sanitation"]
    # Round-robin over the subjects of `other`: all three subjects before a second education article.
    assert {by_id[i].subject for i in a if by_id[i].topic == "other"} == {"education", "sports", "transport"}


def test_write_heldout_round_trip(tmp_path: Path) -> None:
    f = write_heldout(["b-2", "a-1"], tmp_path)
    assert f.read_text(encoding="utf-8").splitlines()[-2:] == ["a-1", "b-2"]
    assert heldout_ids(tmp_path) == {"a-1", "b-2"}


def test_stats_numbers_and_table() -> None:
    arts = load_corpus(SMALL)
    s = corpus_stats(arts)
    assert s["articles"] == 12 and s["heldout"] == 3
    assert s["per_topic"]["other"]["articles"] == 4
    assert s["per_subject"]["other/education"] == 2 and s["per_subject"]["sanitation"] == 2
    assert s["chars_total"] == sum(a.chars for a in arts)
    assert s["per_topic"]["investment"]["chars_min"] == min(a.chars for a in arts if a.topic == "investment")
    assert s["share_caption"] == round(2 / 12, 3)
    assert s["share_benbaoxun_lead"] == round(10 / 12, 3)
    table = format_stats(s)
    assert "sanitation" in table and "other/transport" in table and "本报讯" in table


def test_corpus_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSSEG_CORPUS", str(SMALL))
    assert corpus_mod._default_corpus_dir() == SMALL
    monkeypatch.delenv("NEWSSEG_CORPUS")
    assert corpus_mod._default_corpus_dir() == REPO_CORPUS


def test_round_trip_dict() -> None:
    a = load_corpus(SMALL)[0]
    assert CorpusArticle.from_dict(a.to_dict()) == a


def test_fit_split_is_its_own(tmp_path: Path) -> None:
    rows = [{**GOOD, "id": f"san-{i:03d}"} for i in range(20)] + [{**GOOD, "id": "oth-001", "topic": "other",
                                                                   "subject": "sports"}]
    f = _write(tmp_path, rows)
    arts = load_corpus(f)
    fit = select_fit(arts, share=0.1)
    assert fit == select_fit(list(reversed(arts)), share=0.1)
    assert len(fit) == 3  # two of 20 sanitation articles, and at least one of the single sports one
    write_fit(fit, tmp_path)
    write_heldout(["san-000"] if "san-000" not in fit else ["san-001"], tmp_path)
    assert fit_ids(tmp_path) == set(fit)
    train, fitted, held = (load_corpus(f, split=x) for x in ("train", "fit", "heldout"))
    assert {a.id for a in fitted} == set(fit) and all(a.split == "fit" for a in fitted)
    assert len(held) == 1 and held[0].heldout
    assert len(train) + len(fitted) + len(held) == len(rows)
    assert not {a.id for a in train} & (set(fit) | {held[0].id})
    write_heldout(fit[:1], tmp_path)
    with pytest.raises(CorpusError, match="both"):
        load_corpus(f)


def test_byline_position_round_trips() -> None:
    a = CorpusArticle.from_dict({**GOOD, "byline_pos": "before"})
    assert a.byline_pos == "before" and CorpusArticle.from_dict(a.to_dict()) == a
    assert CorpusArticle.from_dict(GOOD).byline_pos == "after"
    assert CorpusArticle.from_dict({**GOOD, "byline": ""}).byline_pos == "none"


@pytest.mark.parametrize("lead, style", [
    ("本报讯 5月15日，高新区召开", "benbaoxun"), ("江城网讯 近日，", "dateline"), ("据北岸发布消息，", "dateline"),
    ("云溪融媒消息（记者 王明）", "dateline"), ("10月12日，", "date_time"), ("连日来，", "date_time"),
    ("入冬以来，", "date_time"), ("为进一步", "purpose"), ("按照上级部署", "purpose"),
    ("“以前下雨就积水。”", "other"), ("清晨6点，", "date_time"), ("王秀兰今年68岁", "other"),
    ("孩子放学后去哪儿？", "other"), ("1200余名志愿者", "other"),
])
def test_lead_styles(lead: str, style: str) -> None:
    assert lead_style(lead) == style


def test_repository_corpus_meets_issue_targets() -> None:
    """Issue 11: ≥ 1,200 articles, ≥ 150 per named topic, ≥ 500 `other` over ≥ 20 subjects, ≥ 3,500
    distinct characters, and lead and byline shares near those of real articles (REAL_PAGES.md)."""
    arts = load_corpus(REPO_CORPUS)
    s = corpus_stats(arts)
    assert s["articles"] >= 1200
    for t in ("sanitation", "projects", "legal", "investment"):
        assert s["per_topic"][t]["articles"] >= 150
    assert s["per_topic"]["other"]["articles"] >= 500
    assert len({a.subject for a in arts if a.topic == "other"}) >= 20
    assert s["distinct_chars"] >= 3500
    assert s["share_benbaoxun_lead"] <= 0.30 and s["lead_styles"]["dateline"] >= 0.08
    assert s["share_byline"] <= 0.5 and s["byline_positions"]["before"] >= 0.05
    assert s["headline_lines"][1] / s["articles"] >= 0.6
    assert s["briefs_60_200"] >= 50 and s["long_1000_2500"] >= 40
    assert set(s["headline_styles"]) == set(corpus_mod.HEADLINE_STYLES)
    assert heldout_ids(REPO_CORPUS) <= {a.id for a in arts} and fit_ids(REPO_CORPUS) <= {a.id for a in arts}
    # The decoder-fit split is 10 % of every (topic, subject) group of the articles not held out.
    assert set(select_fit(arts)) == fit_ids(REPO_CORPUS)
