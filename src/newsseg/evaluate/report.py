"""Evaluation reports: ``metrics.json``, ``report.md``, ``confusion_<system>.png``, ``reliability.png``
and ``reliability_spans.png`` (article and span score calibration, :mod:`newsseg.evaluate.calibration`) and
``pages.html``.

``pages.html`` is self-contained: every gold page rendered beside each system's prediction, one
background colour per article (a predicted article takes the colour of the gold article it overlaps
most, so matching colours mean agreement), headlines bold, a topic badge per article, furniture
grey, and characters put in the wrong article underlined in red (wrong role: dotted orange). A
predicted article that matches no gold article is striped.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from newsseg.atomic import atomic_output, atomic_write_text
from newsseg.data.pages import Page, write_pages
from newsseg.evaluate.metrics import METRICS, char_articles, nonspace_mask

PALETTE = ("#ffc078", "#8ce99a", "#74c0fc", "#e599f7", "#ffe066", "#63e6be", "#faa2c1", "#b197fc",
           "#c0eb75", "#ff8787", "#66d9e8", "#ced4da")
PAGE_COLUMNS = (("bcubed_f1", "B³ F1"), ("pk", "Pk"), ("windowdiff", "WD"), ("line_f1", "line F1"),
                ("line_f1_tol1", "line F1 ±1"), ("headline_f1", "head F1"), ("topic_accuracy", "topic acc"))


def fmt(x: Any) -> str:
    """A metric value for a table: 3 decimals, ``n/a`` for undefined."""
    if x is None:
        return "n/a"
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def side_by_side(systems: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """Rows ``[metric, value per system…]`` of the overall scores (header row first)."""
    rows = [["metric", *systems]]
    rows += [[label, *(fmt(s["overall"].get(key)) for s in systems.values())] for key, label, _ in METRICS]
    rows += [[k, *(fmt(s["overall"].get(k)) for s in systems.values())]
             for k in ("n_pages", "n_gold_articles", "n_pred_articles")]
    return rows


GROUP_METRICS = (("bcubed_f1", "B³"), ("link_f1", "link F1"), ("headline_f1", "headline F1"),
                 ("line_f1", "line F1"), ("pk", "Pk"), ("topic_macro_f1", "topic F1"))


def group_rows(systems: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """Rows ``[group, pages, metric per system…]`` of the per-group (layout) scores; empty with one group."""
    first = next(iter(systems.values()), {})
    groups = list(first.get("groups", {}))
    if len(groups) < 2:
        return []
    header = ["group", "pages", *(f"{label} {name}" if len(systems) > 1 else label
                                  for name in systems for _, label in GROUP_METRICS)]
    rows = [header]
    for g in groups:
        rows.append([g, str(first["groups"][g]["n_pages"]),
                     *(fmt(s["groups"][g].get(k)) for s in systems.values() for k, _ in GROUP_METRICS)])
    return rows


def text_table(rows: Sequence[Sequence[str]]) -> str:
    """A plain aligned table for the terminal."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def markdown_table(rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table (first row is the header)."""
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(["---"] + ["---:"] * (len(rows[0]) - 1)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out)


def confusion_rows(conf: Mapping[str, Any]) -> list[list[str]]:
    """Confusion matrix as table rows: gold topics down, predicted across (empty rows/columns dropped)."""
    labels, m = conf["labels"], np.asarray(conf["matrix"])
    keep_r = [i for i in range(len(labels)) if m[i].sum() > 0]
    keep_c = [j for j in range(len(labels)) if m[:, j].sum() > 0 or j in keep_r]
    return [["gold \\ pred", *(labels[j] for j in keep_c)],
            *([labels[i], *(str(m[i, j]) for j in keep_c)] for i in keep_r)]


def write_confusion_png(conf: Mapping[str, Any], title: str, path: Path) -> None:
    """Plot a confusion matrix with scikit-learn's ConfusionMatrixDisplay (Agg backend)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    rows = confusion_rows(conf)
    labels_r = [r[0] for r in rows[1:]]
    labels_c = rows[0][1:]
    # Square matrix over the union, so ConfusionMatrixDisplay gets matching axes.
    labels = [l for l in conf["labels"] if l in labels_r or l in labels_c] or list(conf["labels"])
    idx = [conf["labels"].index(l) for l in labels]
    m = np.asarray(conf["matrix"])[np.ix_(idx, idx)]
    fig, ax = plt.subplots(figsize=(1.1 * len(labels) + 2.5, 1.0 * len(labels) + 2))
    ConfusionMatrixDisplay(m, display_labels=labels).plot(ax=ax, cmap="Blues", colorbar=False,
                                                          xticks_rotation=45)
    ax.set_title(title)
    fig.tight_layout()
    with atomic_output(path) as tmp:  # every report file is written to a temporary name, then renamed
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def write_markdown(result: Mapping[str, Any], path: Path) -> None:
    """``report.md``: overall side-by-side table, confusion matrices, per-page tables, warnings."""
    systems = result["systems"]
    out = [f"# Evaluation on `{result['gold']}`", "",
           f"{result['n_pages']} gold pages; systems: {', '.join(systems)}.", ""]
    if result.get("command"):
        out += ["Reproduce with:", "", f"    {result['command']}", ""]
    out += ["## Overall", "", markdown_table(side_by_side(systems)), "",
            "B³, line and headline scores are micro-averaged over characters / lines / headlines, "
            "topic scores over gold articles; Pk and WindowDiff are the mean over pages (lower is better).", ""]
    layouts = group_rows(systems)
    if layouts:
        out += ["## By layout (page id without its number)", "", markdown_table(layouts), ""]
    for name, s in systems.items():
        out += [f"## Topic confusion: {name}", "", markdown_table(confusion_rows(s["confusion"])), "",
                f"![confusion {name}](confusion_{name}.png)", ""]
    for name, s in systems.items():
        rows = [["page", *(c for _, c in PAGE_COLUMNS)]]
        rows += [[p["id"], *(fmt(p[k]) for k, _ in PAGE_COLUMNS)] for p in s["pages"]]
        out += [f"## Per page: {name}", "", markdown_table(rows), ""]
    if result.get("warnings"):
        out += ["## Warnings", "", *(f"- {w}" for w in result["warnings"]), ""]
    atomic_write_text(path, "\n".join(out))


# ------------------------------------------------------------------------------------- HTML

CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif;margin:16px;color:#222}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}
td{text-align:right}td:first-child,th:first-child{text-align:left}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:4px 0;z-index:2;font-size:13px}
nav a{margin-right:8px}.page{border-top:3px solid #888;margin-top:20px;padding-top:6px}
.panels{display:flex;gap:12px;align-items:flex-start;overflow-x:auto}
.panel{flex:1 1 0;min-width:240px;border:1px solid #ddd;padding:6px}
.panel h4{margin:0 0 4px 0;font-size:14px}
.text{white-space:pre-wrap;line-height:1.7;font-size:15px;word-break:break-all}
.fur{color:#999}.h{font-weight:bold}
.err{text-decoration:underline wavy #e03131;text-decoration-thickness:2px;text-underline-offset:3px}
.rerr{text-decoration:underline dotted #f08c00;text-decoration-thickness:2px;text-underline-offset:3px}
.badge{font-size:11px;font-weight:normal;border:1px solid #666;border-radius:6px;padding:0 4px;margin-right:2px;white-space:nowrap}
.badge.bad{border:2px solid #e03131;color:#c92a2a}
.legend span{margin-right:14px}
"""


def _colour_map(gold: Page, pred: Page, g_ids: np.ndarray, p_ids: np.ndarray, mask: np.ndarray) -> list[int]:
    """Gold article index matched one-to-one to each predicted article by character overlap (-1 = none)."""
    from scipy.optimize import linear_sum_assignment

    out = [-1] * len(pred.articles)
    if not gold.articles or not pred.articles:
        return out
    sel = mask & (g_ids >= 0) & (p_ids >= 0)
    ov = np.zeros((len(gold.articles), len(pred.articles)))
    np.add.at(ov, (g_ids[sel], p_ids[sel]), 1)
    for r, c in zip(*linear_sum_assignment(ov, maximize=True)):
        if ov[r, c] > 0:
            out[c] = int(r)
    return out


def _render(page: Page, gold: Page, colour: Sequence[int], n_gold: int) -> str:
    """The page text as HTML runs: article background, bold headlines, grey furniture, error marks."""
    text = page.text
    ids, g_ids = char_articles(page), char_articles(gold)
    mask = nonspace_mask(text)
    role = np.zeros(len(text), dtype=np.int8)  # 1 = headline
    g_role = np.zeros(len(text), dtype=np.int8)
    for p, r in ((page, role), (gold, g_role)):
        for s, _ in p.spans:
            if s.role == "headline":
                r[max(0, s.start):max(0, s.end)] = 1
    col = np.array([colour[i] if i >= 0 else -1 for i in ids], dtype=np.int64) if len(text) else ids
    # Gold article of the predicted article (-1 furniture, -2 an unmatched predicted article).
    mapped = np.where(ids >= 0, np.where(col >= n_gold, -2, col), -1) if len(text) else ids
    err = mask & (mapped != g_ids)
    rerr = mask & ~err & (g_ids >= 0) & (role != g_role)
    first = {min(s.start for s in a.spans): i for i, a in enumerate(page.articles) if a.spans}
    # A predicted topic is judged against the gold article that article overlaps most (if any).
    expected: dict[int, str] = {}
    for i in range(len(page.articles)):
        g = g_ids[mask & (ids == i) & (g_ids >= 0)]
        if len(g):
            expected[i] = gold.articles[int(np.bincount(g).argmax())].topic
    out, run, state = [], [], None
    for i, ch in enumerate(text):
        if i in first:
            out.append(_run(run, state, n_gold))
            run = []
            a = page.articles[first[i]]
            c = colour[first[i]]
            bad = page is not gold and expected.get(first[i], a.topic) != a.topic
            score = f" {a.score:.2f}" if a.score is not None else ""
            out.append(f'<span class="badge{" bad" if bad else ""}" style="background:{_bg(c, n_gold)}">'
                       f'{html.escape(a.id)} · {html.escape(a.topic)}{score}</span>')
        st = (int(col[i]), int(role[i]), bool(err[i]), bool(rerr[i])) if mask[i] else (int(col[i]), 0, False, False)
        if st != state:
            out.append(_run(run, state, n_gold))
            run, state = [], st
        run.append(ch)
    out.append(_run(run, state, n_gold))
    return "".join(out)


def _bg(c: int, n_gold: int) -> str:
    """Background of colour ``c``; colours past the gold articles' (unmatched predictions) are striped."""
    col = PALETTE[c % len(PALETTE)]
    return col if c < n_gold else f"repeating-linear-gradient(135deg,{col} 0 6px,#fff 6px 9px)"


def _run(chars: list[str], state: tuple[int, int, bool, bool] | None, n_gold: int) -> str:
    if not chars or state is None:
        return ""
    c, head, err, rerr = state
    cls = ["fur" if c < 0 else "", "h" if head else "", "err" if err else "", "rerr" if rerr else ""]
    style = f' style="background:{_bg(c, n_gold)}"' if c >= 0 else ""
    return f'<span class="{" ".join(x for x in cls if x)}"{style}>{html.escape("".join(chars))}</span>'


def write_html(result: Mapping[str, Any], golds: Sequence[Page],
               predictions: Mapping[str, Sequence[Page | None]], path: Path) -> None:
    """``pages.html``: metrics on top, then every page, gold beside each system's prediction."""
    systems = result["systems"]
    ids = [g.id for g in golds]
    body = [f"<h1>newsseg evaluation: {html.escape(str(result['gold']))}</h1>",
            "<table>" + "".join("<tr>" + "".join(f"<{'th' if k == 0 else 'td'}>{html.escape(c)}</{'th' if k == 0 else 'td'}>"
                                                 for c in r) + "</tr>" for k, r in enumerate(side_by_side(systems))) + "</table>",
            '<p class="legend"><span>one background colour per article (prediction coloured like the gold article it '
            'overlaps most)</span><span class="h">bold = headline</span><span class="fur">grey = furniture</span>'
            '<span class="err">wrong article</span><span class="rerr">wrong role</span>'
            '<span style="background:repeating-linear-gradient(135deg,#ffe066 0 6px,#fff 6px 9px)">striped = predicted '
            'article matching no gold article</span><span class="badge bad">topic differs from gold</span></p>']
    nav = "<nav>pages: " + " ".join(f'<a href="#p{k}">{html.escape(i)}</a>' for k, i in enumerate(ids)) + "</nav>"
    for k, gold in enumerate(golds):
        g_ids, mask = char_articles(gold), nonspace_mask(gold.text)
        n_gold = len(gold.articles)
        panels = [f'<div class="panel"><h4>gold ({n_gold} articles)</h4><div class="text">'
                  f'{_render(gold, gold, list(range(n_gold)), n_gold)}</div></div>']
        rows = [["system", *(c for _, c in PAGE_COLUMNS)]]
        for name, preds in predictions.items():
            pred = preds[k] if preds[k] is not None else Page(gold.id, gold.text, [])
            m = _colour_map(gold, pred, g_ids, char_articles(pred), mask)
            extra = iter(range(n_gold, n_gold + len(pred.articles)))
            colour = [c if c >= 0 else next(extra) for c in m]
            note = "" if preds[k] is not None else " — no prediction"
            panels.append(f'<div class="panel"><h4>{html.escape(name)} ({len(pred.articles)} articles{note})</h4>'
                          f'<div class="text">{_render(pred, gold, colour, n_gold)}</div></div>')
            rows.append([name, *(fmt(systems[name]["pages"][k][c]) for c, _ in PAGE_COLUMNS)])
        links = " | ".join(x for x in (f'<a href="#p{k - 1}">◀ prev</a>' if k else "",
                                       f'<a href="#p{k + 1}">next ▶</a>' if k + 1 < len(golds) else "",
                                       '<a href="#top">top</a>') if x)
        table = "<table>" + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows) + "</table>"
        body.append(f'<section class="page" id="p{k}"><h2>{html.escape(gold.id)}</h2>{links}{table}'
                    f'<div class="panels">{"".join(panels)}</div></section>')
    doc = (f'<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>newsseg evaluation</title>'
           f'<style>{CSS}</style></head><body id="top">{nav}{"".join(body)}</body></html>')
    atomic_write_text(path, doc)


def write_report(out_dir: str | Path, result: Mapping[str, Any], golds: Sequence[Page],
                 predictions: Mapping[str, Sequence[Page | None]]) -> list[Path]:
    """Write every report file into ``out_dir`` and return their paths.

    ``result`` is :func:`newsseg.evaluate.runner.evaluate`'s dictionary (``systems`` maps a system
    name to :func:`~newsseg.evaluate.metrics.score_corpus` output); ``predictions`` maps the same
    names to predicted pages aligned with ``golds`` (``None`` = no prediction for that page).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "metrics.json", out / "report.md", out / "pages.html"]
    atomic_write_text(paths[0], json.dumps(result, ensure_ascii=False, indent=1))
    write_markdown(result, paths[1])
    write_html(result, golds, predictions, paths[2])
    from newsseg.evaluate.calibration import REPORTED, write_reliability_png

    for unit, (key, name) in REPORTED.items():
        calibs = {n: s[key] for n, s in result["systems"].items() if s.get(key, {}).get(f"n_{unit}s")}
        if calibs:
            paths.append(out / name)
            write_reliability_png(calibs, paths[-1], unit)
    for name, s in result["systems"].items():
        png = out / f"confusion_{name}.png"
        write_confusion_png(s["confusion"], f"topic confusion: {name}", png)
        paths.append(png)
        if name in predictions:
            pj = out / f"pred_{name}.jsonl"
            write_pages((p for p in predictions[name] if p is not None), pj)
            paths.append(pj)
    return paths
