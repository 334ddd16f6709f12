"""Offers and requests coming in, and volunteers changing their offer.

Input reaching these functions has passed the schemas (types, codes, ranges);
what is checked here is what needs the stored state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from matcher import addresses
from matcher.config import MatchingConfig
from matcher.domain import (
    AuditAction,
    AuditSubject,
    Coordinator,
    EmailConfirmation,
    Event,
    EventKind,
    IllegalMove,
    MatchStatus,
    TeamRequest,
    TokenPurpose,
    Volunteer,
    VolunteerStatus,
    WithdrawalReason,
    normalise_email,
)
from matcher.errors import Concurrent, Duplicate, Invalid, NotFound
from matcher.ports import Clock, UnitOfWork
from matcher.services import audit, calls, link_emails, sessions
from matcher.services.endings import end_commitment
from matcher.services.outreach import check_source
from matcher.services.suggestions import withdraw_suggestion
from matcher.services.visibility import visible_volunteer

# What a volunteer (or a coordinator on their behalf) may change after registering.
CHANGEABLE = {
    "status",
    "availability",
    "roles",
    "modes",
    "travel_areas",
    "max_commitments",
    "experience",
    "interests",
    "languages",
    "trainings",
    "access_needs",
    "exclusions",
    "excluded_teams",
    "phone",
    "preferred_contact",
    "name",
}


class AlreadyRegistered(Duplicate):
    """A second offer under an address that already holds a live one.

    ``volunteer_id`` is for the pages, which send that person their private link;
    the message names no one, since anyone may submit an offer.
    """

    def __init__(self, volunteer_id: str) -> None:
        super().__init__(
            "email",
            "email: an offer with this email address is already registered; "
            "change that offer rather than registering a second one",
        )
        self.volunteer_id = volunteer_id


def live_volunteer_with_email(uow: UnitOfWork, address: str) -> Volunteer | None:
    """Inside a unit of work: the active or paused volunteer under this address, if any."""
    key = normalise_email(address)
    found = uow.volunteers.where(email_key=key, status=list(VolunteerStatus.LIVE))
    if found:
        return found[0]
    # A second live offer from before the rule has no key (migration 0005); there are few.
    legacy = uow.volunteers.where(email_key=None, status=list(VolunteerStatus.LIVE))
    return next((v for v in legacy if normalise_email(v.email) == key), None)


def register_volunteer(
    uow: UnitOfWork,
    offer: dict[str, Any],
    clock: Clock,
    entered_by: Coordinator | None = None,
    *,
    confirm_emails: bool = False,
    send_link: bool = False,
) -> Volunteer:
    """Store a new offer; raises AlreadyRegistered when the address holds one already.

    ``offer["source"]`` names the outreach event it came through, if any. ``entered_by``:
    the signed-in coordinator who typed it in (a page or an API token); the account vouches
    for the address, so the offer counts as confirmed. With ``consent["assisted"]`` they
    took the person's consent face to face (an assisted sign-up), and the offer records who did.

    ``confirm_emails`` is the QIMATCH_CONFIRM_EMAILS setting (the web passes it). With it,
    an offer nobody signed in vouched for waits unconfirmed, and unmatchable, until its
    address is confirmed through the private link emailed to it, owed here with the offer
    (both or neither). ``send_link``: email the private link even when no confirmation is
    needed (the sign-up form always does). Link emails to one address are limited
    (``link_emails.LINKS_PER_HOUR``).
    """
    now = clock.now()
    consent = offer.pop("consent")
    source = offer.pop("source", None)
    if consent.get("assisted") and entered_by is None:
        raise Invalid({"consent.assisted": ["Only a signed-in coordinator can record consent taken in person."]})
    offer["email"] = addresses.clean(offer["email"])
    volunteer = Volunteer(
        **offer,
        consent_version=consent["version"],
        consent_given_at=now,
        created_at=now,
        updated_at=now,
        source_event_id=source,
        consent_assisted_by=entered_by.id if entered_by is not None and consent.get("assisted") else None,
    )
    if entered_by is not None:
        volunteer.email_confirmed_at, volunteer.email_confirmed_by = now, entered_by.id
    elif confirm_emails:
        volunteer.status = VolunteerStatus.UNCONFIRMED
    else:
        volunteer.email_confirmed_at, volunteer.email_confirmed_by = now, EmailConfirmation.NOT_ASKED
    data = {"confirmed_by": entered_by.id} if entered_by is not None else {}
    try:
        with uow:
            check_source(uow, source)
            known = live_volunteer_with_email(uow, volunteer.email)
            if known is not None:
                raise AlreadyRegistered(known.id)
            uow.volunteers.add(volunteer)
            uow.events.add(Event(EventKind.VOLUNTEER_REGISTERED, now, volunteer_id=volunteer.id, data=data))
            if entered_by is not None and volunteer.consent_assisted_by:
                audit.record(
                    uow, entered_by, AuditAction.OFFER_TAKEN_IN_PERSON, AuditSubject.VOLUNTEER, volunteer.id, clock,
                    source=source or "none",
                )  # fmt: skip
            if volunteer.unconfirmed or send_link:
                subject = link_emails.LinkSent(TokenPurpose.VOLUNTEER_LINK, volunteer.id)
                link_emails.owe_within_limit(uow, [subject], now)
            uow.commit()
    except Concurrent:
        # The same address signed up twice at one moment: the database's unique index let one in.
        with uow:
            known = live_volunteer_with_email(uow, volunteer.email)
        if known is None:
            raise
        raise AlreadyRegistered(known.id) from None
    return volunteer


def update_volunteer(
    uow: UnitOfWork,
    volunteer_id: str,
    changes: dict[str, Any],
    clock: Clock,
    coordinator: Coordinator | None = None,
    by_volunteer: bool = False,
) -> Volunteer:
    """The volunteer changes their offer, or ``coordinator`` does for them if they may see them:
    the visibility check and the change in one unit of work.

    ``by_volunteer``: the person did it themselves (their own page), so a phone-preferring
    volunteer who stops is owed a call (``matcher.services.calls``) in the same transaction.

    The volunteer's row is not locked here: a withdrawal goes on to lock requests, and
    use cases lock a request before a volunteer, never after."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise Invalid({name: ["Unknown field."] for name in sorted(unknown)})
    now = clock.now()
    with uow:
        if coordinator is not None:
            volunteer = visible_volunteer(uow, volunteer_id, coordinator)
        else:
            found = uow.volunteers.get(volunteer_id)
            if found is None:
                raise NotFound("volunteer not found")
            volunteer = found
        if volunteer.erased:
            raise IllegalMove("this volunteer's details were erased at their request; nothing is left to change")
        before = volunteer.status
        if "trainings" in changes and changes.get("status") != VolunteerStatus.WITHDRAWN:
            # Attendance verifies a training under this row's lock: read it locked too, so a
            # verification committed meanwhile is kept, not overwritten by the form's list.
            # (No request is locked after this unless withdrawing, so the lock order holds.)
            volunteer = uow.volunteers.get(volunteer.id, for_update=True) or volunteer
        if "trainings" in changes:
            changes = {**changes, "trainings": _with_dates_on_record(volunteer, changes["trainings"])}
        for name, value in changes.items():
            if name != "status":
                setattr(volunteer, name, value)
        if changes.get("status", before) != before:
            _move_to(volunteer, changes["status"], now)
        volunteer.updated_at = now
        uow.events.add(
            Event(EventKind.VOLUNTEER_UPDATED, now, volunteer_id=volunteer.id, data={"fields": sorted(changes)})
        )
        if volunteer.status == VolunteerStatus.WITHDRAWN and before != VolunteerStatus.WITHDRAWN:
            _withdraw(uow, volunteer, clock)
        if by_volunteer and coordinator is None and volunteer.status != before:
            calls.owe_for_stopping(uow, volunteer, volunteer.status, now)
        if coordinator is not None:
            # Which fields, never their values: the log outlives an erasure.
            audit.record(
                uow,
                coordinator,
                AuditAction.VOLUNTEER_EDITED,
                AuditSubject.VOLUNTEER,
                volunteer.id,
                clock,
                fields=sorted(changes),
            )
        uow.commit()
    return volunteer


def _move_to(volunteer: Volunteer, status: str, now: datetime) -> None:
    moves = {
        VolunteerStatus.ACTIVE: volunteer.resume,
        VolunteerStatus.PAUSED: volunteer.pause,
        VolunteerStatus.WITHDRAWN: volunteer.withdraw,
    }
    moves[status](now)


VERIFICATION = ("verified_on", "verified_by", "session_id")


def _with_dates_on_record(volunteer: Volunteer, trainings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A training ticked again without a date keeps the date already on record: the
    # volunteer's form only ticks which trainings they have. A training a coordinator
    # verified (attendance at a session) stays verified, ticked or not: the offer declares
    # trainings; it cannot add or take back a verification.
    on_record = {t["code"]: t for t in volunteer.trainings}
    merged = []
    for t in trainings:
        old = on_record.get(t["code"], {})
        kept = {k: old[k] for k in VERIFICATION if old.get("verified_on") and k in old}
        merged.append({**t, "completed_on": t.get("completed_on") or old.get("completed_on"), **kept})
    given = {t["code"] for t in trainings}
    merged += [dict(t) for t in volunteer.trainings if t.get("verified_on") and t["code"] not in given]
    return merged


def _withdraw(uow: UnitOfWork, volunteer: Volunteer, clock: Clock) -> None:
    # Withdrawing ends open suggestions and commitments, cancels the chats to come
    # and gives each place back to its request.
    now = clock.now()
    for match in uow.matches.where(volunteer_id=volunteer.id, status=[MatchStatus.SUGGESTED, *MatchStatus.COMMITTED]):
        if match.status == MatchStatus.SUGGESTED:
            withdraw_suggestion(uow, match, WithdrawalReason.VOLUNTEER_WITHDREW, now)
            continue
        end_commitment(uow, match, "volunteer_withdrew", now)
    # Their places at sessions to come go to whoever waits (after the requests' locks: a
    # session's lock is never held while a request's is taken).
    sessions.release_volunteer(uow, volunteer.id, now, MatchingConfig())


def submit_request(uow: UnitOfWork, request_in: dict[str, Any], clock: Clock) -> TeamRequest:
    now = clock.now()
    contact = request_in.pop("contact")
    request = TeamRequest(
        **request_in,
        contact_name=contact["name"],
        contact_email=addresses.clean(contact["email"]),
        created_at=now,
        updated_at=now,
    )
    with uow:
        uow.requests.add(request)
        uow.events.add(Event(EventKind.REQUEST_SUBMITTED, now, team_request_id=request.id))
        uow.commit()
    return request
