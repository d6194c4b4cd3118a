"""How well newsseg select's uncertainty points at the pages the model gets wrong (measurement only).

Run: python evaluate/select_uncertainty.py   (the shipped model on dev-hard.jsonl + dev-ocr.jsonl)
"""
import numpy as np, torch
torch.set_num_threads(2)
from newsseg.model.segmenter import Segmenter
from newsseg.data.pages import read_pages, Page
from newsseg.select import page_uncertainty
from newsseg.evaluate.metrics import score_corpus
seg = Segmenter.from_pretrained("model")
golds = [p for f in ["data/pages/dev-hard.jsonl", "data/pages/dev-ocr.jsonl"] for p in read_pages(f, topics=None)]
unc = np.array([u["score"] for u in page_uncertainty(seg, golds)])
preds = list(seg.pipe([Page(g.id, g.text, []) for g in golds]))
b3 = np.array([score_corpus([g], [p], seg.config.topic_labels)["overall"]["bcubed_f1"] for g, p in zip(golds, preds)])
from scipy.stats import spearmanr
print("pages", len(golds), "spearman(uncertainty, B3) = %.3f" % spearmanr(unc, b3).correlation)
top = np.argsort(-unc)[:20]; rest = np.argsort(-unc)[20:]
print("mean B3 of the 20 most uncertain %.3f, of the other %d %.3f" % (b3[top].mean(), len(rest), b3[rest].mean()))
