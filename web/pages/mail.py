"""The emails that carry a private link, written from the programme's templates."""

from __future__ import annotations

import uuid
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from matcher.adapters.letters import SHIPPED
from matcher.bootstrap import Services
from matcher.domain import TokenPurpose
from matcher.ports import Email
from matcher.services import links


class LinkLetters:
    def __init__(self, services: Services) -> None:
        settings = services.settings
        loaders = [FileSystemLoader(str(SHIPPED))]
        if settings.template_dir:
            loaders.insert(0, FileSystemLoader(str(settings.template_dir)))
        self.text = Environment(loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=False)
        self.html = Environment(
            loader=ChoiceLoader(loaders), undefined=StrictUndefined, autoescape=select_autoescape(["html"])
        )
        self.services = services

    def _render(self, name: str, to: str, context: dict[str, Any]) -> Email:
        text = self.text.get_template(f"{name}.txt").render(**context)
        first, _, body = text.partition("\n")
        return Email(
            to=to,
            subject=first.removeprefix("Subject:").strip(),
            text=body.lstrip("\n"),
            html=self.html.get_template(f"{name}.html").render(**context),
            message_id=f"<private-link.{uuid.uuid4().hex}@qimatch>",  # each link email is its own
        )

    def compose(self, purpose: str, subject_id: str, secret: str) -> Email | None:
        base = self.services.settings.base_url
        with self.services.uow() as uow:
            if purpose == TokenPurpose.VOLUNTEER_LINK:
                volunteer = uow.volunteers.get(subject_id)
                if volunteer is None:
                    return None
                context = {
                    "first_name": volunteer.first_name,
                    "link": f"{base}/v/{secret}",
                    "new_link": f"{base}/link",
                    "days": links.VOLUNTEER_LINK_TTL.days,
                }
                return self._render("private_link_volunteer", volunteer.email, context)
            request = uow.requests.get(subject_id)
            if request is None:
                return None
            context = {
                "request": request,
                "link": f"{base}/team/status/{secret}",
                "new_link": f"{base}/link",
            }
            return self._render("private_link_team", request.contact_email, context)


def send_link(services: Services, uow: Any, purpose: str, subject_id: str) -> bool:
    return links.send_private_link(
        uow, services.mailer, LinkLetters(services).compose, purpose, subject_id, services.clock
    )
