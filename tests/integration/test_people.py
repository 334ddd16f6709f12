"""People and their languages on real PostgreSQL: one offer per email address,
languages as a vocabulary, and dropped suggestions explained on the timeline."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from matcher.bootstrap import Services
from tests import factories
from tests.integration.test_pages import csrf, volunteer_form
from tests.services import SmtpSink

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


def test_signing_up_again_sends_the_private_link_and_looks_the_same(app, services: Services, smtp: SmtpSink) -> None:
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
    assert len(smtp.to("Amina@Example.org")) == 2  # the second email is the person's own private link
