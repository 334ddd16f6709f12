"""Calendar invitations (RFC 5545, iTIP RFC 5546) for the introductory and follow-up chats.

Times are written on the Europe/London wall clock with its VTIMEZONE, so a
calendar shows 14:00 on either side of a clock change. One chat keeps one UID
for life: a changed time or place goes out as the same UID with a higher
SEQUENCE (METHOD:REQUEST), and a chat that will not happen as METHOD:CANCEL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, vCalAddress, vText
from icalendar import Event as VEvent

from matcher.scheduling import LONDON

REQUEST, CANCEL = "REQUEST", "CANCEL"


def invitation(
    *,
    uid: str,
    start: datetime,
    minutes: int,
    summary: str,
    description: str,
    organizer: str,
    attendees: list[tuple[str, str]],
    location: str,
    stamp: datetime,
    sequence: int = 0,
    method: str = REQUEST,
) -> bytes:
    """``stamp`` is when the invitation is written (DTSTAMP), not when the chat is."""
    cal = Calendar()
    cal.add("prodid", "-//qimatch//QI involvement//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    ev = VEvent()
    ev.add("uid", uid)
    ev.add("sequence", sequence)
    ev.add("dtstamp", stamp)  # icalendar writes it in UTC, as RFC 5545 requires
    local = start.astimezone(LONDON)
    ev.add("dtstart", local)  # TZID=Europe/London
    ev.add("dtend", local + timedelta(minutes=minutes))
    ev.add("summary", summary)
    ev.add("description", description)
    ev.add("location", vText(location))
    ev.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    ev["organizer"] = vCalAddress(f"mailto:{organizer}")
    for name, email in attendees:
        who = vCalAddress(f"mailto:{email}")
        who.params["cn"] = vText(name)
        who.params["role"] = vText("REQ-PARTICIPANT")
        who.params["rsvp"] = vText("FALSE" if method == CANCEL else "TRUE")
        ev.add("attendee", who, encode=False)
    cal.add_component(ev)
    cal.add_missing_timezones()  # the VTIMEZONE for Europe/London, from the zoneinfo database
    return cal.to_ical()
