"""The article-level topic model (newsseg.model.topic) and its fit (newsseg.train.topic_fit)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from newsseg.data.pages import Article, Page, Span
from newsseg.model.topic import (NgramTopicModel, article_texts, assign_topics, combine, encoder_topic_mass)

LABELS = ["sanitation", "legal", "other"]
TEXTS = ["垃圾分类进社区，环卫工人清扫街道", "公厕改造完成，垃圾清运及时", "法院开庭审理案件，法官调解纠纷",
         "检察院提起公益诉讼，律师提供法律援助", "学校开展读书活动，学生参加运动会", "秋收时节农民收割水稻"]
Y = ["sanitation", "sanitation", "legal", "legal", "other", "other"]


@pytest.fixture(scope="module")
def model() -> NgramTopicModel:
    return NgramTopicModel.fit(TEXTS, Y, LABELS, n_features=1 << 12, C=100.0)


def test_fit_predicts_the_topic_of_new_text(model: NgramTopicModel) -> None:
    p = model.predict_proba(["街道垃圾分类", "法院审理纠纷案件", "学生读书"])
    assert p.shape == (3, 3) and np.allclose(p.sum(1), 1.0)
    assert [model.labels[i] for i in p.argmax(1)] == ["sanitation", "legal", "other"]
    # Line breaks and spaces from OCR do not change what the model reads.
    assert np.allclose(model.predict_proba(["法院审理\n纠纷 案件"]), model.predict_proba(["法院审理纠纷案件"]))


def test_fit_refuses_a_label_without_examples() -> None:
    with pytest.raises(ValueError, match="investment"):
        NgramTopicModel.fit(TEXTS, Y, [*LABELS, "investment"], n_features=1 << 10)


def test_save_and_load_round_trip(model: NgramTopicModel, tmp_path: Path) -> None:
    entry = model.save(tmp_path)
    assert entry["file"] == "topic_ngrams.safetensors" and entry["labels"] == LABELS
    back = NgramTopicModel.load(tmp_path, entry)
    assert np.array_equal(back.coef, model.coef) and back.labels == model.labels
    assert np.allclose(back.predict_proba(TEXTS), model.predict_proba(TEXTS))
    with pytest.raises(ValueError, match="shapes"):
        NgramTopicModel.load(tmp_path, {**entry, "labels": LABELS[:2]})


def test_combine_is_log_linear() -> None:
    enc = np.array([[0.7, 0.2, 0.1]])
    ng = np.array([[0.1, 0.1, 0.8]])
    assert np.allclose(combine(enc, ng, 0.0), enc) and np.allclose(combine(enc, None, 0.7), enc)
    assert np.allclose(combine(enc, ng, 1.0), ng)
    half = combine(enc, ng, 0.5)[0]
    want = np.sqrt(enc[0] * ng[0])
    assert np.allclose(half, want / want.sum())


def test_encoder_mass_uses_body_tokens_and_assign_sets_topics() -> None:
    text = "标题\n正文甲\n正文乙"
    page = Page("p", text, [Article("a1", "other", [Span(0, 2, "headline"), Span(3, 6, "body")]),
                            Article("a2", "other", [Span(7, 10, "body")])])
    ci = np.array([0, 1, 3, 4, 5, 7, 8, 9])
    probs = np.array([[0, 0, 1]] * 2 + [[1, 0, 0]] * 3 + [[0, 1, 0]] * 3, dtype=float)
    mass = encoder_topic_mass(page, ci, probs)
    assert np.allclose(mass, [[1, 0, 0], [0, 1, 0]])  # the headline's votes do not count beside a body
    assign_topics(page, mass, None, 0.0, LABELS)
    assert [a.topic for a in page.articles] == ["sanitation", "legal"]
    assert article_texts(page) == ["标题正文甲", "正文乙"]


def test_segmenter_saves_loads_and_uses_the_topic_model(trained_dir: Path, tmp_path: Path,
                                                        model: NgramTopicModel) -> None:
    from newsseg.model.segmenter import ModelLoadError, Segmenter

    d = tmp_path / "m"
    shutil.copytree(trained_dir, d)
    seg = Segmenter.from_pretrained(d)
    labels = list(seg.config.topic_labels)
    ng = NgramTopicModel.fit(TEXTS + ["招商引资签约项目", "重点项目开工建设"],
                             Y + ["investment", "projects"], labels, n_features=1 << 12, C=100.0)
    seg.set_article_topic(ng, weight=1.0)  # the n-grams alone decide
    seg.save_pretrained(d)
    back = Segmenter.from_pretrained(d)
    assert back.article_topic is not None and back.config.article_topic["weight"] == 1.0
    text = "法院开庭审理纠纷案件，法官当庭调解。\n\n学校开展读书活动，学生参加运动会。"
    page = back.predict(text)
    assert page.articles
    texts = article_texts(page)
    assert [a.topic for a in page.articles] == [labels[i] for i in ng.predict_proba(texts).argmax(1)]
    (d / "topic_ngrams.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="article topic model"):
        Segmenter.from_pretrained(d)


def test_fit_article_topic_picks_a_weight(trained_dir: Path, compose: Any) -> None:
    from newsseg.data.corpus import load_corpus
    from newsseg.model.segmenter import Segmenter
    from newsseg.train.topic_fit import WEIGHTS, fit_article_topic

    from conftest import SMALL_CORPUS

    seg = Segmenter.from_pretrained(trained_dir)
    out = fit_article_topic(seg, load_corpus(SMALL_CORPUS, split="train"), compose(4, seed=9, noise_rate=0.0))
    assert set(out["macro_f1_by_weight"]) == {str(w) for w in WEIGHTS}
    assert out["weight"] in WEIGHTS and seg.article_topic is not None
    assert out["macro_f1_by_weight"][str(out["weight"])] == max(out["macro_f1_by_weight"].values())
