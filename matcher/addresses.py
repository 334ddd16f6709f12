"""Email addresses: one form however they were typed, and the ones nobody can own.

Two typings of one address must not make two people (one person, one record),
and an address that only looks like someone's, or that no mail from outside can
reach, must not hold an offer at all. So an address is:

- cleaned (``clean``): Unicode NFKC, so a fullwidth ``ａ`` is an ``a``, and the
  invisible characters (zero-width spaces and joiners, the byte-order mark, soft
  hyphens) removed. This is the form stored and written to.
- compared (``normalise``) cleaned and lower-cased.
- refused (``refusal``) when it mixes writing systems (a Cyrillic ``а`` among
  Latin letters is how a look-alike of another address is made), or when its
  domain is local-only: no dot, ``localhost``, ``.local``, ``.localhost``,
  ``.internal``, ``.localdomain``, ``.home.arpa``, or an IP number.
"""

from __future__ import annotations

import ipaddress
import unicodedata

# Characters with no width or glyph: typed or pasted, they make a second spelling of an address.
INVISIBLE = dict.fromkeys(
    map(ord, "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061"
             "\u2062\u2063\u2064\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"),
    None,
)  # fmt: skip

# Domains that only mean something inside one network (RFC 6761, RFC 8375, ICANN's .internal).
LOCAL_ONLY = ("localhost", "local", "internal", "localdomain", "home.arpa")

# Scripts that one writing system uses together (Japanese mixes three).
_WRITING_SYSTEMS = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "KATAKANA-HIRAGANA": "CJK"}


def clean(address: str) -> str:
    """The address as stored and written to: NFKC, no invisible characters, no surrounding space."""
    once = unicodedata.normalize("NFKC", address.translate(INVISIBLE))
    # NFKC can make an invisible character of a visible one (a halfwidth filler): clean again.
    return once.translate(INVISIBLE).strip()


def normalise(address: str) -> str:
    """The address as compared: cleaned and lower-cased, so case makes no second person."""
    return unicodedata.normalize("NFKC", clean(address).lower())


def refusal(address: str) -> str | None:
    """Why nobody can be reached at ``address`` as its owner, in words; None if it is fine.

    Expects a syntactically valid address (the schema checks that first).
    """
    cleaned = clean(address)
    local, _, domain = cleaned.rpartition("@")
    domain = domain.lower().rstrip(".")
    if _is_ip(domain):
        return "Give an address at a named domain, not at an IP number."
    if "." not in domain or domain in LOCAL_ONLY or domain.endswith(tuple("." + d for d in LOCAL_ONLY)):
        return "Give an address that can receive email from outside your own network."
    if len(_scripts(local + domain)) > 1:
        return "This address mixes letters from different alphabets. Please type it again in one alphabet."
    return None


def _is_ip(domain: str) -> bool:
    if domain.startswith("[") or ":" in domain:
        return True  # an address literal: [192.0.2.1] or [IPv6:...]
    try:
        ipaddress.ip_address(domain)
    except ValueError:
        return all(label.isdigit() for label in domain.split(".") if label)
    return True


def _scripts(text: str) -> set[str]:
    """The writing systems of the letters in ``text`` (digits and punctuation belong to all)."""
    found = set()
    for ch in text:
        if not unicodedata.category(ch).startswith("L"):
            continue
        script = unicodedata.name(ch, "UNKNOWN").split(" ")[0]
        found.add(_WRITING_SYSTEMS.get(script, script))
    return found
