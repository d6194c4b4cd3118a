"""The learned body-fragment linker: pair features, gold pairs, fitting, and clustering with it."""

from __future__ import annotations

import numpy as np
import pytest

from newsseg.data.pages import Article, Page, Span
from newsseg.model import decoding
from newsseg.model.linker import FEATURES, LearnedLinker, fit_linker, linker_training_pairs, pair_features

TEXT = ("本报讯 甲区召开卫生大会，\n部署下一阶段\n"   # 0: lead, ends mid-sentence
        "环境整治工作。\n记者 王芳\n"                 # 1: continues 0, ends with a byline
        "本报讯 乙区重点项目开工。\n下转第4版\n"       # 2: another lead, jumps out
        "（上接第1版）项目总投资3亿元。")               # 3: the continuation of 2


def _bodies() -> list[decoding.Fragment]:
    cuts = [0, TEXT.index("环境"), TEXT.index("本报讯 乙"), TEXT.index("（上接"), len(TEXT)]
    out = []
    for i, (a, b) in enumerate(zip(cuts, cuts[1:])):
        t = TEXT[a:b].rstrip("\n")
        topic = np.eye(5)[0 if i < 2 else 1]
        out.append(decoding.Fragment(Span(a, a + len(t), "body"), i, topic, t, lead=t.startswith("本报讯")))
    return out


def test_pair_features_say_what_they_name() -> None:
    bodies = _bodies()
    sim = np.eye(4)
    f = pair_features(bodies, sim)
    assert f.shape == (4, 4, len(FEATURES))
    col = {name: i for i, name in enumerate(FEATURES)}
    assert f[0, 1, col["adjacent"]] == 1 and f[0, 2, col["adjacent"]] == 0
    assert f[0, 1, col["adjacent_midsentence"]] == 1          # "部署下一阶段" has no sentence end
    assert f[0, 1, col["topic_cos"]] == pytest.approx(1.0) and f[1, 2, col["topic_cos"]] == 0
    assert f[0, 2, col["one_lead"]] == 0 and f[0, 1, col["one_lead"]] == 1   # two leads vs one
    assert f[1, 2, col["byline_between"]] == 1 and f[0, 1, col["byline_between"]] == 0
    assert f[2, 3, col["jump_out"]] == 1 and f[2, 3, col["jump_in"]] == 1
    assert np.array_equal(f, f.transpose(1, 0, 2))            # the earlier fragment always comes first


def test_training_pairs_follow_the_gold_articles() -> None:
    bodies = _bodies()
    gold = Page("p", TEXT, [Article("a", "sanitation", [Span(b.span.start, b.span.end, "body") for b in bodies[:2]]),
                            Article("b", "projects", [Span(b.span.start, b.span.end, "body") for b in bodies[2:]])])
    x, y = linker_training_pairs([(bodies, np.eye(4))], gold)
    assert x.shape == (6, len(FEATURES))
    assert y.tolist() == [True, False, False, False, False, True]  # (0,1) and (2,3) share an article


def test_fit_and_cluster_with_the_learned_linker() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES)))
    y = x[:, FEATURES.index("text_sim")] > 0                 # text similarity decides, in this toy
    linker = fit_linker(x, y)
    assert linker is not None and linker.coef[FEATURES.index("text_sim")] > 1.0
    assert fit_linker(x, np.ones(400, dtype=bool)) is None    # one class: nothing to learn
    back = LearnedLinker.from_dict(linker.to_dict())
    assert back is not None and back.coef == pytest.approx(linker.coef, abs=1e-6)

    bodies = _bodies()
    sim = np.array([[1, .9, .0, .0], [.9, 1, .0, .0], [.0, .0, 1, .9], [.0, .0, .9, 1]])
    only_sim = LearnedLinker([0.0] * len(FEATURES), -2.0)
    only_sim.coef[FEATURES.index("text_sim")] = 5.0
    clusters = decoding._cluster_bodies(bodies, sim, decoding.DEFAULT_LINK, only_sim)
    assert sorted(clusters) == [[0, 1], [2, 3]]
    # Two leads never share an article, whatever the pair model says.
    always = LearnedLinker([0.0] * len(FEATURES), 10.0)
    clusters = decoding._cluster_bodies(bodies, sim, decoding.DEFAULT_LINK, always)
    assert all(sum(bodies[i].lead for i in c) <= 1 for c in clusters) and len(clusters) == 2
    with pytest.raises(ValueError, match="features"):
        LearnedLinker([0.0], 0.0, features=["other"]).pair_scores(bodies, sim)
