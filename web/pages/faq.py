"""The FAQ's text: a small, safe subset of Markdown that the programme edits.

The programme keeps its own copy at ``<QIMATCH_DATA_DIR>/content/faq.md``; the
shipped ``web/content/faq.md`` is used until it does. Supported: ``## `` questions,
paragraphs, ``- `` lists, ``**bold**``, ``*emphasis*`` and ``[links](/path or https://…)``.
Everything else is shown as text: no raw HTML reaches the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

LINK = re.compile(r"\[([^\]]+)\]\(((?:https?://|mailto:|/|#)[^)\s]*)\)")
BOLD = re.compile(r"\*\*(.+?)\*\*")
EM = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")


@dataclass
class Heading:
    id: str
    name: str


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def inline(text: str) -> str:
    out = str(escape(text))
    out = LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', out)
    out = BOLD.sub(r"<strong>\1</strong>", out)
    return EM.sub(r"<em>\1</em>", out)


def render(source: str) -> tuple[Markup, list[Heading]]:
    html: list[str] = []
    headings: list[Heading] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            html.append(f"<p>{inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            html.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for raw in source.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("## ") or line.startswith("# "):
            flush()
            name = line.lstrip("#").strip()
            heading = Heading(slug(name), name)
            headings.append(heading)
            html.append(f'<h2 id="{heading.id}">{escape(name)}</h2>')
        elif line.startswith(("- ", "* ")):
            if paragraph:
                flush()
            items.append(line[2:].strip())
        elif items and raw.startswith(("  ", "\t")):
            items[-1] += " " + line  # a list item's continuation line
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return Markup("\n".join(html)), headings
