"""Emails from templates the programme can edit.

Templates are looked up first in ``QIMATCH_TEMPLATE_DIR`` (if set) and then in
the ones shipped in ``matcher/templates/email``; the first line of each text
template is its ``Subject:``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from matcher import domain
from matcher.adapters import ics
from matcher.config import Settings
from matcher.ports import Attachment, Email
from matcher.scheduling import LONDON

SHIPPED = Path(__file__).resolve().parent.parent / "templates" / "email"
MODE_WORDS = {"in_person": "in person", "video": "by video call", "phone": "by phone"}


def message_id(key: str) -> str:
    # Derived from the delivery key: a duplicate send would carry the same id.
    return "<" + key.replace(":", ".") + "@qimatch>"


def when(moment: Any) -> str:
    local = moment.astimezone(LONDON)
    return local.strftime("%A %-d %B %Y at %H:%M")


class TemplateLetters:
    def __init__(self, settings: Settings, role_labels: Callable[[], dict[str, str]] = dict) -> None:
        loaders = [FileSystemLoader(str(SHIPPED))]
        if settings.template_dir:
            loaders.insert(0, FileSystemLoader(str(settings.template_dir)))
        self.text_env = Environment(loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False)
        self.html_env = Environment(
            loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=select_autoescape(["html"])
        )
        self.settings = settings
        self.role_labels = role_labels

    def _render(self, name: str, to: str, key: str, context: dict[str, Any], ics_bytes: bytes | None) -> Email:
        text = self.text_env.get_template(f"{name}.txt").render(**context)
        first, _, body = text.partition("\n")
        subject = first.removeprefix("Subject:").strip()
        html = self.html_env.get_template(f"{name}.html").render(**context)
        attachments = (Attachment("invite.ics", "text/calendar; method=REQUEST", ics_bytes),) if ics_bytes else ()
        return Email(
            to=to,
            subject=subject,
            text=body.lstrip("\n"),
            html=html,
            message_id=message_id(key),
            attachments=attachments,
        )

    def _context(self, match: domain.Match, request: domain.TeamRequest, volunteer: domain.Volunteer) -> dict[str, Any]:
        shared = [m for m in request.modes if m in volunteer.modes] or request.modes
        mode = "video" if "video" in shared else shared[0]
        return {
            "match": match,
            "request": request,
            "volunteer": volunteer,
            "volunteer_first_name": volunteer.first_name,
            "role_label": self.role_labels().get(match.role, match.role.replace("_", " ")),
            "intro_mode": MODE_WORDS.get(mode, mode),
            "follow_up_weeks": self.settings.matching.follow_up_weeks[0]
            if self.settings.matching.follow_up_weeks
            else 0,
            "base_url": self.settings.base_url,
        }

    def _invite(
        self, uid: str, start: Any, summary: str, request: domain.TeamRequest, volunteer: domain.Volunteer, mode: str
    ) -> bytes:
        return ics.invitation(
            uid=uid,
            start=start,
            minutes=self.settings.matching.intro_minutes,
            summary=summary,
            description=f'An informal chat about the QI project "{request.project_title}".',
            organizer=self.settings.mail_from.split("<")[-1].rstrip(">").strip(),
            attendees=[(request.contact_name, request.contact_email), (volunteer.name, volunteer.email)],
            location=mode,
            stamp=start,
        )

    def introduction(
        self, party: str, match: domain.Match, request: domain.TeamRequest, volunteer: domain.Volunteer, key: str
    ) -> Email:
        assert match.intro_at is not None
        context = self._context(match, request, volunteer)
        context["intro_when"] = when(match.intro_at)
        invite = self._invite(
            f"introduction-{match.id}@qimatch",
            match.intro_at,
            f"Introductory chat: {request.project_title}",
            request,
            volunteer,
            context["intro_mode"],
        )
        to = request.contact_email if party == "team" else volunteer.email
        return self._render(f"introduction_{party}", to, key, context, invite)

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
        context.update(
            follow_up=follow_up,
            party=party,
            chat_when=when(follow_up.due_at),
            greeting_name=request.contact_name if party == "team" else volunteer.first_name,
        )
        invite = None
        if stage == "invitation":
            invite = self._invite(
                f"follow-up-{follow_up.id}@qimatch",
                follow_up.due_at,
                f"Follow-up chat {follow_up.sequence}: {request.project_title}",
                request,
                volunteer,
                context["intro_mode"],
            )
        to = request.contact_email if party == "team" else volunteer.email
        return self._render(f"follow_up_{stage}", to, key, context, invite)
