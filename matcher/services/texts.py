"""Short texts to a volunteer who prefers the phone, beside the emails they still get.

A volunteer whose preferred contact is the phone, with a UK mobile number, gets a text
alongside their introduction email (the chat's time and a link to their own page), their
reminders (follow-up chats, sessions) and their feedback form and its reminder (a link to
the form). The email still goes: it carries the calendar invitation. A landline gets no
texts; the coordinator rings instead.

A text's delivery key is its email's key with the channel in front,
``text:introduction:<match>:volunteer``, so it is owed in the same transaction as the
email, goes through the same claim -> send -> mark loop (``deliveries.deliver``) and
the same sweep, and is listed and counted with it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from matcher import phones
from matcher.config import MatchingConfig
from matcher.domain import (
    Event,
    EventKind,
    FeedbackStatus,
    FollowUpStatus,
    MatchStatus,
    RequestStatus,
    TokenPurpose,
    Volunteer,
    VolunteerStatus,
)
from matcher.ports import Clock, Text, Texter, UnitOfWork
from matcher.programme_sessions import BookingStatus
from matcher.scheduling import LONDON
from matcher.services import deliveries
from matcher.services.chats import schedule_introduction

PREFIX = deliveries.TEXT + ":"
# The emails' letters a text goes beside (their modules import this one, so named here).
FEEDBACK_LETTER, FEEDBACK_REMINDER, SESSION_LETTER = "feedback", "reminder", "session"
# Two fragments of a GSM 7-bit text (153 characters each once split): the most a text may be.
MOST = 306


def key_for(email_key: str) -> str:
    return PREFIX + email_key


def email_key_of(text_key: str) -> str:
    return text_key.removeprefix(PREFIX)


def wants_texts(volunteer: Volunteer | None) -> str | None:
    """The mobile number (E.164) to text, if the volunteer prefers the phone and has one."""
    if volunteer is None or volunteer.preferred_contact != "phone" or volunteer.erased:
        return None
    return phones.mobile(volunteer.phone)


def owe_alongside(uow: UnitOfWork, email_key: str, volunteer: Volunteer | None, now: datetime, **timeline: str) -> bool:
    """Inside the caller's unit of work, with the volunteer's email: a text too, if they want texts."""
    if wants_texts(volunteer) is None:
        return False
    deliveries.owe(uow, key_for(email_key), now, **timeline)
    return True


# --- Writing a text: plain GSM characters, within two fragments ------------------------------

# GSM 03.38's basic set: every other character would make the text UCS-2 (70 a fragment).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€")  # each counts twice
PLAIN = {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " "}


def gsm(text: str) -> str:
    """The text in GSM 7-bit characters: curly quotes and dashes made plain, accents dropped
    where GSM has no such letter, anything else left out."""
    out = []
    for ch in text:
        ch = PLAIN.get(ch, ch)
        if all(c in GSM_BASIC or c in GSM_EXTENDED for c in ch):
            out.append(ch)
            continue
        bare = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
        out.append("".join(c for c in bare if c in GSM_BASIC))
    return "".join(out)


def length(body: str) -> int:
    """Characters as a phone network counts them (GSM's extended characters count twice)."""
    return sum(2 if ch in GSM_EXTENDED else 1 for ch in body)


def fragments(body: str) -> int:
    n = length(body)
    return 1 if n <= 160 else -(-n // 153)


def _clipped(words: str, room: int) -> str:
    words = " ".join(words.split())
    return words if len(words) <= room else words[: max(room - 3, 1)].rstrip() + "..."


def fit(template: str, link: str, **names: str) -> str:
    """``template`` filled in, its names (a team's, a project's) shortened until the text fits
    in two fragments. The link and the time are never cut."""
    names = {k: gsm(v) for k, v in names.items()}
    for room in (80, 60, 40, 30, 20, 12):
        body = gsm(template.format(link=link, **{k: _clipped(v, room) for k, v in names.items()}))
        if length(body) <= MOST:
            return body
    return gsm(template.format(link=link, **{k: "" for k in names}))[:MOST]


def _when(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return local.strftime("%a %-d %b at %-I:%M%p").replace("AM", "am").replace("PM", "pm")


INTRODUCTION = (
    "NHS involvement: you are introduced to {team} for {project}. Your introductory chat is {when}."
    " Details: {link} We have emailed you too."
)
FOLLOW_UP_REMINDER = "NHS involvement reminder: your follow-up chat with {team} is {when}. Details: {link}"
SESSION_REMINDER = "NHS involvement reminder: {session} is {when}, {place}. Details: {link}"
FEEDBACK = {
    "form": "NHS involvement: how did your chat with {team} go? Please tell us, it takes 2 minutes: {link}",
    "reminder": "NHS involvement: a reminder to tell us how your chat with {team} went, if you can: {link}",
}


@dataclass(frozen=True)
class Draft:
    """What a text says, before its link is made: the template, the names to fit, its link's
    purpose and subject, and who its timeline event is about."""

    template: str
    names: dict[str, str]
    purpose: str
    subject_id: str
    ttl: timedelta | None  # None: a private link's own lifetime
    about: dict[str, Any]


def _draft(uow: UnitOfWork, letter: str, ids: list[str], clock: Clock, config: MatchingConfig) -> Draft | None:
    """Inside the unit of work: the text owed under an email's ``letter`` and ``ids``, if still wanted."""
    now = clock.now()
    if letter == SESSION_LETTER:
        booking = uow.bookings.get(ids[0])
        session = uow.programme_sessions.get(booking.session_id) if booking else None
        volunteer = uow.volunteers.get(booking.volunteer_id) if booking else None
        if booking is None or session is None or booking.status != BookingStatus.BOOKED:
            return None
        if not session.open_for_booking(now) or wants_texts(volunteer) is None:
            return None
        names = {"session": session.title or session.kind.replace("_", " "), "place": session.place or "online"}
        return Draft(
            SESSION_REMINDER.replace("{when}", _when(session.starts_at)), names, TokenPurpose.VOLUNTEER_LINK,
            booking.volunteer_id, None,
            {"volunteer_id": booking.volunteer_id, "booking_id": booking.id},
        )  # fmt: skip
    form = None
    follow_up = None
    if letter == "introduction":
        match = uow.matches.get(ids[0], for_update=True)  # locked: agrees with the email on the time
    elif letter == "follow_up":
        follow_up = uow.follow_ups.get(ids[0])
        match = uow.matches.get(follow_up.match_id) if follow_up else None
    elif letter == FEEDBACK_LETTER:
        form = uow.feedback_forms.get(ids[0])
        if form is None or form.party != "volunteer" or form.status == FeedbackStatus.ANSWERED:
            return None
        match = uow.matches.get(form.match_id)
    else:
        return None
    if match is None or match.status not in MatchStatus.COMMITTED:
        return None
    request = uow.requests.get(match.team_request_id)
    volunteer = uow.volunteers.get(match.volunteer_id)
    if request is None or volunteer is None or wants_texts(volunteer) is None:
        return None  # they changed their mind, or their number: the email still went
    if request.status == RequestStatus.CLOSED or volunteer.status == VolunteerStatus.WITHDRAWN:
        return None
    on_match = {"match_id": match.id, "team_request_id": match.team_request_id, "volunteer_id": match.volunteer_id}
    if form is not None:
        stage = ids[1]
        if stage == FEEDBACK_REMINDER and match.status != MatchStatus.INTRODUCED:
            return None  # the involvement ended meanwhile: no nudge about it
        ttl = timedelta(days=config.feedback_link_days)
        template = FEEDBACK.get(stage, FEEDBACK["form"])
        return Draft(template, {"team": request.team_name}, TokenPurpose.FEEDBACK_FORM, form.id, ttl, on_match)
    if follow_up is not None:
        if follow_up.status not in (FollowUpStatus.INVITED, FollowUpStatus.REMINDED):
            return None
        template = FOLLOW_UP_REMINDER.replace("{when}", _when(follow_up.due_at))
        names = {"team": request.team_name}
    else:
        if match.intro_at is None:
            schedule_introduction(uow, match, request, volunteer, config, clock)
        assert match.intro_at is not None
        template = INTRODUCTION.replace("{when}", _when(match.intro_at))
        names = {"team": request.team_name, "project": request.project_title}
    return Draft(template, names, TokenPurpose.VOLUNTEER_LINK, volunteer.id, None, on_match)


LINKS = {TokenPurpose.VOLUNTEER_LINK: "/v/", TokenPurpose.FEEDBACK_FORM: "/feedback/"}


# --- Sending an owed text ---------------------------------------------------------------------


def send_owed(
    uow: UnitOfWork,
    texter: Texter,
    text_key: str,
    clock: Clock,
    config: MatchingConfig,
    lease_seconds: int,
    base_url: str,
) -> int:
    """Send the text under ``text_key`` if it is still owed and still wanted; 1 if it went now."""
    letter, ids = deliveries.letter_of(email_key_of(text_key))
    drafted: list[Draft] = []

    def compose() -> Text | None:
        with uow:
            draft = _draft(uow, letter, ids, clock, config)
            if draft is None:
                return None
            volunteer = uow.volunteers.get(draft.about["volunteer_id"])
            number = wants_texts(volunteer)
            assert number is not None  # the draft checked it
            # A link of its own: the emailed one stays usable beside it. Made only as the text
            # is written, so its secret never waits in a table or a message.
            from matcher.services import links  # here: links imports, through intake, this module

            ttl = draft.ttl or links.VOLUNTEER_LINK_TTL
            secret = links.issue_alongside(uow, draft.purpose, draft.subject_id, clock, ttl)
            uow.commit()
        drafted.append(draft)
        link = f"{base_url}{LINKS[draft.purpose]}{secret}"
        return Text(to=number, body=fit(draft.template, link, **draft.names), reference=text_key)

    def sent(at: datetime) -> Event:
        about = dict(drafted[0].about)
        booking = about.pop("booking_id", None)
        data = {"letter": letter if letter != FEEDBACK_LETTER else f"feedback_{ids[1]}", "to": "volunteer"}
        return Event(EventKind.TEXT_SENT, at, data={**data, **({"booking_id": booking} if booking else {})}, **about)

    return int(deliveries.deliver(uow, texter, text_key, compose, clock, lease_seconds, sent))


# --- Notify's delivery receipts -----------------------------------------------------------------

FINAL_FAILURES = ("permanent-failure", "temporary-failure", "technical-failure")
RECEIPTS = ("delivered", "sending", "created", "pending", *FINAL_FAILURES)


def receipt(uow: UnitOfWork, notification_id: str, status: str, clock: Clock) -> bool:
    """Notify says what became of a text: kept on its delivery; a final failure goes on the
    volunteer's (and the match's) timeline in words, once. False: no text of ours by that id."""
    now = clock.now()
    text_key = uow.deliveries.receipt(notification_id, status, now)
    if text_key is None:
        return False  # a repeat of a receipt already kept, or not one of ours
    if status not in FINAL_FAILURES:
        return True
    letter, ids = deliveries.letter_of(email_key_of(text_key))
    with uow:
        match_id, volunteer_id = ids[0], None
        if letter == "follow_up":
            follow_up = uow.follow_ups.get(ids[0])
            match_id = follow_up.match_id if follow_up else ""
        elif letter == FEEDBACK_LETTER:
            form = uow.feedback_forms.get(ids[0])
            match_id = form.match_id if form else ""
        elif letter == SESSION_LETTER:
            booking = uow.bookings.get(ids[0])
            match_id, volunteer_id = "", booking.volunteer_id if booking else None
        match = uow.matches.get(match_id) if match_id else None
        volunteer = uow.volunteers.get(match.volunteer_id if match else volunteer_id or "")
        number = phones.national(volunteer.phone if volunteer else None).replace(" ", "")
        data = {"key": text_key, "letter": letter, "receipt": status, "ending": number[-3:] if number else ""}
        if match is not None:
            uow.events.add(Event.of_match(EventKind.TEXT_UNDELIVERED, match, now, **data))
        else:
            uow.events.add(Event(EventKind.TEXT_UNDELIVERED, now, volunteer_id=volunteer_id, data=data))
        uow.commit()
    return True
