"""Calendar invitations (RFC 5545) for the introductory and follow-up chats."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, vCalAddress, vText
from icalendar import Event as VEvent


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
) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//qimatch//QI involvement//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    ev = VEvent()
    # A stable UID per chat, so a resent invitation updates the same calendar entry.
    ev.add("uid", uid)
    ev.add("dtstamp", stamp)
    ev.add("dtstart", start)
    ev.add("dtend", start + timedelta(minutes=minutes))
    ev.add("summary", summary)
    ev.add("description", description)
    ev.add("location", vText(location))
    ev["organizer"] = vCalAddress(f"mailto:{organizer}")
    for name, email in attendees:
        who = vCalAddress(f"mailto:{email}")
        who.params["cn"] = vText(name)
        who.params["role"] = vText("REQ-PARTICIPANT")
        who.params["rsvp"] = vText("TRUE")
        ev.add("attendee", who, encode=False)
    cal.add_component(ev)
    return cal.to_ical()
