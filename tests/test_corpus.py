"""Corpus loading, validation, held-out list and statistics (newsseg.data.corpus)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsseg.data import corpus as corpus_mod
from newsseg.data.corpus import (CorpusArticle, CorpusError, corpus_stats, format_stats, heldout_ids,
                                 load_corpus, select_heldout, write_heldout)

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


@pytest.mark.skipif(not (REPO_CORPUS / "heldout.txt").exists(), reason="repository corpus not present")
def test_repository_corpus_meets_issue_targets() -> None:
    arts = load_corpus(REPO_CORPUS)
    s = corpus_stats(arts)
    for t in ("sanitation", "projects", "legal", "investment"):
        assert s["per_topic"][t]["articles"] >= 50
    assert s["per_topic"]["other"]["articles"] >= 100
    assert len({a.subject for a in arts if a.topic == "other"}) >= 8
    assert set(s["headline_styles"]) == set(corpus_mod.HEADLINE_STYLES)
    assert heldout_ids(REPO_CORPUS) <= {a.id for a in arts}
