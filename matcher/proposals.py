"""The one replaceable function the workflow calls to suggest volunteers.

``propose_for_request`` takes a request, the volunteers with their standing and
what is still open, and returns the assignment for that request (``proposed``)
plus ranked alternates. The matching engine may replace its insides; its
signature and guarantees are what the use cases rely on:

- no pair that breaks a hard rule is ever returned;
- proposed pairs never exceed a role's open count or a volunteer's remaining
  capacity, and never give one volunteer two roles on the request;
- the same input gives the same output.
"""

from __future__ import annotations

from dataclasses import dataclass

from matcher.config import MatchingConfig
from matcher.domain import TeamRequest, Volunteer
from matcher.rules import Standing, screen
from matcher.scoring import score_pair


@dataclass(frozen=True)
class Proposal:
    volunteer_id: str
    role: str
    score: float
    factors: dict[str, float]
    proposed: bool
    rank: int


@dataclass(frozen=True)
class Candidate:
    volunteer: Volunteer
    standing: Standing
    # Capacity already promised by proposals on other requests.
    reserved_elsewhere: int = 0

    @property
    def remaining(self) -> int:
        return self.volunteer.max_commitments - self.standing.active_commitments - self.reserved_elsewhere


def propose_for_request(
    request: TeamRequest,
    candidates: list[Candidate],
    open_counts: dict[str, int],
    config: MatchingConfig,
) -> list[Proposal]:
    scored = []
    for cand in candidates:
        for role in open_counts:
            if open_counts[role] <= 0 or screen(cand.volunteer, request, role, cand.standing, config):
                continue
            s = score_pair(cand.volunteer, request, role, cand.standing, config)
            scored.append((s, cand, role))
    # Highest score first; volunteer id and role break ties so the output is stable.
    scored.sort(key=lambda t: (-t[0].score, t[1].volunteer.id, t[2]))

    left = dict(open_counts)
    taken: set[str] = set()
    chosen = []
    for s, cand, role in scored:
        vid = cand.volunteer.id
        if vid in taken or left[role] <= 0 or cand.remaining <= 0:
            continue
        left[role] -= 1
        taken.add(vid)
        chosen.append((s, vid, role, True))

    alternates = []
    for s, cand, role in scored:
        if len(alternates) >= config.alternates_per_request:
            break
        if cand.volunteer.id in taken:
            continue
        taken.add(cand.volunteer.id)  # each alternate once, with their best role
        alternates.append((s, cand.volunteer.id, role, False))

    return [
        Proposal(volunteer_id=vid, role=role, score=s.score, factors=s.factors, proposed=proposed, rank=i + 1)
        for i, (s, vid, role, proposed) in enumerate(chosen + alternates)
    ]
