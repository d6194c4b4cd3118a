"""newsseg.evaluate: metrics (docs/SPEC.md §3), baselines and reports.

Heavy pieces (scikit-learn, matplotlib, the model) are imported lazily by the functions that use them.
"""

from newsseg.evaluate.metrics import METRICS, score_corpus, score_page

__all__ = ["METRICS", "score_page", "score_corpus"]
