"""IIIF Content Search over search inside an item: 2.0 (an AnnotationPage of ``highlighting``
annotations with TextualBody snippets) and 1.0 (an ``sc:AnnotationList`` with ``search:Hit``s,
the service Mirador looks for).

A hit is a page: the pipeline keeps the page's words, not their boxes on the image, so each
annotation targets its whole canvas. The snippet carries the matched words (our own <mark>s,
diacritics and all: see search/snippets.py) split into before / match / after."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote

from collection.iiif.presentation import SEARCH_CONTEXT, Urls
from collection.search.searching import ItemSearchResult, PageHit

SEARCH1_CONTEXT = "http://iiif.io/api/search/1/context.json"
PRESENTATION2_CONTEXT = "http://iiif.io/api/presentation/2/context.json"
_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def _parts(snippet: str) -> tuple[str, str, str]:
    """(before, match, after) of a snippet's first marked word, as plain text."""
    found = _MARK.search(snippet)
    if found is None:
        return html.unescape(snippet), "", ""
    before = html.unescape(_MARK.sub(r"\1", snippet[: found.start()]))
    after = html.unescape(_MARK.sub(r"\1", snippet[found.end() :]))
    return before, html.unescape(found.group(1)), after


def _text(hit: PageHit) -> str:
    return html.unescape(_MARK.sub(r"\1", hit.snippet))


def _hit_id(urls: Urls, query: str, hit: PageHit) -> str:
    return f"{urls.search2}/hit/{hit.number}?q={_quote(query)}"


def _quote(query: str) -> str:
    return quote(query, safe="")


def _next_page(url: str, query: str, result: ItemSearchResult) -> str | None:
    if result.page * result.per_page >= result.total:
        return None
    return f"{url}?q={_quote(query)}&page={result.page + 1}"


def search2(urls: Urls, query: str, result: ItemSearchResult) -> dict[str, Any]:
    """Content Search 2.0: the matching pages as annotations on their canvases."""
    page_id = f"{urls.search2}?q={_quote(query)}&page={result.page}"
    answer: dict[str, Any] = {
        "@context": SEARCH_CONTEXT,
        "id": page_id,
        "type": "AnnotationPage",
        "items": [
            {
                "id": _hit_id(urls, query, hit),
                "type": "Annotation",
                "motivation": "highlighting",
                "body": {
                    "type": "TextualBody",
                    "value": _text(hit),
                    "format": "text/plain",
                    "language": "vi",
                },
                "target": urls.canvas(hit.number),
            }
            for hit in result.hits
        ],
        "partOf": {
            "id": f"{urls.search2}?q={_quote(query)}",
            "type": "AnnotationCollection",
            "total": result.total,
        },
        "startIndex": (result.page - 1) * result.per_page,
    }
    if (following := _next_page(urls.search2, query, result)) is not None:
        answer["next"] = {"id": following, "type": "AnnotationPage"}
    return answer


def search1(urls: Urls, query: str, result: ItemSearchResult) -> dict[str, Any]:
    """Content Search 1.0 (Presentation 2 vocabulary), with ``hits`` for the snippets."""
    page_id = f"{urls.search1}?q={_quote(query)}&page={result.page}"
    resources = []
    hits = []
    for hit in result.hits:
        annotation_id = f"{urls.search1}/hit/{hit.number}?q={_quote(query)}"
        before, match, after = _parts(hit.snippet)
        resources.append(
            {
                "@id": annotation_id,
                "@type": "oa:Annotation",
                "motivation": "sc:painting",
                "resource": {"@type": "cnt:ContentAsText", "chars": match or _text(hit)},
                "on": urls.canvas(hit.number),
            }
        )
        hits.append(
            {
                "@type": "search:Hit",
                "annotations": [annotation_id],
                "match": match,
                "before": before,
                "after": after,
            }
        )
    answer: dict[str, Any] = {
        "@context": [PRESENTATION2_CONTEXT, SEARCH1_CONTEXT],
        "@id": page_id,
        "@type": "sc:AnnotationList",
        "within": {"@type": "sc:Layer", "total": result.total},
        "startIndex": (result.page - 1) * result.per_page,
        "resources": resources,
        "hits": hits,
    }
    if (following := _next_page(urls.search1, query, result)) is not None:
        answer["next"] = following
    return answer
