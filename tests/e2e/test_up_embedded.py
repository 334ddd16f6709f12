"""What a newcomer does on a fresh clone: `qimatch up`, nothing else installed.

SQLite, the filesystem broker and the mail folder: a request, an offer, an
approval, both introductions (as .eml files with calendar invitations) and the
follow-ups scheduled, all through the running service.
"""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pyotp
import pytest
from icalendar import Calendar

from tests import factories
from tests.real_parts import free_port

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


def wait(check: Any, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            got = check()
        except (urllib.error.URLError, ConnectionError):
            got = None
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds}s")


def test_qimatch_up_runs_the_whole_loop_on_the_embedded_default(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QIMATCH_")}
    env.update(QIMATCH_DATA_DIR=str(tmp_path / "data"), QIMATCH_RELAY_SECONDS="1", PATH=f"{BIN}:{env['PATH']}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "up.log", "wb")  # noqa: SIM115 - closed with the process
    up = subprocess.Popen(
        ["qimatch", "up", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def call(method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read())

    try:
        wait(lambda: call("GET", "/healthz")["status"] == "ok")
        banner = (tmp_path / "up.log").read_text()
        assert f"qimatch is running at {base}/" in banner and "create-coordinator" in banner
        made = subprocess.run(
            [
                "qimatch",
                "create-coordinator",
                "--email",
                "lead@nhs.example",
                "--password-stdin",
                "--area",
                "tower_hamlets",
            ],
            env=env,
            cwd=tmp_path,
            input="a long passphrase\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0, made.stderr
        # TOTP is required by default: the authenticator app is set up from the printed URI.
        uri = next(w for w in made.stdout.split() if w.startswith("otpauth://"))
        otp = pyotp.parse_uri(uri).now()
        sign_in = {"email": "lead@nhs.example", "password": "a long passphrase", "otp": otp}
        token = call("POST", "/api/v1/auth/token", sign_in)["token"]

        volunteer = factories.offer(name="Amina Begum")
        # Entered with the coordinator's token, so confirmed at once (an anonymous offer would wait
        # for its owner to confirm the address: tests/unit/test_email_ownership.py).
        assert call("POST", "/api/v1/volunteers", volunteer, token=token)["status"] == "active"
        request = factories.team_request()
        request_id = call("POST", "/api/v1/team-requests", request)["id"]
        suggestions = wait(lambda: call("GET", f"/api/v1/team-requests/{request_id}/suggestions", token=token))
        assert suggestions[0]["volunteer_name"] == "Amina Begum" and suggestions[0]["factors"]
        match_id = suggestions[0]["match_id"]
        assert call("POST", f"/api/v1/matches/{match_id}/approve", token=token)["status"] == "approved"

        mail = tmp_path / "data" / "mail"
        letters = wait(lambda: len(found := sorted(mail.glob("*.eml"))) == 2 and found)
        recipients = set()
        for path in letters:
            message = email.message_from_bytes(path.read_bytes())
            recipients.add(message["To"])
            ics = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
            assert Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")
        assert recipients == {volunteer["email"], request["contact"]["email"]}
        # Quiet: one start line, then a line per thing a person cares about.
        told = wait(
            lambda: (
                "introduction sent to the volunteer" in (out := (tmp_path / "up.log").read_text())
                and "introduction sent to the team" in out
                and out
            ),
            seconds=30,
        )
        said = [line.strip() for line in told.splitlines() if line.strip()]
        assert said[0].startswith(f"qimatch is running at {base}/") and "emails go to files in" in said[0]
        assert "development server, which is fine for one machine" in said[0]
        team = request["team_name"]
        for expected in (f"request from {team}", f"suggestions for {team} (1)", f"suggestion approved for {team}"):
            assert expected in said, (expected, said)
        assert "WARNING: This is a development server" not in told and "relay_outbox" not in told
        assert volunteer["name"] not in told and volunteer["email"] not in told
        match = wait(
            lambda: (m := call("GET", f"/api/v1/matches/{match_id}", token=token))["status"] == "introduced" and m
        )
        assert len(match["follow_ups"]) == 2 and all(f["status"] == "scheduled" for f in match["follow_ups"])
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        up.wait(timeout=60)
    # Ctrl-C / SIGTERM takes the worker and scheduler down with the web server.
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path / "data")], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""
