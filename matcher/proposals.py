"""What the matcher proposes, and the one-request entry point.

The workflow calls ``matcher.engine.propose_all`` (through
``matcher.services.suggestions``) for the requests an event touches, with
``Candidate`` and ``Proposal`` as defined here. ``propose_for_request`` takes
a request, the volunteers with their standing and what is still open, and
returns the assignment for that request (``proposed``) plus ranked alternates.
Its guarantees are those of ``propose_all`` too:

- no pair that breaks a hard rule is ever returned;
- proposed pairs never exceed a role's open count or a volunteer's remaining
  capacity, and never give one volunteer two roles on the request;
- the same input gives the same output.

The insides are ``matcher.engine``: vectorised scoring and an exact min-cost
flow across all open requests at once; this function is the engine on one row.
"""

from __future__ import annotations

from dataclasses import dataclass

from matcher.config import MatchingConfig
from matcher.domain import TeamRequest, Volunteer
from matcher.rules import Standing


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
    """The engine on one row: the same scoring and exact assignment as ``propose_all``.

    ``Candidate.reserved_elsewhere`` lowers what a volunteer can still take, so
    proposals made for other requests are respected.
    """
    # Imported here because the engine itself imports Candidate and Proposal from this module.
    from matcher.engine import propose_all

    return propose_all([request], candidates, {request.id: dict(open_counts)}, config)[request.id]
