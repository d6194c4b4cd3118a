"""Page furniture generated from parts: mastheads, date lines, 版次, section and column labels,
editor credits, page numbers and jump lines.

Real pages print these in many forms (``shared/REAL_PAGES.md``: ``第3版``, ``第02版：教育``, ``要闻``,
``责任编辑 X``, ``版式 X``, ``下转第2版``); a short fixed list would teach the model the list, so every
piece is put together from parts at random. Every function takes the page's ``random.Random``.
"""

from __future__ import annotations

import datetime as dt
import random

_PLACE_A = "青柳云北南东西江河湖山桐枫梧溪宁安平清泉石金玉兴华新龙凤临嘉永德丰汉渝潇沂瓯滨陵川原鹿"
_PLACE_B = "禾塘溪岸湖城州阳山川江源泉宁陵州冈浦口坪峰水沙关亭川"
_PAPER_SUFFIX = ("日报", "时报", "晚报", "新闻", "报", "都市报", "融媒", "周刊", "晨报", "商报")
_SECTIONS = ("要闻", "综合", "民生", "法治", "城建", "经济", "社会", "文化", "教育", "体育", "视点", "专版",
             "区域新闻", "乡村振兴", "副刊", "时政", "本地", "县域", "关注", "深度", "服务", "健康", "产经", "街镇")
_LABEL_HEAD = ("基层", "一线", "民生", "法治", "项目", "招商", "创卫", "乡村", "社区", "党建", "平安", "营商", "镇街",
               "城市", "文明", "生态", "产业", "今日", "身边", "图片")
_LABEL_TAIL = ("在行动", "快讯", "观察", "速递", "之窗", "动态", "传真", "关注", "进行时", "视窗", "聚焦", "直击", "纪实",
               "园地", "新闻", "短波", "一线")
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华玉兰萍红鹏辉宇飞斌浩凯亮建文波宁琳雪梅莉晶倩婷颖佳欣怡晨阳峰俊彬"
_EDITOR_ROLES = ("责任编辑", "编辑", "校对", "美编", "版式", "审读", "组版", "责编", "值班主任", "本版编辑")
_CN_DIGITS = "〇一二三四五六七八九"
WEEKDAYS = "一二三四五六日"


def person(rng: random.Random) -> str:
    """An invented two- or three-character name."""
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))


def paper_name(rng: random.Random) -> str:
    return rng.choice(_PLACE_A) + rng.choice(_PLACE_B) + rng.choice(_PAPER_SUFFIX)


def _cn_number(n: int) -> str:
    if n <= 10:
        return "十" if n == 10 else _CN_DIGITS[n]
    return ("" if n < 20 else _CN_DIGITS[n // 10]) + "十" + ("" if n % 10 == 0 else _CN_DIGITS[n % 10])


def date_line(rng: random.Random, date: dt.date) -> str:
    """The date in one of the forms papers print it, sometimes with the weekday or lunar note."""
    y, m, d = date.year, date.month, date.day
    forms = [f"{y}年{m}月{d}日", f"{y}年{m:02d}月{d:02d}日", f"{y}.{m:02d}.{d:02d}", f"{y}-{m:02d}-{d:02d}",
             "".join(_CN_DIGITS[int(c)] for c in str(y)) + f"年{_cn_number(m)}月{_cn_number(d)}日"]
    s = rng.choice(forms)
    if rng.random() < 0.6:
        s += rng.choice((" ", "  ", " ")) + rng.choice(("星期", "周")) + WEEKDAYS[date.weekday()]
    if rng.random() < 0.15:
        s += f" 农历{rng.choice('正二三四五六七八九十冬腊')}月{rng.choice(('初', '十', '廿'))}{rng.choice('一二三四五六七八九')}"
    return s


def edition(rng: random.Random) -> str:
    """A 版次: ``第3版``, ``第03版：教育``, ``A3``, ``3版``, ``第三版`` …"""
    n = rng.randint(1, 16)
    s = rng.choice((f"第{n}版", f"第{n:02d}版", f"{rng.choice('ABCD')}{n}", f"{rng.choice('ABCD')}{n:02d}版",
                    f"{n}版", f"第{_cn_number(n)}版", f"{n:02d}"))
    if rng.random() < 0.35:
        s += rng.choice(("：", ":", " ", "｜", " | ")) + rng.choice(_SECTIONS)
    return s


def section(rng: random.Random) -> str:
    return rng.choice(_SECTIONS)


def column_label(rng: random.Random) -> str:
    """A column label such as ``基层快讯`` or ``【法治园地】``."""
    s = rng.choice(_LABEL_HEAD) + rng.choice(_LABEL_TAIL)
    r = rng.random()
    return f"【{s}】" if r < 0.15 else f"■{s}" if r < 0.25 else s


def editor_credit(rng: random.Random) -> str:
    roles = rng.sample(_EDITOR_ROLES, rng.randint(1, 3))
    sep = rng.choice(("  ", " ", "　", " | "))
    colon = rng.choice(("", " ", "：", ":"))
    return sep.join(f"{r}{colon}{person(rng)}" for r in roles)


def page_number(rng: random.Random, n: int) -> str:
    return rng.choice((f"- {n} -", f"—{n}—", str(n), f"第{n}页", f"{n:02d}", f"·{n}·"))


def jump_out(rng: random.Random) -> str:
    """A 'continued on' line closing a fragment."""
    n = rng.randint(2, 12)
    return rng.choice((f"下转第{n}版", f"（下转第{n}版）", f"(下转{n}版)", f"转第{_cn_number(n)}版", "（转下栏）",
                       f"下转{rng.choice('ABCD')}{n}版", "（紧转下栏）"))


def jump_in(rng: random.Random) -> str:
    """A 'continued from' line opening a continuation fragment."""
    n = rng.randint(1, 8)
    return rng.choice((f"上接第{n}版", f"（上接第{n}版）", f"(上接{n}版)", f"接第{_cn_number(n)}版", "（接上栏）",
                       f"上接{rng.choice('ABCD')}{n}版"))


def header_lines(rng: random.Random, date: dt.date) -> list[str]:
    """The lines at the top of a page: paper, date, 版次, section, in some order, on one line or several."""
    parts = [paper_name(rng), date_line(rng, date), edition(rng)]
    if rng.random() < 0.5:
        parts.append(section(rng))
    rng.shuffle(parts)
    keep = [p for p in parts if rng.random() < 0.8] or parts[:1]
    if rng.random() < 0.5:
        return [rng.choice(("  ", " ", "　", "   ")).join(keep)]
    return keep
