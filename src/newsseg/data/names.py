"""Name lists and consistent name substitution, to multiply the variety of composed pages.

:func:`find_names` finds the names in an article that can be swapped safely: place names and
organisations from the catalogues below (exact matches only, so generic words such as 社区 or 园区
are never touched), reporters and photographers from the byline and caption, and officials or
residents named right after a title (``主任张红军带领`` → ``张红军``). :func:`swap_names` replaces
each found name everywhere in the article by one replacement of the same kind (a ``…区`` by a
``…区``, a person by a made-up person), so an article stays self-consistent.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from newsseg.data.corpus import CorpusArticle

# Place names by administrative level. Replacements keep the suffix (区/县/镇/街道/社区/村…).
DISTRICTS: tuple[str, ...] = (
    "高新区", "滨江区", "经开区", "东湖新区", "云溪区", "思源区", "南岸区", "东城区", "西城区", "天河区",
    "南湖区", "兴华区", "西湖区", "北山区", "平湖区", "龙泉区", "鹤山区", "金沙区", "新洲区", "锡城区",
    "北岗区", "鼓楼区", "金水区", "龙华区", "瑞安区", "东阳区", "东关区", "鱼峰区", "城北区", "云湖区",
    "新都区", "江宁区", "高陵区", "宝安区", "浦口区", "历城区", "开福区", "青山区", "萧山区", "雁塔区",
    "龙岗区", "双流区", "渝北区", "汉阳区", "柳湾区", "城东新区", "海湾新区", "滨湖新区", "临江经开区",
    "青川经开区", "临港经开区", "广元经开区", "桐溪县", "新安县", "安平县", "临泉县", "云岭县", "青石县",
    "平川县", "清源县", "桃溪县", "永宁县", "沐阳县", "清河县", "渭阳县", "石门县", "松阳县", "长乐县",
    "宁安县", "宁川县", "城西区", "柳湖区", "海州区", "金湾区", "滨海区", "江北区", "清河区", "江汉区",
    "武侯区", "长宁县", "桐湖新区", "嘉禾县", "江岸区", "清河新区", "东溪县", "丰乐县", "安宁区", "南湾区",
    "汉南高新区", "丰泽区", "云溪县", "河西区", "东港县", "南河区", "临河新区", "余杭区", "鹿城区", "越秀区",
    "平阳经开区", "永登县", "渝中区", "萧湖区", "桃源县", "溧水区", "惠城区", "青河区", "望江新区", "平阳区",
    "城东区",
)
TOWNS: tuple[str, ...] = (
    "城关街道", "长青街道", "新华路街道", "西关街道", "鼓楼街道", "桃源街道", "湖滨街道", "坂田街道",
    "流亭街道", "福永街道", "柳营街道", "石门街道", "枫杨街道", "双桥街道", "梧桐街道", "石佛街道",
    "南沙镇", "沙河镇", "河口镇", "石桥镇", "天台镇", "青石镇", "马坊镇", "清水镇", "东坪镇", "临河镇",
    "双龙镇", "柳湾镇", "双河口镇", "柳塘镇", "高桥镇", "白沙镇", "枫林镇", "柳河乡", "东坝乡", "桃源乡",
    "枫杨办事处", "双桥办事处", "沟赵办事处", "梧桐办事处", "石佛办事处", "竹溪乡", "临江镇", "梁山镇",
    "青石街道", "双河镇", "西岭镇", "老城街道", "华阳镇", "东街街道", "永安镇", "溪口镇", "海湾街道",
    "漳江镇", "柳溪镇", "城南街道", "古城镇", "大河乡", "西门街道", "五里桥街道", "滨湖镇", "石门镇",
    "和平街道",
)
COMMUNITIES: tuple[str, ...] = (
    "金水湾社区", "城南社区", "西关社区", "桂园社区", "南门社区", "安泰社区", "幸福里社区", "和谐社区",
    "翠竹社区", "杏林社区", "上坪村", "柳湾村", "桃溪村", "清溪村", "前李村", "柳树湾村", "石岭村", "大柳村",
    "大坪村", "周家坪村", "龙溪村", "石桥村", "白杨村",
)
# Organisations as (full name, short name); both forms are swapped together.
ORGANISATIONS: tuple[tuple[str, str], ...] = (
    ("国泰新点软件股份有限公司", "新点软件"), ("远景新材料科技股份有限公司", "远景新材料"),
    ("鑫盛电子有限公司", "鑫盛电子"), ("江苏恒立智能装备有限公司", "恒立智能"),
    ("瑞丰食品有限公司", "瑞丰食品"), ("宁波晶耀新能源科技有限公司", "晶耀新能源"),
    ("江苏恒泰精工科技有限公司", "恒泰精工"), ("清河新源食品有限公司", "新源食品"),
    ("苏州精锐数控设备有限公司", "精锐数控"), ("江淮驰远汽车部件有限公司", "驰远汽车"),
    ("华锂新材料科技有限公司", "华锂新材料"), ("中恒环境集团", "中恒环境"),
    ("华创智能科技股份有限公司", "华创智能"), ("博远生物医药有限公司", "博远生物"),
    ("天衡精密机械有限公司", "天衡精密"), ("蓝海数据科技有限公司", "蓝海数据"),
)
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
            "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
            "邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘"
            "祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾"
            "尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师"
            "和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝冼")
GIVEN_CHARS = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力兰晨宇轩浩然子涵欣怡思远志国"
               "海波立新晓东雪梅振华佳琪雅楠博凯丹宁俊峰慧琳嘉鹏飞云鑫颖婷悦梓睿泽瑶宏亮春燕永庆德成安琦")
_TITLES = ("书记", "区长", "县长", "市长", "镇长", "乡长", "主任", "局长", "处长", "部长", "主席", "董事长",
           "总经理", "总裁", "负责人", "院长", "检察长", "所长", "站长", "队长", "校长", "组长", "经理", "委员",
           "居民", "村民", "市民", "民警", "法官", "检察官", "律师", "老师", "医生", "代表", "同志")
# What may follow a name: a verb of speech or action, or punctuation (lazy match picks 2 or 3 chars).
_AFTER = ("说|表示|指出|强调|要求|介绍|告诉|出席|主持|带领|会见|参加|讲话|一行|调研|陪同|率|提出|认为|"
          "宣读|通报|回答|坦言|笑着|作|在|等|和|与|代表|致辞|见证|签约|部署|[，。、：；“”（）\\s]")
_PERSON_AFTER_TITLE = re.compile(
    f"(?:{'|'.join(sorted(_TITLES, key=len, reverse=True))})([{SURNAMES}][\u4e00-\u9fff]{{1,2}}?)(?={_AFTER})")
_BYLINE_ROLES = {"记者", "通讯员", "本报记者", "本报评论员", "评论员", "文/图", "文", "图", "摄", "报道",
                 "整理", "实习生", "特约记者", "见习记者"}
_CJK_NAME = re.compile(f"^[{SURNAMES}][\u4e00-\u9fff]{{1,2}}$")
_PLACE_SUFFIXES = ("经开区", "新区", "街道", "办事处", "社区", "区", "县", "镇", "乡", "村")


def place_kind(name: str) -> str:
    """The administrative suffix of a place name (``"街道"`` for ``城关街道``)."""
    return next(s for s in _PLACE_SUFFIXES if name.endswith(s))


@lru_cache(maxsize=1)
def _catalogue() -> tuple[re.Pattern[str], dict[str, str], dict[str, list[str]]]:
    kind: dict[str, str] = {}
    pools: dict[str, list[str]] = {}
    for name in DISTRICTS + TOWNS + COMMUNITIES:
        kind[name] = place_kind(name)
        pools.setdefault(kind[name], []).append(name)
    for full, short in ORGANISATIONS:
        kind[full] = kind[short] = "org"
    pattern = re.compile("|".join(sorted(map(re.escape, kind), key=len, reverse=True)))
    return pattern, kind, pools


def _article_texts(a: "CorpusArticle") -> list[str]:
    return [*a.headline, *a.body, a.byline, a.caption or ""]


def find_names(article: "CorpusArticle") -> dict[str, str]:
    """Swappable names in ``article`` mapped to their kind (a place suffix, ``org`` or ``person``)."""
    pattern, kind, _ = _catalogue()
    texts = _article_texts(article)
    found: dict[str, str] = {}
    for t in texts:
        for m in pattern.finditer(t):
            found[m.group()] = kind[m.group()]
        for m in _PERSON_AFTER_TITLE.finditer(t):
            found.setdefault(m.group(1), "person")
    credits = article.byline.split() + (article.caption or "").split()[-2:]
    for tok in credits:
        tok = tok.strip("（）()")
        if tok not in _BYLINE_ROLES and not tok.endswith("报") and _CJK_NAME.match(tok):
            found.setdefault(tok, "person")
    return found


def _new_person(old: str, rng: random.Random, taken: set[str]) -> str:
    for _ in range(20):
        cand = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(len(old) - 1))
        if cand not in taken:
            return cand
    return old


def swap_names(article: "CorpusArticle", rng: random.Random,
               found: dict[str, str] | None = None) -> "CorpusArticle":
    """Return ``article`` with each found name replaced consistently by another of the same kind.

    ``found`` is :func:`find_names`' result, passed in when the caller caches it.
    """
    found = find_names(article) if found is None else found
    # A short form inside a longer found name (经开区 in 青川经开区) refers to the same place: keep it.
    found = {n: k for n, k in found.items() if not any(n != m and n in m for m in found)}
    if not found:
        return article
    _, _, pools = _catalogue()
    text = "\n".join(_article_texts(article))
    taken = set(found)
    mapping: dict[str, str] = {}
    orgs = [o for o in ORGANISATIONS if o[0] not in text and o[1] not in text]
    for name, k in sorted(found.items()):
        if name in mapping:
            continue
        if k == "person":
            new = _new_person(name, rng, taken | {n for n in mapping.values()})
        elif k == "org":
            pair = next((o for o in ORGANISATIONS if name in o), None)
            if pair is None or not orgs:
                continue
            repl = orgs.pop(rng.randrange(len(orgs)))
            mapping[pair[0]], mapping[pair[1]] = repl
            continue
        else:
            choices = [p for p in pools[k] if p not in taken and p not in mapping.values() and p not in text]
            if not choices:
                continue
            new = rng.choice(choices)
        mapping[name] = new
    if not mapping:
        return article
    sub = re.compile("|".join(sorted(map(re.escape, mapping), key=len, reverse=True)))

    def fix(s: str) -> str:
        return sub.sub(lambda m: mapping[m.group()], s)

    return replace(article, headline=[fix(h) for h in article.headline], body=[fix(p) for p in article.body],
                   byline=fix(article.byline), caption=fix(article.caption) if article.caption else None)
