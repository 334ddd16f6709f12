"""Short texts to a volunteer who prefers the phone, beside the emails they still get.

A volunteer whose preferred contact is the phone, with a UK mobile number, gets a text
alongside their introduction email (the chat's time and a link to their own page), and
alongside their follow-up chat reminders. The email still goes: it carries the calendar
invitation. A landline gets no texts; the coordinator rings instead.

A text's delivery key is its email's key with the channel in front,
``text:introduction:<match>:volunteer``, so it is owed in the same transaction as the
email, goes through the same claim -> send -> mark loop (``deliveries.deliver``) and
the same sweep, and is listed and counted with it.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from matcher import phones
from matcher.config import MatchingConfig
from matcher.domain import (
    Event,
    EventKind,
    FollowUpStatus,
    Match,
    MatchStatus,
    RequestStatus,
    TokenPurpose,
    Volunteer,
    VolunteerStatus,
)
from matcher.ports import Clock, Text, Texter, UnitOfWork
from matcher.scheduling import LONDON
from matcher.services import deliveries, links
from matcher.services.chats import schedule_introduction

PREFIX = deliveries.TEXT + ":"
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
    about: list[Match] = []

    def compose() -> Text | None:
        with uow:
            if letter == "introduction":
                match = uow.matches.get(ids[0], for_update=True)  # locked: agrees with the email on the time
            elif letter == "follow_up":
                follow_up = uow.follow_ups.get(ids[0])
                match = uow.matches.get(follow_up.match_id) if follow_up else None
            else:
                return None
            if match is None or match.status not in MatchStatus.COMMITTED:
                return None
            request = uow.requests.get(match.team_request_id)
            volunteer = uow.volunteers.get(match.volunteer_id)
            number = wants_texts(volunteer)
            if request is None or volunteer is None or number is None:
                return None  # they changed their mind, or their number: the email still went
            if request.status == RequestStatus.CLOSED or volunteer.status == VolunteerStatus.WITHDRAWN:
                return None
            if letter == "introduction" and match.intro_at is None:
                schedule_introduction(uow, match, request, volunteer, config, clock)
            if letter == "follow_up":
                if follow_up is None or follow_up.status not in (FollowUpStatus.INVITED, FollowUpStatus.REMINDED):
                    return None
                moment = follow_up.due_at
                template, names = FOLLOW_UP_REMINDER, {"team": request.team_name}
            else:
                assert match.intro_at is not None
                moment = match.intro_at
                template, names = INTRODUCTION, {"team": request.team_name, "project": request.project_title}
            # Their own page, by a link of its own: the emailed one stays usable beside it.
            secret = links.issue_alongside(uow, TokenPurpose.VOLUNTEER_LINK, volunteer.id, clock)
            uow.commit()
        about.append(match)
        link = f"{base_url}/v/{secret}"
        return Text(to=number, body=fit(template.replace("{when}", _when(moment)), link, **names), reference=text_key)

    def sent(at: datetime) -> Event:
        return Event.of_match(EventKind.TEXT_SENT, about[0], at, letter=letter, to="volunteer")

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
        match_id = ids[0]
        if letter == "follow_up":
            follow_up = uow.follow_ups.get(ids[0])
            match_id = follow_up.match_id if follow_up else ""
        match = uow.matches.get(match_id)
        volunteer = uow.volunteers.get(match.volunteer_id) if match else None
        number = phones.national(volunteer.phone if volunteer else None).replace(" ", "")
        data = {"key": text_key, "letter": letter, "receipt": status, "ending": number[-3:] if number else ""}
        if match is not None:
            uow.events.add(Event.of_match(EventKind.TEXT_UNDELIVERED, match, now, **data))
        else:
            uow.events.add(Event(EventKind.TEXT_UNDELIVERED, now, data=data))
        uow.commit()
    return True
