"""Sending texts: through GOV.UK Notify, or into a local folder when no Notify key is set.

Notify sends every text through a template of the service's own. qimatch writes its
texts itself, so it needs one template whose whole content is ``((body))``: the body is
passed as personalisation (README, "Texts through GOV.UK Notify").
"""

from __future__ import annotations

import os
from pathlib import Path

from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from matcher.ports import Handing, NotHanded, NotSent, Text

NOTIFY_API = "https://api.notifications.service.gov.uk"


class NotifyTexter:
    """GOV.UK Notify's REST API (``POST /v2/notifications/sms``), with the text's delivery
    key as its ``reference``, so a send whose answer never came can be looked up."""

    def __init__(self, api_key: str, template_id: str, base_url: str = NOTIFY_API, timeout: float = 30) -> None:
        self.api_key = api_key
        self.template_id = template_id
        self.base_url = base_url
        self.timeout = timeout

    def _client(self) -> NotificationsAPIClient:
        # The client keeps a requests session and is not thread-safe: one per call.
        return NotificationsAPIClient(self.api_key, base_url=self.base_url, timeout=self.timeout)

    def forget(self, number: str) -> int:
        return 0  # nothing is kept here: Notify keeps texts 7 days, under its own retention

    def send(self, text: Text, handing: Handing | None = None) -> str:
        client = self._client()
        if handing is not None and not handing():
            raise NotHanded()
        try:
            answer = client.send_sms_notification(
                phone_number=text.to,
                template_id=self.template_id,
                personalisation={"body": text.body},
                reference=text.reference,
            )
        except APIError as error:
            raise _refusal(error) from error
        return str(answer["id"])

    def find(self, reference: str) -> str | None:
        try:
            found = self._client().get_all_notifications(reference=reference, template_type="sms")
        except APIError as error:
            raise ConnectionError(f"GOV.UK Notify could not say whether {reference} was sent: {error}") from error
        notifications = found.get("notifications") or []
        return str(notifications[0]["id"]) if notifications else None


def _refusal(error: APIError) -> Exception:
    """Notify's certain "no" is a NotSent; anything else leaves the text possibly sent.

    400: the text itself is refused (not a mobile number, a trial key's unknown number, no
    such template): trying again cannot help. 403 (a wrong key) and 429 (over the rate
    limit): certainly not sent, and a later try may succeed. A 5xx or no answer at all
    (the client says 503): Notify may have taken it; the sweep asks it by reference.
    """
    code = error.response.status_code if error.response is not None else None
    if code == 400:
        return NotSent(f"400 {error.message}", permanent=True, code=400)
    if code in (401, 403, 429):
        return NotSent(f"{code} {error.message}", permanent=False, code=code)
    return error


class FolderTexter:
    """The embedded default: each text a file in ``$QIMATCH_DATA_DIR/sms``, named by its key.

    A second text under one key gets a second file (``.2.txt``), so a repeat shows."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @staticmethod
    def _stem(reference: str) -> str:
        return reference.replace(":", "_").replace(os.sep, "_")

    def forget(self, number: str) -> int:
        """The erased person's texts (they hold their private-link page's address) leave the folder."""
        gone = 0
        for path in self.folder.glob("*.txt"):
            if path.read_text(encoding="utf-8").partition("\n")[0] == f"To: {number}":
                path.unlink(missing_ok=True)
                gone += 1
        return gone

    def send(self, text: Text, handing: Handing | None = None) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = self._stem(text.reference)
        tmp = self.folder / f"{stem}.{os.getpid()}.part"
        tmp.write_text(f"To: {text.to}\n\n{text.body}\n", encoding="utf-8")
        if handing is not None and not handing():
            tmp.unlink()
            raise NotHanded()
        n = 1
        while True:
            name = f"{stem}.txt" if n == 1 else f"{stem}.{n}.txt"
            try:
                os.link(tmp, self.folder / name)  # fails if the name is taken: a repeat gets the next
                break
            except FileExistsError:
                n += 1
        tmp.unlink()
        return name

    def find(self, reference: str) -> str | None:
        path = self.folder / f"{self._stem(reference)}.txt"
        return path.name if path.exists() else None
