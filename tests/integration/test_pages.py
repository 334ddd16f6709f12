"""The pages whose emails need a real worker and SMTP server, on PostgreSQL, through Flask's test client.

Private links that only a POST uses up, the status page a team's link opens, and
erasure. The rest of the pages' rules run in the fast tier (tests/unit/test_pages.py).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.services import calls, coordinators, decisions, endings, intake
from tests import factories
from tests.integration.conftest import Processes, eventually
from tests.pages_support import csrf, request_form, volunteer_form
from tests.real_parts import SmtpSink

pytestmark = pytest.mark.integration


def link_in(smtp: SmtpSink, address: str, path: str, count: int = 1) -> str:
    mails = eventually(lambda: len(found := smtp.to(address)) >= count and found, seconds=30)
    text = mails[-1].part("text/plain").decode()
    found = re.search(r"http://qimatch\.test(" + re.escape(path) + r"[A-Za-z0-9_\-]+)", text)
    assert found, text
    return found.group(1)


def test_the_page_only_records_the_email_and_a_worker_sends_it_once(
    app, services: Services, smtp: SmtpSink, processes: Processes
) -> None:
    client = app.test_client()
    page = client.post("/volunteer/sign-up", data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up")))
    assert page.status_code == 303 and page.headers["Location"].endswith("/volunteer/thanks?sent=yes")
    assert smtp.received == []  # nothing was sent from the web request
    with services.uow() as uow:
        owed = uow.session.execute(__import__("sqlalchemy").text("select key, status from deliveries")).all()
    assert [(k.split(":")[0], status) for k, status in owed] == [("private_link", "owed")]
    processes.worker()
    link_in(smtp, "amina@example.org", "/v/")
    eventually(lambda: services.uow().deliveries.is_sent(owed[0][0]), seconds=10)
    assert len(smtp.to("amina@example.org")) == 1


def test_volunteer_link_survives_a_look_is_used_once_and_opens_the_page(
    app, services: Services, smtp: SmtpSink, worker: Processes
) -> None:
    client = app.test_client()
    page = client.post("/volunteer/sign-up", data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up")))
    assert page.status_code == 303 and page.headers["Location"].endswith("/volunteer/thanks?sent=yes")
    link = link_in(smtp, "amina@example.org", "/v/")

    other = app.test_client()  # a mail scanner, then the volunteer in another browser
    for _ in range(2):
        look = other.get(link)
        assert look.status_code == 200 and "Open my page" in look.get_data(as_text=True)
        assert look.headers["Cache-Control"] == "no-store"
    with services.uow() as uow:
        tokens = uow.session.execute(__import__("sqlalchemy").text("select id from access_tokens")).scalars().all()
    assert link.rsplit("/", 1)[1] not in tokens  # stored hashed

    browser = app.test_client()
    opened = browser.post(link, data={"csrf_token": csrf(browser, link)})
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/me")
    me = browser.get("/me")
    assert me.status_code == 200 and "Hello Amina" in me.get_data(as_text=True)
    assert me.headers["Cache-Control"] == "no-store"
    assert "Amina" not in (me.headers.get("Set-Cookie") or "")

    again = app.test_client()
    assert again.get(link).status_code == 404
    assert again.post(link, data={"csrf_token": csrf(again, "/link")}).status_code == 404

    paused = browser.post("/me/pause", data={"csrf_token": csrf(browser, "/me"), "until": "2099-01-01"})
    assert paused.status_code == 422  # more than a year ahead
    until = (services.clock.now().date().replace(day=1)).isoformat()
    assert browser.post("/me/pause", data={"csrf_token": csrf(browser, "/me"), "until": until}).status_code == 422
    from datetime import timedelta

    until = (services.clock.now().date() + timedelta(days=30)).isoformat()
    done = browser.post("/me/pause", data={"csrf_token": csrf(browser, "/me"), "until": until})
    assert done.status_code == 303
    with services.uow() as uow:
        assert uow.volunteers.where()[0].status == "paused"
    data = browser.get("/me/data.json")
    assert data.status_code == 200 and data.json["offer"]["email"] == "amina@example.org"

    browser.post("/me/sign-out", data={"csrf_token": csrf(browser, "/me")})
    assert browser.get("/me").status_code == 302  # the session ended on the server


def test_new_link_answer_does_not_say_whether_the_address_is_known(app, smtp: SmtpSink, worker: Processes) -> None:
    client = app.test_client()
    client.post("/volunteer/sign-up", data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up")))
    answers = []
    for address in ("amina@example.org", "nobody@example.org"):
        answer = client.post("/link", data={"csrf_token": csrf(client, "/link"), "email": address})
        answer.close()  # the lookup and the email happen once the answer has gone
        answers.append(answer)
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    link_in(smtp, "amina@example.org", "/v/", count=2)
    assert len(smtp.to("amina@example.org")) == 2 and not smtp.to("nobody@example.org")


def test_team_request_by_form_then_its_private_status_page(
    app, services: Services, smtp: SmtpSink, worker: Processes
) -> None:
    client = app.test_client()
    bad = client.post(
        "/team/request", data=request_form(csrf_token=csrf(client, "/team/request"), **{"roles.focus_group": "40"})
    )
    assert bad.status_code == 422 and 'id="f-roles-focus_group-error"' in bad.get_data(as_text=True)
    ok = client.post("/team/request", data=request_form(csrf_token=csrf(client, "/team/request")))
    assert ok.status_code == 303
    link = link_in(smtp, "sam.lead@nhs.example", "/team/status/")
    status = client.get(link)
    html = status.get_data(as_text=True)
    assert status.status_code == 200 and "Fewer restraints on Ward 5" in html
    assert status.headers["Cache-Control"] == "no-store"
    assert client.get("/team/status/not-a-real-token").status_code == 404


def test_volunteer_edits_their_offer_then_asks_for_erasure(
    app, services: Services, smtp: SmtpSink, worker: Processes
) -> None:
    client = app.test_client()
    client.post("/volunteer/sign-up", data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up")))
    link = link_in(smtp, "amina@example.org", "/v/")
    client.post(link, data={"csrf_token": csrf(client, link)})
    token = csrf(client, "/me")
    form = {
        "csrf_token": token,
        "roles": ["focus_group"],
        "modes": ["video"],
        "max_commitments": "1",
        "availability.0.day": "wed",
        "availability.0.start": "10:00",
        "availability.0.end": "09:00",
    }
    bad = client.post("/me/offer", data=form)
    assert bad.status_code == 422 and 'id="f-availability-0-end-error"' in bad.get_data(as_text=True)
    form["availability.0.end"] = "12:00"
    assert client.post("/me/offer", data=form).status_code == 303
    with services.uow() as uow:
        v = uow.volunteers.where()[0]
        assert v.availability == [{"day": "wed", "start": "10:00", "end": "12:00"}] and v.modes == ["video"]

    # A coordinator's own words about her, on a match that ended: erasure must clear them too
    # (they once stayed in the event log, and the API timeline showed them).
    lead = coordinators.create_coordinator(
        services.uow(), "lead@nhs.example", "correct horse battery", ["tower_hamlets"], services.clock
    )
    team = intake.submit_request(services.uow(), factories.team_request(), services.clock)
    # She prefers the phone: the approval owes a call, and the coordinator's note about it names her.
    intake.update_volunteer(
        services.uow(), v.id, {"phone": "020 7946 0000", "preferred_contact": "phone"}, services.clock
    )
    ended = decisions.make_match(
        services.uow(), team.id, v.id, "focus_group", lead, services.settings.matching, services.clock
    )
    with services.uow() as uow:
        (call,) = uow.calls.where(volunteer_id=v.id)
    calls.record(services.uow(), call.id, lead, "Rang Amina Begum: she will go on Tuesday", services.clock)
    endings.close_match(services.uow(), ended.id, lead, "Amina Begum moved to Leeds", services.clock)
    with services.uow() as uow:
        assert uow.matches.get(ended.id).close_reason == "Amina Begum moved to Leeds"
        [closed] = uow.events.where(match_id=ended.id, kind="match.closed")
        assert closed.data == {"reason": "by_coordinator"}  # codes only in the event log

    assert client.post("/me/erase", data={"csrf_token": token}).status_code == 422  # not confirmed
    erased = client.post("/me/erase", data={"csrf_token": token, "confirm_erase": "yes"})
    assert erased.status_code == 303 and erased.headers["Location"].endswith("/me/erased")
    with services.uow() as uow:
        v = uow.volunteers.get(v.id)
        assert v.status == "withdrawn" and "Amina" not in v.name and "amina" not in v.email
        assert v.experience == [] and v.home_area == "tower_hamlets"  # the counts stay
    assert client.get("/me").status_code == 302  # the session ended with the erasure
    # Nowhere in the database: every row of every table (the address's key, events, deliveries, tokens…).
    assert rows_mentioning(services, ("amina", "begum", "7946")) == []
    with services.uow() as uow:
        (kept,) = uow.calls.where(volunteer_id=v.id)  # the call made stays as a count, without its note
        assert kept.called_at is not None and kept.note is None


def rows_mentioning(services: Services, words: tuple[str, ...]) -> list[str]:
    """Every table's rows, as text, that mention any of ``words`` (any case)."""
    assert services.engine is not None
    found = []
    with services.engine.connect() as conn:
        tables = conn.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        ).scalars()
        for table in list(tables):
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                line = " ".join(str(value) for value in row).lower()
                if any(word in line for word in words):
                    found.append(f"{table}: {line[:200]}")
    return found
