"""The page model: pure-tensor checks of the CRF and pair head, and a tiny model trained on composed pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch

from newsseg.model.page_model import NEG, PageModel, PageModelConfig, allowed_transitions
from newsseg.train.page_fit import HEAD_HAND_WEIGHTS, TOPIC_STATE_WEIGHTS


def _tiny(n_features: int = 6, layers: int = 1, max_lines: int = 8) -> PageModel:
    torch.manual_seed(0)
    return PageModel(PageModelConfig(n_features=n_features, hidden=16, layers=layers, heads=2, ff=32,
                                     link_dim=8, max_lines=max_lines))


def test_allowed_transitions_are_bio() -> None:
    ok = allowed_transitions()
    assert not ok[0, 2] and not ok[0, 4] and not ok[3, 2] and not ok[1, 4]   # I-x only after x
    assert ok[1, 2] and ok[2, 2] and ok[3, 4] and ok[4, 4] and ok[2, 3] and ok[4, 1] and ok[0, 1]


@pytest.mark.parametrize("layers", [0, 1])
def test_forward_shapes_loss_and_symmetric_pairs(layers: int) -> None:
    model = _tiny(layers=layers)
    x = torch.randn(2, 5, 6)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    tags = torch.tensor([[1, 2, 3, 4, 0], [3, 4, 4, 0, 0]])
    arts = torch.tensor([[0, 0, 0, 0, -1], [1, 1, 1, -1, -1]])
    out = model(x, mask, tags, arts, spans=torch.tensor([[0, 0, 1, 1, -1], [2, 2, 2, -1, -1]]))
    assert out["emissions"].shape == (2, 5, 5) and out["states"].shape == (2, 5, 16)
    assert torch.isfinite(out["loss"]) and out["loss"] > 0
    out["loss"].backward()
    assert model.q.weight.grad is not None and model.tag_head.weight.grad is not None
    s = model.pair_logits(out["states"])
    assert torch.allclose(s, s.transpose(1, 2))


def test_topic_head_trains_on_article_lines_only_and_decodes_distributions() -> None:
    model = PageModel(PageModelConfig(n_features=6, hidden=16, layers=1, heads=2, ff=32, max_lines=8, n_topics=5)).eval()  # no dropout
    x, mask = torch.randn(1, 4, 6), torch.ones(1, 4, dtype=torch.bool)
    tags, arts = torch.tensor([[1, 3, 4, 0]]), torch.tensor([[0, 0, 0, -1]])
    without = model(x, mask, tags, arts)["loss"]
    none = model(x, mask, tags, arts, topics=torch.full((1, 4), -100))["loss"]  # no article line: no topic term
    with_topics = model(x, mask, tags, arts, topics=torch.tensor([[2, 2, 2, -100]]))["loss"]
    assert torch.allclose(without, none) and with_topics > without
    with_topics.backward()
    assert model.topic_head is not None and model.topic_head.weight.grad is not None
    dec = model.decode(np.random.default_rng(1).normal(size=(11, 6)).astype(np.float32))  # over one window
    assert dec.topics.shape == (11, 5) and np.allclose(dec.topics.sum(1), 1.0, atol=1e-5)
    assert _tiny().decode(np.zeros((3, 6), dtype=np.float32)).topics.shape == (3, 0)  # no head: no topics


def test_line_topic_mass_averages_the_lines_of_each_article() -> None:
    from newsseg.data.pages import Article, Page, Span
    from newsseg.model.topic import line_topic_mass

    text = "标题一\n正文一\n标题二\n正文二"
    page = Page("p", text, [Article("a", "other", [Span(0, 3, "headline"), Span(4, 7, "body")]),
                            Article("b", "other", [Span(12, 15, "body")]), Article("c", "other", [])])
    ci = np.array([i for i, c in enumerate(text) if c != "\n"])
    lines = [(0, 3), (3, 6), (6, 9), (9, 12)]  # token ranges of the four lines
    probs = np.array([[1, 0], [0.5, 0.5], [0, 1], [0.2, 0.8]])
    mass = line_topic_mass(page, ci, lines, probs)
    assert mass.tolist() == [[0.75, 0.25], [0.2, 0.8], [0.5, 0.5]]  # lines 0-1; line 3; none: uniform


def test_padding_does_not_change_real_lines() -> None:
    model = _tiny().eval()
    x = torch.randn(1, 4, 6)
    short = model(x, torch.ones(1, 4, dtype=torch.bool))["emissions"]
    padded = model(torch.cat([x, torch.randn(1, 3, 6)], 1),
                   torch.tensor([[1, 1, 1, 1, 0, 0, 0]], dtype=torch.bool))["emissions"][:, :4]
    assert torch.allclose(short, padded, atol=1e-5)


def test_decode_never_emits_an_impossible_move_even_when_emissions_ask_for_one() -> None:
    model = _tiny()
    with torch.no_grad():  # emissions that all but demand I-headline everywhere
        model.tag_head.weight.zero_()
        model.tag_head.bias.copy_(torch.tensor([0.0, 0.0, 50.0, 0.0, 0.0]))
        model.crf.transitions.zero_()  # as if weight decay had eroded the pins: decode restores them
    tags, logits, _ = model.decode(np.random.default_rng(0).normal(size=(6, 6)).astype(np.float32))
    assert tags[0] != 2 and all(not (t == 2 and p not in (1, 2)) for p, t in zip(tags[:-1], tags[1:]))
    assert logits.shape == (6, 6)
    assert float(model.crf.transitions.detach()[0, 2]) == NEG


@pytest.mark.parametrize("n", [1, 2, 7, 300])
def test_numpy_viterbi_matches_the_crf_decode(n: int) -> None:
    from newsseg.model.page_model import viterbi

    model = _tiny()
    g = torch.Generator().manual_seed(n)
    with torch.no_grad():
        model.crf.transitions.copy_(torch.randn(5, 5, generator=g))
        model.crf.start_transitions.copy_(torch.randn(5, generator=g))
        model.crf.end_transitions.copy_(torch.randn(5, generator=g))
    model._pin()  # impossible moves at NEG, as when decoding
    em = torch.randn(1, n, 5, generator=g) * 3
    want = model.crf.decode(em, torch.ones(1, n, dtype=torch.bool))[0]
    got = viterbi(em[0].numpy(), *(t.detach().numpy() for t in (model.crf.start_transitions,
                                                                 model.crf.transitions, model.crf.end_transitions)))
    assert got.tolist() == want and got.dtype == np.int64
    assert viterbi(np.zeros((0, 5), dtype=np.float32), *(np.zeros(s) for s in (5, (5, 5), 5))).shape == (0,)


def test_decode_of_a_page_longer_than_a_window() -> None:
    model = _tiny(max_lines=8)
    feats = np.random.default_rng(1).normal(size=(30, 6)).astype(np.float32)
    tags, logits, _ = model.decode(feats)
    assert tags.shape == (30,) and logits.shape == (30, 30)
    empty_tags, empty_logits, _ = model.decode(np.zeros((0, 6), dtype=np.float32))
    assert empty_tags.shape == (0,) and empty_logits.shape == (0, 0)


def test_page_links_average_line_pairs() -> None:
    from types import SimpleNamespace

    from newsseg.data.pages import Span
    from newsseg.model.page_decoding import PageLinks

    logits = np.array([[0, 2, -2, 4], [2, 0, -4, 6], [-2, -4, 0, 1], [4, 6, 1, 0]], dtype=float)
    links = PageLinks(np.array([0, 10, 20, 30]), logits)
    frag = lambda a, b, role="body": SimpleNamespace(span=Span(a, b, role))  # noqa: E731
    a, b, c = frag(0, 15), frag(20, 25), frag(30, 40)   # lines {0,1}, {2}, {3}
    s = links.pair_scores([a, b, c], np.zeros((3, 3)))
    assert s[0, 1] == pytest.approx(-3.0) and s[0, 2] == pytest.approx(5.0) and s[1, 2] == pytest.approx(1.0)
    # a headline on line 2 against clusters {a} and {b, c}: mean over the cluster's lines
    h = links.head_scores([frag(20, 25, "headline")], [[a], [b, c]])
    assert h[0, 0] == pytest.approx(-3.0) and h[0, 1] == pytest.approx(0.5)


@pytest.fixture(scope="module")
def page_trained(tiny_seg: Any, compose: Callable[..., list], tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[Any, Path, list]:
    """A tiny page model trained on top of the tiny random encoder, saved with it."""
    from newsseg.model.segmenter import Segmenter
    from newsseg.train.page_fit import PageFitArguments, fit_page_model

    torch.set_num_threads(1)
    seg = Segmenter(tiny_seg.model, tiny_seg.tokenizer)
    seg.config = tiny_seg.model.config
    out = tmp_path_factory.mktemp("page-model")
    args = PageFitArguments(hidden=16, layers=1, heads=2, max_lines=32, epochs=2, batch_size=4)
    report = fit_page_model(seg, compose(12, seed=5), compose(4, seed=6), args, out / "trainer", progress=False)
    seg.save_pretrained(out)
    seg.model.config.page_model = {}  # the session's tiny_seg stays without a page model
    return report, out, compose(3, seed=7)


def test_fit_page_model_reports_and_saves(page_trained: tuple[Any, Path, list]) -> None:
    report, out, _ = page_trained
    assert report["topic_state_weight"]["weight"] in TOPIC_STATE_WEIGHTS
    assert set(report["topic_state_weight"]["macro_f1_by_weight"]) == {str(w) for w in TOPIC_STATE_WEIGHTS}
    assert report["train_pages"] == 12 and report["fit_pages"] == 4
    assert report["objective"] == max(report["objective_pair_head"], report.get("objective_stacked", 0.0),
                                      report["objective_head_hand"])
    assert report["head_hand_weight"] in HEAD_HAND_WEIGHTS[1:]
    assert (out / "page_model.safetensors").is_file()
    import json

    entry = json.loads((out / "config.json").read_text())["page_model"]
    assert entry["file"] == "page_model.safetensors" and entry["threshold"] == report["threshold"]
    assert len(entry["mean"]) == entry["n_features"]
    assert entry["n_topics"] == 5 and entry["topic_state_weight"] == report["topic_state_weight"]["weight"]
    if report["stacked"]:  # kept only when it beat the pair head alone on the fit pages
        assert entry["stack"]["features"][-1] == "page_logit" and report["objective_stacked"] > report["objective_pair_head"]
    else:
        assert entry["stack"] == {}


def test_saved_page_model_predicts_the_same_after_loading(page_trained: tuple[Any, Path, list]) -> None:
    from newsseg.model.segmenter import Segmenter
    from newsseg.train.page_fit import decode_examples, page_examples

    _, out, pages = page_trained
    seg = Segmenter.from_pretrained(out)
    assert seg.page_model is not None and seg.page_model.cfg.layers == 1
    got = seg.predict([p.text for p in pages])
    examples = page_examples(seg, pages, progress=False)
    want = decode_examples(seg.page_model, examples, seg.config.topic_labels, link=seg.config.link)
    for g, w in zip(got, want):
        assert [[(s.start, s.end, s.role) for s in a.spans] for a in g.articles] == \
               [[(s.start, s.end, s.role) for s in a.spans] for a in w.articles]
        for a in g.articles:  # spans start at line starts: the page model tags whole lines
            for s in a.spans:
                assert s.start == 0 or g.text[s.start - 1] in "\n \u3000" or g.text[:s.start].strip() == ""


def test_line_split_is_saved_with_the_page_model_and_used_to_predict(page_trained: tuple[Any, Path, list],
                                                                     tmp_path: Path) -> None:
    """A page model trained on space-cut pieces reads pages the same way after loading: its spans may start
    after an inner space (a headline glued to body text), and only where a piece starts."""
    from newsseg.data.encoding import line_token_spans
    from newsseg.data.pages import Page
    from newsseg.model.segmenter import Segmenter
    from newsseg.train.page_fit import decode_examples, page_examples

    _, out, pages = page_trained
    seg = Segmenter.from_pretrained(out)
    assert seg.page_model is not None and seg.page_model.cfg.line_split == "gutters"  # the default
    seg.page_model.cfg.line_split = "spaces"
    seg.save_pretrained(tmp_path)
    seg = Segmenter.from_pretrained(tmp_path)
    assert seg.page_model is not None and seg.page_model.cfg.line_split == "spaces"
    # OCR-like pages: the first five line breaks read as spaces, so those lines hold two pieces
    glued = [Page(p.id, p.text.replace("\n", " ", 5), p.articles) for p in pages]
    examples = page_examples(seg, glued, progress=False)
    got = seg.predict([p.text for p in glued])
    want = decode_examples(seg.page_model, examples, seg.config.topic_labels, link=seg.config.link)
    for g, w, ex in zip(got, want, examples):
        assert [[(s.start, s.end) for s in a.spans] for a in g.articles] == [[(s.start, s.end) for s in a.spans]
                                                                            for a in w.articles]
        pieces = set(ex.char_index[line_token_spans(g.text, ex.char_index, "spaces")[0]].tolist())
        assert len(ex.lines) == len(pieces) > len(line_token_spans(g.text, ex.char_index, "gutters")[0])
        assert {s.start for a in g.articles for s in a.spans} <= pieces


def test_article_topic_reads_the_line_states_at_their_fitted_share(page_trained: tuple[Any, Path, list]) -> None:
    """With the line states' share at 1 and no n-gram model, an article's topic is its lines' mean topic;
    at 0, the topic head is not read."""
    from newsseg.model.segmenter import Segmenter
    from newsseg.model.topic import line_topic_mass

    _, out, pages = page_trained
    seg = Segmenter.from_pretrained(out)
    assert seg.page_model is not None and seg.page_model.topic_head is not None
    seg.page_model.cfg.topic_state_weight, seg.article_topic = 0.0, None
    before = [a.topic for p in seg.predict([p.text for p in pages]) for a in p.articles]
    labels = list(seg.config.topic_labels)
    pinned = min(range(len(labels)), key=lambda k: before.count(labels[k]))  # the topic the votes give least
    with torch.no_grad():  # a topic head that says `pinned` for every line
        seg.page_model.topic_head.weight.zero_()
        seg.page_model.topic_head.bias.copy_(torch.tensor([20.0 if k == pinned else 0.0 for k in range(len(labels))]))
    assert [a.topic for p in seg.predict([p.text for p in pages]) for a in p.articles] == before  # share 0
    seg.page_model.cfg.topic_state_weight = 1.0
    got = seg.predict([p.text for p in pages])
    assert {a.topic for p in got for a in p.articles} == {labels[pinned]} != set(before)
    blank = [type(p)(p.id, p.text, []) for p in pages]
    for g, (p, e, b, t, h) in zip(got, seg.page_states(blank, 8)):
        raw, lines, dec = seg.decode_page_model(p, e, b, t, h)
        mass = line_topic_mass(raw, e.char_index, lines, dec.topics)
        assert [a.topic for a in g.articles] == [labels[int(i)] for i in mass.argmax(1)]


def test_training_throughput_times_the_trainer_and_the_pure_steps_of_both_models(page_trained: tuple[Any, Path, list]
                                                                                  ) -> None:
    from newsseg.bench_train import throughput_rows, train_throughput

    _, out, _ = page_trained
    before = (out / "page_model.safetensors").read_bytes()
    r = train_throughput(str(out), pages=4, steps=3, batch_size=2)
    for key in ("encoder", "page_model"):
        m = r[key]
        assert m["steps"] == 2 and m["units"] > 0 and m["trainer_s"] > 0 and m["pure_s"] > 0  # after a warm-up step
    assert r["encoder"]["units"] <= 2 * 2 * 256  # two timed batches of two windows of at most 256 tokens
    rows = throughput_rows(r)
    assert [row[0].split(",")[0] for row in rows] == ["training: encoder", "training: page model"]
    assert "x pure" in rows[0][2] and (out / "page_model.safetensors").read_bytes() == before  # trained on copies


def test_warm_start_continues_the_page_model_and_keeps_its_linking(page_trained: tuple[Any, Path, list],
                                                                   compose: Callable[..., list], tmp_path: Path) -> None:
    """`fit-page-model --set warm_start=true` without --fit: a few corrected pages of a new paper move the
    shipped page model's weights; its sizes, normalisation and fitted linking stay as they were."""
    import json

    from newsseg.cli import main
    from newsseg.data.pages import write_pages
    from newsseg.model.segmenter import Segmenter

    _, out, _ = page_trained
    write_pages(compose(3, seed=31, width_min=30, width_max=40), tmp_path / "corrected.jsonl")
    assert main(["fit-page-model", "--model", str(out), "--train", str(tmp_path / "corrected.jsonl"), "-o",
                 str(tmp_path / "new"), "--set", "warm_start=true", "--set", "epochs=3", "--no-cache", "-q"]) == 0
    old, new = Segmenter.from_pretrained(out).page_model, Segmenter.from_pretrained(tmp_path / "new").page_model
    keep = ("threshold", "stack", "head_hand_weight", "mean", "std", "hidden", "layers")
    assert {k: getattr(old.cfg, k) for k in keep} == {k: getattr(new.cfg, k) for k in keep}
    a, b = old.state_dict(), new.state_dict()
    moved = [k for k in a if not torch.equal(a[k], b[k])]
    assert moved
    # Trained on from the old weights, not re-initialised: a fresh init would be as far away as the weights are large.
    k = max(moved, key=lambda k: a[k].numel())
    assert 0 < float((b[k] - a[k]).norm() / a[k].norm()) < 0.5
    assert json.loads((tmp_path / "new" / "page_model_metrics.json").read_text())["warm_start"] is True
    # A new page model (no warm start) still needs fit pages for its linking.
    assert main(["fit-page-model", "--model", str(out), "--train", str(tmp_path / "corrected.jsonl"), "-o",
                 str(tmp_path / "bad"), "--no-cache", "-q"]) == 2


def test_score_calibration_with_a_page_model_learns_article_scores(page_trained: tuple[Any, Path, list],
                                                                   compose: Callable[..., list], tmp_path: Path) -> None:
    """With a page model the article score is the fitted scorer's chance of being right, applied when
    predicting; spans keep their own (isotonic) map."""
    from newsseg.model.article_scores import ArticleScorer, article_features
    from newsseg.model.segmenter import Segmenter
    from newsseg.train.score_fit import fit_score_calibration

    _, out, pages = page_trained
    seg = Segmenter.from_pretrained(out)
    cal = fit_score_calibration(seg, compose(12, seed=41))
    assert cal["method"] == "logistic" and cal["n_articles"] >= 20 and len(cal["coef"]) == len(cal["features"])
    seg.save_pretrained(tmp_path / "cal")
    loaded = Segmenter.from_pretrained(tmp_path / "cal")
    got = loaded.predict([p.text for p in pages])
    blank = [type(p)(p.id, p.text, []) for p in pages]
    for g, (p, e, b, t, h) in zip(got, loaded.page_states(blank, 8)):
        raw, lines, dec = loaded.decode_page_model(p, e, b, t, h)
        want = ArticleScorer.from_dict(cal).predict(article_features(raw, e.char_index, lines, dec.logits))
        assert [a.score for a in g.articles] == pytest.approx(want.tolist())


def test_adapt_fine_tunes_encoder_and_page_model_on_corrected_pages(page_trained: tuple[Any, Path, list],
                                                                    compose: Callable[..., list], tmp_path: Path) -> None:
    """`newsseg adapt`: the encoder and the page model move; the page model's fitted linking stays."""
    import json

    from newsseg.cli import main
    from newsseg.data.pages import Page, write_pages
    from newsseg.model.segmenter import Segmenter

    _, out, _ = page_trained
    write_pages(compose(3, seed=33, width_min=30, width_max=40), tmp_path / "corrected.jsonl")
    assert main(["adapt", str(tmp_path / "corrected.jsonl"), "--model", str(out), "-o", str(tmp_path / "mine"),
                 "--set", "encoder_epochs=2", "--set", "page_epochs=2", "-q"]) == 0  # the encoder only when asked
    old, new = Segmenter.from_pretrained(out), Segmenter.from_pretrained(tmp_path / "mine")
    key = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(old.model.state_dict()[key], new.model.state_dict()[key])
    assert old.page_model is not None and new.page_model is not None
    assert any(not torch.equal(v, new.page_model.state_dict()[k]) for k, v in old.page_model.state_dict().items())
    assert (old.page_model.cfg.threshold, old.page_model.cfg.stack) == (new.page_model.cfg.threshold, new.page_model.cfg.stack)
    report = json.loads((tmp_path / "mine" / "adapt_report.json").read_text())
    assert report["encoder"]["steps"] > 0 and report["page_model"]["warm_start"] is True
    write_pages([Page("u", "没有标注的一页", [])], tmp_path / "unlabelled.jsonl")
    assert main(["adapt", str(tmp_path / "unlabelled.jsonl"), "--model", str(out), "-o", str(tmp_path / "x"), "-q"]) == 2


def test_gold_line_targets(compose: Callable[..., list], tiny_seg: Any) -> None:
    from newsseg.model.page_features import gold_line_targets, page_line_inputs

    page = compose(1, seed=9)[0]
    (_, enc, b, _, h), = tiny_seg.page_outputs([page], 8, hidden=True)
    lines, feats = page_line_inputs(page.text, enc.char_index, b, h)
    assert feats.shape == (len(lines), h.shape[1] + 47) and np.isfinite(feats).all()
    labels = list(tiny_seg.config.topic_labels)
    tags, arts, spans, topics = gold_line_targets(page, enc, lines, labels)
    flat = [(i, s) for i, art in enumerate(page.articles) for s in art.spans]
    for (a, _), t, k, j, top in zip(lines, tags, arts, spans, topics):
        c = int(enc.char_index[a])
        owners = [(i, n) for n, (i, s) in enumerate(flat) if s.start <= c < s.end]
        assert (k, j) == (owners[0] if owners else (-1, -1))
        assert (t == 0) == (k == -1)
        assert top == (labels.index(page.articles[k].topic) if k >= 0 else -100)
    assert len(set(spans.tolist()) - {-1}) > len(set(arts.tolist()) - {-1}) or len(flat) == len(page.articles)


def test_recipe_page_model_table_trains_it_in_one_command(tmp_path: Path) -> None:
    """``[page_model] enabled = true`` makes ``train`` fit the page model and save it with the encoder."""
    import copy
    import json

    from conftest import SMALL_CORPUS, TRAINED_RECIPE
    from newsseg.model.segmenter import Segmenter
    from newsseg.train.args import RunConfig
    from newsseg.train.trainer import train

    recipe = copy.deepcopy(TRAINED_RECIPE)
    recipe["training"]["num_train_epochs"] = 1
    recipe["page_model"] = {"enabled": True, "compose_pages": 6, "hidden": 16, "layers": 1, "heads": 2,
                            "max_lines": 32, "epochs": 1, "batch_size": 4}
    cfg = RunConfig.from_dict(recipe)
    cfg.data.corpus = str(SMALL_CORPUS)
    metrics = train(cfg, tmp_path)
    assert metrics["page_model"]["train_pages"] == 6 and metrics["page_model"]["fit_pages"] == 4
    assert json.loads((tmp_path / "config.json").read_text())["page_model"]["layers"] == 1
    seg = Segmenter.from_pretrained(tmp_path)
    assert seg.page_model is not None
    assert seg.predict("总投资96.6亿元\n本报讯 5月11日，项目开工。\n").text.startswith("总投资")


def test_unknown_page_model_key_is_refused() -> None:
    from newsseg.train.args import RunConfig

    with pytest.raises(ValueError, match="page_model.layer"):
        RunConfig.from_dict({"page_model": {"layer": 1}})


def test_consistent_tags_turn_impossible_i_into_b() -> None:
    from newsseg.model.lines import consistent_tags

    # a crop starting inside a body; I-body after a headline line (body started mid-line); I-headline after body or O
    assert consistent_tags(np.array([4, 4, 1, 4, 2, 0, 2])).tolist() == [3, 4, 1, 3, 1, 0, 1]


def test_line_sequences_cache_round_trip(tiny_seg: Any, compose: Callable[..., list], tmp_path: Path) -> None:
    from newsseg.train.page_fit import line_sequences

    pages = compose(3, seed=11)
    built = line_sequences(tiny_seg, pages, tmp_path / "c.npz", progress=False)
    loaded = line_sequences(tiny_seg, [], tmp_path / "c.npz", progress=False)  # from the cache alone
    assert len(built) == len(loaded) == 3
    for a, b in zip(built, loaded):
        assert np.array_equal(a.features, b.features) and np.array_equal(a.tags, b.tags)
        assert np.array_equal(a.articles, b.articles) and np.array_equal(a.spans, b.spans)
        assert np.array_equal(a.topics, b.topics) and (a.topics >= 0).any()


def test_stacked_linker_takes_the_page_scores_as_its_last_feature() -> None:
    from types import SimpleNamespace

    from newsseg.data.pages import Span
    from newsseg.model.linker import FEATURES, PAGE_FEATURE, fit_linker, pair_features

    bodies = [SimpleNamespace(span=Span(i * 10, i * 10 + 8, "body"), order=i, topic=np.eye(5)[i % 2],
                              text="本报讯 项目开工。" if i == 0 else "项目进展顺利", lead=i == 0) for i in range(3)]
    sim, page = np.eye(3), np.array([[0.0, 3.0, -3.0], [3.0, 0.0, -1.0], [-3.0, -1.0, 0.0]])
    x = np.concatenate([pair_features(bodies, sim)[np.triu_indices(3, 1)], page[np.triu_indices(3, 1)][:, None]], 1)
    linker = fit_linker(np.vstack([x] * 4), np.array([True, False, False] * 4))
    assert linker is not None and linker.features == [*FEATURES, PAGE_FEATURE]
    with pytest.raises(ValueError, match="page="):
        linker.pair_scores(bodies, sim)
    scores = linker.pair_scores(bodies, sim, page)
    assert scores.shape == (3, 3) and scores[0, 1] > scores[0, 2]
