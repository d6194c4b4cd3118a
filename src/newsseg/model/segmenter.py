"""``Segmenter``: load a model, segment pages, save it. Training lives in ``newsseg.train``."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, overload

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from newsseg.data.encoding import CharVocab, Encoded, Window, best_window, make_windows, stitch_logits
from newsseg.data.pages import DEFAULT_TOPICS, Page
from newsseg.data.script import simplified_view
from newsseg.model.configuration import SCRATCH_SIZES, SegmenterConfig
from newsseg.model.decoding import decode_pages
from newsseg.model.linker import LearnedLinker
from newsseg.model.loading import ModelLoadError, check_model_dir, check_shapes, load_part
from newsseg.model.modeling import SegmenterModel, add_layout_inputs
from newsseg.model.page_model import PageDecoded, PageModel
from newsseg.model.tokenizer import builtin_tokenizer, load_tokenizer
from newsseg.model.topic import NgramTopicModel, assign_topics, topic_evidence
from newsseg.paths import shipped_model_dir

# The shipped model: the repository's top-level model/ in a checkout, the wheel's packaged copy
# otherwise (newsseg.paths); NEWSSEG_MODEL overrides.
DEFAULT_MODEL_DIR = shipped_model_dir()


PAGE_MODEL_PAGES = 16  # pages whose encoder hidden states are held at once for the page model


def default_model_dir() -> Path:
    return Path(os.environ.get("NEWSSEG_MODEL", DEFAULT_MODEL_DIR))


def calibrate_scores(pages: Sequence[Page], cal: Mapping[str, Any] | None) -> None:
    """Map each article's and span's raw score through the fitted calibration (``config.score_calibration``;
    spans through its ``"spans"`` entry when there is one), in place. A ``"logistic"`` calibration scores
    articles while decoding (:mod:`newsseg.model.article_scores`); only its span map is applied here."""
    if not cal:
        return
    spans = cal.get("spans") or {}
    for page in pages:
        for art in page.articles:
            if art.score is not None and cal.get("x"):
                art.score = float(np.interp(art.score, cal["x"], cal["y"]))
            for sp in art.spans if spans.get("x") else ():
                if sp.score is not None:
                    sp.score = float(np.interp(sp.score, spans["x"], spans["y"]))


class Segmenter:
    """Segments OCR'd Chinese newspaper pages into articles.

    Example::

        from newsseg import Segmenter
        seg = Segmenter.from_pretrained()          # the shipped model (or a directory)
        page = seg.predict("总投资96.6亿元\\n本报讯 5月11日，…")
        for art in page.articles:
            print(art.topic, art.score, art.headline, art.body[:20])
        pages = seg.predict([text1, text2], batch_size=16)
    """

    def __init__(self, model: SegmenterModel, tokenizer: PreTrainedTokenizerBase):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config: SegmenterConfig = model.config
        self.vocab = CharVocab(tokenizer.get_vocab(), unk_token=tokenizer.unk_token,
                               newline_token=self.config.newline_token)
        # Windows fill the position table unless the config asks for shorter ones; room for [CLS] and [SEP].
        positions = int(self.config.max_position_embeddings)
        self.max_tokens = min(positions, int(getattr(self.config, "window_tokens", 0) or positions)) - 2
        # The article-level topic model (newsseg.model.topic), when the model has one.
        self.article_topic: NgramTopicModel | None = None
        # Traditional-character pages: "auto" reads those that look traditional as simplified
        # (newsseg.data.script; offsets unchanged, output keeps the original text), "convert", "keep".
        self.traditional: str = "auto"
        # Called as on_batch(windows_done, windows_total) after each forward batch of a chunk of pages,
        # so a progress bar can move within a long page (a 1 MB page is ~5,000 windows).
        self.on_batch: Callable[[int, int], None] | None = None
        # The page-level model (newsseg.model.page_model), when the model has one: it tags lines and
        # links fragments from the whole page instead of the line head and the hand-weighted cues.
        self.page_model: PageModel | None = None

    def set_article_topic(self, model: NgramTopicModel | None, weight: float = 0.5) -> None:
        """Install (or with ``None`` remove) the article-level topic model and its weight."""
        self.article_topic = model
        self.config.article_topic = {"weight": float(weight)} if model is not None else {}

    # ----------------------------------------------------------------- construction / persistence
    @classmethod
    def build(cls, base_model: str = "scratch-small", topics: Sequence[str] = DEFAULT_TOPICS,
              max_length: int | None = None, **config_kwargs: Any) -> "Segmenter":
        """A new, untrained segmenter on a built-in scratch encoder or a BERT checkpoint.

        ``base_model`` is a name from ``SCRATCH_SIZES`` (random init, built-in character vocabulary)
        or a hub id / local directory of any BERT-family checkpoint, e.g. ``bert-base-chinese``.
        ``max_length`` is the window length in tokens ([CLS]/[SEP] included): the size of a scratch
        encoder's position table (default 512), or for a checkpoint at most its table (default: all of it).
        """
        if base_model in SCRATCH_SIZES:
            tok = builtin_tokenizer()
            cfg = SegmenterConfig(vocab_size=len(tok), topic_labels=topics, max_position_embeddings=max_length or 512,
                                  pad_token_id=tok.pad_token_id, **SCRATCH_SIZES[base_model], **config_kwargs)
            return cls(SegmenterModel(cfg), tok)
        tok = load_tokenizer(base_model)
        cfg = SegmenterConfig.from_pretrained(base_model, topic_labels=list(topics), **config_kwargs)
        cfg.architectures = None
        if max_length is not None:
            # A checkpoint's position table is fixed: windows may be shorter than it, never longer.
            if max_length > cfg.max_position_embeddings:
                raise ValueError(f"max_length {max_length} exceeds the {cfg.max_position_embeddings} positions of "
                                 f"{base_model}; use at most {cfg.max_position_embeddings}")
            cfg.window_tokens = int(max_length)
        model = SegmenterModel.from_pretrained(base_model, config=cfg, use_safetensors=True)
        add_layout_inputs(model, tok, cfg.line_buckets)
        return cls(model, tok)

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str] | None = None, *, quantize: str | None = None,
                        num_threads: int | None = None) -> "Segmenter":
        """Load a trained segmenter (safetensors only); ``path=None`` loads the shipped default model."""
        p = Path(path) if path is not None else default_model_dir()
        check_model_dir(p)
        try:
            cfg = SegmenterConfig.from_pretrained(p)
            cfg.check_labels()
            check_shapes(p, cfg)
            # use_safetensors=True: a pickle file beside the safetensors is never read. The config
            # class is concrete and trust_remote_code=False: no auto_map code is ever imported.
            model = SegmenterModel.from_pretrained(p, config=cfg, use_safetensors=True, dtype=torch.float32)
            tok = load_tokenizer(p, trust_remote_code=False)
        except ModelLoadError:
            raise
        except Exception as e:  # noqa: BLE001 - hostile files raise many types (SafetensorError, ...)
            raise ModelLoadError(f"cannot load model from {p}: {type(e).__name__}: {e}") from e
        if model.boundary_head.out_features != len(cfg.id2label) or model.topic_head.out_features != cfg.num_topics:
            raise ModelLoadError(f"{p}: config label maps do not match the heads' sizes")
        n_emb = model.get_input_embeddings().num_embeddings
        if max(tok.get_vocab().values()) >= n_emb:  # a later lookup would index past the table
            raise ModelLoadError(f"{p}: the tokenizer has ids up to {max(tok.get_vocab().values())} but the "
                                 f"embeddings have {n_emb} rows; tokenizer and weights do not belong together")
        if num_threads:
            torch.set_num_threads(num_threads)
        if quantize == "int8":
            # torch.ao's dynamic quantisation is deprecated in favour of torchao's quantize_(), but on
            # CPU torchao's int8 kernels ran 4x slower than fp32 here while this one (fbgemm) ran ~2x
            # faster on scratch-small (docs/SCALING.md); its deprecation warnings are silenced, not its errors.
            import warnings

            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=DeprecationWarning)
                warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        elif quantize not in (None, "none"):
            raise ValueError(f"unknown quantize mode {quantize!r} (use 'int8')")
        seg = cls(model, tok)
        seg.article_topic = load_part(p, getattr(cfg, "article_topic", None), NgramTopicModel.load,
                                       "article topic model")
        if seg.article_topic is not None and seg.article_topic.labels != list(cfg.topic_labels):
            raise ModelLoadError(f"{p}: article topic labels {seg.article_topic.labels} differ from "
                                 f"topic_labels {cfg.topic_labels}")
        seg.page_model = load_part(p, getattr(cfg, "page_model", None), PageModel.load, "page model")
        return seg

    def save_pretrained(self, path: str | os.PathLike[str], half: bool = False) -> None:
        """Write safetensors weights, ``config.json`` (with label maps) and the tokenizer."""
        model = self.model
        Path(path).mkdir(parents=True, exist_ok=True)
        if self.article_topic is not None:
            self.config.article_topic = {**self.article_topic.save(path),
                                         "weight": float(self.config.article_topic.get("weight", 0.5))}
        self.config.page_model = self.page_model.save(path) if self.page_model is not None else {}
        if half:  # halves the shipped file; weights are read back as float32
            import copy
            model = copy.deepcopy(model).half()
        model.save_pretrained(path, safe_serialization=True)
        self.tokenizer.save_pretrained(path)
        # safetensors/HF write through a private temp file (mode 0600); a model directory is meant
        # to be shared, so the weights get the mode any new file gets under the user's umask.
        umask = os.umask(0)
        os.umask(umask)
        for f in Path(path).glob("*.safetensors"):
            f.chmod(0o666 & ~umask)

    # ---------------------------------------------------------------------------------- prediction
    @overload
    def predict(self, texts: str, batch_size: int = ...) -> Page: ...
    @overload
    def predict(self, texts: Sequence[str], batch_size: int = ...) -> list[Page]: ...

    def predict(self, texts: str | Sequence[str], batch_size: int = 8) -> Page | list[Page]:
        """Segment one page (``str`` -> ``Page``) or many (list -> list, batched across pages).

        A page dict or :class:`Page` is not text: pass ``page["text"]``, or stream them with :meth:`pipe`.
        """
        if isinstance(texts, str):
            return next(self.predict_pages([Page("page", texts)], batch_size=batch_size))
        if isinstance(texts, (Mapping, Page)):
            raise TypeError(f"predict() takes page text (a str) or a list of texts, not a {type(texts).__name__}: "
                            "use seg.predict(page['text']) or seg.pipe([page])")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"predict(): item {i} is a {type(t).__name__}, not page text; "
                                "use seg.pipe(...) for page dicts or Page objects")
        pages = (Page(f"page-{i + 1}", t) for i, t in enumerate(texts))
        return list(self.predict_pages(pages, batch_size=batch_size))

    def pipe(self, items: Iterable[str | Mapping[str, Any] | Page], batch_size: int = 8,
             chunk_pages: int = 64) -> Iterator[Page]:
        """Stream predictions for page texts, page dicts (``{"id", "text"}``) or :class:`Page` objects,
        like spaCy's ``nlp.pipe``: lazily, ``chunk_pages`` pages at a time, in input order.

        Example::

            for page in seg.pipe(({"id": f.stem, "text": f.read_text()} for f in files), batch_size=16):
                print(page.id, [a.headline for a in page.articles])
        """
        def pages() -> Iterator[Page]:
            for i, item in enumerate(items):
                if isinstance(item, str):
                    yield Page(f"page-{i + 1}", item)
                elif isinstance(item, Page):
                    yield Page(item.id, item.text, [], source=item.source, encoding=item.encoding)
                elif isinstance(item, Mapping):
                    p = Page.from_dict(item, where=f"item {i}")
                    yield Page(p.id or f"page-{i + 1}", p.text, [], source=p.source, encoding=p.encoding)
                else:
                    raise TypeError(f"pipe(): item {i} is a {type(item).__name__}; expected str, dict or Page")
        return self.predict_pages(pages(), batch_size=batch_size, chunk_pages=chunk_pages)

    def predict_pages(self, pages: Iterable[Page], batch_size: int = 8, chunk_pages: int = 64) -> Iterator[Page]:
        """Stream predictions: pages are read ``chunk_pages`` at a time, so memory stays flat.

        Windows from all pages of a chunk are sorted by length and batched with dynamic padding.
        Output pages keep the input's ``id`` and ``text``, in input order.
        """
        it = iter(pages)
        while chunk := list(itertools.islice(it, chunk_pages)):
            yield from self._predict_chunk(chunk, batch_size)

    def _windows(self, enc: Encoded) -> list[Window]:
        overlap = int(round(self.max_tokens * self.config.window_overlap))
        return make_windows(len(enc.input_ids), self.max_tokens, overlap)

    @torch.inference_mode()
    def forward_windows(self, seqs: Sequence[np.ndarray], batch_size: int,
                        types: Sequence[np.ndarray] | None = None, hidden: bool = False
                        ) -> list[tuple[np.ndarray, ...]]:
        """Log-probabilities of both heads for each token sequence (without the special tokens).

        ``types`` are the matching line-length buckets (``token_type_ids``), when the model uses them.
        With ``hidden``, each tuple also holds the encoder's last hidden states (the page model's input).
        """
        out: list[tuple[np.ndarray, ...]] = [None] * len(seqs)  # type: ignore[list-item]
        order = sorted(range(len(seqs)), key=lambda k: len(seqs[k]))
        cls_id, sep_id, pad_id = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id, self.tokenizer.pad_token_id
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            width = max(len(seqs[k]) for k in idx) + 2
            ids = np.full((len(idx), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            tt = np.zeros((len(idx), width), dtype=np.int64)
            for r, k in enumerate(idx):
                n = len(seqs[k])
                ids[r, 0], ids[r, 1:n + 1], ids[r, n + 1] = cls_id, seqs[k], sep_id
                mask[r, :n + 2] = 1
                if types is not None:
                    tt[r, 1:n + 1] = types[k]
            o = self.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                           token_type_ids=torch.from_numpy(tt))
            bl = torch.log_softmax(o.boundary_logits.float(), -1).numpy()
            tl = torch.log_softmax(o.topic_logits.float(), -1).numpy()
            hs = o.hidden_states.float().numpy() if hidden else None
            for r, k in enumerate(idx):
                n = len(seqs[k])
                out[k] = (bl[r, 1:n + 1], tl[r, 1:n + 1]) + ((hs[r, 1:n + 1],) if hs is not None else ())
            if self.on_batch is not None:
                self.on_batch(min(b + batch_size, len(order)), len(order))
        return out

    def _predict_chunk(self, chunk: list[Page], batch_size: int) -> Iterator[Page]:
        views = [simplified_view(p.text, self.traditional) for p in chunk]
        originals = chunk
        chunk = [Page(p.id, text, []) if converted else p for p, (text, converted) in zip(chunk, views)]
        line_masses: list[np.ndarray | None] = []  # the page model's line-state topic of each article
        if self.page_model is not None:
            probs, decoded = [], []
            for p, e, b, t, h in self.page_states(chunk, batch_size):
                probs.append((p, e, b, t))
                if b is not None:
                    decoded.append(self._decode_with_page_model(p, e, b, t, h))
                    line_masses.append(decoded[-1][1])
            done = iter(d[0] for d in decoded)
        else:
            probs = list(self.page_probs(chunk, batch_size))
            done = iter(decode_pages([(p, e.char_index, b, t) for p, e, b, t in probs if b is not None],
                                     self.config.topic_labels, self.config.link, self.config.line_head,
                                     LearnedLinker.from_dict(self.config.linker)))
        pages = [Page(page.id, page.text, []) if b is None else next(done) for page, _, b, _ in probs]
        if self.article_topic is not None or any(m is not None for m in line_masses):
            # One article-level decision per article: encoder votes, the page model's line states, n-grams.
            weight = self.ngram_topic_weight
            done_pages = [(p, e.char_index, t) for p, (_, e, b, t) in zip(pages, probs) if b is not None]
            evidence = topic_evidence([p for p, _, _ in done_pages], [ci for _, ci, _ in done_pages],
                                      [t for _, _, t in done_pages], self.article_topic, line_masses or None,
                                      self.page_model.cfg.topic_state_weight if self.page_model is not None else 0.0)
            for (page, _, _), (mass, ngrams) in zip(done_pages, evidence):
                assign_topics(page, mass, ngrams, weight, self.config.topic_labels)
        calibrate_scores(pages, self.config.score_calibration)
        for i, (orig, (_, converted)) in enumerate(zip(originals, views)):
            if converted:  # same offsets: report the spans on the text as it was given
                pages[i] = Page(orig.id, orig.text, pages[i].articles, script="traditional")
            pages[i].source, pages[i].encoding = orig.source, orig.encoding
        yield from pages

    def _decode_with_page_model(self, page: Page, enc: Encoded, b: np.ndarray, t: np.ndarray, h: np.ndarray
                                ) -> tuple[Page, np.ndarray | None]:
        from newsseg.model.article_scores import score_articles
        from newsseg.model.topic import line_topic_mass

        pred, lines, dec = self.decode_page_model(page, enc, b, t, h)
        score_articles(pred, enc.char_index, lines, dec.logits, self.config.score_calibration)
        assert self.page_model is not None
        if not dec.topics.shape[1] or self.page_model.cfg.topic_state_weight <= 0:
            return pred, None  # no topic head, or its share was fitted to 0: topics as before it existed
        return pred, line_topic_mass(pred, enc.char_index, lines, dec.topics)

    def decode_page_model(self, page: Page, enc: Encoded, b: np.ndarray, t: np.ndarray, h: np.ndarray
                          ) -> tuple[Page, Sequence[tuple[int, int]], PageDecoded]:
        """One page decoded with the page model from :meth:`page_states` outputs, with raw article scores;
        also the page's lines (token ranges) and what the page model said of them: tags, line topics and
        the pair log-odds that article scores are fitted on (:mod:`newsseg.model.article_scores`)."""
        from newsseg.model.page_decoding import decode_with_page_model
        from newsseg.model.page_features import page_line_inputs

        assert self.page_model is not None
        lines, feats = page_line_inputs(page.text, enc.char_index, b, h, self.page_model.cfg.line_split,
                                        self.page_model.cfg.slot_features)
        dec = self.page_model.decode(feats)
        pred = decode_with_page_model(page.id, page.text, enc.char_index, b, t, self.config.topic_labels, lines,
                                      dec.tags, dec.logits, self.page_model.cfg, self.config.link,
                                      LearnedLinker.from_dict(self.config.linker))
        return pred, lines, dec

    @property
    def line_split(self) -> str:
        """How the page model cuts OCR lines (its training setting; gutters without a page model)."""
        return self.page_model.cfg.line_split if self.page_model is not None else "gutters"

    @property
    def slot_features(self) -> bool:
        """Whether the page model's line vectors carry slot features (False without a page model)."""
        return self.page_model is not None and self.page_model.cfg.slot_features

    @property
    def ngram_topic_weight(self) -> float:
        """Weight of the article n-gram topic model in an article's topic (0 without one)."""
        return float(self.config.article_topic.get("weight", 0.5)) if self.article_topic is not None else 0.0

    def page_probs(self, chunk: list[Page], batch_size: int
                   ) -> Iterator[tuple[Page, Encoded, np.ndarray | None, np.ndarray | None]]:
        """Per-token probabilities of both heads for each page (``None`` for a page with no tokens).

        Exposed so that decoding knobs can be tuned without re-running the encoder.
        """
        for page, enc, b, t, _ in self.page_outputs(chunk, batch_size):
            yield page, enc, b, t

    def page_states(self, pages: Iterable[Page], batch_size: int, hidden: bool = True
                    ) -> Iterator[tuple[Page, Encoded, np.ndarray | None, np.ndarray | None, np.ndarray | None]]:
        """:meth:`page_outputs` (with hidden states unless ``hidden=False``) for any number of pages, in order.

        Hidden states are ``hidden_size`` floats a token (128 for the shipped encoder): they are
        held for ``PAGE_MODEL_PAGES`` pages at a time, so memory stays flat in the number of pages
        (a batch still gathers ~20 windows).
        """
        it = iter(pages)
        while chunk := list(itertools.islice(it, PAGE_MODEL_PAGES)):
            yield from self.page_outputs(chunk, batch_size, hidden=hidden)

    def page_outputs(self, chunk: list[Page], batch_size: int, hidden: bool = False
                     ) -> Iterator[tuple[Page, Encoded, np.ndarray | None, np.ndarray | None, np.ndarray | None]]:
        """:meth:`page_probs` plus, with ``hidden``, the stitched last hidden states of each page."""
        encs = [self.vocab.encode(p.text) for p in chunk]
        wins = [self._windows(e) for e in encs]
        seqs = [e.input_ids[w.start:w.end] for e, ws in zip(encs, wins) for w in ws if w.end > w.start]
        types = None
        if self.config.line_buckets:
            lines = [e.line_buckets(p.text, self.config.line_buckets) for p, e in zip(chunk, encs)]
            types = [lb[w.start:w.end] for lb, ws in zip(lines, wins) for w in ws if w.end > w.start]
        res = iter(self.forward_windows(seqs, batch_size, types, hidden))
        for page, enc, ws in zip(chunk, encs, wins):
            n = len(enc.input_ids)
            if n == 0:
                yield page, enc, None, None, None
                continue
            got = [next(res) for _ in ws]
            owner = best_window(ws, n)
            b = np.exp(stitch_logits(ws, [g[0] for g in got], n, owner))
            t = np.exp(stitch_logits(ws, [g[1] for g in got], n, owner))
            h = stitch_logits(ws, [g[2] for g in got], n, owner) if hidden else None
            yield page, enc, b, t, h
