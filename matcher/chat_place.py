"""Where and how an introductory chat is held: one answer for the emails, the calendar
invitation and the pages (the volunteer's own page, the team's status page)."""

from __future__ import annotations

from dataclasses import dataclass

from matcher import domain

MODE_WORDS = {"in_person": "in person", "video": "by video call", "phone": "by phone"}


def chat_mode(match: domain.Match, request: domain.TeamRequest, volunteer: domain.Volunteer) -> str:
    """How the chat is held: a way both use, preferring the one whose place is known
    (a video link, a venue), then video, which needs no travel."""
    shared = [m for m in request.modes if m in volunteer.modes] or request.modes
    if "video" in shared and (match.video_link or (request.video_link and not match.venue)):
        return "video"
    if "in_person" in shared and (match.venue or (request.venue and not match.video_link)):
        return "in_person"
    return "video" if "video" in shared else shared[0]


def place(match: domain.Match, request: domain.TeamRequest, mode: str) -> str | None:
    """Where the chat is: the match's own venue or link, else the request's; a video
    chat prefers the link, any other the venue."""
    venue = match.venue or request.venue
    link = match.video_link or request.video_link
    if match.venue or match.video_link:
        venue, link = match.venue, match.video_link  # the coordinator's arrangement wins whole
    return (link or venue) if mode == "video" else (venue or link)


@dataclass(frozen=True)
class ChatPlace:
    """How the introductory chat is held and where, as the pages show it."""

    how: str  # "in person", "by video call", "by phone"
    where: str | None  # the venue or the video link, once known

    @property
    def is_link(self) -> bool:
        # Only a web address becomes a link: anything else is shown as words.
        return self.where is not None and self.where.startswith(("https://", "http://"))


def chat_place(match: domain.Match, request: domain.TeamRequest, volunteer: domain.Volunteer) -> ChatPlace:
    mode = chat_mode(match, request, volunteer)
    return ChatPlace(MODE_WORDS.get(mode, mode), place(match, request, mode))
