"""People and their languages on real PostgreSQL: one offer per email address,
languages as a vocabulary, and dropped suggestions explained on the timeline."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from matcher.bootstrap import Services
from matcher.services import coordinators, intake, suggestions
from tests import factories
from tests.integration.conftest import Processes, eventually
from tests.pages_support import csrf, post_sign_in, volunteer_form
from tests.real_parts import SmtpSink

pytestmark = pytest.mark.integration


def volunteer_count(services: Services) -> int:
    assert services.engine is not None
    with services.engine.connect() as conn:
        return int(conn.execute(text("select count(*) from volunteers")).scalar_one())


def test_the_api_refuses_a_second_offer_under_the_same_address_naming_the_field(app, services: Services) -> None:
    client = app.test_client()
    first = client.post("/api/v1/volunteers", json=factories.offer(email="NADIA@example.org"))
    assert first.status_code == 201

    again = client.post("/api/v1/volunteers", json=factories.offer(email="nadia@example.org"))

    assert again.status_code == 409, again.json
    assert "email" in again.json["message"]
    assert list(again.json["errors"]) == ["email"]
    assert first.json["id"] not in str(again.json)  # an anonymous caller learns no one's id
    assert volunteer_count(services) == 1


def test_signing_up_again_sends_the_private_link_and_looks_the_same(
    app, services: Services, smtp: SmtpSink, worker: Processes
) -> None:
    client = app.test_client()
    new = client.post(
        "/volunteer/sign-up",
        data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up"), email="Amina@Example.org"),
    )
    known = client.post(
        "/volunteer/sign-up",
        data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up"), email="amina@example.org", name="A. Begum"),
    )

    assert (new.status_code, known.status_code) == (303, 303)
    assert new.headers["Location"] == known.headers["Location"]  # the same confirmation
    assert client.get(known.headers["Location"]).get_data(as_text=True) == client.get(new.headers["Location"]).get_data(
        as_text=True
    )
    assert volunteer_count(services) == 1
    with services.uow() as uow:
        assert uow.volunteers.where()[0].name == "Amina Begum"  # a stranger cannot rewrite the offer
    # The worker sends what the pages owe: the second email is the person's own private link.
    eventually(lambda: len(smtp.to("Amina@Example.org")) >= 2, seconds=30)
    assert len(smtp.to("Amina@Example.org")) == 2


def test_sylheti_is_a_language_and_languages_are_a_vocabulary(app, services: Services) -> None:
    client = app.test_client()
    languages = {t["code"]: t["label"] for t in client.get("/api/v1/taxonomy").json["languages"]}
    assert (languages["syl"], languages["bn"], languages["bfi"]) == ("Sylheti", "Bengali", "British Sign Language")

    offered = client.post("/api/v1/volunteers", json=factories.offer(languages=["syl", "bn"]))
    asked = client.post("/api/v1/team-requests", json=factories.team_request(languages=["syl"]))
    unknown = client.post("/api/v1/volunteers", json=factories.offer(languages=["bn", "xx"]))

    assert offered.status_code == 201, offered.json
    assert asked.status_code == 201, asked.json
    assert unknown.status_code == 422 and list(unknown.json["errors"]) == ["languages.1"]
    with services.uow() as uow:
        assert uow.volunteers.get(offered.json["id"]).languages == ["syl", "bn"]


def test_an_admin_adds_a_language_by_its_iso_code_only(app, services: Services) -> None:
    client = app.test_client()
    coordinators.create_coordinator(
        services.uow(), "admin@nhs.example", "a long passphrase", ["newham"], services.clock, admin=True
    )
    token = client.post("/api/v1/auth/token", json={"email": "admin@nhs.example", "password": "a long passphrase"})
    auth = {"Authorization": f"Bearer {token.json['token']}"}

    refused = client.put("/api/v1/taxonomy/languages/krio_sl", json={"label": "Krio"}, headers=auth)
    added = client.put("/api/v1/taxonomy/languages/kri", json={"label": "Krio"}, headers=auth)

    assert refused.status_code == 422 and "code" in refused.json["errors"]
    assert added.status_code == 200
    assert client.post("/api/v1/volunteers", json=factories.offer(languages=["kri"])).status_code == 201


def test_the_forms_offer_languages_as_choices(app, services: Services) -> None:
    client = app.test_client()
    page = client.get("/volunteer/sign-up").get_data(as_text=True)
    assert 'id="f-languages-syl" name="languages" type="checkbox" value="syl"' in page
    assert 'id="f-languages-syl" name="languages" type="checkbox" value="syl"' in client.get("/team/request").get_data(
        as_text=True
    )

    sent = client.post(
        "/volunteer/sign-up",
        data=volunteer_form(csrf_token=csrf(client, "/volunteer/sign-up"), languages=["syl", "en"]),
    )

    assert sent.status_code == 303
    with services.uow() as uow:
        assert uow.volunteers.where()[0].languages == ["syl", "en"]


def test_a_coordinator_reads_why_a_suggestion_went(app, services: Services) -> None:
    coordinators.create_coordinator(
        services.uow(), "lead@nhs.example", "correct horse battery", ["tower_hamlets"], services.clock
    )
    client = app.test_client()
    volunteer_id = client.post("/api/v1/volunteers", json=factories.offer()).json["id"]
    request_id = client.post("/api/v1/team-requests", json=factories.team_request()).json["id"]
    matching = services.settings.matching
    assert suggestions.suggest_for_request(services.uow(), request_id, matching, services.clock) == 1
    wednesdays = [{"day": "wed", "start": "09:00", "end": "17:00"}]
    intake.update_volunteer(services.uow(), volunteer_id, {"availability": wednesdays}, services.clock)

    suggestions.rescore_for_volunteer(services.uow(), volunteer_id, matching, services.clock)

    post_sign_in(client)
    for path in (f"/coordinator/requests/{request_id}", f"/coordinator/volunteers/{volunteer_id}"):
        html = client.get(path).get_data(as_text=True)
        assert "Suggestion withdrawn (Focus group participant): no longer eligible" in html, path
        assert "is not free at any of the team&#39;s meeting times" in html, path


def test_two_sign_ups_under_one_address_at_the_same_moment_make_one_offer(services: Services, clean: None) -> None:
    from tests.integration.test_races import at_once

    for round_ in range(5):
        address = f"twice{round_}@example.org"
        results = at_once(
            *(
                lambda spelling=spelling: intake.register_volunteer(
                    services.uow(), factories.offer(email=spelling), services.clock
                )
                for spelling in (address, address.upper())
            )
        )
        refused = [r for r in results if isinstance(r, intake.AlreadyRegistered)]
        assert len(refused) == 1, results  # the loser is told why, not "try again"
    assert volunteer_count(services) == 5
