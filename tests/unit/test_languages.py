"""Languages as a vocabulary: the starting set, and generated populations that use it."""

from __future__ import annotations

import re

from matcher.generate import generate, request_record, volunteer_record
from matcher.taxonomy import CODE_RULES, STARTING_TERMS
from web import batch_parsers


def test_every_starting_language_code_is_an_iso_code() -> None:
    codes = [code for code, _ in STARTING_TERMS["languages"]]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(CODE_RULES["languages"][0], code) for code in codes)
    assert {"en", "syl", "bn", "bfi"} <= set(codes)


def test_generated_offers_and_requests_pass_the_api_schemas() -> None:
    # The batch command and the benchmarks read these; every language code must be in the vocabulary.
    population = generate(40, 300, seed=3)
    batch_parsers.use_vocabularies(None)
    volunteers = [batch_parsers.parse_volunteer(volunteer_record(v))[0] for v in population.volunteers]
    requests = [batch_parsers.parse_request(request_record(r)) for r in population.requests]
    assert any(v.languages != ["en"] for v in volunteers)
    assert any(r.languages for r in requests)
