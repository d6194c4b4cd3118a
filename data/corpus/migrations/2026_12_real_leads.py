"""One-off edit (2026-12) of the first 360 corpus articles towards the shares of real pages.

The first corpus opened 72 % of leads with 本报讯 and printed a byline under 80 % of articles; real
local news does so 16 % and ~30 % of the time (shared/REAL_PAGES.md). This script, run once, edits
those articles in place, deterministically (by SHA-1 of the id):

- 本报讯 leads: 60 % lose the marker (and a credit in brackets right after it), leaving the date or
  phrase that followed; 15 % get another outlet's dateline (invented outlet names); 25 % keep it.
- Bylines: 45 % are dropped, 15 % move before the lead (``byline_pos: before``), the rest stay after.
- Every record gets its ``byline_pos``.
- Held-out articles (heldout.txt) keep their text, so data/pages/dev.jsonl, built from them, stays
  as it was; they only get ``byline_pos``.

Kept for the record; running it again on edited files changes nothing (it only touches records
without ``byline_pos``).
"""

import hashlib
import json
import re
import sys
from pathlib import Path

OUTLETS = ["青禾网讯", "江城晚报讯", "云溪融媒消息", "南岸发布消息", "北湖客户端讯", "桐川日报讯", "东陵网讯",
           "柳塘融媒讯", "滨海晚报讯", "潇水客户端讯", "据沂川发布消息，", "据古渡融媒报道，", "西坪网讯", "瓯南日报讯"]
FILES = ["investment.jsonl", "legal.jsonl", "other_a.jsonl", "other_b.jsonl", "projects.jsonl", "sanitation.jsonl"]


def u(key: str, salt: str) -> float:
    return int(hashlib.sha1(f"{salt}:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def edit(d: dict, held: set) -> dict:
    if "byline_pos" in d:
        return d
    if d["id"] in held:
        d["byline_pos"] = "after" if d.get("byline") else "none"
        return d
    lead = d["body"][0]
    if lead.startswith("本报讯"):
        r = u(d["id"], "lead")
        rest = re.sub(r"^本报讯\s*([（(][^）)]{1,30}[）)])?\s*", "", lead)
        if r < 0.60 and rest:
            d["body"][0] = rest
        elif r < 0.75 and rest:
            o = OUTLETS[int(u(d["id"], "outlet") * len(OUTLETS)) % len(OUTLETS)]
            d["body"][0] = o + ("" if o.endswith("，") else " ") + rest
    if d.get("byline"):
        r = u(d["id"], "byline")
        if r < 0.45:
            d["byline"], d["byline_pos"] = "", "none"
        elif r < 0.60:
            d["byline_pos"] = "before"
        else:
            d["byline_pos"] = "after"
    else:
        d["byline"], d["byline_pos"] = "", "none"
    return d


def main(corpus: Path) -> None:
    held = {x.strip() for x in (corpus / "heldout.txt").read_text(encoding="utf-8").splitlines()
            if x.strip() and not x.startswith("#")}
    for name in FILES:
        f = corpus / name
        recs = [edit(json.loads(line), held) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
        f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
