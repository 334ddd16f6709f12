"""Seeded populations of volunteers and team requests that look like the pilot's.

Used by tests and benchmarks. The shape follows what the programme sees: most
people and teams in the pilot borough (Tower Hamlets), weekday daytime windows,
most volunteers holding one or two commitments, some paused, a few exclusions,
and a mix of plentiful requests (a video focus group any time) and scarce ones
(an in-person co-facilitator with specific lived experience at a fixed time).

The same seed always gives the same population, ids included.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from matcher.domain import TeamRequest, Volunteer, VolunteerStatus, slots
from matcher.rules import Standing

AREAS = ["tower_hamlets", "newham", "city_hackney", "bedfordshire", "luton", "forensic", "specialist"]
AREA_WEIGHTS = [0.40, 0.15, 0.15, 0.10, 0.08, 0.06, 0.06]
NEIGHBOURS = {
    "tower_hamlets": ["newham", "city_hackney"],
    "newham": ["tower_hamlets", "city_hackney"],
    "city_hackney": ["tower_hamlets", "newham"],
    "bedfordshire": ["luton"],
    "luton": ["bedfordshire"],
    "forensic": ["tower_hamlets", "newham"],
    "specialist": ["city_hackney", "tower_hamlets"],
}
ROLES = [
    "project_team_member",
    "co_design",
    "focus_group",
    "pdsa_tester",
    "data_collector",
    "reviewer",
    "speaker",
    "training_cofacilitator",
]
# Little-i roles are asked for more often than Big-I ones.
ROLE_WEIGHTS = [0.18, 0.16, 0.20, 0.12, 0.10, 0.12, 0.07, 0.05]
STAGES = ["understanding", "change_ideas", "testing", "implementation", "spread"]
MODES = ["in_person", "video", "phone"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EXPERIENCE = [
    "inpatient",
    "community_mental_health",
    "crisis_care",
    "camhs",
    "perinatal",
    "learning_disability",
    "addictions",
    "older_adults",
    "forensic_services",
    "psychosis",
    "mood_disorders",
    "anxiety",
    "eating_disorders",
    "carer_experience",
]
EXPERIENCE_WEIGHTS = [8, 10, 6, 3, 2, 3, 4, 4, 2, 5, 8, 9, 1, 6]
TOPICS = [
    "violence_reduction",
    "restrictive_practice",
    "physical_health",
    "medication",
    "access_waiting_times",
    "discharge_transitions",
    "carer_support",
    "patient_experience",
    "recovery_employment",
    "crisis_pathway",
]
LANGUAGES = ["en", "bn", "so", "ur", "pl", "tr", "pt"]
LANGUAGE_WEIGHTS = [0, 0.20, 0.05, 0.06, 0.04, 0.03, 0.03]  # beside English
TRAININGS = ["qi_introduction", "qi_pocket", "improvement_coach"]
# How a generated (or batch) record's verified trainings are marked: verified by the programme's records.
VERIFIED = {"verified_on": "2025-10-01", "verified_by": "records"}


def verified(trainings: list[dict[str, Any]], codes: list[str]) -> list[dict[str, Any]]:
    """``trainings`` with those in ``codes`` marked verified (a batch record's ``verified_trainings``)."""
    return [{**t, **VERIFIED} if t["code"] in codes else dict(t) for t in trainings]
ACCESS_NEEDS = [
    "Step-free access, please.",
    "Papers in large print.",
    "A quiet room and a break every hour.",
    "An interpreter for longer meetings.",
    "Meetings after 10:00: my medication makes mornings hard.",
]
EXCLUSIONS = [
    "Nothing about restraint, please.",
    "Not on the ward where I was an inpatient.",
    "I would rather not talk about eating disorders.",
    "No groups with staff from my own team.",
]
VENUES = ["Room 2, Mile End Hospital", "The Lodge, East Ham Care Centre", "Recovery College, Bow",
          "Conference room B, Luton & Dunstable"]  # fmt: skip
CONSENTED = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@dataclass
class Population:
    volunteers: list[Volunteer]
    standings: dict[str, Standing]
    requests: list[TeamRequest]

    @property
    def open_counts(self) -> dict[str, dict[str, int]]:
        return {r.id: {x["role"]: int(x["count"]) for x in r.roles} for r in self.requests}


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _window(rng: random.Random, day: str) -> dict[str, str]:
    start = rng.choice([9, 9, 10, 10, 11, 13, 14, 17]) * 60 + rng.choice([0, 0, 30])
    length = rng.choice([120, 180, 180, 240, 300, 420])
    return {"day": day, "start": _hhmm(start), "end": _hhmm(min(start + length, 21 * 60))}


def _meeting(rng: random.Random, day: str, minutes: int) -> dict[str, str]:
    start = rng.choice([9, 10, 10, 11, 13, 14, 15, 17]) * 60 + rng.choice([0, 30])
    return {"day": day, "start": _hhmm(start), "end": _hhmm(start + minutes)}


def _some(rng: random.Random, items: list[str], weights: Sequence[float] | None, k: int) -> list[str]:
    chosen: list[str] = []
    while len(chosen) < min(k, len(items)):
        pick = rng.choices(items, weights)[0] if weights else rng.choice(items)
        if pick not in chosen:
            chosen.append(pick)
    return chosen


def make_volunteer(rng: random.Random, n: int) -> tuple[Volunteer, Standing]:
    home = rng.choices(AREAS, AREA_WEIGHTS)[0]
    travel = [a for a in NEIGHBOURS[home] if rng.random() < 0.45]
    modes = _some(rng, MODES, [0.5, 0.35, 0.15], rng.choice([1, 2, 2, 3]))
    days = _some(rng, DAYS, [5, 5, 5, 5, 5, 2, 1], rng.choice([1, 2, 2, 3, 4]))
    availability = [_window(rng, d) for d in sorted(days, key=DAYS.index)]
    roles = _some(rng, ROLES, ROLE_WEIGHTS, rng.choice([1, 2, 3, 3, 4, 5]))
    # The programme's own records: trainings its sessions verified (matching rule 6 counts these).
    trainings = [
        {"code": t, "completed_on": "2025-10-01", **VERIFIED}
        for t, p in zip(TRAININGS, [0.45, 0.15, 0.04], strict=True)
        if rng.random() < p
    ]
    languages = ["en"] + _some(rng, LANGUAGES, LANGUAGE_WEIGHTS, 1 if rng.random() < 0.3 else 0)
    status = rng.choices(VolunteerStatus.CHOSEN, [0.86, 0.11, 0.03])[0]
    max_commitments = rng.choices([1, 2, 3, 4, 5], [0.40, 0.30, 0.15, 0.10, 0.05])[0]
    active = min(rng.choices([0, 1, 2], [0.70, 0.22, 0.08])[0], max_commitments)
    involvements = rng.choices([0, 1, 2, 4, 8], [0.55, 0.20, 0.12, 0.08, 0.05])[0]
    vid = f"v{n:06d}"
    volunteer = Volunteer(
        id=vid,
        name=f"Volunteer {n}",
        email=f"{vid}@example.org",
        kind=rng.choices(["service_user", "carer", "both"], [0.6, 0.3, 0.1])[0],
        home_area=home,
        travel_areas=travel,
        roles=roles,
        modes=modes,
        availability=availability,
        max_commitments=max_commitments,
        consent_version="2026-01",
        consent_given_at=CONSENTED,
        status=status,
        experience=_some(rng, EXPERIENCE, EXPERIENCE_WEIGHTS, rng.choice([0, 1, 2, 2, 3, 4])),
        interests=_some(rng, TOPICS, None, rng.choice([0, 1, 2, 3])),
        languages=languages,
        trainings=trainings,
        excluded_teams=[f"Team {rng.randrange(1, 400)}"] if rng.random() < 0.05 else [],
    )
    # Waiting since registering (or since the last involvement ended), if nothing is held now.
    waiting = 0 if active else rng.choice([0, 7, 30, 60, 90, 180, 365])
    # The meetings of what they hold now, on days they are free (rule 10). A separate
    # generator, so the rest of a seeded population stays as it was before this was added.
    side = random.Random(n * 7919 + 1)
    committed = frozenset(slots([_meeting(side, side.choice(days), 90) for _ in range(active)]))
    standing = Standing(active, involvements=involvements, waiting_days=waiting, committed_slots=committed)
    _contact_and_needs(volunteer, random.Random(n * 7919 + 2))
    return volunteer, standing


def _contact_and_needs(volunteer: Volunteer, rng: random.Random) -> None:
    """What a real offer often carries beside what matching reads: a phone number, access
    needs, things they would rather avoid (in their own words). A generator of its own, so
    the fields matching reads stay as they were before these were added."""
    if rng.random() < 0.35:
        volunteer.phone = f"07700 900{rng.randrange(100_000) % 1000:03d}"  # Ofcom's drama range: nobody's
        if rng.random() < 0.4:
            volunteer.preferred_contact = "phone"
    if rng.random() < 0.12:
        volunteer.access_needs = rng.choice(ACCESS_NEEDS)
    if rng.random() < 0.10:
        volunteer.exclusions = rng.choice(EXCLUSIONS)


def make_request(rng: random.Random, n: int, scarce: bool) -> TeamRequest:
    area = rng.choices(AREAS, AREA_WEIGHTS)[0]
    if scarce:
        # A Big-I place in person, with particular lived experience, at fixed times.
        roles = [{"role": rng.choice(["project_team_member", "training_cofacilitator", "speaker"]), "count": 1}]
        modes = ["in_person"]
        slots = [_meeting(rng, rng.choice(DAYS[:5]), 90) for _ in range(rng.choice([1, 2]))]
        sought = _some(rng, EXPERIENCE, EXPERIENCE_WEIGHTS, rng.choice([1, 2]))
        languages = ["bn"] if rng.random() < 0.3 else []
    else:
        n_roles = rng.choice([1, 1, 2, 2, 3])
        roles = [
            {"role": r, "count": rng.choices([1, 2, 3, 4], [0.5, 0.3, 0.12, 0.08])[0]}
            for r in _some(rng, ROLES, ROLE_WEIGHTS, n_roles)
        ]
        modes = _some(rng, MODES, [0.45, 0.4, 0.15], rng.choice([1, 2, 2, 3]))
        flexible = rng.random() < 0.45
        days = [] if flexible else _some(rng, DAYS[:5], None, rng.choice([1, 1, 2]))
        slots = [_meeting(rng, d, 60) for d in days]
        sought = _some(rng, EXPERIENCE, EXPERIENCE_WEIGHTS, rng.choice([0, 1, 1, 2]))
        languages = ["bn"] if rng.random() < 0.08 else []
    rid = f"r{n:06d}"
    request = TeamRequest(
        id=rid,
        team_name=f"Team {n % 400 + 1}",
        project_title=f"QI project {n}",
        area=area,
        qi_stage=rng.choice(STAGES),
        roles=roles,
        modes=modes,
        contact_name=f"Lead {n}",
        contact_email=f"lead{n}@nhs.example",
        topics=_some(rng, TOPICS, None, rng.choice([0, 1, 1, 2])),
        experience_sought=sought,
        meeting_slots=slots,
        languages=languages,
        required_trainings=["qi_pocket"] if rng.random() < 0.03 else [],
    )
    _plans_and_place(request, random.Random(n * 7919 + 3))
    return request


def _plans_and_place(request: TeamRequest, rng: random.Random) -> None:
    """The free text, dates and meeting place a real request often has (matching reads none
    of them); a generator of its own, like ``_contact_and_needs``."""
    if rng.random() < 0.7:
        request.aim = f"To improve {rng.choice(TOPICS).replace('_', ' ')} on our wards by 20% within a year."
    if "in_person" in request.modes and rng.random() < 0.6:
        request.venue = rng.choice(VENUES)
    if "video" in request.modes and rng.random() < 0.6:
        request.video_link = f"https://meet.example.nhs.uk/{request.id}"
    if rng.random() < 0.5:
        request.start_date = date(2026, rng.randrange(1, 13), 1)
        request.hours_per_month = rng.choice([2, 4, 4, 6, 8, 12])
        request.duration_weeks = rng.choice([4, 8, 12, 26, 52])
    if rng.random() < 0.2:
        request.notes = "Travel expenses are paid; lunch is provided."


def generate(n_requests: int, n_volunteers: int, seed: int = 0, scarce_share: float = 0.15) -> Population:
    rng = random.Random(seed)
    volunteers, standings = [], {}
    for n in range(n_volunteers):
        v, s = make_volunteer(rng, n)
        volunteers.append(v)
        standings[v.id] = s
    requests = [make_request(rng, n, rng.random() < scarce_share) for n in range(n_requests)]
    return Population(volunteers=volunteers, standings=standings, requests=requests)


# -- the API's JSON shape (what `qimatch match` reads) ---------------------------------------------


def volunteer_record(v: Volunteer, standing: Standing | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": v.id,
        "name": v.name,
        "email": v.email,
        "kind": v.kind,
        "home_area": v.home_area,
        "roles": list(v.roles),
        "modes": list(v.modes),
        "availability": [dict(w) for w in v.availability],
        "max_commitments": v.max_commitments,
        "consent": {"data_processing": v.has_consent, "version": v.consent_version},
        "preferred_contact": v.preferred_contact,
        "travel_areas": list(v.travel_areas),
        "experience": list(v.experience),
        "interests": list(v.interests),
        "languages": list(v.languages),
        # The API's shape (code, completed_on); which were verified is a batch-only field.
        "trainings": [{"code": t["code"], "completed_on": t.get("completed_on")} for t in v.trainings],
        "verified_trainings": sorted(v.verified_training_codes),
        "excluded_teams": list(v.excluded_teams),
        "status": v.status,
    }
    record.update({k: getattr(v, k) for k in ("phone", "access_needs", "exclusions") if getattr(v, k) is not None})
    if standing is not None:
        record["active_commitments"] = standing.active_commitments
        if standing.committed_slots:
            record["committed_slots"] = [
                {"day": m.day, "start": m.start, "end": m.end}
                for m in sorted(standing.committed_slots, key=lambda m: (m.day, m.start, m.end))
            ]
    return record


def request_record(r: TeamRequest) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": r.id,
        "team_name": r.team_name,
        "project_title": r.project_title,
        "area": r.area,
        "qi_stage": r.qi_stage,
        "roles": [dict(x) for x in r.roles],
        "modes": list(r.modes),
        "contact": {"name": r.contact_name, "email": r.contact_email},
        "topics": list(r.topics),
        "experience_sought": list(r.experience_sought),
        "meeting_slots": [dict(s) for s in r.meeting_slots],
        "languages": list(r.languages),
        "required_trainings": list(r.required_trainings),
    }
    for name in ("aim", "start_date", "hours_per_month", "duration_weeks", "notes", "venue", "video_link"):
        value = getattr(r, name)
        if value is not None:
            record[name] = value.isoformat() if isinstance(value, date) else value
    return record


def volunteer_from_record(record: dict[str, Any]) -> Volunteer:
    """The inverse of ``volunteer_record``, without validation (benchmarks and tests only)."""
    return Volunteer(
        id=record["id"],
        name=record["name"],
        email=record["email"],
        kind=record["kind"],
        home_area=record["home_area"],
        roles=record["roles"],
        modes=record["modes"],
        availability=record["availability"],
        max_commitments=record["max_commitments"],
        consent_version=record["consent"]["version"],
        consent_given_at=CONSENTED,
        status=record.get("status", VolunteerStatus.ACTIVE),
        travel_areas=record.get("travel_areas", []),
        experience=record.get("experience", []),
        interests=record.get("interests", []),
        languages=record.get("languages", []),
        trainings=verified(record.get("trainings", []), record.get("verified_trainings", [])),
        excluded_teams=record.get("excluded_teams", []),
        phone=record.get("phone"),
        preferred_contact=record.get("preferred_contact", "email"),
        access_needs=record.get("access_needs"),
        exclusions=record.get("exclusions"),
    )


def request_from_record(record: dict[str, Any]) -> TeamRequest:
    """The inverse of ``request_record``, without validation (benchmarks and tests only)."""
    return TeamRequest(
        id=record["id"],
        team_name=record["team_name"],
        project_title=record["project_title"],
        area=record["area"],
        qi_stage=record["qi_stage"],
        roles=record["roles"],
        modes=record["modes"],
        contact_name=record["contact"]["name"],
        contact_email=record["contact"]["email"],
        topics=record.get("topics", []),
        experience_sought=record.get("experience_sought", []),
        meeting_slots=record.get("meeting_slots", []),
        languages=record.get("languages", []),
        required_trainings=record.get("required_trainings", []),
        aim=record.get("aim"),
        start_date=date.fromisoformat(record["start_date"]) if record.get("start_date") else None,
        hours_per_month=record.get("hours_per_month"),
        duration_weeks=record.get("duration_weeks"),
        notes=record.get("notes"),
        venue=record.get("venue"),
        video_link=record.get("video_link"),
    )
