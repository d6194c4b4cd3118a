"""``SegmenterModel``: a BERT encoder with a boundary/role head and a topic head."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import BertModel, BertPreTrainedModel, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import ModelOutput

from newsseg.data.encoding import IGNORE_INDEX
from newsseg.model.configuration import SegmenterConfig


@dataclass
class SegmenterOutput(ModelOutput):
    """Loss (when labels are given) and the logits of both heads, ``[batch, seq, n_labels]``."""

    loss: torch.Tensor | None = None
    boundary_logits: torch.Tensor | None = None
    topic_logits: torch.Tensor | None = None
    boundary_loss: torch.Tensor | None = None
    topic_loss: torch.Tensor | None = None
    hidden_states: torch.Tensor | None = None  # the encoder's last layer, [batch, seq, hidden] (page model input)


class SegmenterModel(BertPreTrainedModel):
    """Token classifier with two heads on one encoder; the loss is ``boundary + w * topic``.

    Example::

        import torch
        from newsseg.model.configuration import SegmenterConfig
        from newsseg.model.modeling import SegmenterModel
        cfg = SegmenterConfig(vocab_size=100, hidden_size=32, num_hidden_layers=1,
                              num_attention_heads=2, intermediate_size=64)
        model = SegmenterModel(cfg)
        out = model(input_ids=torch.randint(0, 100, (2, 16)))
        out.boundary_logits.shape  # torch.Size([2, 16, 5])
    """

    config_class = SegmenterConfig

    def __init__(self, config: SegmenterConfig):
        super().__init__(config)
        config.check_labels()
        self.bert = BertModel(config, add_pooling_layer=False)
        drop = config.classifier_dropout if getattr(config, "classifier_dropout", None) is not None \
            else config.hidden_dropout_prob
        self.dropout = nn.Dropout(drop)
        self.boundary_head = nn.Linear(config.hidden_size, config.num_labels)
        self.topic_head = nn.Linear(config.hidden_size, config.num_topics)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                topic_labels: torch.Tensor | None = None, **kwargs: object) -> SegmenterOutput:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        last = hidden
        hidden = self.dropout(hidden)
        b_logits = self.boundary_head(hidden)
        t_logits = self.topic_head(hidden)
        loss = b_loss = t_loss = None
        if labels is not None:
            # Built from the config on each call: a buffer would not survive from_pretrained's meta init.
            cw = self.config.boundary_class_weights
            w = torch.tensor(cw, dtype=torch.float, device=b_logits.device) if cw else None
            b_loss = nn.functional.cross_entropy(b_logits.flatten(0, 1).float(), labels.flatten(),
                                                 weight=w, ignore_index=IGNORE_INDEX)
            loss = b_loss
        if topic_labels is not None:
            # A window may hold furniture only: then every topic label is ignored and CE would be NaN.
            if (topic_labels != IGNORE_INDEX).any():
                t_loss = nn.functional.cross_entropy(t_logits.flatten(0, 1).float(), topic_labels.flatten(),
                                                     ignore_index=IGNORE_INDEX)
            else:
                t_loss = t_logits.sum() * 0.0
            loss = t_loss * self.config.topic_loss_weight if loss is None \
                else loss + self.config.topic_loss_weight * t_loss
        return SegmenterOutput(loss=loss, boundary_logits=b_logits, topic_logits=t_logits,
                               boundary_loss=b_loss, topic_loss=t_loss, hidden_states=last)


def add_layout_inputs(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, line_buckets: int) -> None:
    """Give a BERT checkpoint the segmenter's layout inputs, in place: embedding rows for the layout
    tokens :func:`~newsseg.model.tokenizer.load_tokenizer` added, and ``line_buckets`` token-type rows.

    Line-length buckets ride on ``token_type_ids`` (``SegmenterConfig.line_buckets``), and BERT
    checkpoints have two segment rows: every bucket starts from segment A's vector.
    """
    if len(tokenizer) > model.config.vocab_size:
        model.resize_token_embeddings(len(tokenizer))
    emb = model.bert.embeddings
    if line_buckets <= emb.token_type_embeddings.num_embeddings:
        return
    old = emb.token_type_embeddings.weight.data
    emb.token_type_embeddings = nn.Embedding(line_buckets, old.shape[1])
    emb.token_type_embeddings.weight.data[:] = old[0]
    model.config.type_vocab_size = line_buckets
    if hasattr(emb, "token_type_ids"):
        emb.register_buffer("token_type_ids", torch.zeros_like(emb.token_type_ids), persistent=False)


def tie_unseen_embeddings(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, seen: set[int]) -> int:
    """Point never-trained character embeddings at ``[UNK]``'s; returns how many were tied.

    A from-scratch model sees a few thousand of its ~21k characters; the rest keep their random
    initialisation, which would inject noise for any rare character on a real page.
    """
    emb = model.get_input_embeddings().weight
    special = set(tokenizer.all_special_ids)
    unseen = [i for i in range(emb.shape[0]) if i not in seen and i not in special]
    with torch.no_grad():
        emb[unseen] = emb[tokenizer.unk_token_id].clone()
    return len(unseen)
