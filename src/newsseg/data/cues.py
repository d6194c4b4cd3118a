"""Layout cues of Chinese newspaper text: leads, bylines, sentence ends.

Plain regular expressions shared by the corpus statistics, the decoder's line features and the rule
baseline, so that every part of newsseg means the same thing by "a lead" or "a byline". They are
cues, not rules: on real pages only 16 % of leads start with ``本报讯`` and two thirds of articles
print no byline (``shared/REAL_PAGES.md``).
"""

from __future__ import annotations

import re

# A lead marker: this paper's (本报讯) or another outlet's dateline (江城网讯, 晚报讯, 据XX消息).
LEAD_RE = re.compile(r"^\s*(本报讯|本报记者|本报\S{0,8}讯|【\S{0,8}讯】|\S{0,6}讯[（(]|据\S{0,10}(消息|报道)"
                     r"|\S{1,8}(网讯|晚报讯|日报讯|客户端讯|融媒讯)|\S{1,8}消息\s*[（(])")
SENTENCE_END = "。！？!?”」』）)"
BYLINE_RE = re.compile(r"^[（(]?\s*(记者|通讯员|本报记者)\s*\S|\S{1,8}报\s+\S{2,4}(\s+\S{2,4})*\s*文\s*/\s*图|"
                       r"(文|图|摄)\s*/\s*\S{2,4}$|\S{2,4}\s*(摄|报道)[）)]?$")
# Every branch of BYLINE_RE needs one of these characters; most lines have none and skip the regex.
_BYLINE_CHARS = frozenset("记通报文图摄")

# How a lead opens, in the categories of shared/REAL_PAGES.md (checked in this order).
LEAD_STYLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("benbaoxun", re.compile(r"^\s*本报讯")),
    ("dateline", re.compile(r"^\s*(据\S{1,14}(报道|消息)|\S{1,10}(网讯|晚报讯|日报讯|报讯|客户端讯|融媒讯|消息|电)"
                            r"([\s（(：:，]|$))")),
    ("date_time", re.compile(r"^\s*(\d{1,4}\s*年|\d{1,2}\s*月|[一二三四五六七八九十]+月|近日|连日来|日前|今年|去年|近年来"
                             r"|近期|近来|昨天|昨日|今天|今日|前不久|此前|眼下|当前|目前|入[春夏秋冬]|[春夏秋冬]节"
                             r"|.{0,6}期间|.{1,4}以来|上午|下午|清晨|早上|傍晚|夜间|凌晨)")),
    ("purpose", re.compile(r"^\s*(为|按照|根据|在|围绕|随着|依据|针对)")),
)


def is_byline(s: str) -> bool:
    """A closing credit line such as ``记者 孙庆辉 通讯员 李超`` or ``高新时报 方宝岭 文/图``."""
    return len(s) <= 30 and not _BYLINE_CHARS.isdisjoint(s) and bool(BYLINE_RE.search(s))


def lead_style(paragraph: str) -> str:
    """How a lead paragraph opens: ``benbaoxun``, ``dateline``, ``date_time``, ``purpose`` or ``other``
    (a quotation, a scene, a number, a question or a name)."""
    for name, rx in LEAD_STYLES:
        if rx.search(paragraph):
            return name
    return "other"
