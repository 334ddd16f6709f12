"""The programme's Markdown (the FAQ, the home page's text) as safe HTML.

markdown-it-py parses CommonMark, and nh3 (the ammonia sanitiser) then keeps only the
tags and attributes listed here: a pasted ``<script>`` or ``<style>`` goes with its
content, an ``onclick`` or a ``javascript:`` link is dropped, and harmless inline HTML
(``<br>``, ``<em>``) still works. Headings get ids from their words: the
FAQ's table of contents links to them, and so do other pages ("#how-is-my-information-used-and-kept").
A ``#`` heading becomes a second-level one: a page has one title, its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

TAGS = {
    "a", "blockquote", "br", "code", "em", "h2", "h3", "h4", "hr", "li", "ol", "p", "pre", "strong", "ul",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "ol": {"start"}}
SCHEMES = {"http", "https", "mailto"}
PARSER = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})


@dataclass
class Heading:
    id: str
    name: str


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def sanitise(html: str) -> str:
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=SCHEMES, link_rel=None)


def render(source: str) -> tuple[Markup, list[Heading]]:
    """Safe HTML for ``source``, and its second-level headings for a table of contents."""
    tokens = PARSER.parse(source)
    headings: list[Heading] = []
    used: set[str] = set()
    for i, token in enumerate(tokens):
        if token.type not in ("heading_open", "heading_close"):
            continue
        level = max(2, min(4, int(token.tag[1]) + (1 if token.tag == "h1" else 0)))
        token.tag = f"h{level}"
        if token.type == "heading_open":
            name = tokens[i + 1].content.strip()
            base = slug(name) or "section"
            anchor, n = base, 2
            while anchor in used:
                anchor, n = f"{base}-{n}", n + 1
            used.add(anchor)
            token.attrSet("id", anchor)
            if level == 2:
                headings.append(Heading(anchor, re.sub(r"[*_`]", "", name)))
    html = PARSER.renderer.render(tokens, PARSER.options, {})
    return Markup(sanitise(html)), headings  # noqa: S704 - sanitised by nh3 just above
