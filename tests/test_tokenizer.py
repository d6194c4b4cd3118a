"""The built-in character vocabulary and tokenizer: coverage of real pages, save/load, newline token."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from newsseg.data.encoding import NEWLINE_TOKEN, CharVocab
from newsseg.data.pages import read_pages
from newsseg.model.tokenizer import SPECIAL_TOKENS, builtin_tokenizer, builtin_vocab, load_tokenizer

from conftest import DEV_PAGES

MAX_UNK_RATE = 0.005  # real page text: fewer than 0.5 % of tokens may be [UNK]


@pytest.fixture(scope="module")
def real_texts(sample_text: str) -> list[str]:
    return [sample_text] + [p.text for p in read_pages(DEV_PAGES)]


def unk_rate(vocab: CharVocab, texts: list[str]) -> float:
    ids = np.concatenate([vocab.encode(t).input_ids for t in texts])
    return float((ids == vocab.unk_id).mean())


def test_builtin_vocab_covers_chinese_ascii_and_fullwidth() -> None:
    v = builtin_vocab()
    assert list(v)[:len(SPECIAL_TOKENS)] == SPECIAL_TOKENS
    assert sorted(v.values()) == list(range(len(v)))
    assert len(v) > 20_900  # the whole CJK Unified Ideographs basic block alone is 20,992 characters
    for ch in "一龥高新区國衛環A~z0９，。、“”：；（）【】—…％①▲■●★℃　":
        assert ch in v or ch == "\u3000", ch
    assert not any(t.isspace() for t in v)


def test_real_pages_have_almost_no_unk(real_texts: list[str]) -> None:
    tok = builtin_tokenizer()
    assert len(tok.get_vocab()) == len(builtin_vocab())  # not the 5-token vocabulary of vocab_file=
    vocab = CharVocab(tok.get_vocab(), unk_token=tok.unk_token)
    assert sum(len(t) for t in real_texts) > 30_000
    assert unk_rate(vocab, real_texts) < MAX_UNK_RATE


def test_saved_tokenizer_reloads_with_its_full_vocabulary(real_texts: list[str], tmp_path: Path) -> None:
    tok = builtin_tokenizer()
    tok.save_pretrained(tmp_path)
    back = load_tokenizer(tmp_path)
    # transformers 5 ignores vocab_file=: a careless reload yields 5 tokens and all-[UNK] Chinese.
    assert len(back.get_vocab()) > 20_000
    assert back.get_vocab() == tok.get_vocab()
    vocab = CharVocab(back.get_vocab(), unk_token=back.unk_token)
    assert vocab.newline_id == tok.convert_tokens_to_ids(NEWLINE_TOKEN)
    assert unk_rate(vocab, real_texts) < MAX_UNK_RATE
    assert back.cls_token_id == tok.cls_token_id and back.pad_token_id == tok.pad_token_id


def test_load_tokenizer_adds_layout_tokens_to_a_plain_bert_vocab(tmp_path: Path) -> None:
    from transformers import BertTokenizerFast

    plain = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "高", "新", "区"])}
    BertTokenizerFast(vocab=plain).save_pretrained(tmp_path)
    tok = load_tokenizer(tmp_path)
    assert {NEWLINE_TOKEN, "[SP]", "[IDSP]"} <= set(tok.get_vocab())
    assert len(tok) == len(plain) + 3
    # BERT's own tokenisation drops "\n"; CharVocab keeps it as the added token.
    assert tok.convert_tokens_to_ids(NEWLINE_TOKEN) not in tok("高\n新")["input_ids"]
    vocab = CharVocab(tok.get_vocab(), unk_token=tok.unk_token)
    assert vocab.encode("高\n新").input_ids.tolist() == [5, len(plain), 6]
    sp, idsp = tok.convert_tokens_to_ids(["[SP]", "[IDSP]"])
    assert vocab.encode("高 新\n\u3000\u3000区").input_ids.tolist() == [5, sp, 6, len(plain), idsp, 7]


def test_char_lookup_falls_back_to_normalised_forms() -> None:
    vocab = CharVocab(builtin_vocab())
    assert vocab.char_id("⁰") == vocab.vocab["0"]  # NFKC: superscript zero -> 0
    assert vocab.char_id("ﬁ") == vocab.unk_id  # NFKC gives two characters: no single token
    assert vocab.char_id("😀") == vocab.unk_id
