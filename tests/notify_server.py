"""A local stand-in for GOV.UK Notify's REST API: the endpoints qimatch uses, checked as Notify checks them.

- ``POST /v2/notifications/sms``: records the text and answers 201 with a notification id;
- ``GET /v2/notifications?reference=...``: the texts sent under a reference (how a send whose
  answer never came is settled).

Every request must carry a JWT signed as notifications-python-client signs it: HS256 with the
API key's secret, ``iss`` the service id, ``iat`` within 30 seconds of now. Anything else is
answered 403 with Notify's error body. ``before_accept`` lets a test act on a send before it is
recorded (kill the worker mid-send, say): returning a status answers that instead;
``after_accept`` acts once it is recorded, before the answer goes back.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

BOUND = 30  # seconds either side of now an iat may be, as Notify allows


@dataclass
class Received:
    id: str
    phone_number: str
    template_id: str
    body: str
    reference: str | None


@dataclass
class NotifyServer:
    service_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    secret: str = field(default_factory=lambda: str(uuid.uuid4()))
    received: list[Received] = field(default_factory=list)
    url: str = ""
    refused_tokens: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Called with the request body before a text is recorded; a number returned is answered instead.
    before_accept: Callable[[dict[str, Any]], int | None] | None = None
    # Called once a text is recorded, before the answer goes back (a worker killed then never hears it).
    after_accept: Callable[[Received], None] | None = None

    @property
    def api_key(self) -> str:
        return f"qimatch_test-{self.service_id}-{self.secret}"

    def wrong_key(self) -> str:
        return f"qimatch_test-{self.service_id}-{uuid.uuid4()}"

    def start(self) -> str:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.refused_tokens = 0
        self.before_accept = None
        self.after_accept = None

    def token_error(self, header: str) -> str | None:
        """Notify's check of the Authorization header: None when it is good."""
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            return "Unauthorized: authentication token must be provided"
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], options={"verify_iat": False})
        except jwt.InvalidSignatureError:
            return "Invalid token: API key not found"
        except jwt.PyJWTError as error:
            return f"Invalid token: {error}"
        if claims.get("iss") != self.service_id:
            return "Invalid token: service not found"
        iat = claims.get("iat")
        if not isinstance(iat, int) or abs(time.time() - iat) > BOUND:
            return "Error: Your system clock must be accurate to within 30 seconds"
        return None


def _handler(server: NotifyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            error = server.token_error(self.headers.get("Authorization", ""))
            if error is None:
                return True
            with server.lock:
                server.refused_tokens += 1
            self._answer(403, {"status_code": 403, "errors": [{"error": "AuthError", "message": error}]})
            return False

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if not self._authorised():
                return
            if urlsplit(self.path).path != "/v2/notifications/sms":
                self._answer(404, {"status_code": 404, "errors": [{"error": "NotFound", "message": "Not found"}]})
                return
            if server.before_accept is not None:
                status = server.before_accept(body)
                if status is not None:
                    self._answer(status, {"status_code": status, "errors": [{"error": "Test", "message": "refused"}]})
                    return
            text = Received(
                id=str(uuid.uuid4()),
                phone_number=body["phone_number"],
                template_id=body["template_id"],
                body=str((body.get("personalisation") or {}).get("body", "")),
                reference=body.get("reference"),
            )
            with server.lock:
                server.received.append(text)
            if server.after_accept is not None:
                server.after_accept(text)
            self._answer(
                201,
                {
                    "id": text.id,
                    "reference": text.reference,
                    "content": {"body": text.body, "from_number": "NHS"},
                    "uri": f"/v2/notifications/{text.id}",
                    "template": {"id": text.template_id, "version": 1, "uri": ""},
                },
            )

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if not self._authorised():
                return
            parts = urlsplit(self.path)
            reference = parse_qs(parts.query).get("reference", [None])[0]
            with server.lock:
                found = [t for t in server.received if reference is None or t.reference == reference]
            notifications = [
                {"id": t.id, "reference": t.reference, "type": "sms", "status": "sending", "body": t.body}
                for t in found
            ]
            self._answer(200, {"notifications": notifications, "links": {"current": self.path}})

    return Handler
