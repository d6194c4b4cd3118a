"""Model configuration: a ``BertConfig`` that also carries both label maps and the decoding knobs.

Keeping label maps in ``config.json`` (as Hugging Face's ``run_ner.py`` does) means a model trained
on another topic set loads with its own labels, and a config whose maps do not match its heads is
rejected at load time instead of silently mislabelling pages.
"""

from __future__ import annotations

from typing import Any, Sequence

from transformers import BertConfig

from newsseg.data.encoding import BOUNDARY_LABELS, NEWLINE_TOKEN
from newsseg.data.pages import DEFAULT_TOPICS

# Built-in from-scratch encoders, chosen by name (``base_model = "scratch-small"``). Sizes follow
# the CPU budget measured here: 2 layers/128 ~0.9 s, 4/256 ~3 s per 8x512 training step.
SCRATCH_SIZES: dict[str, dict[str, int]] = {
    "scratch-tiny": dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64),
    "scratch-mini": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
    "scratch-small": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "scratch-medium": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=6, intermediate_size=1536),
}


class SegmenterConfig(BertConfig):
    """``BertConfig`` plus the boundary label map (``id2label``), the topic label list and decoding knobs.

    Example::

        from newsseg.model.configuration import SegmenterConfig
        cfg = SegmenterConfig(topic_labels=["sports", "other"], hidden_size=64, num_hidden_layers=1,
                              num_attention_heads=2, intermediate_size=128)
        cfg.num_topics  # 2
    """

    model_type = "newsseg"

    def __init__(self, topic_labels: Sequence[str] = DEFAULT_TOPICS, topic_loss_weight: float = 1.0,
                 boundary_class_weights: Sequence[float] | None = None, newline_token: str = NEWLINE_TOKEN,
                 window_overlap: float = 0.25, link: dict[str, float] | None = None, line_buckets: int = 0,
                 line_head: dict[str, Any] | None = None, article_topic: dict[str, Any] | None = None,
                 window_tokens: int = 0, linker: dict[str, Any] | None = None,
                 page_model: dict[str, Any] | None = None, score_calibration: dict[str, Any] | None = None,
                 **kwargs: Any):
        kwargs.setdefault("id2label", {i: l for i, l in enumerate(BOUNDARY_LABELS)})
        kwargs.setdefault("label2id", {l: i for i, l in enumerate(BOUNDARY_LABELS)})
        super().__init__(**kwargs)
        self.topic_labels = list(topic_labels)
        self.topic_loss_weight = float(topic_loss_weight)
        self.boundary_class_weights = list(boundary_class_weights) if boundary_class_weights else None
        self.newline_token = newline_token
        self.window_overlap = float(window_overlap)
        self.link = dict(link or {})
        # > 0: token_type_ids carry each token's line length (see Encoded.line_buckets), so the
        # token-type embedding table must have that many rows.
        self.line_buckets = int(line_buckets)
        self.line_head = dict(line_head or {})  # fitted line-level tagger (newsseg.model.lines)
        self.linker = dict(linker or {})  # fitted body-fragment pair model (newsseg.model.linker); {}: hand weights
        self.page_model = dict(page_model or {})  # the page model's file, sizes and linking (newsseg.model.page_model)
        # What scores mean, fitted on decoder-fit pages (newsseg.train.score_fit): a logistic article scorer
        # (newsseg.model.article_scores) or an isotonic map of the raw score, and an isotonic map for spans.
        self.score_calibration = dict(score_calibration or {})
        # Article-level topic model (newsseg.model.topic): weights file, labels and n-gram weight.
        self.article_topic = dict(article_topic or {})
        # > 0: windows of this many tokens ([CLS]/[SEP] included) instead of the whole position table
        # (a pretrained checkpoint's table is fixed; a shorter window is cheaper).
        self.window_tokens = int(window_tokens)
        if self.line_buckets > self.type_vocab_size:
            self.type_vocab_size = self.line_buckets

    @property
    def num_topics(self) -> int:
        return len(self.topic_labels)

    def check_labels(self) -> None:
        """Reject label maps that do not match what the decoder expects."""
        names = [self.id2label[i] for i in sorted(int(k) for k in self.id2label)]
        if tuple(names) != BOUNDARY_LABELS:
            raise ValueError(f"config id2label {names} does not match the boundary labels {list(BOUNDARY_LABELS)}")
        if len(self.topic_labels) < 1 or len(set(self.topic_labels)) != len(self.topic_labels):
            raise ValueError(f"config topic_labels {self.topic_labels} must be a non-empty list of distinct names")
        if not 0.0 <= self.window_overlap < 1.0:
            raise ValueError(f"window_overlap must be in [0, 1), got {self.window_overlap}")


def _register() -> None:
    # Lets AutoConfig/AutoTokenizer read a newsseg model directory without a type-mismatch warning.
    from transformers import AutoConfig

    try:
        AutoConfig.register(SegmenterConfig.model_type, SegmenterConfig)
    except ValueError:  # already registered
        pass


_register()
