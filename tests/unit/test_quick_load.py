"""QuickLoader gives exactly what ``schema.load`` gives: the same data for every good
record, the same errors, word for word, for every bad one, and the same objects built.

The records: generated offers and requests (realistic: several windows, trainings,
phone numbers, exclusions, meeting places), each mutated field by field into many bad
and odd ones, loaded in one run so that what the loader remembers from good records
meets the bad ones; then random JSON anywhere (hypothesis).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates

from matcher.generate import generate, request_record, volunteer_record
from web import batch_parsers
from web.batch_parsers import BATCH_ONLY, OFFER_SCHEMA, REQUEST_SCHEMA, parse_request, parse_volunteer
from web.quick_load import QuickLoader
from web.schemas import SlotSchema, TrainingSchema, VolunteerIn, _may_hold_nul, _nul_paths
from web.vocabulary import codes_in_force

ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 3, 7, 2.5, 1.0, "", "   ", "x" * 5000, "Amina\x00", "atlantis", "09:30",
    "2026-02-30", "2026-03-01", "a@b", "https://meet.example/x", "javascript:alert(1)", [], ["atlantis"], [1],
    [None], ["en", "en"], {}, {"zzz": 1}, [{}], [{"day": "mon", "start": "09:00", "end": "10:00"}],
]  # fmt: skip


@pytest.fixture(autouse=True)
def vocabularies():
    batch_parsers.use_vocabularies(None)


def outcome(load, record: Any) -> tuple[str, str]:
    """What a load gives, spelled out: repr keeps True apart from 1 and shows key order."""
    try:
        return "loaded", repr(load(record))
    except ValidationError as exc:
        return "refused", repr(exc.messages)


def api_part(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in BATCH_ONLY}


def population() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    made = generate(60, 400, seed=11)
    offers = [api_part(volunteer_record(v, made.standings[v.id])) for v in made.volunteers]
    requests = [api_part(request_record(r)) for r in made.requests]
    return offers, requests


def mutations(record: Any) -> Iterator[Any]:
    """The record with one thing wrong (or odd but right) at a time, at every depth."""
    if isinstance(record, dict):
        yield {**record, "zzz": 1}
        for key, value in record.items():
            yield {k: v for k, v in record.items() if k != key}
            for odd in ODD_VALUES:
                yield {**record, key: odd}
            for inner in mutations(value):
                yield {**record, key: inner}
    elif isinstance(record, list) and record:
        yield record + record[:1]  # the first one twice
        yield record[::-1]
        yield record * 30  # too many
        for inner in mutations(record[0]):
            yield [inner, *record[1:]]
    elif isinstance(record, str) and record:
        yield record.upper()
        yield record + "\x00"
        yield " " + record


def corpus(records: list[dict[str, Any]], deep: int) -> list[Any]:
    """Every good record, and the mutations of the first ``deep`` of them."""
    return [*records, *(m for r in records[:deep] for m in mutations(r)), [], "x", None]


@pytest.mark.parametrize("schema", [OFFER_SCHEMA, REQUEST_SCHEMA], ids=["offer", "request"])
def test_every_good_and_bad_record_loads_as_the_schema_loads_it(schema) -> None:
    offers, requests = population()
    records = corpus(offers if schema is OFFER_SCHEMA else requests, deep=5)
    expected = [outcome(schema.load, record) for record in records]
    quick = QuickLoader(schema)
    for order in (range(len(records)), reversed(range(len(records)))):  # what one leaves remembered meets the others
        for i in order:
            assert outcome(quick.load, records[i]) == expected[i], records[i]
    refused = sum(kind == "refused" for kind, _ in expected)
    assert 0.3 * len(records) < refused < len(records)  # the corpus has plenty of both


def test_the_objects_built_are_the_same() -> None:
    made = generate(40, 300, seed=5)
    for v in made.volunteers:
        record = volunteer_record(v, made.standings[v.id])
        (quick, quick_standing), (plain, plain_standing) = (
            parse_volunteer(record), parse_volunteer(record, load=OFFER_SCHEMA.load))  # fmt: skip
        assert _fields(quick) == _fields(plain) and quick_standing == plain_standing
    for r in made.requests:
        record = request_record(r)
        assert _fields(parse_request(record)) == _fields(parse_request(record, load=REQUEST_SCHEMA.load))


def _fields(thing: Any) -> str:
    moments = {"id", "created_at", "updated_at", "consent_given_at"}  # new on each parse
    # (and the ORM's own state, where another test has mapped the classes)
    return repr({k: v for k, v in vars(thing).items() if k not in moments and not k.startswith("_sa_")})


def test_changing_a_loaded_result_changes_nothing_remembered() -> None:
    offer = population()[0][0] | {"trainings": [{"code": "qi_pocket", "completed_on": "2025-10-01"}]}
    quick = QuickLoader(OFFER_SCHEMA)
    first = quick.load(offer)
    first["roles"].append("juggler")
    first["availability"][0]["day"] = "someday"
    first["trainings"][0]["code"] = "karate"
    first["consent"]["version"] = "forged"
    assert outcome(quick.load, offer) == outcome(OFFER_SCHEMA.load, offer)


def test_codes_remembered_under_one_vocabulary_are_checked_again_under_another() -> None:
    offer = population()[0][0] | {"home_area": "newham"}
    quick = QuickLoader(OFFER_SCHEMA)
    assert outcome(quick.load, offer)[0] == "loaded"
    fewer = {name: set(codes) for name, codes in codes_in_force.get().items()}
    fewer["areas"].discard("newham")
    codes_in_force.set(fewer)
    assert outcome(quick.load, offer) == outcome(OFFER_SCHEMA.load, offer)
    assert "home_area" in eval(outcome(quick.load, offer)[1])  # noqa: S307 - our own repr of a dict


class _Unusual(Schema):
    """Options the quick loop does not mirror: the schema's own load does it all."""

    class Meta:
        unknown = EXCLUDE

    slot = fields.Nested(SlotSchema)
    training = fields.Nested(TrainingSchema, data_key="course")
    count = fields.Integer()

    @validates("count")
    def _even(self, value: int, **_: Any) -> None:
        if value % 2:
            raise ValidationError("Must be even.")


@pytest.mark.parametrize(
    "record",
    [
        {"slot": {"day": "mon", "start": "09:00", "end": "10:00"}, "count": 2, "extra": 1},
        {"slot": {"day": "mon", "start": "09:00", "end": "10:00"}, "count": 3},
        {"course": {"code": "qi_pocket"}, "training": 1},
    ],
)
def test_a_schema_with_options_it_does_not_mirror_loads_as_marshmallow_does(record) -> None:
    schema = _Unusual()
    assert outcome(QuickLoader(schema).load, record) == outcome(schema.load, record)


class _Counts(Schema):
    counts = fields.List(fields.Integer(strict=True))
    many = fields.Integer(strict=True)


def test_values_python_calls_equal_are_not_taken_for_one_another() -> None:
    """1 == True == 1.0 in Python; a strict integer field takes only the first."""
    schema, records = _Counts(), [{"counts": [1], "many": 1}, {"counts": [True]}, {"many": True}, {"counts": [1.0]}]
    quick = QuickLoader(schema)
    for record in records + records[::-1]:
        assert outcome(quick.load, record) == outcome(schema.load, record)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 300) | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from(["mon", "09:00", "17:30", "video", "en", "qi_pocket", "tower_hamlets", "focus_group"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["day", "start", "end", "code"]),
                                                                inner, max_size=4),
    max_leaves=10,
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_json_anywhere_loads_as_the_schema_loads_it(data) -> None:
    offers, requests = _POPULATION
    schema, records = data.draw(st.sampled_from([(OFFER_SCHEMA, offers), (REQUEST_SCHEMA, requests)]))
    record = copy.deepcopy(data.draw(st.sampled_from(records[:20])))
    for _ in range(data.draw(st.integers(1, 3))):
        target: Any = record
        path = data.draw(st.lists(st.integers(0, 30), min_size=1, max_size=3))
        for step in path[:-1]:  # walk down to a dict or list, then replace one thing in it
            inside = list(target) if isinstance(target, dict) else list(range(len(target)))
            if not inside:
                break
            child = target[inside[step % len(inside)]]
            if not isinstance(child, dict | list):
                break
            target = child
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        if keys:
            target[keys[path[-1] % len(keys)]] = data.draw(_JSON)
    assert outcome(_QUICK[id(schema)].load, record) == outcome(schema.load, record)


_POPULATION = population()
# One loader per schema for every example, so what one example leaves remembered meets the next.
_QUICK = {id(OFFER_SCHEMA): QuickLoader(OFFER_SCHEMA), id(REQUEST_SCHEMA): QuickLoader(REQUEST_SCHEMA)}


_TEXT_WITH_NUL = st.text(alphabet=st.sampled_from(["a", "\x00", "\\", "u", "0", "é"]), max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.integers() | st.floats() | _TEXT_WITH_NUL,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT_WITH_NUL, inner, max_size=3),
    )
)
def test_the_quick_nul_test_never_lets_a_nul_through(value) -> None:
    assert _may_hold_nul(value) or not _nul_paths(value)


def test_every_nul_is_still_named_by_its_path() -> None:
    offer = population()[0][0]
    with pytest.raises(ValidationError) as refused:
        VolunteerIn().load(offer | {"name": "A\x00", "trainings": [{"code": "qi\x00"}], "zz": "\x00"})
    assert refused.value.messages == {path: ["Must not contain a NUL character."]
                                      for path in ("name", "trainings.0.code", "zz")}  # fmt: skip
    written = "A\\u0000 is how JSON writes a NUL"  # the text, not the character: nothing to refuse
    assert VolunteerIn().load(offer | {"name": written})["name"] == written
