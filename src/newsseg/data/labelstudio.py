"""Label Studio tasks with newsseg's predictions as pre-annotations, and the labelling config.

An annotator corrects predictions instead of labelling from nothing: each predicted page becomes a
task whose ``predictions`` hold the model's spans (labels ``ROLE:ARTICLE``, data/ANNOTATION.md) and
one ``topic_<article>`` choice per article, with a score per span and per task (the mean of the
page's article scores), so Label Studio can sort tasks by it. The corrected export comes back with
``newsseg import labelstudio`` (:func:`newsseg.data.importers.import_labelstudio`); accepted
unchanged, the spans come back exactly as predicted (tested).

Example::

    from newsseg.data.labelstudio import labelstudio_config, labelstudio_tasks
    tasks = labelstudio_tasks(predicted_pages, model_version="newsseg model/")
    xml = labelstudio_config(max_articles=8, topics=["sanitation", "projects", "legal", "investment", "other"])
"""

from __future__ import annotations

from typing import Any, Sequence
from xml.sax.saxutils import quoteattr

from newsseg.data.pages import Page


def _utf16_offsets(text: str) -> list[int] | None:
    """UTF-16 offset of each code point offset (Label Studio counts UTF-16 units); None if they agree."""
    if all(ord(c) < 0x10000 for c in text):
        return None
    out, u = [], 0
    for c in text:
        out.append(u)
        u += 2 if ord(c) >= 0x10000 else 1
    out.append(u)
    return out


def labelstudio_task(page: Page, model_version: str = "newsseg") -> dict[str, Any]:
    """One task: the page text (and id) as data, the page's articles as one prediction."""
    u16 = _utf16_offsets(page.text)
    result: list[dict[str, Any]] = []
    for art in page.articles:
        for k, s in enumerate(art.spans):
            start, end = (s.start, s.end) if u16 is None else (u16[s.start], u16[s.end])
            result.append({"id": f"{art.id}-{k}", "from_name": "label", "to_name": "text", "type": "labels",
                           "value": {"start": start, "end": end, "text": page.text[s.start:s.end],
                                     "labels": [f"{s.role}:{art.id}"]},
                           **({"score": round(float(s.score), 4)} if s.score is not None else {})})
        result.append({"id": f"{art.id}-topic", "from_name": f"topic_{art.id}", "to_name": "text",
                       "type": "choices", "value": {"choices": [art.topic]}})
    scores = [a.score for a in page.articles if a.score is not None]
    return {"data": {"text": page.text, "id": page.id},
            "predictions": [{"model_version": model_version, "result": result,
                             "score": round(float(sum(scores) / len(scores)), 4) if scores else 0.0}]}


def labelstudio_tasks(pages: Sequence[Page], model_version: str = "newsseg") -> list[dict[str, Any]]:
    """:func:`labelstudio_task` for every page (Label Studio's JSON import format: a list of tasks)."""
    return [labelstudio_task(p, model_version) for p in pages]


def labelstudio_config(max_articles: int, topics: Sequence[str]) -> str:
    """The labelling config (``labels.xml``): headline/body labels and a topic choice per article key."""
    n = max(1, int(max_articles))
    labels = "\n".join(f'    <Label value="headline:a{i}"/><Label value="body:a{i}"/>' for i in range(1, n + 1))
    choices = "".join(f"<Choice value={quoteattr(t)}/>" for t in topics)
    blocks = "\n".join(f'  <Choices name="topic_a{i}" toName="text" choice="single" showInline="true">'
                       f"{choices}</Choices>" for i in range(1, n + 1))
    return (f'<View>\n  <Labels name="label" toName="text">\n{labels}\n  </Labels>\n{blocks}\n'
            f'  <Text name="text" value="$text"/>\n</View>\n')
