"""Calls a coordinator owes a volunteer: who is to be rung, and why.

A call is owed by what makes it owed, in the same transaction (an approval, a feedback
form, an answer, a volunteer stopping), so no separate job can miss one. It is owed once
per volunteer, reason and subject (a unique key in the store too); a coordinator marks it
called with a note, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from matcher.domain import IllegalMove, new_id

NOTE_MAX = 2000  # a call's note: a few paragraphs, never a transcript


class CallReason:
    """Why a call is owed (docs/calls.md says when each one is)."""

    # A phone-preferring volunteer was approved for a match: ring them about the introduction.
    INTRODUCTION = "introduction"
    # A feedback form was sent to a phone-preferring volunteer: take their feedback by phone.
    FEEDBACK = "feedback"
    # On a feedback form the volunteer asked for a call (whatever their preferred contact).
    ASKED_FOR_CALL = "asked_for_call"
    # A phone-preferring volunteer asked to stop: withdrew, paused, or said so on a feedback form.
    STOPPING = "stopping"
    ALL = (INTRODUCTION, FEEDBACK, ASKED_FOR_CALL, STOPPING)
    # As a coordinator reads them, in the call list, the timeline and the digest.
    WORDS = {
        INTRODUCTION: "Introduction",
        FEEDBACK: "Feedback by phone",
        ASKED_FOR_CALL: "Asked for a call",
        STOPPING: "Asked to stop",
    }


class CallSubject:
    """What a call is about, beside its reason: the kind of its ``subject_id``."""

    MATCH = "match"  # subject_id: the match (an introduction)
    FEEDBACK_FORM = "feedback_form"  # subject_id: the volunteer's form
    FEEDBACK_ANSWER = "feedback_answer"  # subject_id: their answer (a call asked for, a wish to stop)
    WITHDRAWAL = "withdrawal"  # subject_id: the volunteer (a withdrawal is final: once)
    PAUSE = "pause"  # subject_id: "pause-<London day it began>" (one call per day they pause)
    ALL = (MATCH, FEEDBACK_FORM, FEEDBACK_ANSWER, WITHDRAWAL, PAUSE)
    # Why, in words, by reason and subject: what the coordinator rings about.
    WHY = {
        (CallReason.INTRODUCTION, MATCH): "approved for a match; they prefer the phone, so ring about the introduction",
        (CallReason.FEEDBACK, FEEDBACK_FORM): "a follow-up chat's feedback form went out; they prefer the phone",
        (CallReason.ASKED_FOR_CALL, FEEDBACK_ANSWER): "they asked for a call on their feedback form",
        (CallReason.STOPPING, FEEDBACK_ANSWER): "they said on their feedback form that they want to stop",
        (CallReason.STOPPING, WITHDRAWAL): "they withdrew: they have stopped taking part",
        (CallReason.STOPPING, PAUSE): "they paused their offer",
    }


class CallStatus:
    OWED = "owed"
    DONE = "done"
    ALL = (OWED, DONE)


@dataclass(eq=False)
class Call:
    """One call owed to a volunteer; done once a coordinator records that they rang.

    ``note`` is the coordinator's own words about the call: kept here, never in an event,
    and cleared by erasure (which also removes the calls still owed)."""

    volunteer_id: str
    reason: str
    subject_kind: str
    subject_id: str
    owed_at: datetime
    match_id: str | None = None  # the match it is about, if any: its timeline shows the call
    id: str = field(default_factory=new_id)
    called_at: datetime | None = None
    called_by: str | None = None
    note: str | None = None

    @property
    def status(self) -> str:
        return CallStatus.DONE if self.called_at is not None else CallStatus.OWED

    @property
    def done(self) -> bool:
        return self.called_at is not None

    def mark_called(self, by: str, note: str, now: datetime) -> None:
        """Rung: once. A second mark is refused, so a second note never overwrites the first."""
        if self.done:
            raise IllegalMove("this call was marked as made already; its note is on the timeline")
        self.called_at, self.called_by, self.note = now, by, note
