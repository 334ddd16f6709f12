"""Email addresses in one form, and the ones nobody can own (matcher.addresses)."""

from __future__ import annotations

import pytest

from matcher import addresses
from matcher.domain import normalise_email

FINE = [
    "nadia@example.org",
    "Nadia.Islam+qi@nhs.net",
    "josé@münchen.de",  # one alphabet, with its accents
    "иван@почта.рф",  # Cyrillic throughout
    "たなか@例え.テスト",  # Japanese mixes its own scripts
    "x@sub.domain.co.uk",
    "x@123.example.org",  # digits are in every alphabet
]
REFUSED = [
    ("n\u0430dia@example.org", "alphabets"),
    ("иван@nhs.net", "alphabets"),
    ("nadia@ex\u0430mple.org", "alphabets"),
    ("x@localhost", "outside your own network"),
    ("x@LOCALHOST.", "outside your own network"),
    ("x@intranet", "outside your own network"),
    ("x@printer.local", "outside your own network"),
    ("x@app.localhost", "outside your own network"),
    ("x@corp.internal", "outside your own network"),
    ("x@box.localdomain", "outside your own network"),
    ("x@nas.home.arpa", "outside your own network"),
    ("x@10.0.0.1", "IP number"),
    ("x@[127.0.0.1]", "IP number"),
    ("x@[IPv6:2001:db8::1]", "IP number"),
]


@pytest.mark.parametrize("address", FINE)
def test_addresses_in_one_alphabet_at_a_real_domain_are_fine(address: str) -> None:
    assert addresses.refusal(address) is None


@pytest.mark.parametrize(("address", "words"), REFUSED)
def test_look_alikes_and_local_only_domains_are_refused_in_words(address: str, words: str) -> None:
    assert words in (addresses.refusal(address) or "")


def test_one_address_however_it_was_typed() -> None:
    typed = [
        "nadia@example.org",
        " NADIA@Example.ORG ",
        "\uff4e\uff41\uff44\uff49\uff41@example.org",  # fullwidth, from a phone keyboard
        "nadia\u200b@example.org",
        "\ufeffnadia@exam\u00adple.org",
        "nad\u2060ia@example.org\u200d",
    ]
    assert {normalise_email(t) for t in typed} == {"nadia@example.org"}
    assert addresses.clean(" Nadia\u200b@Example.org ") == "Nadia@Example.org"  # case kept where mail goes
