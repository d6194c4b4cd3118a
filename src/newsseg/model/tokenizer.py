"""The built-in character vocabulary and tokenizer loading.

transformers 5.x tokenizers ignore ``vocab_file=``: ``BertTokenizerFast(vocab_file=p)`` silently
yields a 5-token vocabulary that maps every Chinese character to ``[UNK]``. We always pass
``vocab=`` (a dict) and test that real page text produces almost no ``[UNK]``.
"""

from __future__ import annotations

import os
from typing import Any

from transformers import AutoTokenizer, BertTokenizerFast, PreTrainedTokenizerBase

from newsseg.data.encoding import NEWLINE_TOKEN, WHITESPACE_TOKENS

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", NEWLINE_TOKEN, *WHITESPACE_TOKENS]
# Layout tokens that BERT tokenisers do not have: the line break and runs of other whitespace.
LAYOUT_TOKENS = [NEWLINE_TOKEN, *WHITESPACE_TOKENS]

# Code point ranges of the built-in vocabulary: ASCII, Latin-1 punctuation, general punctuation,
# CJK symbols and punctuation, CJK Unified Ideographs (basic block, which holds both simplified and
# traditional forms), full-width forms, and a few symbols newspapers use (①, ▲, ■, ●, ★, ℃).
_RANGES: list[tuple[int, int]] = [
    (0x21, 0x7E), (0xA0, 0xBF), (0xD7, 0xD7), (0xF7, 0xF7), (0x2010, 0x203B), (0x2103, 0x2103),
    (0x2160, 0x216B), (0x2190, 0x2193), (0x2460, 0x249B), (0x25A0, 0x25CF), (0x2605, 0x2606),
    (0x3000, 0x303F), (0x3105, 0x3129), (0x4E00, 0x9FFF), (0xFF01, 0xFF5E),
]


def builtin_vocab() -> dict[str, int]:
    """The from-scratch model's vocabulary: special tokens, then one token per character."""
    toks = list(SPECIAL_TOKENS)
    seen = set(toks)
    for lo, hi in _RANGES:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            if not ch.isspace() and ch not in seen:
                seen.add(ch)
                toks.append(ch)
    return {t: i for i, t in enumerate(toks)}


def builtin_tokenizer() -> PreTrainedTokenizerBase:
    """A ``BertTokenizerFast`` over :func:`builtin_vocab` (kept so the model dir is HF-compatible)."""
    tok = BertTokenizerFast(vocab=builtin_vocab(), do_lower_case=False, tokenize_chinese_chars=True)
    tok.add_special_tokens({"additional_special_tokens": LAYOUT_TOKENS})
    return tok


def load_tokenizer(name_or_path: str | os.PathLike[str], **kwargs: Any) -> PreTrainedTokenizerBase:
    """Load a BERT tokenizer from a hub id or directory and make sure it has a newline token.

    Checkpoints such as ``bert-base-chinese`` have no newline or whitespace tokens: they are added as
    special tokens (the caller resizes the embeddings), because the layout must reach the model. A
    newsseg model saved before whitespace tokens existed keeps its vocabulary as it was trained.
    """
    tok = AutoTokenizer.from_pretrained(str(name_or_path), **kwargs)
    vocab = tok.get_vocab()
    if NEWLINE_TOKEN not in vocab:
        tok.add_special_tokens({"additional_special_tokens": LAYOUT_TOKENS})
    return tok
