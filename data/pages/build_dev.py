"""Build data/pages/dev.jsonl: the real sample page (labelled by hand) and 21 composed evaluation pages.

Page 1 is the real sample page (gaoxin-times-2021-05-p1.txt, byte-identical to
shared/samples/), labelled by hand below: every span is written out as exact substrings of the
page and turned into offsets with ``text.index``. The other pages are COMPOSED: laid out from
held-out corpus articles (data/corpus/heldout.txt) by the training composer's layout functions and
its first noise table, following the plans in ``PLANS`` (articles, column widths and cuts, the order
of every fragment, headline and piece of furniture, the OCR noise rate). They measure new article
text under the training generator's habits, not new layouts; data/pages/dev-hard.jsonl does that.

Run from the repository root:  python data/pages/build_dev.py
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

from newsseg.data.corpus import load_corpus
from newsseg.data.layout import Block, BodyLayout, assemble, body_fragments, headline_block
from newsseg.data.noise import apply_ocr_noise
from newsseg.data.pages import Article, Page, Span, validate_page, write_pages

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "gaoxin-times-2021-05-p1.txt"

# ---------------------------------------------------------------- page 1: the real sample, by hand
# (article id, topic, role, first characters of the span, last characters of the span)
SAMPLE_LABELS: list[tuple[str, str, str, str, str]] = [
    # Sanitation body: lead to the two-line credit (the blank line after 广大 is a column break).
    ("sanitation", "sanitation", "body", "本报讯 5月15日，高新区", "记者 孙庆辉\n高新时报 方宝岭 文/图"),
    # Projects body without its lead: the officials at the branch venue … to the closing paragraph.
    ("projects", "projects", "body", "高新区党工委副书记、管委\n会主任张红军，党工委委员", "化建设贡献更多高新力量。"),
    # Investment body: meeting with 新点软件, to its credit line.
    ("investment", "investment", "body", "本报讯 5月13日，高新区党", "记者 孙庆辉 通讯员 李超"),
    # Four detached headline blocks after the bodies. Kicker + title of projects (blank line inside).
    ("projects", "projects", "headline", "总投资96.6亿元", "高新区第二季度重点项目集中开工"),
    ("sanitation", "sanitation", "headline", "正视问题 狠抓落实", "高新区举办迎接国家卫生城市复审工作现场观摩会"),
    # Legal body: the 教育整顿 forum, to its two-line credit.
    ("legal", "legal", "body", "本报讯 近日，高新区政法", "记者 孙庆辉\n通讯员 冯瑶"),
    ("legal", "legal", "headline", "打造信得过靠得住能放心的政法铁军", "打造信得过靠得住能放心的政法铁军"),
    # 高新区在行动 (between the legal and investment headlines) is a column label: furniture.
    ("investment", "investment", "headline", "高新区加快数字化转型", "为高质量发展注入新动能"),
    # The projects lead, printed last in wide lines, with the credit appended to its last line.
    ("projects", "projects", "body", "本报讯 夏意盎然催人进", "13.2亿元。记者 孙庆辉 高新时报 方宝岭 文/图"),
]


def sample_page() -> Page:
    text = SAMPLE.read_text(encoding="utf-8")
    spans: dict[str, list[Span]] = {}
    topics: dict[str, str] = {}
    pos = 0
    for art, topic, role, first, last in SAMPLE_LABELS:
        start = text.index(first, pos)
        end = text.index(last, start) + len(last)
        pos = end
        spans.setdefault(art, []).append(Span(start, end, role))
        topics[art] = topic
    return Page("gaoxin-times-2021-05-p1", text, [Article(a, topics[a], s) for a, s in spans.items()])


# ---------------------------------------------------------------- pages 2–22: plans over held-out articles
def A(w: list[int], cuts: list[Any] | None = None, byline: str = "line", caption: int | None = None,
      hblank: bool = False, hlines: list[int] | None = None) -> dict[str, Any]:
    """An article's layout: fragment widths, cuts ((paragraph, line) in the remaining text), credit
    mode, caption position (paragraph index it is inserted at; None = not printed), a blank line
    inside the headline block, and which headline lines are printed (default all)."""
    return {"w": w, "cuts": cuts or [], "byline": byline, "caption": caption, "hblank": hblank, "hlines": hlines}


# Order tokens: "H id" headline, "B id k" fragment k (0 = lead), "F text" furniture; a leading "~"
# joins the block to the previous one with a plain newline instead of an empty line.
PLANS: list[dict[str, Any]] = [
    {"id": "dev-02", "note": "like the sample: all headlines after the bodies, projects lead last",
     "noise": 0.0, "para_blank": True, "column": (24, 7),
     "articles": {"san-006": A([13], caption=6), "prj-060": A([12, 28], cuts=[(1, 0)], byline="append"),
                  "inv-031": A([14]), "leg-038": A([12], caption=3)},
     "order": ["F 临河时报 2023年4月13日 星期四", "~F 第1版 要闻", "B san-006 0", "B prj-060 1", "B inv-031 0",
               "H prj-060", "H san-006", "B leg-038 0", "H leg-038", "~F 法治园地", "H inv-031", "B prj-060 0"]},
    {"id": "dev-03", "note": "plain: headline above each body", "noise": 0.0, "para_blank": False, "column": None,
     "articles": {"san-002": A([14]), "oth-014": A([12]), "inv-018": A([15])},
     "order": ["H san-002", "~B san-002 0", "H oth-014", "~B oth-014 0", "H inv-018", "~B inv-018 0"]},
    {"id": "dev-04", "note": "same-topic pair (legal), one split around the other", "noise": 0.005,
     "para_blank": True, "column": None,
     "articles": {"leg-002": A([13, 13], cuts=[(2, 0)]), "leg-007": A([12]), "oth-012": A([16])},
     "order": ["F 第4版 法治", "H leg-002", "B leg-002 0", "H leg-007", "B leg-007 0", "B leg-002 1",
               "H oth-012", "B oth-012 0", "F 责任编辑 王红  校对 李军"]},
    {"id": "dev-05", "note": "brief page: six short items under 简讯", "noise": 0.0, "para_blank": False,
     "column": None,
     "articles": {"oth-103": A([13]), "oth-115": A([13], hlines=[1]), "oth-123": A([13], hlines=[1]),
                  "oth-127": A([14], hlines=[1]), "prj-003": A([14]), "san-051": A([12], byline="joined")},
     "order": ["F 简讯", "H oth-103", "~B oth-103 0", "H oth-115", "~B oth-115 0", "H oth-123", "~B oth-123 0",
               "H oth-127", "~B oth-127 0", "H prj-003", "~B prj-003 0", "H san-051", "~B san-051 0"]},
    {"id": "dev-06", "note": "headlines after their bodies", "noise": 0.01, "para_blank": False, "column": (18, 3),
     "articles": {"prj-017": A([11]), "oth-029": A([15]), "san-053": A([12])},
     "order": ["F 2022年7月19日 星期二 城建", "B prj-017 0", "H prj-017", "B oth-029 0", "~H oth-029",
               "B san-053 0", "H san-053"]},
    {"id": "dev-07", "note": "headline zone at the top, bodies below", "noise": 0.0, "para_blank": True,
     "column": None,
     "articles": {"inv-010": A([16]), "san-009": A([13]), "prj-040": A([12])},
     "order": ["F 东湖新区报", "~F 2021年11月3日 星期三", "H san-009", "H prj-040", "H inv-010",
               "B prj-040 0", "B san-009 0", "B inv-010 0"]},
    {"id": "dev-08", "note": "one article in three fragments around two others", "noise": 0.01,
     "para_blank": False, "column": None,
     "articles": {"oth-049": A([13, 12, 14], cuts=[(3, 3), (1, 0)], caption=2), "inv-022": A([14]),
                  "leg-044": A([12])},
     "order": ["H oth-049", "B oth-049 0", "H inv-022", "B inv-022 0", "B oth-049 1", "H leg-044",
               "B leg-044 0", "B oth-049 2"]},
    {"id": "dev-09", "note": "sanitation pair; one lead at the page end", "noise": 0.0, "para_blank": True,
     "column": (30, 11),
     "articles": {"san-017": A([12, 22], cuts=[(1, 0)], byline="append", caption=6), "san-021": A([13]),
                  "oth-006": A([12], caption=0)},
     "order": ["F 创卫进行时", "H san-021", "B san-021 0", "B san-017 1", "H oth-006", "B oth-006 0",
               "H san-017", "B san-017 0"]},
    {"id": "dev-10", "note": "projects pair, one headline detached to the bottom", "noise": 0.005,
     "para_blank": False, "column": None,
     "articles": {"prj-005": A([12]), "prj-007": A([14], caption=3), "oth-038": A([13], hblank=True)},
     "order": ["F 第2版", "B prj-005 0", "H prj-007", "~B prj-007 0", "H oth-038", "B oth-038 0", "H prj-005"]},
    {"id": "dev-11", "note": "investment pair; commentary with headline after", "noise": 0.0, "para_blank": True,
     "column": None,
     "articles": {"inv-011": A([12], byline="joined"), "inv-005": A([13]), "leg-015": A([15])},
     "order": ["F 招商引资", "H inv-011", "B inv-011 0", "H inv-005", "~B inv-005 0", "B leg-015 0",
               "H leg-015"]},
    {"id": "dev-12", "note": "two notices (lists) and a feature", "noise": 0.0, "para_blank": False, "column": None,
     "articles": {"oth-032": A([18]), "oth-137": A([16]), "san-004": A([12])},
     "order": ["H oth-032", "B oth-032 0", "H oth-137", "B oth-137 0", "H san-004", "~B san-004 0",
               "F 责任编辑 周敏  美编 陈强"]},
    {"id": "dev-13", "note": "legal pair, both split, headlines detached", "noise": 0.01, "para_blank": True,
     "column": (22, 4),
     "articles": {"leg-014": A([12, 13], cuts=[(2, 0)], caption=5), "leg-060": A([13, 12], cuts=[(3, 2)]),
                  "prj-026": A([14])},
     "order": ["F 平安建设", "B leg-014 0", "B leg-060 0", "H prj-026", "B prj-026 0", "H leg-060", "B leg-014 1",
               "H leg-014", "B leg-060 1"]},
    {"id": "dev-14", "note": "headline zone after the bodies (signing that is also a project)", "noise": 0.0,
     "para_blank": True, "column": None,
     "articles": {"inv-038": A([13], caption=2), "prj-022": A([12], caption=4), "oth-134": A([14], caption=6)},
     "order": ["F 滨江日报 2024年1月12日 星期五 第3版", "B inv-038 0", "B prj-022 0", "B oth-134 0",
               "H inv-038", "H oth-134", "H prj-022"]},
    {"id": "dev-15", "note": "wide lines and heavier noise", "noise": 0.02, "para_blank": False, "column": None,
     "articles": {"san-041": A([24]), "oth-043": A([20], caption=4), "inv-054": A([22])},
     "order": ["H san-041", "~B san-041 0", "H oth-043", "~B oth-043 0", "H inv-054", "~B inv-054 0"]},
    {"id": "dev-16", "note": "legal lead at the page end after other articles", "noise": 0.0, "para_blank": True,
     "column": None,
     "articles": {"leg-035": A([13, 13], cuts=[(1, 0)]), "oth-144": A([12], byline="joined"), "prj-041": A([14])},
     "order": ["F 第5版 综合", "H leg-035", "B leg-035 1", "H oth-144", "B oth-144 0", "H prj-041", "~B prj-041 0",
               "B leg-035 0"]},
    {"id": "dev-17", "note": "investment pair split mid-paragraph", "noise": 0.005, "para_blank": False,
     "column": (20, 0),
     "articles": {"inv-020": A([12, 12], cuts=[(2, 2)]), "inv-028": A([13, 15], cuts=[(3, 1)]),
                  "oth-108": A([14])},
     "order": ["H inv-020", "B inv-020 0", "H inv-028", "B inv-028 0", "B inv-020 1", "H oth-108", "B oth-108 0",
               "B inv-028 1"]},
    {"id": "dev-18", "note": "sanitation pair with captions; short culture item", "noise": 0.0, "para_blank": True,
     "column": None,
     "articles": {"san-050": A([13], caption=0), "san-010": A([12], caption=3, byline="joined"),
                  "oth-021": A([12], caption=1)},
     "order": ["F 2023年9月8日 星期五", "H san-050", "B san-050 0", "H san-010", "B san-010 0", "H oth-021",
               "~B oth-021 0"]},
    {"id": "dev-19", "note": "science pair; headline zone in the middle", "noise": 0.01, "para_blank": False,
     "column": None,
     "articles": {"oth-149": A([12], caption=2), "oth-151": A([13], caption=5), "prj-051": A([12])},
     "order": ["B oth-149 0", "H oth-149", "H oth-151", "~F 科技之窗", "H prj-051", "B oth-151 0", "B prj-051 0"]},
    {"id": "dev-20", "note": "three legal articles, one split", "noise": 0.0, "para_blank": True, "column": (26, 9),
     "articles": {"leg-051": A([13, 12], cuts=[(3, 0)]), "leg-036": A([14]), "leg-059": A([15])},
     "order": ["F 第6版 法治", "H leg-051", "~F 法治园地", "B leg-051 0", "H leg-036", "B leg-036 0",
               "B leg-051 1", "H leg-059", "B leg-059 0"]},
    {"id": "dev-21", "note": "commentary, list and detached headlines", "noise": 0.005, "para_blank": False,
     "column": None,
     "articles": {"prj-031": A([16]), "prj-042": A([12, 12], cuts=[(2, 3)]), "inv-059": A([18]),
                  "oth-052": A([13])},
     "order": ["H prj-031", "B prj-031 0", "B prj-042 0", "H inv-059", "B inv-059 0", "H prj-042", "B oth-052 0",
               "B prj-042 1", "H oth-052"]},
    {"id": "dev-22", "note": "investment lead at the end; headlines after", "noise": 0.01, "para_blank": True,
     "column": None,
     "articles": {"inv-021": A([13, 26], cuts=[(1, 0)], caption=6, byline="append"), "san-033": A([12], caption=3),
                  "leg-033": A([14], hblank=True)},
     "order": ["F 云溪时报", "~F 第1版", "B inv-021 1", "H inv-021", "B san-033 0", "H san-033", "B leg-033 0",
               "H leg-033", "B inv-021 0", "F 责任编辑 赵丽  校对 孙伟"]},
]


def plan_page(plan: dict[str, Any], corpus: dict[str, Any]) -> Page:
    heads: dict[str, str] = {}
    frags: dict[str, list[str]] = {}
    for aid, lay in plan["articles"].items():
        art = corpus[aid]
        if not art.heldout:
            raise SystemExit(f"{plan['id']}: {aid} is not a held-out article")
        paras = list(art.body)
        if lay["caption"] is not None:
            if art.caption is None:
                raise SystemExit(f"{plan['id']}: {aid} has no caption")
            paras.insert(lay["caption"], art.caption)
        body = BodyLayout(widths=lay["w"], cuts=lay["cuts"], para_blank=plan["para_blank"],
                          byline=lay["byline"], column=plan["column"])
        frags[aid] = body_fragments(paras, art.byline, body)
        if len(frags[aid]) != len(lay["w"]):
            raise SystemExit(f"{plan['id']}: {aid} gave {len(frags[aid])} fragments, planned {len(lay['w'])}")
        lines = [art.headline[i] for i in lay["hlines"]] if lay["hlines"] else art.headline
        heads[aid] = headline_block(lines, blank=lay["hblank"])
    blocks, used = [], []
    for tok in plan["order"]:
        before = "\n" if tok.startswith("~") else "\n\n"
        kind, _, rest = tok.lstrip("~").partition(" ")
        if kind == "F":
            blocks.append(Block(rest, before=before))
        elif kind == "H":
            blocks.append(Block(heads[rest], rest, "headline", before))
        else:
            aid, k = rest.split()
            blocks.append(Block(frags[aid][int(k)], aid, "body", before))
        used.append(tok.lstrip("~") if kind != "F" else "F")
    want = [f"H {a}" for a in plan["articles"]] + [f"B {a} {k}" for a in plan["articles"]
                                                     for k in range(len(frags[a]))]
    if sorted(u for u in used if u != "F") != sorted(want):
        raise SystemExit(f"{plan['id']}: order must place each headline and fragment once: {sorted(want)}")
    page = assemble(plan["id"], blocks, {a: corpus[a].topic for a in plan["articles"]})
    if plan["noise"]:
        page = apply_ocr_noise(page, plan["noise"], random.Random(plan["id"]), legacy=True)
    return page


def build() -> list[Page]:
    corpus = {a.id: a for a in load_corpus()}
    pages = [sample_page()] + [plan_page(p, corpus) for p in PLANS]
    for p in pages:
        validate_page(p)
    return pages


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "dev.jsonl"
    pages = build()
    write_pages(pages, out)
    print(f"wrote {len(pages)} pages ({sum(len(p.articles) for p in pages)} articles, "
          f"{sum(len(a.spans) for p in pages for a in p.articles)} spans) to {out}")
