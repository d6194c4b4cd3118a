"""``PageModel``: a small transformer over the lines of a page, with a CRF line tagger and a link head.

The character encoder reads about 20 OCR lines at a time; a headline, its lead and the column where
the article continues can be hundreds of lines apart. This model gives every line the context of
the whole page: each line is one vector (the encoder's hidden states pooled over the line, its
boundary probabilities and the line's shape, see :mod:`newsseg.model.page_features`), and a
transformer over all lines of a page (windows of ``max_lines`` with overlap on longer pages) gives
each line a page-level state. Heads read the states:

* line tags (``O``, ``B-``/``I-headline``, ``B-``/``I-body``) from a linear-chain CRF, whose learned
  transitions replace the hand-set Viterbi penalties; impossible BIO moves are pinned at -1e4;
* "same article" log-odds for every pair of lines (a symmetric bilinear form of the two states),
  which the decoder averages over two fragments' lines to link them (:mod:`newsseg.model.page_decoding`);
* with ``n_topics``, each line's topic (trained on its gold article's topic): an assembled article's
  topic is read once from its lines' states (:func:`newsseg.model.topic.line_topic_mass`).

It is stored beside the encoder as ``page_model.safetensors`` with its sizes and feature
normalisation in ``config.page_model``, like the article topic model: no pickles.

Example::

    import numpy as np, torch
    from newsseg.model.page_model import PageModel, PageModelConfig
    model = PageModel(PageModelConfig(n_features=20, hidden=32, layers=1, heads=2, n_topics=5))
    out = model(torch.randn(2, 7, 20), torch.ones(2, 7, dtype=torch.bool))
    out["emissions"].shape, model.pair_logits(out["states"]).shape  # (2, 7, 5), (2, 7, 7)
    model.decode(np.random.randn(7, 20).astype("float32")).topics.shape  # (7, 5): per-line topic probabilities
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn
from torchcrf import CRF

from newsseg.data.encoding import IGNORE_INDEX, LABEL_ROLE, check_line_split

N_TAGS = 5
NEG = -1e4  # score of a BIO move that cannot happen (finite, so the CRF's logsumexp stays finite)


@dataclass
class PageModelConfig:
    """Sizes of the page model; ``layers=0`` is the ablation with no page transformer."""

    n_features: int
    hidden: int = 128
    layers: int = 2
    heads: int = 4
    ff: int = 256
    dropout: float = 0.1
    link_dim: int = 64
    max_lines: int = 256          # a window of lines; longer pages are read in overlapping windows
    link_loss_weight: float = 1.0
    cross_fragment_only: bool = False  # pair loss over lines of different gold fragments only
    # Feature normalisation, fitted on the training pages (mean and std per feature).
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    threshold: float = 0.0        # log-odds a fragment pair must exceed to merge (fitted at decode fit)
    # False: the page model only tags lines and linking uses the hand-weighted cues (config.link /
    # config.linker) - the "no learned linker" ablation, set in a copy's config.json.
    use_links: bool = True
    # A learned linker stacked on the pair head (newsseg.model.linker, features + page_logit), fitted
    # on the decoder-fit pages and kept only when it beats the pair head alone; {}: the pair head alone.
    stack: dict[str, Any] = field(default_factory=dict)
    head_hand_weight: float = 0.0  # hand headline cues added to the page model's headline scores (fitted)
    # How OCR lines are cut into the units it tags (newsseg.data.encoding.LINE_SPLITS); models saved
    # before the setting existed were trained on gutter-split lines.
    line_split: str = "gutters"
    # Line vectors end in newsseg.model.page_features.slot_features (where a piece sits across its OCR
    # line); False for models saved before they existed.
    slot_features: bool = False
    n_topics: int = 0             # 0: no topic head (models saved before it existed)
    topic_loss_weight: float = 0.5
    # Log-linear share of the line states' topic against the encoder's token votes in an article's
    # topic (newsseg.model.topic.combine), fitted on the decoder-fit pages; 0 = token votes only.
    topic_state_weight: float = 0.0

    def __post_init__(self) -> None:
        check_line_split(self.line_split)  # a bad value in a saved config fails at load, not at predict


class PageDecoded(NamedTuple):
    """What the page model says of one page."""

    tags: np.ndarray     # int64 [lines]: CRF Viterbi line tags
    logits: np.ndarray   # float32 [lines, lines]: pair "same article" log-odds
    topics: np.ndarray   # float32 [lines, n_topics]: each line's topic distribution ([lines, 0] without the head)


def allowed_transitions() -> np.ndarray:
    """``[from, to]`` True where a BIO move is possible: ``I-x`` only after ``B-x`` or ``I-x``."""
    ok = np.ones((N_TAGS, N_TAGS), dtype=bool)
    for f in range(N_TAGS):
        for to in (2, 4):
            ok[f, to] = LABEL_ROLE[f] == LABEL_ROLE[to]
    return ok


def viterbi(emissions: np.ndarray, start: np.ndarray, transitions: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The best tag path of one sequence, ``[lines, tags]`` emissions -> ``[lines]`` tags: what
    ``CRF.decode`` returns, in numpy. pytorch-crf loops over positions with small torch ops; with five
    tags their per-call overhead is most of a page's decoding time (benchmarks/README.md)."""
    n = len(emissions)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    score = start + emissions[0]
    back = np.empty((n - 1, emissions.shape[1]), dtype=np.int64)
    for i in range(1, n):  # same sums in the same order as pytorch-crf's _viterbi_decode
        nxt = score[:, None] + transitions + emissions[i][None, :]
        back[i - 1] = nxt.argmax(0)
        score = nxt.max(0)
    path = [int((score + end).argmax())]
    for row in back[::-1]:
        path.append(int(row[path[-1]]))
    return np.array(path[::-1], dtype=np.int64)


def random_line_window(rng: np.random.Generator, n: int, max_lines: int) -> tuple[int, int]:
    """Lines ``[a, b)`` of a random window of at most ``max_lines`` of a page's ``n`` lines (what the
    model reads at once); ``rng`` is drawn only when the page is longer than that."""
    a = int(rng.integers(0, n - max_lines + 1)) if n > max_lines else 0
    return a, a + min(n, max_lines)


class PageModel(nn.Module):
    """Line vectors -> page transformer -> CRF line tags and pairwise same-article log-odds."""

    def __init__(self, cfg: PageModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.hidden
        self.register_buffer("mean", torch.tensor(cfg.mean or [0.0] * cfg.n_features, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(cfg.std or [1.0] * cfg.n_features, dtype=torch.float32))
        self.inp = nn.Sequential(nn.Linear(cfg.n_features, d), nn.GELU(), nn.LayerNorm(d))
        self.pos = nn.Embedding(cfg.max_lines, d)
        self.encoder = None
        if cfg.layers > 0:
            layer = nn.TransformerEncoderLayer(d, cfg.heads, cfg.ff, cfg.dropout, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.tag_head = nn.Linear(d, N_TAGS)
        self.crf = CRF(N_TAGS, batch_first=True)
        self._pin()  # impossible moves start at NEG (their gradient is ~0 there) and are re-pinned to decode
        self.q = nn.Linear(d, cfg.link_dim)
        self.k = nn.Linear(d, cfg.link_dim)
        self.topic_head = nn.Linear(d, cfg.n_topics) if cfg.n_topics else None

    def _pin(self) -> None:
        # Weight decay pulls every parameter towards 0; impossible moves must stay impossible.
        with torch.no_grad():
            self.crf.transitions[torch.from_numpy(~allowed_transitions())] = NEG
            self.crf.start_transitions[[2, 4]] = NEG

    def states(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Page-level state of each line, ``[batch, lines, hidden]``."""
        x = (features - self.mean) / self.std
        pos = torch.arange(x.shape[1], device=x.device).clamp(max=self.cfg.max_lines - 1)
        h = self.inp(x) + self.pos(pos)[None]
        if self.encoder is not None:
            # No padding (every page at inference): no mask, so attention takes the plain softmax; the
            # masked kernel was a third of the page model's time at inference (benchmarks/README.md).
            h = self.encoder(h, src_key_padding_mask=None if bool(mask.all()) else ~mask)
        return self.drop(h)

    def pair_logits(self, states: torch.Tensor) -> torch.Tensor:
        """Symmetric "same article" log-odds for every pair of lines, ``[batch, lines, lines]``."""
        q, k = self.q(states), self.k(states)
        s = q @ k.transpose(1, 2) / math.sqrt(self.cfg.link_dim)
        return (s + s.transpose(1, 2)) / 2

    def forward(self, features: torch.Tensor, mask: torch.Tensor, tags: torch.Tensor | None = None,
                articles: torch.Tensor | None = None, spans: torch.Tensor | None = None,
                topics: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Emissions and states; with gold ``tags`` (and ``articles``: article index per line, -1 for
        none; ``spans``: gold span index per line; ``topics``: the line's article's topic id, -100 for
        none) also the loss: CRF negative log-likelihood per line + weighted pair BCE + weighted topic
        cross-entropy."""
        mask = mask.bool()
        h = self.states(features, mask)
        em = self.tag_head(h)
        out: dict[str, torch.Tensor] = {"emissions": em, "states": h}
        if tags is not None:
            n_lines = mask.sum().clamp(min=1)
            loss = -self.crf(em.float(), tags.clamp(min=0), mask=mask, reduction="sum") / n_lines
            if articles is not None:
                loss = loss + self.cfg.link_loss_weight * self._link_loss(h, mask, articles, spans)
            if topics is not None and self.topic_head is not None and (topics[mask] >= 0).any():
                loss = loss + self.cfg.topic_loss_weight * nn.functional.cross_entropy(
                    self.topic_head(h)[mask].float(), topics[mask], ignore_index=IGNORE_INDEX)
            out["loss"] = loss
        return out

    def _link_loss(self, h: torch.Tensor, mask: torch.Tensor, articles: torch.Tensor,
                   spans: torch.Tensor | None = None) -> torch.Tensor:
        """BCE over pairs of lines that both belong to an article: same article or not.

        With ``spans``, only pairs from two different gold fragments count when ``cross_fragment_only``:
        lines of one fragment are joined by the tagger, not the linker, and as easy positives they
        would outnumber the pairs linking has to decide.
        """
        inside = mask & (articles >= 0)
        pairs = inside[:, :, None] & inside[:, None, :]
        if spans is not None and self.cfg.cross_fragment_only:
            pairs &= spans[:, :, None] != spans[:, None, :]
        else:
            pairs &= ~torch.eye(h.shape[1], dtype=torch.bool, device=h.device)[None]
        if not pairs.any():
            return h.sum() * 0.0
        target = (articles[:, :, None] == articles[:, None, :]).float()
        logits = self.pair_logits(h)
        return nn.functional.binary_cross_entropy_with_logits(logits[pairs].float(), target[pairs])

    @torch.inference_mode()
    def decode(self, features: np.ndarray) -> PageDecoded:
        """Line tags (CRF Viterbi), pair log-odds and line topics of one page of any length.

        Windows of ``max_lines`` lines with a quarter overlap; each line's state comes from the
        window where it has most context (as for characters in the encoder), then the CRF runs once
        over the whole page and the pair head over all pairs of stitched states.
        """
        from newsseg.data.encoding import best_window, make_windows, stitch_logits

        n = len(features)
        if n == 0:
            return PageDecoded(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32),
                               np.zeros((0, self.cfg.n_topics), dtype=np.float32))
        self.eval()
        self._pin()
        wins = make_windows(n, self.cfg.max_lines, self.cfg.max_lines // 4)
        x = torch.from_numpy(np.asarray(features, dtype=np.float32))
        per = [self.states(x[None, w.start:w.end], torch.ones(1, w.end - w.start, dtype=torch.bool))[0].numpy()
               for w in wins]
        states = torch.from_numpy(stitch_logits(wins, per, n, best_window(wins, n)))[None]
        em = self.tag_head(states)
        tags = viterbi(em[0].numpy(), self.crf.start_transitions.detach().numpy(),
                       self.crf.transitions.detach().numpy(), self.crf.end_transitions.detach().numpy())
        topics = (self.topic_head(states)[0].softmax(-1).numpy() if self.topic_head is not None
                  else np.zeros((n, 0), dtype=np.float32))
        return PageDecoded(tags, self.pair_logits(states)[0].numpy(), topics)

    # ------------------------------------------------------------------------------- persistence
    FILE = "page_model.safetensors"

    def save(self, directory: str | Path) -> dict[str, Any]:
        """Write the weights; returns the ``config.page_model`` entry that :meth:`load` reads."""
        from safetensors.torch import save_file

        save_file({k: v.detach().contiguous().clone() for k, v in self.state_dict().items()},
                  str(Path(directory) / self.FILE), metadata={"format": "pt"})
        return {"file": self.FILE, **asdict(self.cfg)}

    @classmethod
    def load(cls, directory: str | Path, entry: dict[str, Any]) -> "PageModel":
        """The page model saved in ``directory`` under the ``config.page_model`` ``entry``."""
        from safetensors.torch import load_file

        fields = set(PageModelConfig.__dataclass_fields__)
        model = cls(PageModelConfig(**{k: v for k, v in entry.items() if k in fields}))
        model.load_state_dict(load_file(str(Path(directory) / entry.get("file", cls.FILE))))
        return model.eval()
