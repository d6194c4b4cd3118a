"""OCR noise that keeps gold spans exact.

:func:`apply_ocr_noise` hits about ``rate × len(text)`` positions of a page with the errors OCR
makes (``shared/REAL_PAGES.md``): look-alike characters (己/已/巳, 未/末, 人/入/八, 土/士, 日/曰 and
over 200 more pairs), dropped or doubled line breaks, lines broken in two, stray spaces,
half-/full-width punctuation swaps (，/, 。/. ：/: （/(…), dropped and doubled punctuation, a character
of the neighbouring column leaking in at a line end, and broken sequences (a few characters read as
``囗□`` garbage, or dropped). Span offsets are moved with the edits and trimmed so that no span
starts or ends on whitespace; characters are never dropped at a span's first or last character,
so no span can vanish.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass

from newsseg.data.pages import Article, Page, Span

# Groups of characters OCR engines confuse; every two members of a group are a look-alike pair.
_LOOKALIKE_GROUPS = (
    "己已巳", "未末来", "人入八", "士土工", "日曰白自", "0O", "1l", "天夭夫", "刀力", "千干于午", "戊戌戍戎", "贝见",
    "王玉主", "木本术禾", "今令", "析折拆", "拨拔", "候侯喉", "治冶", "汩汨", "大太犬", "问间", "准淮推", "苦若",
    "壁璧", "辨辩辫瓣", "免兔", "洒酒", "田由甲申", "目且", "儿几", "乌鸟", "子孑", "厂广", "尤龙", "找我", "代伐",
    "住往", "侍待持特", "狠很狼", "籍藉", "编偏遍篇", "清情请晴睛", "提题", "理埋", "场扬杨汤", "崇祟", "密蜜",
    "陪倍培赔", "冷伶玲铃零", "读续", "迫追", "斤斥", "史吏", "仑仓", "兵乒乓", "东车", "毋母", "哀衷衰", "宏弘",
    "峰锋蜂", "沐沭", "怀杯坏", "季李", "状壮", "卷券", "孤狐", "栗粟", "烂拦栏", "茶荼", "幕暮墓慕", "贷货",
    "阀阁", "凸凹", "抄炒吵钞", "构沟钩", "圆园元", "赢嬴羸", "纪记", "峡狭", "延廷", "郎朗", "帅师", "徒徙",
    "戴载栽裁", "浇绕烧", "迁迂", "网冈", "刃刀", "亨享", "谈淡痰", "渴喝褐", "暑署", "镇填慎", "村材杖", "技枝",
    "建健键", "市币", "区匹", "政攻", "检俭捡险验", "察擦", "设没", "项顶须", "员贝", "资姿咨", "约钓", "业亚",
    "环坏", "境竟", "生牛", "分份", "类尖", "垃拉", "城诚域", "街衔", "路络", "县具", "局居", "处外", "办为",
    "开升井", "全金", "持特", "发友", "动功劝", "群郡", "务各", "新亲", "年午", "月用", "万方", "元无", "亿忆",
    "及乃", "要耍", "管菅", "导异", "领岭", "级极", "届屈", "次欠", "8B", "5S", "2Z", "毫毛", "买卖", "侍待",
    "幸辛", "抗杭", "浙淅", "缓暖媛", "拣炼练", "崖涯", "栋拣", "喻愉偷输", "慢漫馒", "逢峰蓬", "仿访防坊",
    "诊珍", "传转", "凤风", "复夏", "胶校较", "沿铅", "综棕踪", "副幅福富", "寨赛塞", "墩敦", "剂济挤", "桶捅通",
)
LOOKALIKES: dict[str, str] = {c: "".join(x for x in g if x != c) for g in _LOOKALIKE_GROUPS for c in g}
# The first table and edit kinds (``legacy=True``): data/pages/dev.jsonl was built with them and
# stays byte-identical, so its numbers stay comparable across releases.
_LEGACY_GROUPS = ("己已巳", "未末", "人入", "士土", "日曰", "0O", "1l", "天夭", "刀力", "千干于", "戊戌戍", "贝见",
                  "王玉", "木术", "今令", "析折", "拨拔", "候侯", "治冶", "汩汨", "大太", "问间", "准淮", "苦若", "壁璧",
                  "辨辩", "免兔", "毫毛", "洒酒", "侯候", "8B", "5S", "2Z")
_LEGACY_LOOKALIKES = {c: "".join(x for x in g if x != c) for g in _LEGACY_GROUPS for c in g}
_PUNCT_PAIRS = ("，,", "。.", "：:", "（(", "）)", "；;", "！!", "？?")
PUNCT_SWAPS: dict[str, str] = {**{a: b for a, b in _PUNCT_PAIRS}, **{b: a for a, b in _PUNCT_PAIRS}, "、": ","}
GARBAGE = "囗□■口丨"
PUNCT = frozenset("，。、；：！？,.;:!?")


def lookalike_pairs() -> set[frozenset[str]]:
    """Every unordered look-alike pair of the table (what the noise can swap)."""
    return {frozenset((a, b)) for g in _LOOKALIKE_GROUPS for i, a in enumerate(g) for b in g[i + 1:] if a != b}


@dataclass
class _Edit:
    pos: int      # first replaced character of the original text
    length: int   # number of original characters replaced
    repl: str     # what replaces them
    lead: int = 0  # characters inserted before the original character (stray space)


def _leak(text: str, p: int, rng: random.Random) -> str:
    """A character from a line some way below ``p``: what the next column's text looks like."""
    q = text.find("\n", p + 1 + rng.randint(0, 400))
    while 0 <= q < len(text) - 1 and text[q + 1].isspace():
        q += 1
    return text[q + 1] if 0 <= q < len(text) - 1 else "一"


def _pick_edit(text: str, p: int, edges: set[int], rng: random.Random, legacy: bool = False) -> _Edit | None:
    """The edit at position ``p``, or None. ``legacy`` keeps to the first table and edit kinds, with
    the same random draws as before they grew, so old pages rebuild byte for byte."""
    c = text[p]
    if c == "\n":
        r = rng.random()
        if not legacy and r < 0.15 and p > 0 and not text[p - 1].isspace():  # the next column leaks in
            return _Edit(p, 1, _leak(text, p, rng) + "\n")
        return _Edit(p, 1, "" if r < (0.5 if legacy else 0.55) else "\n\n")
    if c.isspace():
        return _Edit(p, 1, "") if p not in edges and rng.random() < 0.3 else None
    table = _LEGACY_LOOKALIKES if legacy else LOOKALIKES
    if c in table and rng.random() < 0.7:
        return _Edit(p, 1, rng.choice(table[c]))
    if not legacy and c in PUNCT and rng.random() < 0.5:
        r = rng.random()
        if r < 0.4 and p not in edges:
            return _Edit(p, 1, "")          # dropped punctuation
        if r < 0.6:
            return _Edit(p, 1, c + c)       # doubled punctuation
    if c in PUNCT_SWAPS and rng.random() < 0.7:
        return _Edit(p, 1, PUNCT_SWAPS[c])
    if not legacy and rng.random() < 0.08 and p > 0 and text[p - 1] != "\n":
        return _Edit(p, 1, "\n" + c, lead=1)  # a line broken in two
    return _broken(text, p, edges, rng)


def _broken(text: str, p: int, edges: set[int], rng: random.Random) -> _Edit | None:
    """A stray space before the character, or a broken sequence read as garbage or dropped."""
    c = text[p]
    r = rng.random()
    if r < 0.45:
        return _Edit(p, 1, " " + c, lead=1)
    # A broken sequence stays inside one run of non-space characters (never crosses a line).
    n = 1
    while n < 3 and p + n < len(text) and not text[p + n].isspace() and rng.random() < 0.5:
        n += 1
    if r < 0.8:
        return _Edit(p, n, "".join(rng.choice(GARBAGE) for _ in range(rng.randint(1, n))))
    if any(i in edges for i in range(p, p + n)):
        return None
    return _Edit(p, n, "")


def apply_ocr_noise(page: Page, rate: float, rng: random.Random, legacy: bool = False) -> Page:
    """Return a noisy copy of ``page`` with about ``rate × len(text)`` edits and spans moved to match.

    ``legacy=True`` uses the first, smaller look-alike table and edit kinds (for rebuilding old
    evaluation pages exactly)."""
    text = page.text
    n = len(text)
    k = min(n, int(rate * n + rng.random()))
    if rate <= 0 or k == 0:
        return Page(page.id, text, [Article(a.id, a.topic, [Span(s.start, s.end, s.role, s.score) for s in a.spans],
                                            a.score) for a in page.articles])
    edges = {s.start for a in page.articles for s in a.spans} | {s.end - 1 for a in page.articles for s in a.spans}
    edits: list[_Edit] = []
    free = 0
    for p in sorted(rng.sample(range(n), k)):
        if p < free:
            continue
        e = _pick_edit(text, p, edges, rng, legacy)
        if e is not None:
            edits.append(e)
            free = p + e.length
    if not edits:
        return apply_ocr_noise(page, 0.0, rng, legacy)
    parts, prev = [], 0
    starts = [e.pos for e in edits]
    shift = [0]
    for e in edits:
        parts += [text[prev:e.pos], e.repl]
        prev = e.pos + e.length
        shift.append(shift[-1] + len(e.repl) - e.length)
    parts.append(text[prev:])
    new = "".join(parts)

    def locate(i: int) -> tuple[_Edit | None, int]:
        """The edit covering original index i (or None) and the shift of everything before it."""
        j = bisect_right(starts, i) - 1
        if j >= 0 and i < edits[j].pos + edits[j].length:
            return edits[j], shift[j]
        return None, shift[j + 1]

    def new_start(i: int) -> int:
        e, d = locate(i)
        return i + d if e is None else e.pos + d + e.lead

    def new_end(i: int) -> int:
        e, d = locate(i - 1)
        return i + d if e is None else e.pos + d + len(e.repl)

    arts = []
    for a in page.articles:
        spans = []
        for s in a.spans:
            st, en = new_start(s.start), new_end(s.end)
            while st < en and new[st].isspace():
                st += 1
            while en > st and new[en - 1].isspace():
                en -= 1
            if st >= en:  # cannot happen: span edges are never dropped
                raise AssertionError(f"noise emptied span [{s.start}, {s.end}) of page {page.id!r}")
            spans.append(Span(st, en, s.role, s.score))
        arts.append(Article(a.id, a.topic, spans, a.score))
    return Page(page.id, new, arts)
