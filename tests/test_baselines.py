"""Baselines on tiny hand-made pages: fit + predict give valid pages; the rules find lead starts."""

from __future__ import annotations

from typing import Sequence

import pytest

from newsseg.data.pages import DEFAULT_TOPICS, Article, Page, Span, validate_page
from newsseg.evaluate.baselines import (RuleBaseline, SklearnBaseline, assemble, gold_line_labels,
                                        page_lines, train_baselines)


def build(pid: str, blocks: Sequence[tuple[str, int | None, str]], topics: Sequence[str]) -> Page:
    """A gold page from ``(line text, article index or None, role)``; lines joined by newlines.

    Consecutive lines of the same article and role form one span.
    """
    text, spans, pos = "", [], 0
    for line, art, role in blocks:
        if art is not None:
            if spans and spans[-1][0] == art and spans[-1][3] == role and spans[-1][2] == pos - 1:
                spans[-1][2] = pos + len(line)
            else:
                spans.append([art, pos, pos + len(line), role])
        text += line + "\n"
        pos += len(line) + 1
    arts = [Article(f"a{i + 1}", t, [Span(s, e, r) for a, s, e, r in spans if a == i]) for i, t in enumerate(topics)]
    return Page(pid, text, [a for a in arts if a.spans])


LEGAL = ["本报讯 高新区召开政法队", "伍教育整顿推进会，部署", "下一阶段工作。会议要求", "各政法单位加强执法监督。", "记者 张伟"]
PROJECT = ["本报讯 高新区重点项目集", "中开工，总投资十亿元，", "涵盖先进制造业等领域。", "项目建设进展顺利。"]
HEAD = "重点项目集中开工"


def sample_pages(n: int = 6) -> list[Page]:
    """Pages with a legal article, a blank line, a headline, then a projects article (order varied)."""
    pages = []
    for i in range(n):
        legal = [(ln, 0, "body") for ln in LEGAL]
        proj = [("", None, ""), (HEAD, 1, "headline"), ("", None, ""), *((ln, 1, "body") for ln in PROJECT)]
        furniture = [(f"第{i + 1}版 要闻", None, "")]
        blocks = furniture + (legal + proj if i % 2 == 0 else proj[1:] + [("", None, "")] + legal)
        pages.append(build(f"t{i}", blocks, ["legal", "projects"]))
    return pages


def test_build_helper_makes_valid_gold() -> None:
    for p in sample_pages():
        validate_page(p)
        assert {a.topic for a in p.articles} == {"legal", "projects"}


def test_gold_line_labels() -> None:
    p = sample_pages(1)[0]
    labels = gold_line_labels(p, page_lines(p.text))
    # furniture, 5 legal body lines (byline included), headline, 4 projects body lines
    assert labels == ["O", "B-body", "I-body", "I-body", "I-body", "I-body", "B-head",
                      "B-body", "I-body", "I-body", "I-body"]


def test_assemble_links_headlines_to_the_following_body() -> None:
    text = "标题一\n正文一\n正文一\n标题二\n第2版\n正文二\n标题三\n"
    lines = page_lines(text)
    page = assemble("x", text, lines, ["B-head", "B-body", "I-body", "B-body", "O", "I-body", "B-head"])
    # 标题一 joins the first body; 标题二 was labelled B-body so it opens article 2; the body after
    # the furniture line continues article 2 in a new span; the trailing headline joins the last body.
    assert [[text[s.start:s.end] for s in a.spans] for a in page.articles] == [
        ["标题一", "正文一\n正文一"], ["标题二", "正文二", "标题三"]]
    assert [s.role for s in page.articles[1].spans] == ["body", "body", "headline"]
    validate_page(page)
    # A page of headlines only still yields one (headline-only) article; no lines -> no articles.
    assert len(assemble("y", "标题\n", page_lines("标题\n"), ["B-head"]).articles) == 1
    assert assemble("z", "  \n", page_lines("  \n"), []).articles == []


def test_rule_baseline_finds_lead_starts_and_headlines() -> None:
    gold = sample_pages(1)[0]
    pred = RuleBaseline().fit(sample_pages()).predict([gold.text])[0]
    validate_page(pred)
    assert pred.text == gold.text and pred.id == "page-1"
    leads = [i for i in range(len(gold.text)) if gold.text.startswith("本报讯", i)]
    body_starts = sorted(s.start for s, _ in pred.spans if s.role == "body")
    assert body_starts == leads  # one body span per lead; the furniture line is left outside
    # The headline is found and attached to the projects article that follows it.
    proj = [a for a in pred.articles if "总投资" in a.body][0]
    assert proj.headline == HEAD and proj.topic == "projects"
    assert [a for a in pred.articles if "政法" in a.body][0].topic == "legal"


def test_rule_baseline_starts_fragment_after_byline() -> None:
    text = "本报讯 甲区开展卫生大扫除，\n清理垃圾十吨。\n记者 王芳\n会后，乙区召开\n项目推进会。\n"
    pred = RuleBaseline().predict([text])[0]
    # No lead on the line after the byline, but the byline closes the first article.
    assert [a.body_raw for a in pred.articles] == ["本报讯 甲区开展卫生大扫除，\n清理垃圾十吨。\n记者 王芳",
                                               "会后，乙区召开\n项目推进会。"]


@pytest.mark.parametrize("cls", [RuleBaseline, SklearnBaseline])
def test_fit_predict_gives_valid_pages(cls: type) -> None:
    train = sample_pages()
    model = cls().fit(train)
    inputs: list[str | Page] = [train[0], train[1].text, "", " \n \n", "单行文本"]
    preds = model.predict(inputs)
    assert len(preds) == len(inputs)
    assert preds[0].id == "t0" and preds[1].id == "page-2"
    for src, p in zip(inputs, preds):
        assert p.text == (src.text if isinstance(src, Page) else src)
        validate_page(p, topics=DEFAULT_TOPICS)
    assert preds[2].articles == [] and preds[3].articles == []


def test_sklearn_baseline_learns_the_layout() -> None:
    train = sample_pages()
    pred = SklearnBaseline().fit(train).predict(train[:2])
    for gold, p in zip(train, pred):
        # Lines this regular are learnt exactly: same spans, same topics.
        assert sorted((s.start, s.end, s.role) for s, _ in p.spans) == \
            sorted((s.start, s.end, s.role) for s, _ in gold.spans)
        assert sorted(a.topic for a in p.articles) == ["legal", "projects"]
        assert all(a.score is not None and 0 <= a.score <= 1 for a in p.articles)


def test_sklearn_baseline_needs_varied_training_pages() -> None:
    with pytest.raises(ValueError, match="at least two"):
        SklearnBaseline().fit([])


def test_train_baselines() -> None:
    fitted = train_baselines(sample_pages())
    assert set(fitted) == {"rules", "sklearn"}
