"""``newsseg bench``: its measuring tools observe the real predict path without changing it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import torch

from newsseg import bench
from newsseg.data.pages import Page, validate_page, write_pages


def _jsonl(pages: list[Page]) -> list[str]:
    return [p.to_json() for p in pages]


def test_hf_token_classifier_carries_the_encoder_and_boundary_head(tiny_seg: Any) -> None:
    model, tok = bench.hf_token_classifier(tiny_seg)
    ids = torch.randint(6, 1000, (2, 30))
    mask = torch.ones_like(ids)
    mask[1, 20:] = 0
    with torch.inference_mode():
        want = tiny_seg.model(input_ids=ids, attention_mask=mask).boundary_logits
        got = model(input_ids=ids, attention_mask=mask).logits
    assert torch.allclose(got, want, atol=1e-5)
    assert tok.model_max_length == tiny_seg.config.max_position_embeddings


def test_stage_clock_times_the_real_path_and_leaves_it_unchanged(tiny_seg: Any, compose: Callable[..., list]) -> None:
    from newsseg.model import segmenter as segmod

    pages = [Page(p.id, p.text) for p in compose(4, seed=11)]
    plain = _jsonl(list(tiny_seg.predict_pages(pages, batch_size=4)))
    decode_before = segmod.decode_pages
    clock = bench.StageClock(tiny_seg, record=True)
    with clock.attach():
        timed = _jsonl(list(tiny_seg.predict_pages(pages, batch_size=4)))
    assert timed == plain
    assert "encode" not in vars(tiny_seg.vocab) and segmod.decode_pages is decode_before  # unwrapped again
    n_windows = sum(len(tiny_seg._windows(tiny_seg.vocab.encode(p.text))) for p in pages)
    assert clock.windows == n_windows > len(pages)  # several windows per page, all seen
    assert len(clock.batches) == -(-n_windows // 4)  # one page chunk: ceil(windows / batch size) batches
    assert all(clock.seconds[k] > 0 for k in ("encode", "forward", "stitch", "decode"))
    assert clock.replay() > 0


def test_long_page_lengths() -> None:
    assert len(bench.long_page(n_chars=5000).text) == 5000
    raw = bench.long_page(n_bytes=20_000).text.encode()
    assert 19_990 <= len(raw) <= 20_000  # cut on a character boundary


def test_run_bench_small_and_table(tiny_dir: Path) -> None:
    r = bench.run_bench(str(tiny_dir), pages=3, rss_pages=(3,), big_page_mb=0, scaling=(500, 1000), progress=False)
    assert r["pages"] == 3 and r["windows"] >= 3 and r["batches"] >= 1
    assert 0 < r["floor_s"] and 0 < r["predict_s"] and r["pipeline_s"] > 0 and r["int8_s"] > 0
    assert r["rss"][0]["pages"] == 3 and r["rss"][0]["peak_rss_mb"] > 50  # a real child process ran predict
    assert [s["chars"] for s in r["scaling"]] == [500, 1000]
    table = bench.format_table(r)
    for row in ("`newsseg predict` path", "HF `pipeline", "the floor", "by stage", "int8", "peak RSS",
                "grows"):
        assert row in table
    json.dumps(r)  # --json can write it


def test_format_table_ratios() -> None:
    r = {"model": "m", "load_s": 1.0, "batch_size": 8, "threads": 2, "omp_wait_policy": "", "torch": "x",
         "cores": 2, "load_before": 3.0, "load_after": 4.0,
         "encoder": {"num_hidden_layers": 4, "hidden_size": 256, "max_position_embeddings": 256},
         "pages": 10, "chars": 20_000, "seed": 0, "predict_s": 10.0, "floor_s": 8.0, "windows": 100, "batches": 13,
         "stages": {"encode": 0.1, "forward": 8.5, "stitch": 0.1, "decode": 0.3}, "pipeline_s": 31.0,
         "pipeline_stride": 64, "int8_s": 4.0, "workers": 2, "workers_s": 8.0, "dev": {"gold": "dev.jsonl", "fp32": 0.9, "int8": 0.895},
         "rss": [{"pages": 1000, "peak_rss_mb": 500.0, "seconds": 1.0},
                 {"pages": 10000, "peak_rss_mb": 510.0, "seconds": 9.0}],
         "big_page": {"mb": 1.0, "chars": 340_000, "peak_rss_mb": 700.0, "seconds": 50.0},
         "scaling": [{"chars": 1000, "seconds": 0.1}, {"chars": 10000, "seconds": 1.1}], "rss_model": "m"}
    t = bench.format_table(r)
    assert "2,000 chars/s" in t and "predict / pipeline throughput: 3.10x" in t
    assert "predict wall = 1.25x floor" in t and "2.50x fp32" in t and "drop +0.0050" in t
    assert "`predict --workers 2`" in t and "1.25x one process" in t
    assert "+2.0% vs 1,000 pages" in t and "1.10x" in t and "other (read, windows, padding, write) 10.0%" in t


def test_int8_predicts_valid_pages_and_evaluate_takes_quantize(tiny_dir: Path, compose: Callable[..., list],
                                                                tmp_path: Path) -> None:
    from newsseg.evaluate.runner import evaluate
    from newsseg.model.segmenter import Segmenter

    seg = Segmenter.from_pretrained(tiny_dir, quantize="int8")
    assert "quantized" in type(seg.model.boundary_head).__module__
    gold = compose(2, seed=5)
    for page in seg.predict([p.text for p in gold]):
        validate_page(page)
    write_pages(gold, tmp_path / "gold.jsonl")
    res = evaluate(tmp_path / "gold.jsonl", model=str(tiny_dir), quiet=True, quantize="int8")
    assert 0.0 <= res["systems"]["model"]["overall"]["bcubed_f1"] <= 1.0


def test_bench_and_quantize_options_are_wired() -> None:
    from newsseg.cli import build_parser

    args = build_parser().parse_args(["bench", "--quick", "--model", "m", "--rss-pages", "10,20"])
    assert args.func is bench.cmd_bench and args.quick and args.rss_pages == "10,20"
    args = build_parser().parse_args(["evaluate", "g.jsonl", "--quantize", "int8"])
    assert args.quantize == "int8"
