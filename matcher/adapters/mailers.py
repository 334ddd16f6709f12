"""Sending email: over SMTP, or into a local folder when no server is configured."""

from __future__ import annotations

import re
import smtplib
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from matcher.ports import Email, Handing, NotHanded, NotSent


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
    """SMTP with the point of no return made explicit.

    smtplib's ``send_message`` sends the whole DATA section, final dot included, in
    one call. Here the message goes over first, then ``handing`` records the hand-over,
    and only then the final dot: if ``handing`` says no (or the database is down), the
    connection is dropped without the dot, and RFC 5321 servers discard the message.
    """

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

    def forget(self, address: str) -> int:
        return 0  # nothing is kept here: the server has it, under its own retention

    def send(self, email: Email, handing: Handing | None = None) -> None:
        smtp_class = smtplib.SMTP_SSL if self.tls else smtplib.SMTP
        message = to_mime(email, self.sender)
        body = _dot_stuffed(message.as_bytes(policy=SMTP_POLICY))
        try:
            smtp = smtp_class(self.host, self.port, timeout=self.timeout)
        except smtplib.SMTPConnectError as exc:
            raise _not_sent(exc.smtp_code, exc.smtp_error) from exc
        with smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.ehlo_or_helo_if_needed()
            _expect(smtp.mail(parseaddr(self.sender)[1]), 250)
            _expect(smtp.rcpt(parseaddr(email.to)[1]), 250, 251)
            _expect(smtp.docmd("DATA"), 354)
            smtp.send(body)
            handed = False
            try:
                handed = handing is None or handing()
            finally:
                if not handed:  # said no, or could not say (the database is down)
                    smtp.close()  # no final dot: the server discards what it has
            if not handed:
                raise NotHanded()
            smtp.send(b".\r\n")
            _expect(smtp.getreply(), 250)


SMTP_POLICY = policy.SMTP  # CRLF line ends, as the wire wants


def _dot_stuffed(data: bytes) -> bytes:
    # RFC 5321 4.5.2: a line starting with "." gets another; the body ends with CRLF.
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _not_sent(code: int, reply: bytes | str) -> NotSent:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    return NotSent(f"{code} {text}", permanent=500 <= code < 600, code=code)


def _expect(reply: tuple[int, bytes], *ok: int) -> None:
    code, text = reply
    if code not in ok:
        raise _not_sent(code, text)


class FolderMailer:
    """The embedded default: each email an .eml file a user can open in a mail program."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def forget(self, address: str) -> int:
        """The erased person's emails (they hold live private links) leave the folder."""
        wanted = address.strip().casefold()
        gone = 0
        for path in self.folder.glob("*.eml"):
            with path.open("rb") as f:
                to = BytesParser(policy=policy.default).parse(f, headersonly=True).get("To", "")
            if parseaddr(str(to))[1].casefold() == wanted:
                path.unlink(missing_ok=True)
                gone += 1
        return gone

    def send(self, email: Email, handing: Handing | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = email.message_id.strip("<>").replace("@", "_") + ".eml"
        tmp = self.folder / (name + ".part")
        tmp.write_bytes(bytes(to_mime(email, self.sender)))
        if handing is not None and not handing():
            tmp.unlink()
            raise NotHanded()
        tmp.replace(self.folder / name)  # atomic: a reader never sees half an email
