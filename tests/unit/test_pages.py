"""The server-rendered pages through Flask's test client, in the fast tier (the real app on SQLite).

Validation next to each field, CSRF, sign-in, what a coordinator sees and decides,
security headers. What needs a worker or an SMTP server (the private-link emails)
is in tests/integration/test_pages.py; the browser tests drive the same pages in Chromium.
"""

from __future__ import annotations

import re
from datetime import timedelta

from matcher.bootstrap import Services
from matcher.domain import MatchStatus
from matcher.services import coordinators, decisions, intake, introductions, outgoing, suggestions
from tests import factories
from tests.fakes import FakeClock
from tests.pages_support import CSRF, csrf, post_sign_in, request_form, sign_in_coordinator, volunteer_form


def test_sign_up_errors_are_shown_by_their_fields_with_the_values_kept(app, services: Services) -> None:
    client = app.test_client()
    token = csrf(client, "/volunteer/sign-up")
    form = volunteer_form(
        csrf_token=token,
        email="not-an-email",
        roles=[],
        **{"availability.0.end": "08:00", "consent.data_processing": ""},
    )
    page = client.post("/volunteer/sign-up", data=form)
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert page.headers["Cache-Control"] == "no-store"
    assert "There is a problem" in html
    for field_id, words in [
        ("f-email", "Enter an email address"),
        ("f-roles", "Choose at least one way"),
        ("f-availability-0-end", "The end must be after the start."),
        ("f-consent-data_processing", "We can only keep your offer with your consent."),
    ]:
        assert f'href="#{field_id}"' in html, field_id
        assert f'id="{field_id}-error"' in html, field_id
        assert words in html
    assert 'value="Amina Begum"' in html and 'value="not-an-email"' in html  # what was typed stays
    with services.uow() as uow:
        assert uow.volunteers.count() == 0  # nothing half-valid is kept

def test_forms_without_csrf_token_are_refused(app) -> None:
    client = app.test_client()
    client.get("/volunteer/sign-up")
    assert client.post("/volunteer/sign-up", data=volunteer_form()).status_code == 400
    assert client.post("/coordinator/sign-in", data={"email": "a@b.c", "password": "x"}).status_code == 400

def test_the_team_form_asks_a_team_for_roles_in_a_teams_words(app) -> None:
    client = app.test_client()
    none_asked = {f"roles.{code}": "0" for code in ("focus_group",)}
    page = client.post("/team/request", data=request_form(csrf_token=csrf(client, "/team/request"), **none_asked))
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    error = re.search(r'id="f-roles-error"[^>]*>(.*?)</p>', html, re.S)
    assert error, html
    assert "you would like to be involved" not in html  # the volunteers' words
    assert "how many people" in error.group(1).lower()

def test_coordinator_signs_in_sees_reasons_and_approves(app, services: Services) -> None:
    coordinators.create_coordinator(
        services.uow(), "lead@nhs.example", "correct horse battery", ["tower_hamlets", "luton"], services.clock
    )
    client = app.test_client()
    client.post("/volunteer/sign-up", data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up")))
    client.post(
        "/volunteer/sign-up",
        data=volunteer_form(
            csrf_token=csrf(client, "/volunteer/sign-up"),
            name="Chris Far",
            email="chris@example.org",
            home_area="luton",
            modes=["in_person"],
        ),
    )
    client.post("/team/request", data=request_form(csrf_token=csrf(client, "/team/request")))
    with services.uow() as uow:
        request_id = uow.requests.where()[0].id
    suggestions.suggest_for_request(services.uow(), request_id, services.settings.matching, services.clock)

    assert client.get("/coordinator/").status_code == 302
    wrong = client.post(
        "/coordinator/sign-in",
        data={"csrf_token": csrf(client, "/coordinator/sign-in"), "email": "lead@nhs.example", "password": "nope"},
    )
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)
    before = client.get_cookie("session").value
    post_sign_in(client)
    assert client.get_cookie("session").value != before  # renewed at sign-in
    board = client.get("/coordinator/")
    html = board.get_data(as_text=True)
    assert board.status_code == 200 and board.headers["Cache-Control"] == "no-store"
    assert "Amina Begum" in html and "Lived experience sought" in html
    assert "meets in person only, and does not go to this area" in html  # why Chris was left out
    with services.uow() as uow:
        match = uow.matches.where(status=MatchStatus.SUGGESTED)[0]
    token = CSRF.search(html).group(1)
    approved = client.post(f"/coordinator/matches/{match.id}/approve", data={"csrf_token": token})
    assert approved.status_code == 303
    with services.uow() as uow:
        assert uow.matches.get(match.id).status == MatchStatus.APPROVED
    # The introductory chat's time and place, from the match page's form (London wall clock).
    page = client.get(f"/coordinator/matches/{match.id}").get_data(as_text=True)
    assert 'name="venue"' in page and 'name="intro_at"' in page
    arranged = client.post(
        f"/coordinator/matches/{match.id}/meeting",
        data={"csrf_token": token, "intro_at": "2030-07-02T15:30", "venue": "Room 2, Mile End", "video_link": ""},
    )
    assert arranged.status_code == 303
    refused = client.post(
        f"/coordinator/matches/{match.id}/meeting",
        data={"csrf_token": token, "intro_at": "2030-07-02T15:30", "video_link": "not a link"},
    )
    assert refused.status_code == 303
    assert "Not saved (video link)" in client.get(f"/coordinator/matches/{match.id}").get_data(as_text=True)
    with services.uow() as uow:
        arranged_match = uow.matches.get(match.id)
        assert arranged_match.venue == "Room 2, Mile End" and arranged_match.video_link is None
        assert arranged_match.intro_at.isoformat() == "2030-07-02T14:30:00+00:00"  # 15:30 in summer time
    for path in (
        "/coordinator/requests?status=filled&role=focus_group",
        f"/coordinator/requests/{request_id}",
        f"/coordinator/matches/{match.id}",
        "/coordinator/volunteers?area=tower_hamlets",
        f"/coordinator/volunteers/{match.volunteer_id}",
        "/coordinator/calendar",
        "/coordinator/programme",
    ):
        assert client.get(path).status_code == 200, path
    figures = client.get("/coordinator/programme.csv")
    assert figures.status_code == 200 and figures.mimetype == "text/csv"
    assert "matches_approved" in figures.get_data(as_text=True)
    client.post("/coordinator/sign-out", data={"csrf_token": token})
    assert client.get("/coordinator/").status_code == 302

def test_security_headers(app) -> None:
    client = app.test_client()
    page = client.get("/")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"]
    assert client.get("/faq").status_code == 200

def test_reject_needs_a_reason_and_match_someone_else_takes_an_alternate(app, services: Services) -> None:
    client = app.test_client()
    for name, email in (("Amina Begum", "amina@example.org"), ("Bob Jones", "bob@example.org")):
        client.post(
            "/volunteer/sign-up",
            data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up"), name=name, email=email),
        )
    client.post("/team/request", data=request_form(csrf_token=csrf(client, "/team/request")))
    with services.uow() as uow:
        request_id = uow.requests.where()[0].id
    suggestions.suggest_for_request(services.uow(), request_id, services.settings.matching, services.clock)
    token = sign_in_coordinator(client, services)
    with services.uow() as uow:
        found = uow.matches.where(status=MatchStatus.SUGGESTED)
    proposed = next(m for m in found if m.proposed)
    alternate = next(m for m in found if not m.proposed)

    empty = client.post(f"/coordinator/matches/{proposed.id}/reject", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422 and "Say briefly why" in empty.get_data(as_text=True)
    board = client.get("/coordinator/").get_data(as_text=True)
    assert "Match someone else" in board and "1 other possible person" in board

    chosen = client.post(
        f"/coordinator/requests/{request_id}/match",
        data={
            "csrf_token": token,
            "volunteer_id": alternate.volunteer_id,
            "role": alternate.role,
            "instead_of": proposed.id,
        },
    )
    assert chosen.status_code == 303
    with services.uow() as uow:
        assert uow.matches.get(proposed.id).status == MatchStatus.REJECTED
        assert uow.matches.get(proposed.id).reject_reason
        assert uow.matches.get(alternate.id).status == MatchStatus.APPROVED
    # Another area's request is not found, on pages as in the API.
    assert client.get("/coordinator/requests/not-a-request").status_code == 404

def test_an_area_the_coordinator_does_not_look_after_is_refused_on_pages_as_in_the_api(app, services) -> None:
    client = app.test_client()
    sign_in_coordinator(client, services)  # Tower Hamlets only
    client.post("/team/request", data=request_form(csrf_token=csrf(client, "/team/request")))
    for path in (
        "/coordinator/requests?area=newham",
        "/coordinator/volunteers?area=newham",
        "/coordinator/calendar?area=newham",
        "/coordinator/programme?area=newham",
        "/coordinator/programme.csv?area=newham",
        "/coordinator/requests?area=atlantis",
    ):
        refused = client.get(path)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 403, path
        assert "You do not look after" in html and ("Newham" in html or "atlantis" in html), path
        assert "Fewer restraints on Ward 5" not in html  # not the Tower Hamlets list under another name
    listed = client.get("/coordinator/requests?area=tower_hamlets").get_data(as_text=True)
    assert "Fewer restraints on Ward 5" in listed

def test_a_volunteer_suggested_from_another_area_can_be_opened_wherever_she_is_shown(app, services) -> None:
    """A Tower Hamlets coordinator is shown a Newham volunteer (she meets by video) for
    their own request: they can open her, ask why-not, find her in their list, and approve."""
    client = app.test_client()
    client.post(
        "/volunteer/sign-up",
        data=volunteer_form(
            csrf_token=csrf(client, "/volunteer/sign-up"),
            name="Nadia Khan",
            email="nadia@example.org",
            home_area="newham",
            modes=["video"],
        ),
    )
    client.post(
        "/volunteer/sign-up",
        data=volunteer_form(
            csrf_token=csrf(client, "/volunteer/sign-up"),
            name="Noor Stays",
            email="noor@example.org",
            home_area="newham",
            modes=["in_person"],
        ),
    )
    client.post(
        "/team/request", data=request_form(csrf_token=csrf(client, "/team/request"), modes=["in_person", "video"])
    )
    with services.uow() as uow:
        request_id = uow.requests.where()[0].id
        people = {v.name: v.id for v in uow.volunteers.where()}
    suggestions.suggest_for_request(services.uow(), request_id, services.settings.matching, services.clock)
    token = sign_in_coordinator(client, services)  # Tower Hamlets only
    got = client.post("/api/v1/auth/token", json={"email": "lead@nhs.example", "password": "correct horse battery"})
    api = {"Authorization": f"Bearer {got.json['token']}"}

    suggested = client.get(f"/api/v1/team-requests/{request_id}/suggestions", headers=api).json
    assert [s["volunteer_name"] for s in suggested] == ["Nadia Khan"]
    nadia = people["Nadia Khan"]
    shown = client.get(f"/api/v1/volunteers/{nadia}", headers=api)
    assert shown.status_code == 200 and shown.json["home_area"] == "newham" and shown.json["modes"] == ["video"]
    why = client.get(f"/api/v1/team-requests/{request_id}/why-not?volunteer_id={nadia}", headers=api)
    assert why.status_code == 200 and why.json["eligible"] is True
    assert nadia in [v["id"] for v in client.get("/api/v1/volunteers", headers=api).json]
    page = client.get(f"/coordinator/volunteers/{nadia}")
    assert page.status_code == 200 and "nadia@example.org" in page.get_data(as_text=True)
    assert "Nadia Khan" in client.get("/coordinator/volunteers").get_data(as_text=True)

    # Someone from Newham who was never put before this coordinator stays out of sight.
    noor = people["Noor Stays"]
    assert client.get(f"/api/v1/volunteers/{noor}", headers=api).status_code == 404
    assert client.get(f"/coordinator/volunteers/{noor}").status_code == 404
    why = client.get(f"/api/v1/team-requests/{request_id}/why-not?volunteer_id={noor}", headers=api)
    assert why.status_code == 404
    assert "Noor Stays" not in client.get("/coordinator/volunteers").get_data(as_text=True)

    # Approved, she stays in view: her match is on this coordinator's request.
    approved = client.post(f"/coordinator/matches/{suggested[0]['match_id']}/approve", data={"csrf_token": token})
    assert approved.status_code == 303
    assert client.get(f"/api/v1/volunteers/{nadia}", headers=api).status_code == 200
    assert client.get(f"/coordinator/volunteers/{nadia}").status_code == 200

def test_a_volunteers_own_exclusions_show_on_her_suggestion_and_become_an_excluded_team_in_one_click(
    app, services
) -> None:
    client = app.test_client()
    avoid = "not ward 5 at the Royal London"
    client.post(
        "/volunteer/sign-up", data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up"), exclusions=avoid)
    )
    client.post("/team/request", data=request_form(csrf_token=csrf(client, "/team/request")))  # the Ward 5 team
    with services.uow() as uow:
        request_id = uow.requests.where()[0].id
        amina = uow.volunteers.where()[0].id
    suggestions.suggest_for_request(services.uow(), request_id, services.settings.matching, services.clock)
    token = sign_in_coordinator(client, services)
    with services.uow() as uow:
        match = uow.matches.where(status=MatchStatus.SUGGESTED)[0]

    board = client.get("/coordinator/").get_data(as_text=True)
    assert avoid in board and "Exclude Ward 5 team for Amina" in board
    assert avoid in client.get(f"/coordinator/requests/{request_id}").get_data(as_text=True)
    got = client.post("/api/v1/auth/token", json={"email": "lead@nhs.example", "password": "correct horse battery"})
    api = {"Authorization": f"Bearer {got.json['token']}"}
    listed = client.get(f"/api/v1/team-requests/{request_id}/suggestions", headers=api).json
    assert [s["volunteer_exclusions"] for s in listed] == [avoid]

    path = f"/coordinator/matches/{match.id}/exclude-team"
    assert client.post(path, data={"next": "/coordinator/"}).status_code == 400  # no CSRF token
    with services.uow() as uow:
        assert uow.volunteers.get(amina).excluded_teams == []
    done = client.post(path, data={"csrf_token": token, "next": "/coordinator/"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/coordinator/")
    again = client.post(path, data={"csrf_token": token, "next": "/coordinator/"})  # a double click
    assert again.status_code == 303
    with services.uow() as uow:
        assert uow.volunteers.get(amina).excluded_teams == ["Ward 5 team"]
        assert [e.kind for e in uow.events.where(volunteer_id=amina, kind="volunteer.team_excluded")] == [
            "volunteer.team_excluded"
        ]
    board = client.get("/coordinator/").get_data(as_text=True)
    assert "Ward 5 team is excluded" in board  # until the rescore, the suggestion says so
    volunteer_page = client.get(f"/coordinator/volunteers/{amina}").get_data(as_text=True)
    assert "Ward 5 team" in volunteer_page and "Team excluded by a coordinator" in volunteer_page

    # The event rescores her (the worker does this); the existing exclusion rule drops the suggestion.
    suggestions.rescore_for_volunteer(services.uow(), amina, services.settings.matching, services.clock)
    board = client.get("/coordinator/").get_data(as_text=True)
    assert "Amina Begum" not in board
    why = client.get(f"/api/v1/team-requests/{request_id}/why-not?volunteer_id={amina}", headers=api).json
    assert [r["rule"] for r in why["roles"]["focus_group"]] == ["team_excluded"]


def test_a_possibly_sent_email_is_shown_on_its_match_with_a_one_click_resend(app, services: Services) -> None:
    client = app.test_client()
    sign_in_coordinator(client, services)
    clock, config = services.clock, services.settings.matching
    with services.uow() as uow:
        lead = uow.coordinators.where()[0]
    volunteer = intake.register_volunteer(services.uow(), factories.offer(), clock)
    team_request = intake.submit_request(services.uow(), factories.team_request(), clock)
    match = decisions.make_match(services.uow(), team_request.id, volunteer.id, "focus_group", lead, config, clock)
    # A worker handed the team's introduction to the mail server and never heard back.
    key = introductions.delivery_key(match.id, "team")
    now = clock.now()
    assert services.uow().deliveries.claim(key, now, 60, "worker-1")
    assert services.uow().deliveries.hand(key, "worker-1", now)
    outgoing.stalled(services.uow(), FakeClock(now + timedelta(seconds=61)), 60)

    page = client.get(f"/coordinator/matches/{match.id}").get_data(as_text=True)
    assert "Emails that may not have arrived" in page
    assert "Email possibly sent: the mail server never answered" in page
    assert "Resend introduction to team" in page

    token = CSRF.search(page).group(1)
    resent = client.post(f"/coordinator/matches/{match.id}/resend", data={"csrf_token": token, "key": key})
    assert resent.status_code == 303
    assert services.uow().deliveries.status(key) == "owed"
    after = client.get(f"/coordinator/matches/{match.id}").get_data(as_text=True)
    assert "Emails that may not have arrived" not in after
    again = client.post(f"/coordinator/matches/{match.id}/resend", data={"csrf_token": token, "key": key})
    assert again.status_code == 409  # owed already: a second click sends nothing more
