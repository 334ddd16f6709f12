"""What coordinators, volunteers and teams read on the pages, through Flask's test client:
why someone was not suggested, and failures in words rather than JSON."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from matcher.bootstrap import Services
from matcher.services import suggestions
from tests.pages_support import csrf, request_form, sign_in_coordinator, volunteer_form

pytestmark = pytest.mark.integration


def sign_in(client: FlaskClient, services: Services, areas: list[str]) -> None:
    sign_in_coordinator(client, services, areas)


def test_the_request_page_leads_to_why_a_volunteer_was_left_out_for_every_role(app, services: Services) -> None:
    client = app.test_client()
    far = volunteer_form(name="Chris Far", email="chris@example.org", home_area="luton", modes=["in_person"])
    client.post("/volunteer/sign-up", data={**far, "csrf_token": csrf(client, "/volunteer/sign-up")})
    client.post("/team/request", data=request_form(csrf_token=csrf(client, "/team/request")))
    with services.uow() as uow:
        request_id = uow.requests.where()[0].id
        chris = uow.volunteers.where()[0]
    suggestions.suggest_for_request(services.uow(), request_id, services.settings.matching, services.clock)
    sign_in(client, services, ["tower_hamlets", "luton"])

    page = client.get(f"/coordinator/requests/{request_id}").get_data(as_text=True)
    link = re.search(r'href="(/coordinator/requests/[0-9a-f]+/why-not/[0-9a-f]+)"', page)
    assert link, "no link to the full reasons"
    why = client.get(link.group(1))
    html = why.get_data(as_text=True)
    assert why.status_code == 200 and "Why not Chris Far?" in html
    assert "Chris meets in person only, and does not go to this area." in html
    assert link.group(1).endswith(chris.id)


def test_a_private_link_to_a_request_no_longer_held_says_so_on_a_page(
    app, services: Services, smtp, worker
) -> None:
    from sqlalchemy import text

    from tests.integration.test_pages import link_in

    client = app.test_client()
    sent = client.post("/team/request", data=request_form(csrf_token=csrf(client, "/team/request")))
    assert sent.status_code == 303
    link = link_in(smtp, "sam.lead@nhs.example", "/team/status/")
    assert client.get(link).status_code == 200
    assert services.engine is not None
    with services.engine.begin() as conn:  # removed, as a retention rule would remove it
        conn.execute(text("DELETE FROM events"))
        conn.execute(text("DELETE FROM team_requests"))
    gone = client.get(link)
    assert gone.status_code == 404 and gone.mimetype == "text/html"
    assert "This request is no longer on record." in gone.get_data(as_text=True)


def test_an_unknown_address_is_a_page_not_found_but_the_api_still_answers_in_json(app) -> None:
    client = app.test_client()
    for path in ("/no-such-page", "/me/no-such-page", "/coordinator/no-such-page", "/team/status"):
        page = client.get(path)
        assert page.status_code == 404 and page.mimetype == "text/html", path
        assert "There is no page at this address." in page.get_data(as_text=True), path
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.mimetype == "application/json" and api.json["message"]


def test_a_volunteer_who_stopped_is_told_in_words_that_resuming_from_an_old_page_cannot_work(
    app, services: Services, smtp, worker
) -> None:
    from tests.integration.test_pages import link_in

    client = app.test_client()
    client.post("/volunteer/sign-up", data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up")))
    link = link_in(smtp, "amina@example.org", "/v/")
    client.post(link, data={"csrf_token": csrf(client, link)})
    token = csrf(client, "/me")
    assert client.post("/me/withdraw", data={"csrf_token": token, "confirm": "yes"}).status_code == 303
    stale = client.post("/me/resume", data={"csrf_token": token})  # the button on a page opened before
    assert stale.status_code == 409 and stale.mimetype == "text/html"
    assert "A withdrawn volunteer cannot be made active again." in stale.get_data(as_text=True)
    with services.uow() as uow:
        assert uow.volunteers.where()[0].status == "withdrawn"
