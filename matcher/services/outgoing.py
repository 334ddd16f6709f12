"""Which use case sends an owed email, by its delivery key: what the worker's
``send_email`` task and the stalled sweep both call."""

from __future__ import annotations

from typing import Any

from matcher.config import MatchingConfig, RetentionPolicy
from matcher.domain import AuditAction, AuditEntry, AuditSubject, Coordinator, TokenPurpose
from matcher.errors import Conflict
from matcher.ports import Clock, Letters, Mailer, Texter, UnitOfWork
from matcher.services import (
    accounts,
    deliveries,
    digest,
    feedback,
    follow_ups,
    introductions,
    links,
    meetings,
    queries,
    retention,
    sessions,
    team_chats,
    texts,
)


def send_owed(
    uow: UnitOfWork,
    mailer: Mailer,
    letters: Letters,
    delivery_key: str,
    clock: Clock,
    config: MatchingConfig,
    lease_seconds: int,
    grace_days: int = RetentionPolicy().grace_days,
) -> int:
    """Send the email under ``delivery_key`` if it is still owed; returns how many went.

    ``grace_days``: how long a retention question leaves the person to answer."""
    letter, ids = deliveries.letter_of(delivery_key)
    if letter == "introduction":
        match_id, party = ids
        return introductions.send_introduction(uow, mailer, letters, match_id, party, clock, config, lease_seconds)
    if letter == "follow_up":
        follow_up_id, stage, party = ids
        return follow_ups.send_follow_up_letter(uow, mailer, letters, follow_up_id, stage, party, clock, lease_seconds)
    if letter == "private_link":
        return links.send_owed_link(uow, mailer, letters, delivery_key, clock, lease_seconds)
    if letter in (team_chats.LETTER, team_chats.CANCELLATION):
        return int(team_chats.send_owed(uow, mailer, letters, delivery_key, clock, lease_seconds))
    if letter == accounts.LETTER:
        return accounts.send_owed_link(uow, mailer, letters, delivery_key, clock, lease_seconds)
    if letter == sessions.LETTER:
        return sessions.send_letter(uow, mailer, letters, delivery_key, clock, lease_seconds)
    if letter in (meetings.UPDATE, meetings.CANCELLATION):
        return int(meetings.send_change(uow, mailer, letters, delivery_key, clock, lease_seconds))
    if letter == feedback.LETTER:
        return feedback.send_form(uow, mailer, letters, delivery_key, clock, config, lease_seconds)
    if letter == feedback.ALERT_LETTER:
        return feedback.send_alert(uow, mailer, letters, delivery_key, clock, lease_seconds)
    if letter == digest.LETTER:
        return digest.send(uow, mailer, letters, delivery_key, clock, config, lease_seconds)
    if letter == retention.LETTER:
        return retention.send_question(uow, mailer, letters, delivery_key, clock, lease_seconds, grace_days)
    raise ValueError(f"no sender for {letter!r} emails")


def about(uow: UnitOfWork, delivery_key: str) -> dict[str, Any]:
    """The timeline an email (or text) belongs on, for the sweep's ``email.failed`` event."""
    # A text's key is its email's, with the channel in front: it belongs where the email does.
    letter, ids = deliveries.letter_of(texts.email_key_of(delivery_key))
    to = ids[-1] if ids[-1] in ("team", "volunteer", "coordinator") else "self"
    fields: dict[str, Any] = {"data": {"letter": letter, "to": to}}
    if letter == accounts.LETTER:
        return fields  # a coordinator's own invitation or reset: on no programme timeline
    if letter == retention.LETTER:
        return {"data": {"letter": letter, "to": "volunteer"}, **retention.about(uow, delivery_key)}
    with uow:
        if letter in (team_chats.LETTER, team_chats.CANCELLATION):
            chat = uow.team_chats.get(ids[0])
            fields["team_request_id"] = chat.team_request_id if chat else None
            return fields
        if letter == "private_link":
            purpose, subject_id = ids[0], ids[1]
            fields["volunteer_id" if purpose == TokenPurpose.VOLUNTEER_LINK else "team_request_id"] = subject_id
            return fields
        if letter == digest.LETTER:
            return {"data": {"letter": letter, "to": "coordinator"}}  # on no timeline: the digest lists it
        if letter == sessions.LETTER:
            return {**fields, **sessions.about(uow, ids[0]), "data": {**fields["data"], "booking_id": ids[0]}}
        match_id = ids[0]
        if letter == feedback.LETTER:
            form = uow.feedback_forms.get(ids[0])
            fields["data"]["to"] = form.party if form else "self"
            match_id = form.match_id if form else ""
        elif letter == feedback.ALERT_LETTER:
            answer = uow.feedback_answers.get(ids[0])
            fields["data"]["to"] = "coordinator"
            match_id = answer.match_id if answer else ""
        elif letter == "follow_up":
            follow_up = uow.follow_ups.get(ids[0])
            fields["follow_up_id"] = ids[0]
            match_id = follow_up.match_id if follow_up else ""
        match = uow.matches.get(match_id)
    if match is not None:
        fields.update(match_id=match.id, team_request_id=match.team_request_id, volunteer_id=match.volunteer_id)
    return fields


def stalled(uow: UnitOfWork, clock: Clock, lease_seconds: int, texter: Texter | None = None) -> list[str]:
    """Every kind of email (and text) left unsent past its lease, for the sweep to queue again.
    ``texter`` settles texts whose send had no answer, by asking it for their reference."""
    find = texter.find if texter is not None else None
    return deliveries.stalled(uow, clock, lease_seconds, lambda k: about(uow, k), find)


def resend(uow: UnitOfWork, match_id: str, delivery_key: str, coordinator: Coordinator, clock: Clock) -> bool:
    """A coordinator resends one of a match's emails that was possibly sent or given up.

    Only what the match page offers: an email of this match, in the coordinator's areas,
    still possibly sent or failed. A second click finds it owed already and does nothing.
    """
    view = queries.match_view(uow, match_id, coordinator)  # not found outside their areas
    if delivery_key not in {str(e.data["key"]) for e in view.resendable}:
        raise Conflict("this email is not waiting to be resent")
    m = view.match
    letter, ids = deliveries.letter_of(delivery_key)
    # The email's kind and party, not its key: a private link's key names its nonce.
    on_record = AuditEntry(
        AuditAction.EMAIL_RESENT,
        clock.now(),
        AuditSubject.MATCH,
        m.id,
        coordinator.id,
        {"letter": letter, "to": ids[-1] if ids and ids[-1] in ("team", "volunteer") else "self"},
    )
    return deliveries.resend(
        uow,
        delivery_key,
        clock.now(),
        by=coordinator.id,
        on_record=on_record,
        match_id=m.id,
        team_request_id=m.team_request_id,
        volunteer_id=m.volunteer_id,
    )
