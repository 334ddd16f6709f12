"""Email templates as the programme edits them: sandboxed, and checked before they are saved.

Templates are written by coordinators through a page, so they run in Jinja's sandbox
(no attribute tricks reach Python's internals) and are refused at save when they would
fail at send time: a syntax error, a name the letter does not provide, or a plain-text
template whose first line is not its ``Subject:``. Each problem names its line.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jinja2 import BaseLoader, ChainableUndefined, StrictUndefined, TemplateSyntaxError, meta, nodes, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from matcher.content import SHIPPED_EMAILS


def environment(loader: BaseLoader | None, html: bool, undefined: type[Any] = StrictUndefined) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=loader,
        undefined=undefined,
        autoescape=select_autoescape(["html"]) if html else False,
        # Edited templates change under a running worker: never keep a compiled copy.
        cache_size=0,
    )


@cache
def provided_names(name: str) -> frozenset[str]:
    """The names the letter gives its template: those the shipped template uses."""
    source = (SHIPPED_EMAILS / name).read_text(encoding="utf-8")
    env = environment(None, name.endswith(".html"))
    return frozenset(meta.find_undeclared_variables(env.parse(source)))


def _line_of(source: str, word: str) -> int:
    pattern = re.compile(r"\b" + re.escape(word) + r"\b")
    for number, line in enumerate(source.splitlines(), 1):
        if "{" in line and pattern.search(line):
            return number
    return 1


def problems(name: str, source: str) -> list[str]:
    """What is wrong with ``source`` as the template ``name`` (e.g. "introduction_team.txt"); [] if nothing."""
    html = name.endswith(".html")
    env = environment(None, html)
    try:
        parsed = env.parse(source)
    except TemplateSyntaxError as broken:
        return [f"Line {broken.lineno}: {broken.message}"]
    found = []
    for node in parsed.find_all((nodes.Getattr, nodes.Getitem)):
        attr = getattr(node, "attr", None) or getattr(getattr(node, "arg", None), "value", None)
        if isinstance(attr, str) and attr.startswith("_"):
            # The sandbox would stop it at send time; say so now, while someone is looking.
            found.append(f"Line {node.lineno}: “{attr}” is not something an email can show")
    unknown = sorted(meta.find_undeclared_variables(parsed) - provided_names(name))
    for word in unknown:
        found.append(f"Line {_line_of(source, word)}: this email has no “{word}” to show")
    if not html and not source.startswith("Subject:"):
        found.append("Line 1: the first line must be the subject, starting “Subject:”")
    if not source.strip():
        found.append("Line 1: the template is empty")
    return found


class Placeholder(ChainableUndefined):
    """In a preview, every value shows as its name in brackets: [volunteer_first_name]."""

    def __str__(self) -> str:
        return f"[{self._undefined_name}]"

    def __html__(self) -> str:
        return str(self)


def preview(name: str, source: str) -> str:
    """The template with placeholders for what each letter fills in."""
    env = environment(None, name.endswith(".html"), undefined=Placeholder)
    return env.from_string(source).render()
