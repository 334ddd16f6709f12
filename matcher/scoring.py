"""Scoring one pair: named, bounded factors that add up to the score.

Each factor is a fraction in [0, 1] times its configured weight, so the score is
explainable line by line and improving any one factor can only raise it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.config import MatchingConfig
from matcher.domain import Slot, TeamRequest, Volunteer, slots
from matcher.rules import Standing

# Stages after "understanding the system" go better with someone who has had the
# QI introduction; early stages welcome everybody equally.
STAGES_NEEDING_QI = {"change_ideas", "testing", "implementation", "spread"}
# The hours for a full flexible fit and the fairness factor's waiting part are settings:
# MatchingConfig.flexible_hours_for_full_fit, waiting_share and waiting_days_for_full_lift.


# Scores are integers underneath: each weighted factor is a whole number of millionths.
# Integer sums are exact in any order, so a pair's score (and every choice made from
# it) is the same whether it is summed here, in the engine's blocks of any shape, on
# any thread, or with any SIMD instruction set; the floats shown are those integers / SCALE.
SCALE = 1_000_000


def weighted_micros(weight: float, fraction: Any) -> Any:
    """A factor's contribution in millionths, for a scalar fraction or an array of them.

    ``(weight * SCALE) * fraction`` rounded half to even: Python's ``round`` and numpy's
    ``rint`` round the same float the same way, so the engine's arrays and this
    scorer agree to the unit.
    """
    scaled = float(weight) * SCALE
    if isinstance(fraction, np.ndarray):
        return np.rint(scaled * fraction).astype(np.int64)
    return round(scaled * fraction)


@dataclass(frozen=True)
class Scored:
    score: float
    factors: dict[str, float]

    @classmethod
    def of(cls, micros: dict[str, int]) -> Scored:
        return cls(score=sum(micros.values()) / SCALE, factors={name: m / SCALE for name, m in micros.items()})


def _share(wanted: list[str], offered: list[str]) -> float:
    if not wanted:
        return 0.0  # nothing sought: the factor does not tell people apart
    return len(set(wanted) & set(offered)) / len(set(wanted))


def availability_fit(volunteer: Volunteer, request: TeamRequest, config: MatchingConfig) -> float:
    windows = slots(volunteer.availability)
    if request.meeting_slots:
        meetings = slots(request.meeting_slots)
        covered = sum(1 for m in meetings if any(m.within(w) for w in windows))
        return covered / len(meetings)
    hours = sum(max(w.minutes(), 0) for w in windows) / 60
    return min(hours / config.flexible_hours_for_full_fit, 1.0)


def place_fit(volunteer: Volunteer, request: TeamRequest) -> float:
    if request.area == volunteer.home_area:
        return 1.0
    if request.area in volunteer.travel_areas:
        return 0.7
    # Reached only by video or phone: fine, but local people can also meet in person.
    return 0.4


def role_preference(volunteer: Volunteer, role: str) -> float:
    if role not in volunteer.roles:
        return 0.0
    # Volunteers list roles in the order they prefer them.
    return 1.0 - volunteer.roles.index(role) / max(len(volunteer.roles), 1)


def stage_readiness(volunteer: Volunteer, request: TeamRequest) -> float:
    if request.qi_stage not in STAGES_NEEDING_QI:
        return 1.0
    return 1.0 if volunteer.training_codes & {"qi_introduction", "qi_pocket", "improvement_coach"} else 0.5


def fairness_fraction(previous: Any, waiting_days: Any, config: MatchingConfig) -> Any:
    """For scalars or arrays alike, so the engine's vectorised value is the very same float.

    Fairness has two parts: how little someone has been involved (most of it), and
    how long they have waited since registering or since their last involvement
    ended. ``previous`` is past plus current commitments: none gives the full
    involvement part, one half, two a third... ``waiting_days`` adds up to
    ``config.waiting_share``, all of it after ``config.waiting_days_for_full_lift``.
    """
    share = config.waiting_share
    involvement = 1.0 / (1.0 + previous)
    waiting = np.minimum(np.maximum(waiting_days, 0) / config.waiting_days_for_full_lift, 1.0)
    return (1.0 - share) * involvement + share * waiting


def fairness(standing: Standing, config: MatchingConfig) -> float:
    previous = standing.involvements + standing.active_commitments
    return float(fairness_fraction(previous, standing.waiting_days, config))


def score_pair(
    volunteer: Volunteer,
    request: TeamRequest,
    role: str,
    standing: Standing,
    config: MatchingConfig,
) -> Scored:
    fractions = {
        "availability": availability_fit(volunteer, request, config),
        "place": place_fit(volunteer, request),
        "experience": _share(request.experience_sought, volunteer.experience),
        "topics": _share(request.topics, volunteer.interests),
        "language": _share(request.languages, volunteer.languages),
        "role_preference": role_preference(volunteer, role),
        "stage_readiness": stage_readiness(volunteer, request),
        "fairness": fairness(standing, config),
    }
    micros = {name: weighted_micros(config.weights.get(name, 0.0), value) for name, value in fractions.items()}
    return Scored.of(micros)


__all__ = ["SCALE", "Scored", "Slot", "score_pair", "weighted_micros"]
