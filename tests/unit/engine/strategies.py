"""Hypothesis strategies: small random volunteers and requests over small vocabularies.

Small vocabularies make collisions (shared tags, same area, same slot) common,
which is where the rules and the factors have something to decide.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from matcher.domain import TeamRequest, Volunteer, slots
from matcher.proposals import Candidate
from matcher.rules import Standing

AREAS = ["tower_hamlets", "newham", "luton"]
ROLES = ["project_team_member", "focus_group", "reviewer"]
MODES = ["in_person", "video", "phone"]
DAYS = ["mon", "tue"]
TAGS = ["inpatient", "anxiety", "psychosis", "carer_experience"]
TOPICS = ["medication", "violence_reduction", "carer_support"]
LANGS = ["en", "bn", "so"]
TRAININGS = ["qi_introduction", "qi_pocket"]
STAGES = ["understanding", "testing"]
TEAMS = ["Ward 5", "Crisis team", "Home treatment"]


def _subset(items: list[str], min_size: int = 0) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(items), min_size=min_size, max_size=len(items), unique=True)


@st.composite
def window(draw: Any, length: tuple[int, ...] = (60, 120, 240)) -> dict[str, str]:
    start = draw(st.sampled_from([9, 10, 11, 13])) * 60 + draw(st.sampled_from([0, 30]))
    end = start + draw(st.sampled_from(length))
    return {
        "day": draw(st.sampled_from(DAYS)),
        "start": f"{start // 60:02d}:{start % 60:02d}",
        "end": f"{end // 60:02d}:{end % 60:02d}",
    }


@st.composite
def volunteer(draw: Any, n: int = 0) -> Volunteer:
    return Volunteer(
        id=f"v{n:03d}",
        name=f"V{n}",
        email=f"v{n}@example.org",
        kind="service_user",
        home_area=draw(st.sampled_from(AREAS)),
        travel_areas=draw(_subset(AREAS)),
        roles=draw(_subset(ROLES, 1)),
        modes=draw(_subset(MODES, 1)),
        availability=draw(st.lists(window(), min_size=1, max_size=3)),
        max_commitments=draw(st.integers(1, 3)),
        consent_version=draw(st.sampled_from(["2026-01", "2026-01", ""])),
        consent_given_at=datetime(2026, 1, 1, tzinfo=UTC),
        status=draw(st.sampled_from(["active", "active", "active", "paused", "withdrawn"])),
        experience=draw(_subset(TAGS)),
        interests=draw(_subset(TOPICS)),
        languages=draw(_subset(LANGS)),
        trainings=[{"code": t, "completed_on": "2025-01-01"} for t in draw(_subset(TRAININGS))],
        excluded_teams=draw(st.lists(st.sampled_from([t.upper() for t in TEAMS] + TEAMS), max_size=1)),
    )


@st.composite
def request(draw: Any, n: int = 0) -> TeamRequest:
    roles = draw(_subset(ROLES, 1))
    return TeamRequest(
        id=f"r{n:03d}",
        team_name=draw(st.sampled_from(TEAMS)),
        project_title=f"Project {n}",
        area=draw(st.sampled_from(AREAS)),
        qi_stage=draw(st.sampled_from(STAGES)),
        roles=[{"role": r, "count": draw(st.integers(1, 3))} for r in roles],
        modes=draw(_subset(MODES, 1)),
        contact_name="Lead",
        contact_email="lead@nhs.example",
        topics=draw(_subset(TOPICS)),
        experience_sought=draw(_subset(TAGS)),
        meeting_slots=draw(st.one_of(st.just([]), st.lists(window(length=(60,)), min_size=1, max_size=2))),
        languages=draw(_subset(LANGS)),
        required_trainings=draw(st.lists(st.sampled_from(TRAININGS), max_size=1)),
    )


@st.composite
def standing(draw: Any, request_ids: list[str]) -> Standing:
    return Standing(
        active_commitments=draw(st.integers(0, 3)),
        matched_request_ids=frozenset(draw(st.lists(st.sampled_from(request_ids), max_size=1)))
        if request_ids
        else frozenset(),
        involvements=draw(st.integers(0, 5)),
        waiting_days=draw(st.sampled_from([0, 0, 30, 179, 180, 400])),
        # Meetings of what they are committed to: overlapping some requests' slots, touching others'.
        committed_slots=frozenset(slots(draw(st.lists(window(length=(60, 90)), max_size=2)))),
    )


@st.composite
def instance(
    draw: Any, max_requests: int = 5, max_volunteers: int = 12
) -> tuple[list[TeamRequest], list[Candidate], dict[str, dict[str, int]]]:
    requests = [draw(request(i)) for i in range(draw(st.integers(1, max_requests)))]
    ids = [r.id for r in requests]
    candidates = [
        Candidate(draw(volunteer(j)), draw(standing(ids)), reserved_elsewhere=draw(st.sampled_from([0, 0, 1])))
        for j in range(draw(st.integers(1, max_volunteers)))
    ]
    # Sometimes a role is already partly filled.
    open_counts = {
        r.id: {x["role"]: max(int(x["count"]) - draw(st.integers(0, 1)), 0) for x in r.roles} for r in requests
    }
    return requests, candidates, open_counts
