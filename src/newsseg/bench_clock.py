"""``StageClock``: where ``newsseg predict``'s time goes, measured on the real code path (``newsseg bench``)."""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator


class StageClock:
    """Times the stages of ``seg.predict_pages`` on the real code path.

    ``encode`` (``seg.vocab.encode``), ``stitch`` and ``decode`` (the module functions the segmenter
    calls) and, for a model with one, the ``page model`` step are wrapped while attached; ``forward`` is timed by forward hooks on the model, which also
    keep each batch's inputs when ``record=True`` so that :meth:`replay` can time the pure forward
    passes on exactly those batches. A stage the code no longer has is reported as missing, not faked.
    """

    WRAPPED = {"stitch": "stitch_logits", "decode": "decode_pages"}

    def __init__(self, seg: Any, record: bool = False):
        self.seg, self.record = seg, record
        self.seconds: dict[str, float] = {"encode": 0.0, "forward": 0.0, "stitch": 0.0, "decode": 0.0}
        self.batches: list[dict[str, Any]] = []
        self.windows = 0
        self._t0 = 0.0
        # Parts of a stage, not stages of their own (they are not added to predict's total): inside the
        # page model step, its own forward pass (PageModel.decode: page transformer, CRF Viterbi, pair and
        # topic heads), the rest being line vectors and linking.
        self.inner: dict[str, float] = {"page forward": 0.0}

    @property
    def page_forward(self) -> float:
        """Seconds of the page model's own forward passes (part of the ``page model`` stage)."""
        return self.inner["page forward"]

    def _wrap(self, name: str, fn: Callable[..., Any], into: dict[str, float] | None = None) -> Callable[..., Any]:
        totals = self.seconds if into is None else into

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - t
        return timed

    def _pre(self, module: Any, args: Any, kwargs: dict[str, Any]) -> None:
        if self.record:
            self.batches.append({k: v.clone() if hasattr(v, "clone") else v for k, v in kwargs.items()})
        ids = kwargs.get("input_ids", args[0] if args else None)
        self.windows += int(ids.shape[0]) if ids is not None else 0
        self._t0 = time.perf_counter()

    def _post(self, module: Any, args: Any, output: Any) -> None:
        self.seconds["forward"] += time.perf_counter() - self._t0

    @contextlib.contextmanager
    def attach(self) -> Iterator["StageClock"]:
        from unittest import mock

        from newsseg.model import segmenter as segmod

        with contextlib.ExitStack() as stack:
            stack.enter_context(mock.patch.object(self.seg.vocab, "encode", self._wrap("encode", self.seg.vocab.encode)))
            for name, attr in self.WRAPPED.items():
                if hasattr(segmod, attr):
                    stack.enter_context(mock.patch.object(segmod, attr, self._wrap(name, getattr(segmod, attr))))
                else:
                    self.seconds.pop(name)
            if getattr(self.seg, "page_model", None) is not None:  # its line tagging and linking replace decode
                self.seconds["page model"] = 0.0
                stack.enter_context(mock.patch.object(self.seg, "_decode_with_page_model",
                                                      self._wrap("page model", self.seg._decode_with_page_model)))
                stack.enter_context(mock.patch.object(self.seg.page_model, "decode",
                                                      self._wrap("page forward", self.seg.page_model.decode, self.inner)))
            stack.callback(self.seg.model.register_forward_pre_hook(self._pre, with_kwargs=True).remove)
            stack.callback(self.seg.model.register_forward_hook(self._post).remove)
            yield self

    def replay(self, model: Any | None = None) -> float:
        """Seconds of the model's forward passes alone on the recorded batches."""
        import torch

        model = model if model is not None else self.seg.model
        with torch.inference_mode():
            t = time.perf_counter()
            for kwargs in self.batches:
                model(**kwargs)
            return time.perf_counter() - t
