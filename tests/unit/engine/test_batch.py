"""The batch command's logic, with a plain parser standing in for the web's schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest

from matcher.batch import BatchRefused, run_batch
from matcher.config import MatchingConfig
from matcher.domain import TeamRequest, Volunteer
from matcher.engine import assign
from matcher.generate import generate, request_record, volunteer_record
from matcher.rules import screen

VOLUNTEER_REQUIRED = ["name", "email", "kind", "home_area", "roles", "modes", "availability", "max_commitments"]
REQUEST_REQUIRED = ["team_name", "project_title", "area", "qi_stage", "roles", "modes", "contact"]


class Invalid(Exception):
    def __init__(self, messages: dict[str, list[str]]) -> None:
        super().__init__("invalid")
        self.messages = messages


def _require(record: dict[str, Any], names: list[str]) -> None:
    missing = {n: ["Missing data for required field."] for n in names if n not in record}
    if missing:
        raise Invalid(missing)


def parse_volunteer(record: dict[str, Any]) -> Volunteer:
    _require(record, VOLUNTEER_REQUIRED)
    fields = {
        k: record[k]
        for k in ["travel_areas", "experience", "interests", "languages", "trainings", "excluded_teams"]
        if k in record
    }
    return Volunteer(
        **{k: record[k] for k in VOLUNTEER_REQUIRED},
        consent_version=record["consent"]["version"],
        consent_given_at=datetime(2026, 1, 1, tzinfo=UTC),
        **fields,
    )


def parse_request(record: dict[str, Any]) -> TeamRequest:
    _require(record, REQUEST_REQUIRED)
    fields = {
        k: record[k]
        for k in ["topics", "experience_sought", "meeting_slots", "languages", "required_trainings"]
        if k in record
    }
    return TeamRequest(
        **{k: record[k] for k in REQUEST_REQUIRED if k != "contact"},
        contact_name=record["contact"]["name"],
        contact_email=record["contact"]["email"],
        **fields,
    )


def _written(tmp_path, population):  # type: ignore[no-untyped-def]
    vols = tmp_path / "v.jsonl"
    reqs = tmp_path / "r.jsonl"
    vols.write_text(
        "".join(json.dumps(volunteer_record(v, population.standings[v.id])) + "\n" for v in population.volunteers)
    )
    reqs.write_text("".join(json.dumps(request_record(r)) + "\n" for r in population.requests))
    return population, vols, reqs, tmp_path / "a.jsonl"


@pytest.fixture
def files(tmp_path):
    return _written(tmp_path, generate(30, 200, seed=9))


def test_writes_the_assignment_with_scores_and_factors(files):
    population, vols, reqs, out = files
    summary = run_batch(vols, reqs, out, parse_volunteer=parse_volunteer, parse_request=parse_request, progress=False)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == summary.places_filled > 0
    assert summary.places_requested == sum(r.places for r in population.requests)
    assert summary.volunteers_used == len({x["volunteer_id"] for x in lines})
    assert 0.0 <= summary.first_time_share <= 1.0
    by_v = {v.id: v for v in population.volunteers}
    by_r = {r.id: r for r in population.requests}
    for x in lines:
        assert set(x) == {"team_request_id", "volunteer_id", "role", "score", "factors"}
        assert x["score"] == round(sum(x["factors"].values()), 6)
        standing = population.standings[x["volunteer_id"]]  # with the meetings they hold (rule 10)
        assert not screen(by_v[x["volunteer_id"]], by_r[x["team_request_id"]], x["role"], standing, MatchingConfig())
    assert any("places filled" in line for line in summary.lines())
    assert "best possible:    proven" in summary.lines()


def test_a_search_stopped_early_says_how_far_off_it_may_be(tmp_path):
    """60 requests, 300 people: the first solve gives some people two meetings at once, and with
    no further solve allowed the search stops; the summary says so, with the bound's distance."""
    _, vols, reqs, out = _written(tmp_path, generate(60, 300, seed=9))
    with mock.patch.object(assign, "BRANCH_LIMIT", 0):
        summary = run_batch(
            vols, reqs, out, parse_volunteer=parse_volunteer, parse_request=parse_request, progress=False
        )
    assert summary.places_in_doubt == 0 and 0 < summary.score_gap < 0.01
    best = next(line for line in summary.lines() if line.startswith("best possible:"))
    assert best.startswith("best possible:    within 0.") and "stopped early" in best


def _spoil(path, number: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def test_bad_lines_are_reported_with_numbers_and_skipped(files):
    _, vols, reqs, out = files
    _spoil(vols, 3, "{not json")
    record = json.loads(vols.read_text().splitlines()[4])
    del record["email"]
    del record["kind"]
    _spoil(vols, 5, json.dumps(record))
    _spoil(reqs, 2, json.dumps({"id": "x"}))
    warned: list[str] = []
    summary = run_batch(
        vols,
        reqs,
        out,
        parse_volunteer=parse_volunteer,
        parse_request=parse_request,
        progress=False,
        warn=warned.append,
    )
    assert [(b.path.endswith("v.jsonl"), b.line) for b in summary.bad_lines] == [(True, 3), (True, 5), (False, 2)]
    assert set(summary.bad_lines[1].errors) == {"email", "kind"}
    assert "team_name" in summary.bad_lines[2].errors
    assert warned[0].endswith("v.jsonl:3: _json: not valid JSON: Expecting property name enclosed in double quotes")
    assert summary.volunteers == 198 and summary.requests == 29
    assert out.exists()


def test_refusing_writes_nothing(files):
    _, vols, reqs, out = files
    _spoil(reqs, 4, "[1, 2]")
    with pytest.raises(BatchRefused) as refused:
        run_batch(
            vols,
            reqs,
            out,
            parse_volunteer=parse_volunteer,
            parse_request=parse_request,
            on_bad_line="refuse",
            progress=False,
        )
    assert [b.line for b in refused.value.bad_lines] == [4]
    assert not out.exists()


def test_duplicate_ids_are_bad_lines(files):
    _, vols, reqs, out = files
    first = vols.read_text().splitlines()[0]
    _spoil(vols, 2, first)
    summary = run_batch(vols, reqs, out, parse_volunteer=parse_volunteer, parse_request=parse_request, progress=False)
    assert [(b.line, list(b.errors)) for b in summary.bad_lines] == [(2, ["id"])]


def test_generated_records_look_like_real_ones():
    """What the batch figures are measured on: people with several windows, trainings,
    contact details and things they would rather avoid; requests with their plans and place."""
    population = generate(300, 2000, seed=3)
    offers = [volunteer_record(v, population.standings[v.id]) for v in population.volunteers]
    requests = [request_record(r) for r in population.requests]

    def share(records, has) -> float:
        return sum(bool(has(r)) for r in records) / len(records)

    assert share(offers, lambda o: len(o["availability"]) >= 2) > 0.5
    assert share(offers, lambda o: o["trainings"]) > 0.3
    assert 0.05 < share(offers, lambda o: o.get("exclusions") or o["excluded_teams"]) < 0.3
    assert 0.05 < share(offers, lambda o: o.get("access_needs")) < 0.3
    assert share(offers, lambda o: o.get("phone")) > 0.2
    assert share(offers, lambda o: o.get("committed_slots")) > 0.1
    assert share(requests, lambda r: r.get("aim")) > 0.5
    assert share(requests, lambda r: r.get("venue") or r.get("video_link")) > 0.3
    assert share(requests, lambda r: r.get("start_date") and r.get("hours_per_month")) > 0.3


def test_what_a_volunteer_holds_is_checked_by_the_apis_own_rules(files):
    """Status and the meetings of what someone holds now (rule 10) are read with the API's
    statuses and meeting-slot rules, in the API's words."""
    from web.batch_parsers import parse_request as api_request
    from web.batch_parsers import parse_volunteer as api_volunteer
    from web.batch_parsers import use_vocabularies

    use_vocabularies(None)
    _, vols, reqs, out = files
    record = json.loads(vols.read_text().splitlines()[1])
    record["status"] = "asleep"
    record["active_commitments"] = -1
    record["committed_slots"] = [{"day": "tue", "start": "10:00", "end": "11:00"}, {"day": "tue", "start": "9:00",
                                                                                    "end": "10:00"}]  # fmt: skip
    _spoil(vols, 2, json.dumps(record))
    summary = run_batch(vols, reqs, out, parse_volunteer=api_volunteer, parse_request=api_request, progress=False)
    assert [b.line for b in summary.bad_lines] == [2]
    errors = summary.bad_lines[0].errors
    assert errors["status"] == ["Must be one of: unconfirmed, active, paused, withdrawn."]
    assert errors["active_commitments"] == ["Must be a whole number, 0 or more."]
    assert errors["committed_slots"] == {1: {"start": ["Use 24-hour HH:MM, e.g. 09:30."]}}


def test_unconfirmed_offers_are_in_no_assignment(files):
    """The batch path, like the workers, assigns only active offers: an offer waiting for its
    email address to be confirmed is read, and left out."""
    _, vols, reqs, out = files
    records = [json.loads(line) for line in vols.read_text().splitlines()]
    run_batch(vols, reqs, out, parse_volunteer=parse_volunteer, parse_request=parse_request, progress=False)
    chosen = {json.loads(x)["volunteer_id"] for x in out.read_text().splitlines()}
    assert chosen
    for record in records:
        if record["id"] in chosen:
            record["status"] = "unconfirmed"
    vols.write_text("".join(json.dumps(r) + "\n" for r in records))
    summary = run_batch(vols, reqs, out, parse_volunteer=parse_volunteer, parse_request=parse_request, progress=False)
    assert summary.volunteers == len(records)  # read, not refused
    assert not chosen & {json.loads(x)["volunteer_id"] for x in out.read_text().splitlines()}
