"""The contract's hard matching rules, each with the reason a coordinator sees.

A pair that breaks any rule is never suggested. ``screen`` returns every rule a
pair breaks (not only the first), so "why not this person?" has a full answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from matcher.config import MatchingConfig
from matcher.domain import Slot, TeamRequest, Volunteer, VolunteerStatus, slots

REASONS: dict[str, str] = {
    "not_active": "is paused or withdrawn",
    "unconfirmed": "has not yet confirmed their email address",
    "no_consent": "has no consent on record",
    "role_not_offered": "does not offer this role",
    "no_shared_mode": "shares no way of meeting (in person, video, phone)",
    "out_of_area": "meets in person only, and does not go to this area",
    "no_slot_fits": "is not free at any of the team's meeting times",
    "missing_training": "lacks a training this role or request requires",
    "team_excluded": "asked not to be matched with this team",
    "at_capacity": "already holds as many commitments as they offered",
    "already_matched": "already has a match on this request",
    "time_clash": "already holds a commitment whose meetings overlap this team's",
}


@dataclass(frozen=True)
class Standing:
    """What the rules need to know about a volunteer beyond their offer."""

    active_commitments: int = 0
    matched_request_ids: frozenset[str] = frozenset()  # requests with a non-suggested match
    involvements: int = 0  # committed matches ever, for fairness
    # Days since they registered, or since their last involvement ended, with nothing
    # held since: the longer someone has waited, the more fairness lifts them.
    waiting_days: int = 0
    # Meeting slots of the requests they hold active commitments on (rule 10).
    committed_slots: frozenset[Slot] = frozenset()


def why_not(
    volunteer: Volunteer,
    request: TeamRequest,
    role: str,
    standing: Standing,
    config: MatchingConfig,
) -> list[dict[str, str]]:
    """Every rule the pair breaks, each with the sentence a coordinator reads."""
    return [{"rule": code, "reason": REASONS[code]} for code in screen(volunteer, request, role, standing, config)]


def required_trainings(request: TeamRequest, role: str, config: MatchingConfig) -> set[str]:
    return set(request.required_trainings) | set(config.role_trainings.get(role, ()))


def fits_meetings(volunteer: Volunteer, request: TeamRequest) -> bool:
    if not request.meeting_slots:
        return True  # flexible timing
    windows = slots(volunteer.availability)
    return any(any(s.within(w) for w in windows) for s in slots(request.meeting_slots))


def clashes(request: TeamRequest, standing: Standing) -> bool:
    """Rule 10: one of the team's meetings overlaps a meeting the volunteer is already committed to."""
    if not standing.committed_slots:
        return False
    return any(s.overlaps(c) for s in slots(request.meeting_slots) for c in standing.committed_slots)


def screen(
    volunteer: Volunteer,
    request: TeamRequest,
    role: str,
    standing: Standing,
    config: MatchingConfig,
) -> list[str]:
    """Every rule the pair breaks, as reason codes; empty means eligible."""
    reasons: list[str] = []
    if volunteer.status == VolunteerStatus.UNCONFIRMED:
        reasons.append("unconfirmed")
    elif volunteer.status != VolunteerStatus.ACTIVE:
        reasons.append("not_active")
    if not volunteer.has_consent:
        reasons.append("no_consent")
    if role not in volunteer.roles:
        reasons.append("role_not_offered")
    shared = set(volunteer.modes) & set(request.modes)
    if not shared:
        reasons.append("no_shared_mode")
    elif shared == {"in_person"} and request.area not in volunteer.reachable_areas:
        reasons.append("out_of_area")
    if not fits_meetings(volunteer, request):
        reasons.append("no_slot_fits")
    if not required_trainings(request, role, config) <= volunteer.gate_trainings(config.declared_trainings_count):
        reasons.append("missing_training")
    excluded = {t.strip().casefold() for t in volunteer.excluded_teams}
    if request.team_name.strip().casefold() in excluded:
        reasons.append("team_excluded")
    if standing.active_commitments >= volunteer.max_commitments:
        reasons.append("at_capacity")
    if request.id in standing.matched_request_ids:
        reasons.append("already_matched")
    if clashes(request, standing):
        reasons.append("time_clash")
    return reasons
