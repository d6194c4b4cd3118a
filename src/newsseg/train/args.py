"""Training configuration: dataclasses with help text, loaded from TOML with ``--set`` overrides.

A recipe has up to four tables. ``[model]``, ``[data]`` and ``[page_model]`` map to the dataclasses
below; ``[training]`` is passed to Hugging Face ``TrainingArguments`` as is, so every Trainer option
is available.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from newsseg.data.pages import DEFAULT_TOPICS


@dataclass
class ModelArguments:
    base_model: str = field(default="scratch-small", metadata={
        "help": "Encoder: a built-in from-scratch size (scratch-tiny/-mini/-small/-medium) or a BERT "
                "checkpoint by hub id or local directory (e.g. bert-base-chinese)."})
    max_length: int = field(default=512, metadata={"help": "Window length in tokens, [CLS] and [SEP] included."})
    topics: list[str] = field(default_factory=lambda: list(DEFAULT_TOPICS),
                              metadata={"help": "Topic label set of the second head (stored in config.json)."})
    topic_loss_weight: float = field(default=1.0, metadata={"help": "Loss = boundary CE + weight * topic CE."})
    boundary_class_weights: list[float] | None = field(default=None, metadata={
        "help": "CE weights for O, B-headline, I-headline, B-body, I-body (B- labels are rare)."})
    window_overlap: float = field(default=0.25, metadata={
        "help": "Overlap of inference windows as a fraction of the window (>= 0.25)."})
    line_buckets: int = field(default=32, metadata={
        "help": "Give the encoder each token's line length (capped at this many buckets) through "
                "token_type_ids; 0 turns it off."})
    save_half: bool = field(default=False, metadata={"help": "Store weights as float16 (halves the file)."})


@dataclass
class DataArguments:
    train_files: list[str] = field(default_factory=list, metadata={
        "help": "Page JSONL files with gold spans to train on (added to the composed pages)."})
    eval_files: list[str] = field(default_factory=list, metadata={
        "help": "Page JSONL files for per-epoch evaluation; default: composed pages with another seed."})
    corpus: str | None = field(default=None, metadata={"help": "Corpus directory (default: the repo's data/corpus)."})
    compose_pages: int = field(default=1000, metadata={"help": "Training pages composed from the training corpus."})
    eval_pages: int = field(default=60, metadata={"help": "Pages composed from the decoder-fit split (fit.txt) for "
                                                           "per-epoch evaluation and the decoder fit (when eval_files is empty)."})
    seed: int = field(default=0, metadata={"help": "Composer seed; evaluation pages use seed + 100000."})
    composer: dict[str, Any] = field(default_factory=dict, metadata={"help": "ComposerConfig knobs."})
    ocr_share: float = field(default=0.0, metadata={
        "help": "Share of the composed training and evaluation pages that are instead rendered as images "
                "and read by Tesseract (`newsseg render`), with gold from the engine's character boxes "
                "(training pages: see data.ocr_encoder); built once into data.ocr_cache. Needs tesseract-ocr "
                "and tesseract-ocr-chi-sim."})
    ocr_encoder: bool = field(default=True, metadata={
        "help": "Whether the encoder trains on the OCR'd training pages. False: they are still built, for the page "
                "model only, and the encoder keeps all data.compose_pages composed pages (mixed into the "
                "encoder they cost it on clean text: train/README.md, 'OCR'd pages in training')."})
    ocr_cache: str | None = field(default=None, metadata={
        "help": "Cache of OCR'd pages (default $NEWSSEG_CACHE/ocr or ~/.cache/newsseg/ocr)."})
    ocr_render: dict[str, Any] = field(default_factory=dict, metadata={"help": "RenderConfig knobs."})
    train_overlap: float = field(default=0.25, metadata={"help": "Overlap of training windows (fraction)."})
    unk_dropout: float = field(default=0.02, metadata={
        "help": "Share of input characters replaced by [UNK] while training, so unseen characters at "
                "inference land on a trained embedding."})
    num_proc: int | None = field(default=None, metadata={"help": "Processes for datasets.map."})
    tune_linking: bool = field(default=True, metadata={
        "help": "After training, fit the decoder's linking weights on the evaluation pages."})
    score_calibration: bool = field(default=False, metadata={
        "help": "After the decoder fits, fit what article and span scores mean on the evaluation pages "
                "(config.score_calibration): with a page model, a logistic regression from what the page model "
                "says of each article to its chance of being right (newsseg.model.article_scores); without one, an "
                "isotonic map of the raw score. Spans: an isotonic map. On in train/small.toml (measured there: "
                "evaluate/README.md); off by default because the isotonic map alone measured worse on composed pages."})
    article_topic: bool = field(default=True, metadata={
        "help": "After training, fit the article-level topic model: character n-grams of the training "
                "split's articles, weighed against the encoder's votes on the evaluation pages."})


@dataclass
class PageFitArguments:
    """The page model (:mod:`newsseg.model.page_model`): its size and training, ``[page_model]`` in a recipe."""

    enabled: bool = field(default=False, metadata={
        "help": "After the encoder and the decoder fit, train the page model and decode with it."})
    compose_pages: int = field(default=4000, metadata={
        "help": "Training pages for the page model, composed from the training split with seed + 200000 "
                "(fresh layouts: on the encoder's own training pages its probabilities are over-confident)."})
    hidden: int = field(default=128, metadata={"help": "Width of the page transformer."})
    layers: int = field(default=2, metadata={"help": "Page transformer layers; 0 = line vectors straight to the CRF."})
    heads: int = field(default=4, metadata={"help": "Attention heads of the page transformer."})
    max_lines: int = field(default=256, metadata={"help": "Lines read at once (longer pages: overlapping windows)."})
    link_loss_weight: float = field(default=1.0, metadata={"help": "Loss = CRF NLL per line + weight * pair BCE."})
    cross_fragment_only: bool = field(default=False, metadata={
        "help": "Pair BCE over lines of two different gold fragments only (not lines of one fragment)."})
    line_split: str = field(default="gutters", metadata={
        "help": "Units the page model tags: OCR lines cut 'none' (whole lines), 'gutters' (at 3+ spaces or a "
                "column rule) or 'spaces' (at every inner space, so a headline glued to body text on one OCR "
                "line is its own piece); newsseg.data.encoding.LINE_SPLITS."})
    slot_features: bool = field(default=False, metadata={
        "help": "Line vectors also say where each piece sits across its OCR line (offset, piece index, pieces on "
                "the line): what an engine reading straight across the columns leaves to link "
                "(newsseg.model.page_features.slot_features)."})
    topic_loss_weight: float = field(default=0.5, metadata={
        "help": "Weight of the line topic loss (a topic head on the page states, read once per assembled article "
                "and mixed with the encoder's votes at a weight fitted on the decoder-fit pages); 0: no topic head."})
    epochs: float = field(default=8.0, metadata={
        "help": "Passes over the page model's training pages (0 with warm_start: keep it as it is, e.g. before "
                "an end-to-end step)."})
    learning_rate: float = field(default=1e-3, metadata={"help": "AdamW peak learning rate (linear decay)."})
    batch_size: int = field(default=16, metadata={"help": "Pages (crops of max_lines) per step."})
    seed: int = field(default=42, metadata={"help": "Seed of initialisation and crops."})
    warm_start: bool = field(default=False, metadata={
        "help": "Continue the segmenter's own page model (its sizes and normalisation kept) instead of a new one: "
                "fine-tuning on a few corrected pages of a new paper (data/ANNOTATION.md). Without fit pages its "
                "fitted linking is kept as it is."})

    end_to_end_pages: int = field(default=0, metadata={
        "help": "After the page model is trained on a frozen encoder's line vectors, train the encoder and the page "
                "model together (newsseg.train.end_to_end) on this many of the training pages (a seeded draw); "
                "0: the encoder stays as it is."})
    end_to_end_epochs: float = field(default=1.0, metadata={"help": "Passes over the end-to-end pages."})
    end_to_end_learning_rate: float = field(default=1e-4, metadata={
        "help": "AdamW peak learning rate of the end-to-end step (encoder and page model alike; linear decay)."})
    end_to_end_batch_size: int = field(default=4, metadata={
        "help": "Whole pages per end-to-end step (all their encoder windows in one batch)."})
    end_to_end_token_loss_weight: float = field(default=1.0, metadata={
        "help": "Weight of the encoder's own token loss beside the page model's: the decoder still reads its "
                "token probabilities, so its heads must stay trained."})

    def __post_init__(self) -> None:
        from newsseg.data.encoding import check_line_split

        check_line_split(self.line_split)
        if self.end_to_end_pages < 0 or self.end_to_end_batch_size < 1 or self.end_to_end_epochs <= 0:
            raise ValueError("page_model.end_to_end_pages must be >= 0, end_to_end_batch_size >= 1 and "
                             "end_to_end_epochs > 0")
        if self.epochs < 0:
            raise ValueError("page_model.epochs must be >= 0 (0: only with warm_start, to keep the page model as it is)")


@dataclass
class RunConfig:
    """A whole recipe: ``model``, ``data`` and raw ``training`` (TrainingArguments kwargs)."""

    model: ModelArguments = field(default_factory=ModelArguments)
    data: DataArguments = field(default_factory=DataArguments)
    training: dict[str, Any] = field(default_factory=dict)
    page_model: PageFitArguments = field(default_factory=PageFitArguments)

    def to_dict(self) -> dict[str, Any]:
        return {"model": asdict(self.model), "data": asdict(self.data), "training": dict(self.training),
                "page_model": asdict(self.page_model)}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        unknown = set(d) - {"model", "data", "training", "page_model"}
        if unknown:
            raise ValueError(f"unknown config tables {sorted(unknown)} (expected model, data, training, page_model)")
        return cls(build_table(ModelArguments, d.get("model", {}), "model"),
                   build_table(DataArguments, d.get("data", {}), "data"), dict(d.get("training", {})),
                   build_table(PageFitArguments, d.get("page_model", {}), "page_model"))

    def check(self) -> None:
        """Everything that can be checked before any work: ``[training]`` keys and value types against
        ``TrainingArguments``, and a ``scratch-…`` base model against the built-in sizes (no hub lookup).
        Raises ``ValueError`` with one line that says what is wrong (``[model]``/``[data]`` are checked
        when the recipe is read)."""
        from transformers import TrainingArguments

        from newsseg.model.configuration import SCRATCH_SIZES

        base = self.model.base_model
        if base.startswith("scratch") and base not in SCRATCH_SIZES:
            raise ValueError(f"[model] base_model {base!r} is not a built-in size{_did_you_mean(base, SCRATCH_SIZES)}; "
                             f"built-in: {', '.join(SCRATCH_SIZES)}")
        if not 0.0 <= self.data.ocr_share < 1.0:
            raise ValueError(f"data.ocr_share must be in [0, 1), got {self.data.ocr_share}")
        if self.data.ocr_share > 0:
            from newsseg.ocr.engine import INSTALL_HINT, tesseract_available
            from newsseg.ocr.render import RenderConfig

            RenderConfig.from_dict(self.data.ocr_render)
            if not tesseract_available():
                raise ValueError(f"data.ocr_share > 0 needs tesseract with chi_sim data; {INSTALL_HINT} "
                                 "(or train without OCR'd pages: --set data.ocr_share=0)")
        hints = typing.get_type_hints(TrainingArguments)
        for key, value in self.training.items():
            if key not in hints:
                raise ValueError(f"unknown key training.{key}{_did_you_mean(key, hints)} "
                                 "(a Hugging Face TrainingArguments field)")
            _check_type(f"training.{key}", value, hints[key])


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _accepts(value: Any, hint: Any) -> bool:
    """Whether a TOML value fits a field's type hint (lenient: unknown hint shapes accept anything)."""
    origin = typing.get_origin(hint)
    if hint is Any or hint is None:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple) or hint in (list, tuple):
        return isinstance(value, (list, tuple))
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if isinstance(hint, type) and issubclass(hint, str):  # str enums (IntervalStrategy, …)
        return isinstance(value, str)
    return True


def _check_type(where: str, value: Any, hint: Any) -> None:
    if not _accepts(value, hint):
        want = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
        raise ValueError(f"{where} = {value!r}: expected {want}, got {type(value).__name__}")


def build_table(klass: type, table: dict[str, Any], name: str) -> Any:
    """``klass(**table)`` for the recipe table ``name``, after checking its keys and value types (one-line errors)."""
    known = {f.name for f in fields(klass)}
    bad = sorted(set(table) - known)
    if bad:
        raise ValueError(f"unknown key {name}.{bad[0]}{_did_you_mean(bad[0], known)}; known: {', '.join(sorted(known))}")
    hints = typing.get_type_hints(klass)
    for key, value in table.items():
        _check_type(f"{name}.{key}", value, hints[key])
    return klass(**table)


def build_from_pairs(klass: type, pairs: list[str], name: str) -> Any:
    """``--set KEY=VALUE`` pairs of a verb (``fit-page-model``, ``pretrain``) as ``klass``, checked as a recipe table."""
    kw = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise ValueError(f"--set {pair}: expected KEY=VALUE")
        kw[key.strip()] = parse_value(raw.strip())
    return build_table(klass, kw, name)


def parse_value(raw: str) -> Any:
    """``--set`` values are TOML literals (``3``, ``2e-4``, ``true``, ``["a"]``); anything else is a string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read a TOML recipe and apply ``key.sub=value`` overrides (e.g. ``training.num_train_epochs=1``)."""
    d: dict[str, Any] = {}
    if path is not None:
        with open(path, "rb") as fh:
            d = tomllib.load(fh)
    for ov in overrides or []:
        if "=" not in ov:
            raise ValueError(f"--set expects key=value, got {ov!r}")
        key, raw = ov.split("=", 1)
        parts = key.strip().split(".")
        if len(parts) < 2:
            raise ValueError(f"--set key must name a table, e.g. training.learning_rate; got {key!r}")
        node = d
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = parse_value(raw.strip())
    return RunConfig.from_dict(d)
