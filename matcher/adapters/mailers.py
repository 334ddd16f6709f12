"""Sending email: over SMTP, or into a local folder when no server is configured."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlsplit

from matcher.ports import Email


def to_mime(email: Email, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = email.to
    msg["Subject"] = email.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = email.message_id
    msg.set_content(email.text)
    msg.add_alternative(email.html, subtype="html")
    for att in email.attachments:
        maintype, _, rest = att.content_type.partition("/")
        subtype, _, params = rest.partition(";")
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype.strip(), filename=att.filename)
        if params.strip():
            part = msg.get_payload()[-1]  # type: ignore[index]
            assert isinstance(part, EmailMessage)
            key, _, value = params.strip().partition("=")
            part.set_param(key, value)
    return msg


class SmtpMailer:
    def __init__(self, url: str, sender: str, timeout: float = 30) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.tls = parts.scheme == "smtps"
        self.starttls = parts.scheme == "smtp+starttls"
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def send(self, email: Email) -> None:
        smtp_class = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        with smtp_class(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(to_mime(email, self.sender))


class FolderMailer:
    """The embedded default: each email an .eml file a user can open in a mail program."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def send(self, email: Email) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = email.message_id.strip("<>").replace("@", "_") + ".eml"
        tmp = self.folder / (name + ".part")
        tmp.write_bytes(bytes(to_mime(email, self.sender)))
        tmp.replace(self.folder / name)  # atomic: a reader never sees half an email
