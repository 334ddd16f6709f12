"""Emails from templates the programme can edit.

Templates are looked up first among the versions coordinators saved on the content
page (the newest row in ``content_versions``, read at every letter, so an edit is in
the next email without a restart), then in ``QIMATCH_TEMPLATE_DIR`` (if set), then in
the ones shipped in ``matcher/templates/email``; the first line of each text template
is its ``Subject:``. All of them run in Jinja's sandbox (``matcher.email_templates``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, FunctionLoader

from matcher import domain
from matcher.adapters import ics
from matcher.adapters.clock import SystemClock
from matcher.chat_place import chat_place
from matcher.config import Settings
from matcher.email_templates import environment
from matcher.ports import Attachment, Clock, Email
from matcher.programme_sessions import Booking, ProgrammeSession, SessionKind
from matcher.scheduling import LONDON, follow_up_times
from matcher.services.links import VOLUNTEER_LINK_TTL
from matcher.team_chats import TeamChat

SHIPPED = Path(__file__).resolve().parent.parent / "templates" / "email"


def message_id(key: str) -> str:
    # Derived from the delivery key: a duplicate send would carry the same id.
    return "<" + key.replace(":", ".") + "@qimatch>"


def when(moment: Any) -> str:
    local = moment.astimezone(LONDON)
    return local.strftime("%A %-d %B %Y at %H:%M")


def day_of(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%A %-d %B")


def relative_day(moment: datetime, now: datetime) -> str:
    """ "today", "tomorrow" or "on Thursday 5 March": the chat's day as the reader sees it
    when the letter is written (London dates, not 24-hour spans)."""
    days = (moment.astimezone(LONDON).date() - now.astimezone(LONDON).date()).days
    return {0: "today", 1: "tomorrow"}.get(days, f"on {day_of(moment)}")


def weeks(n: int) -> str:
    return "1 week" if n == 1 else f"{n} weeks"


def team_phrase(team_name: str) -> str:
    """How a sentence names a team: "Ward 5 team" stays so, "Pharmacy" becomes "Pharmacy team".

    Templates write "the {{ team_phrase }}", so a name ending in "team" is not doubled.
    """
    name = " ".join(team_name.split())
    if name.lower().startswith("the "):
        name = name[4:]
    return name if name.split()[-1].lower() in ("team", "teams") else f"{name} team"


def intro_uid(match: domain.Match) -> str:
    # One calendar entry per introductory chat, for life: updates and cancellations name it.
    return f"introduction-{match.id}@qimatch"


def no_edits(name: str) -> str | None:
    return None


class TemplateLetters:
    def __init__(
        self,
        settings: Settings,
        role_labels: Callable[[], dict[str, str]] = dict,
        clock: Clock | None = None,
        edited: Callable[[str], str | None] = no_edits,
    ) -> None:
        # ``edited``: the coordinators' saved wording of a template ("introduction_team.txt"), if any.
        loaders: list[BaseLoader] = [FunctionLoader(edited), FileSystemLoader(str(SHIPPED))]
        if settings.template_dir:
            loaders.insert(1, FileSystemLoader(str(settings.template_dir)))
        self.text_env = environment(ChoiceLoader(loaders), html=False)
        self.html_env = environment(ChoiceLoader(loaders), html=True)
        self.settings = settings
        self.role_labels = role_labels
        # Words like "today" and the invitation's DTSTAMP depend on when a letter is written.
        self.clock: Clock = clock or SystemClock()

    def _render(
        self, name: str, to: str, key: str, context: dict[str, Any], ics_bytes: bytes | None, method: str = ics.REQUEST
    ) -> Email:
        text = self.text_env.get_template(f"{name}.txt").render(**context)
        first, _, body = text.partition("\n")
        subject = first.removeprefix("Subject:").strip()
        html = self.html_env.get_template(f"{name}.html").render(**context)
        attachments = (Attachment("invite.ics", f"text/calendar; method={method}", ics_bytes),) if ics_bytes else ()
        return Email(
            to=to,
            subject=subject,
            text=body.lstrip("\n"),
            html=html,
            message_id=message_id(key),
            attachments=attachments,
        )

    def _context(self, match: domain.Match, request: domain.TeamRequest, volunteer: domain.Volunteer) -> dict[str, Any]:
        where = chat_place(match, request, volunteer)
        return {
            "match": match,
            "request": request,
            "volunteer": volunteer,
            "volunteer_first_name": volunteer.first_name,
            "role_label": self.role_labels().get(match.role, match.role.replace("_", " ")),
            "intro_mode": where.how,
            "place": where.where,
            "team_phrase": team_phrase(request.team_name),
            "base_url": self.settings.base_url,
        }

    def _invite(
        self,
        uid: str,
        start: Any,
        summary: str,
        request: domain.TeamRequest,
        volunteer: domain.Volunteer,
        context: dict[str, Any],
        sequence: int = 0,
        method: str = ics.REQUEST,
    ) -> bytes:
        description = f'An informal chat about the QI project "{request.project_title}".'
        link = context["match"].video_link or request.video_link
        if link:
            description += f"\nVideo call: {link}"
        return ics.invitation(
            uid=uid,
            start=start,
            minutes=self.settings.matching.intro_minutes,
            summary=summary,
            description=description,
            organizer=self.settings.mail_from.split("<")[-1].rstrip(">").strip(),
            attendees=[(request.contact_name, request.contact_email), (volunteer.name, volunteer.email)],
            location=context["place"] or context["intro_mode"],
            stamp=self.clock.now(),
            sequence=sequence,
            method=method,
        )

    def introduction(
        self, party: str, match: domain.Match, request: domain.TeamRequest, volunteer: domain.Volunteer, key: str
    ) -> Email:
        assert match.intro_at is not None
        context = self._context(match, request, volunteer)
        context["intro_when"] = when(match.intro_at)
        # The first check-in as scheduled: so many weeks after the introductory chat, not after today.
        config = self.settings.matching
        first = follow_up_times(match.intro_at, config)[:1]
        context["first_check_in"] = day_of(first[0]) if first else None
        context["check_in_after"] = weeks(config.follow_up_weeks[0]) if first else None
        invite = self._intro_invite(match, request, volunteer, context, match.invite_sequence, ics.REQUEST)
        to = request.contact_email if party == "team" else volunteer.email
        return self._render(f"introduction_{party}", to, key, context, invite)

    def _intro_invite(
        self,
        match: domain.Match,
        request: domain.TeamRequest,
        volunteer: domain.Volunteer,
        context: dict[str, Any],
        sequence: int,
        method: str,
    ) -> bytes:
        """The introductory chat's calendar entry: one UID for the match, revised by ``sequence``."""
        assert match.intro_at is not None
        title = f"Introductory chat: {request.project_title}"
        return self._invite(
            intro_uid(match), match.intro_at, title, request, volunteer, context, sequence=sequence, method=method
        )

    def meeting_change(
        self,
        letter: str,
        party: str,
        match: domain.Match,
        request: domain.TeamRequest,
        volunteer: domain.Volunteer,
        sequence: int,
        key: str,
    ) -> Email:
        """The introductory chat moved or changed place ("invitation"), or is off ("cancellation")."""
        assert match.intro_at is not None
        context = self._context(match, request, volunteer)
        context.update(
            intro_when=when(match.intro_at),
            party=party,
            greeting_name=request.contact_name if party == "team" else volunteer.first_name,
            other_name=volunteer.first_name if party == "team" else request.contact_name,
        )
        method = ics.CANCEL if letter == "cancellation" else ics.REQUEST
        invite = self._intro_invite(match, request, volunteer, context, sequence, method)
        to = request.contact_email if party == "team" else volunteer.email
        return self._render(f"meeting_{letter}", to, key, context, invite, method)

    def team_chat(self, letter: str, party: str, chat: TeamChat, coordinator: domain.Coordinator, key: str) -> Email:
        """An informal chat about involvement, booked ("team_chat") or off ("team_chat_cancellation")."""
        coordinator_name = coordinator.name or coordinator.email
        context = {
            "chat": chat,
            "party": party,
            "chat_when": when(chat.starts_at),
            "coordinator_name": coordinator_name,
            "greeting_name": chat.contact_name if party == "team" else coordinator_name,
            "base_url": self.settings.base_url,
        }
        method = ics.CANCEL if letter.endswith("cancellation") else ics.REQUEST
        description = "An informal chat about involving service users and carers in your QI project."
        if chat.place and chat.place.startswith(("https://", "http://")):
            description += f"\nVideo call: {chat.place}"
        invite = ics.invitation(
            uid=f"team-chat-{chat.id}@qimatch",
            start=chat.starts_at,
            minutes=chat.minutes,
            summary=f"Involvement chat: {chat.team_name or 'QI team'}",
            description=description,
            organizer=self.settings.mail_from.split("<")[-1].rstrip(">").strip(),
            attendees=[(chat.contact_name or "", chat.contact_email or ""), (coordinator_name, coordinator.email)],
            location=chat.place or "By video call (link to follow)",
            stamp=self.clock.now(),
            sequence=chat.invite_sequence,
            method=method,
        )
        to = (chat.contact_email or "") if party == "team" else coordinator.email
        return self._render(letter, to, key, context, invite, method)

    def private_link(
        self, purpose: str, subject: domain.Volunteer | domain.TeamRequest, secret: str, key: str
    ) -> Email:
        base = self.settings.base_url
        if isinstance(subject, domain.Volunteer):
            context: dict[str, Any] = {
                "first_name": subject.first_name,
                "link": f"{base}/v/{secret}",
                "new_link": f"{base}/link",
                "days": VOLUNTEER_LINK_TTL.days,
            }
            # An offer waiting for its address to be confirmed gets the letter that asks for that.
            template = "confirm_email_volunteer" if subject.unconfirmed else "private_link_volunteer"
            return self._render(template, subject.email, key, context, None)
        context = {"request": subject, "link": f"{base}/team/status/{secret}", "new_link": f"{base}/link"}
        return self._render("private_link_team", subject.contact_email, key, context, None)

    def coordinator_link(
        self, purpose: str, coordinator: domain.Coordinator, secret: str, key: str, valid_for: timedelta
    ) -> Email:
        hours = int(valid_for.total_seconds() // 3600)
        context = {
            "name": coordinator.name,
            "email": coordinator.email,
            "link": f"{self.settings.base_url}/coordinator/password/{secret}",
            "valid_for": f"{hours // 24} days" if hours >= 48 else f"{hours} hour{'s' if hours != 1 else ''}",
            "reset_page": f"{self.settings.base_url}/coordinator/reset",
        }
        name = "coordinator_invite" if purpose == domain.TokenPurpose.COORDINATOR_INVITE else "password_reset"
        return self._render(name, coordinator.email, key, context, None)

    def retention_question(self, volunteer: domain.Volunteer, secret: str, erase_on: datetime, key: str) -> Email:
        base = self.settings.base_url
        context = {
            "first_name": volunteer.first_name,
            "link": f"{base}/keep/{secret}",
            "erase_on": erase_on.astimezone(LONDON).strftime("%A %-d %B %Y"),
            "withdrawn": volunteer.status == domain.VolunteerStatus.WITHDRAWN,
            "new_link": f"{base}/link",
        }
        return self._render("retention_question", volunteer.email, key, context, None)

    def follow_up(
        self,
        stage: str,
        party: str,
        follow_up: domain.FollowUp,
        match: domain.Match,
        request: domain.TeamRequest,
        volunteer: domain.Volunteer,
        key: str,
    ) -> Email:
        context = self._context(match, request, volunteer)
        chat_day = relative_day(follow_up.due_at, self.clock.now())
        context.update(
            follow_up=follow_up,
            party=party,
            chat_when=when(follow_up.due_at),
            chat_day=chat_day,
            # "today at 16:00", or the full date when it is further off.
            chat_day_when=f"{chat_day} at {follow_up.due_at.astimezone(LONDON):%H:%M}"
            if chat_day in ("today", "tomorrow")
            else f"on {when(follow_up.due_at)}",
            greeting_name=request.contact_name if party == "team" else volunteer.first_name,
            other_name=volunteer.first_name if party == "team" else request.contact_name,
        )
        invite = None
        method = ics.CANCEL if stage == "cancellation" else ics.REQUEST
        if stage in ("invitation", "cancellation"):
            invite = self._invite(
                f"follow-up-{follow_up.id}@qimatch",
                follow_up.due_at,
                f"Follow-up chat {follow_up.sequence}: {request.project_title}",
                request,
                volunteer,
                context,
                # A follow-up's invitation is never changed, only cancelled: one revision.
                sequence=1 if stage == "cancellation" else 0,
                method=method,
            )
        to = request.contact_email if party == "team" else volunteer.email
        return self._render(f"follow_up_{stage}", to, key, context, invite, method)

    def session(
        self,
        stage: str,
        session: ProgrammeSession,
        booking: Booking,
        volunteer: domain.Volunteer,
        sequence: int,
        key: str,
    ) -> Email:
        """A session booking's email; one calendar entry per booking, revised by ``sequence``."""
        what = session.title or SessionKind.WORDS.get(session.kind, session.kind)
        context: dict[str, Any] = {
            "first_name": volunteer.first_name,
            "what": what,
            "session_when": when(session.starts_at),
            "ends": f"{session.ends_at.astimezone(LONDON):%H:%M}",
            "session_day_when": f"{relative_day(session.starts_at, self.clock.now())} at "
            f"{session.starts_at.astimezone(LONDON):%H:%M}",
            "venue": session.venue,
            "video_link": session.video_link,
            "session_cancelled": session.status == "cancelled",
            "moved_up": booking.from_waiting_list,
            "reminder_coming": booking.reminder == "due",
            "base_url": self.settings.base_url,
        }
        invite = None
        method = ics.CANCEL if stage == "cancellation" else ics.REQUEST
        if stage in ("invitation", "cancellation"):
            description = f"{what}, run by the QI Service User and Carer Involvement team."
            if session.video_link:
                description += f"\nVideo call: {session.video_link}"
            invite = ics.invitation(
                uid=f"session-booking-{booking.id}@qimatch",
                start=session.starts_at,
                minutes=session.minutes,
                summary=what,
                description=description,
                organizer=self.settings.mail_from.split("<")[-1].rstrip(">").strip(),
                attendees=[(volunteer.name, volunteer.email)],
                location=session.venue or session.video_link or "",
                stamp=self.clock.now(),
                sequence=sequence,
                method=method,
            )
        return self._render(f"session_{stage}", volunteer.email, key, context, invite, method)

    def feedback_form(
        self,
        stage: str,
        party: str,
        follow_up: domain.FollowUp,
        match: domain.Match,
        request: domain.TeamRequest,
        volunteer: domain.Volunteer,
        secret: str,
        key: str,
    ) -> Email:
        context = self._context(match, request, volunteer)
        context.update(
            follow_up=follow_up,
            party=party,
            chat_when=when(follow_up.due_at),
            greeting_name=request.contact_name if party == "team" else volunteer.first_name,
            other_name=volunteer.first_name if party == "team" else request.contact_name,
            link=f"{self.settings.base_url}/feedback/{secret}",
            days=self.settings.matching.feedback_link_days,
        )
        to = request.contact_email if party == "team" else volunteer.email
        return self._render(f"feedback_{stage}", to, key, context, None)

    def feedback_alert(
        self,
        coordinator: domain.Coordinator,
        answer: domain.FeedbackAnswer,
        follow_up: domain.FollowUp,
        match: domain.Match,
        request: domain.TeamRequest,
        volunteer: domain.Volunteer,
        key: str,
    ) -> Email:
        context = self._context(match, request, volunteer)
        context.update(
            coordinator=coordinator,
            answer=answer,
            follow_up=follow_up,
            who=f"the {team_phrase(request.team_name)}" if answer.party == "team" else volunteer.first_name,
            link=f"{self.settings.base_url}/coordinator/matches/{match.id}",
        )
        return self._render("feedback_alert", coordinator.email, key, context, None)

    def digest(self, coordinator: domain.Coordinator, contents: Any, key: str) -> Email:
        base = self.settings.base_url
        days = self.settings.matching.digest_pending_days
        sections = [
            (title.format(days=days), [(item, base + item.path) for item in contents.of(kind)])
            for kind, title in DIGEST_SECTIONS
            if contents.of(kind)
        ]
        context = {
            "coordinator": coordinator,
            "sections": sections,
            "count": len(contents.items),
            "day": day_of(contents.until),
            "since": when(contents.since),
            "settings_link": f"{base}/coordinator/digest",
            "dashboard_link": f"{base}/coordinator/",
        }
        return self._render("digest", coordinator.email, key, context, None)


# The digest's sections, most urgent first (matcher.services.digest's item kinds).
DIGEST_SECTIONS = (
    ("poor_feedback", "Poor feedback"),
    ("call_request", "Asked for a call"),
    ("owed_call", "Calls owed, oldest first"),
    ("failed_email", "Emails not delivered"),
    ("waiting", "Suggestions waiting more than {days} days for a decision"),
    ("new_suggestions", "New suggestions"),
)
