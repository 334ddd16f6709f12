"""Informal chats about involvement: coordinators publish free slots, teams book them,
and both sides get a calendar invitation (each through the one delivery path)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from matcher.domain import AuditAction, AuditSubject, Coordinator, Event, EventKind, RequestStatus
from matcher.errors import Conflict, Invalid, NotFound
from matcher.ports import Clock, Letters, Mailer, UnitOfWork
from matcher.services import audit, deliveries
from matcher.services.visibility import areas_in_view
from matcher.team_chats import CHAT_MINUTES, PARTIES, TeamChat, TeamChatStatus

LETTER, CANCELLATION = "team_chat", "team_chat_cancellation"


def publish(uow: UnitOfWork, fields: dict[str, Any], coordinator: Coordinator, clock: Clock) -> TeamChat:
    """A free half hour in one of the coordinator's areas; never two at once for one coordinator."""
    areas_in_view(coordinator, fields["area"])  # 403 for an area they do not look after
    now = clock.now()
    if fields["starts_at"] <= now:
        raise Invalid({"starts_at": ["Choose a time in the future."]})
    chat = TeamChat(coordinator_id=coordinator.id, minutes=CHAT_MINUTES, created_at=now, **fields)
    with uow:
        mine = uow.team_chats.where(coordinator_id=coordinator.id, status=[TeamChatStatus.OPEN, TeamChatStatus.BOOKED])
        if any(chat.overlaps(other) for other in mine):
            raise Invalid({"starts_at": ["You already offer a chat at that time."]})
        uow.team_chats.add(chat)
        audit.record(uow, coordinator, AuditAction.TEAM_CHAT_PUBLISHED, AuditSubject.TEAM_CHAT, chat.id, clock)
        uow.commit()
    return chat


def open_slots(uow: UnitOfWork, clock: Clock, area: str | None = None) -> list[TeamChat]:
    """Free slots still ahead, soonest first (what a team may book; times and areas only)."""
    criteria: dict[str, Any] = {"status": TeamChatStatus.OPEN}
    if area:
        criteria["area"] = area
    now = clock.now()
    with uow:
        return [c for c in uow.team_chats.where(order_by="starts_at", **criteria) if c.starts_at > now]


def for_coordinator(uow: UnitOfWork, coordinator: Coordinator, clock: Clock, area: str | None = None) -> list[TeamChat]:
    """Open and booked chats ahead in the coordinator's areas, soonest first."""
    areas = areas_in_view(coordinator, area)
    now = clock.now()
    with uow:
        found = uow.team_chats.where(
            area=areas, status=[TeamChatStatus.OPEN, TeamChatStatus.BOOKED], order_by="starts_at"
        )
    return [c for c in found if c.starts_at > now]


def book(
    uow: UnitOfWork,
    chat_id: str,
    booking: dict[str, Any],
    clock: Clock,
    team_request_id: str | None = None,
) -> TeamChat:
    """A team books a free slot. ``team_request_id``: the request whose status page it was booked
    from (the chat then shows on that request's timeline, and goes to its contact)."""
    now = clock.now()
    with uow:
        request = uow.requests.get(team_request_id, for_update=True) if team_request_id else None
        if team_request_id and (request is None or request.status == RequestStatus.CLOSED):
            raise Conflict("this request is closed: book a chat from the home page instead")
        chat = uow.team_chats.get(chat_id, for_update=True)
        if chat is None:
            raise NotFound("no such chat slot")
        if chat.status != TeamChatStatus.OPEN or chat.starts_at <= now:
            raise Conflict("that time has just been taken: choose another")
        if request is not None and request.area != chat.area:
            raise Invalid({"chat": ["Choose a time with your own area's coordinator."]})
        chat.book(
            team_name=request.team_name if request else booking["team_name"],
            contact_name=request.contact_name if request else booking["contact"]["name"],
            contact_email=request.contact_email if request else booking["contact"]["email"],
            about=booking.get("about"),
            now=now,
            team_request_id=team_request_id,
        )
        uow.events.add(Event(EventKind.TEAM_CHAT_BOOKED, now, team_request_id=team_request_id, data={"chat": chat.id}))
        for party in PARTIES:
            deliveries.owe(uow, deliveries.key(LETTER, chat.id, party), now)
        uow.commit()
    return chat


def cancel(uow: UnitOfWork, chat_id: str, coordinator: Coordinator, clock: Clock) -> TeamChat:
    """The coordinator withdraws a slot; a booked one sends both sides a calendar cancellation."""
    now = clock.now()
    with uow:
        chat = uow.team_chats.get(chat_id, for_update=True)
        if chat is None or not coordinator.covers(chat.area):
            raise NotFound("no such chat in your areas")
        booked = chat.status == TeamChatStatus.BOOKED
        chat.cancel()
        audit.record(
            uow, coordinator, AuditAction.TEAM_CHAT_CANCELLED, AuditSubject.TEAM_CHAT, chat.id, clock,
            booked="yes" if booked else "no",
        )  # fmt: skip
        if booked:
            uow.events.add(
                Event(EventKind.TEAM_CHAT_CANCELLED, now, team_request_id=chat.team_request_id, data={"chat": chat.id})
            )
            for party in PARTIES:
                deliveries.owe(uow, deliveries.key(CANCELLATION, chat.id, chat.invite_sequence, party), now)
        uow.commit()
    return chat


def send_owed(
    uow: UnitOfWork, mailer: Mailer, letters: Letters, delivery_key: str, clock: Clock, lease_seconds: int
) -> bool:
    """Send one owed chat invitation or cancellation (a worker task)."""
    letter, ids = deliveries.letter_of(delivery_key)
    chat_id, party = ids[0], ids[-1]
    with uow:
        chat = uow.team_chats.get(chat_id)
        coordinator = uow.coordinators.get(chat.coordinator_id) if chat else None

    def compose() -> Any:
        if chat is None or coordinator is None or chat.contact_email is None:
            return None  # gone, or the team's details erased since
        if letter == LETTER and chat.status != TeamChatStatus.BOOKED:
            return None  # cancelled before the invitation went: the cancellation is not needed either
        return letters.team_chat(letter, party, chat, coordinator, delivery_key)

    def sent(at: datetime) -> Event:
        return Event(
            EventKind.EMAIL_SENT, at, team_request_id=chat.team_request_id if chat else None,
            data={"letter": letter, "to": party, "chat": chat_id},
        )  # fmt: skip

    return deliveries.deliver(uow, mailer, delivery_key, compose, clock, lease_seconds, sent)


def forget_team(uow: UnitOfWork, team_request_id: str) -> None:
    """Inside the caller's unit of work: a team's record is erased, so are its chats' contact details."""
    for chat in uow.team_chats.where(team_request_id=team_request_id):
        chat.team_name = chat.contact_name = chat.contact_email = chat.about = None
