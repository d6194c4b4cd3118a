"""How much does ``--quantize int8`` speed up the encoder, by encoder size? Prints one small table.

Dynamic int8 quantisation only replaces ``Linear`` layers; attention (SDPA), GELU, LayerNorm and
the embeddings stay fp32. Their share of the forward time shrinks as the hidden size grows, so the
speed-up depends on the encoder. This times the forward pass of each built-in scratch size (random
weights: speed does not depend on the values) on batches shaped like predict's (8 windows of 256
tokens with line-length buckets), fp32 against ``Segmenter.from_pretrained(quantize="int8")``,
interleaved and repeated so that other jobs on the machine hit both alike, and reports the share of
the int8 forward spent outside the quantised ``Linear`` layers (torch profiler).

    python benchmarks/int8_sizes.py [--sizes scratch-mini,scratch-small,scratch-medium] [--repeat 5] 2>/dev/null
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from newsseg.model.segmenter import Segmenter


def _batch(batch: int, length: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 20000, (batch, length), generator=g)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids),
            "token_type_ids": torch.randint(0, 32, (batch, length), generator=g)}


@torch.inference_mode()
def _ms(model: torch.nn.Module, inputs: dict[str, torch.Tensor], n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        model(**inputs)
    return (time.perf_counter() - t) / n * 1000


@torch.inference_mode()
def _non_linear_share(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> float:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            model(**inputs)
    ev = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in ev)
    linear = sum(e.self_cpu_time_total for e in ev if "linear" in e.key or "addmm" in e.key)
    return 1 - linear / total if total else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="scratch-mini,scratch-small,scratch-medium")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=5, help="interleaved rounds; the fastest of each is kept")
    ap.add_argument("--steps", type=int, default=5, help="forward passes per round")
    a = ap.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    inputs = _batch(a.batch, a.length)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {a.batch} x {a.length} tokens, "
          f"quantized engine {torch.backends.quantized.engine}\n")
    print("| encoder | fp32 ms/batch | int8 ms/batch | int8 speed-up | int8 time outside Linear |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for size in a.sizes.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            Segmenter.build(size, max_length=a.length, line_buckets=32).save_pretrained(tmp)
            fp = Segmenter.from_pretrained(tmp).model
            q = Segmenter.from_pretrained(tmp, quantize="int8").model
        for m in (fp, q):
            _ms(m, inputs, 2)  # warm-up
        best_fp = best_q = float("inf")
        for _ in range(a.repeat):
            best_fp = min(best_fp, _ms(fp, inputs, a.steps))
            best_q = min(best_q, _ms(q, inputs, a.steps))
        cfg = fp.config
        print(f"| {size} ({cfg.num_hidden_layers} layers, hidden {cfg.hidden_size}) | {best_fp:.1f} | {best_q:.1f} | "
              f"{best_fp / best_q:.2f}x | {_non_linear_share(q, inputs):.0%} |")


if __name__ == "__main__":
    main()
