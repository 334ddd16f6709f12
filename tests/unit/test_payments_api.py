"""Payments through the API and pages of the real app (SQLite): the issue's closing scenario,
422s naming fields with nothing stored, the area rule, and the volunteer's statement."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from matcher.bootstrap import Services
from matcher.domain import TokenPurpose
from matcher.services import coordinators, intake, links
from tests import factories
from tests.pages_support import csrf, sign_in_coordinator

PASSWORD = "a long passphrase for tests"


def token(
    client: FlaskClient, services: Services, email: str = "lead@nhs.example", areas: Any = None
) -> dict[str, str]:
    coordinators.create_coordinator(services.uow(), email, PASSWORD, areas or ["tower_hamlets"], services.clock)
    got = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert got.status_code == 200, got.json
    return {"Authorization": f"Bearer {got.json['token']}"}


def last_month(services: Services) -> tuple[str, list[date]]:
    first_this = services.clock.now().date().replace(day=1)
    start = (first_this - timedelta(days=1)).replace(day=1)
    return f"{start.year:04d}-{start.month:02d}", [start + timedelta(days=d) for d in (2, 9, 16)]


def scenario(client: FlaskClient, services: Services, auth: dict[str, str]) -> dict[str, Any]:
    """The issue's "resolved when": a 4-weekly cap, three activities, the third held."""
    month, days = last_month(services)
    v = client.post("/api/v1/volunteers", json=factories.offer(name="Amina Begum"), headers=auth).json
    rate = {"activity_type": "focus_group", "pence": 2000, "basis": "hour", "effective_from": "2020-01-01"}
    assert client.post("/api/v1/rates", json=rate, headers=auth).status_code == 201
    cap = {"cap_four_weeks_pence": 10000, "four_weeks_from": days[0].isoformat()}  # £100 per 4 weeks
    assert client.patch(f"/api/v1/volunteers/{v['id']}/payment-account", json=cap, headers=auth).status_code == 200
    lines = []
    for day in days:
        made = client.post(
            "/api/v1/activities",
            json={"volunteer_id": v["id"], "activity_type": "focus_group", "on": day.isoformat(), "minutes": 120},
            headers=auth,
        )
        assert made.status_code == 201, made.json
        lines.append(made.json["line"])
    return {"volunteer": v, "month": month, "lines": lines}


def test_the_issues_scenario_cap_held_two_approved_exported_twice_identically(app: Flask, services: Services) -> None:
    client = app.test_client()
    auth = token(client, services)
    made = scenario(client, services, auth)
    first, second, third = made["lines"]
    assert [line["pence"] for line in made["lines"]] == [4000, 4000, 4000]
    assert (first["status"], second["status"]) == ("pending", "pending")
    assert (third["status"], third["hold_reason"], third["over_by_pence"]) == ("held", "cap_four_weeks", 2000)

    for line in (first, second):
        ok = client.post(f"/api/v1/claims/{line['id']}/approve", headers=auth)
        assert ok.status_code == 200 and ok.json["status"] == "approved", ok.json
    over = client.post(f"/api/v1/claims/{third['id']}/approve", headers=auth)
    assert over.status_code == 409 and "4-weekly cap by £20.00" in over.json["message"]

    exported = client.post("/api/v1/finance-exports", json={"month": made["month"]}, headers=auth)
    assert exported.status_code == 201, exported.json
    assert sorted(exported.json["line_ids"]) == sorted([first["id"], second["id"]])
    assert exported.json["total_pence"] == 8000
    body = client.get(exported.json["csv_url"], headers=auth)
    assert body.status_code == 200 and body.mimetype == "text/csv"
    again = client.post("/api/v1/finance-exports", json={"month": made["month"]}, headers=auth)
    assert again.status_code == 200 and again.json["id"] == exported.json["id"]
    assert client.get(again.json["csv_url"], headers=auth).data == body.data
    rows = list(csv.DictReader(io.StringIO(body.data.decode("utf-8"), newline="")))
    assert [r["payee_name"] for r in rows[:-1]] == ["Amina Begum", "Amina Begum"]
    assert (rows[-1]["line_id"], rows[-1]["amount_pence"], rows[-1]["amount_gbp"]) == ("TOTAL", "8000", "80.00")

    # The volunteer's own page shows the statement.
    secret = links.issue(services.uow(), TokenPurpose.VOLUNTEER_LINK, made["volunteer"]["id"], services.clock)
    mine = app.test_client()
    mine.post(f"/v/{secret}", data={"csrf_token": csrf(mine, f"/v/{secret}")})
    page = mine.get("/me").get_data(as_text=True)
    assert "Your statement" in page and page.count("£40.00") >= 3
    assert "Held: over the 4-weekly cap by £20.00" in page
    assert "sent to finance" in page


def test_bad_input_is_a_422_naming_the_field_and_nothing_is_stored(app: Flask, services: Services) -> None:
    client = app.test_client()
    auth = token(client, services)
    v = client.post("/api/v1/volunteers", json=factories.offer(), headers=auth).json
    float_rate = {"activity_type": "talk", "pence": 12.5, "basis": "hour", "effective_from": "2026-01-01"}
    refused = client.post("/api/v1/rates", json=float_rate, headers=auth)
    assert refused.status_code == 422 and "pence" in refused.json["errors"]
    assert client.get("/api/v1/rates", headers=auth).json == []
    no_rate = client.post(
        "/api/v1/activities",
        json={"volunteer_id": v["id"], "activity_type": "talk", "on": "2026-01-05", "minutes": 60},
        headers=auth,
    )
    assert no_rate.status_code == 422 and "activity_type" in str(no_rate.json)
    assert client.get("/api/v1/activities", headers=auth).json == []
    bad_month = client.post("/api/v1/finance-exports", json={"month": "2026-13"}, headers=auth)
    assert bad_month.status_code == 422 and "month" in str(bad_month.json)
    cap = client.patch(f"/api/v1/volunteers/{v['id']}/payment-account", json={"cap_week_pence": -1}, headers=auth)
    assert cap.status_code == 422 and "cap_week_pence" in str(cap.json)


def test_a_coordinator_sees_only_their_areas_payments(app: Flask, services: Services) -> None:
    client = app.test_client()
    auth = token(client, services)
    made = scenario(client, services, auth)
    far = token(client, services, email="far@nhs.example", areas=["luton"])
    assert client.get("/api/v1/claims", headers=far).json == []
    assert client.post(f"/api/v1/claims/{made['lines'][0]['id']}/approve", headers=far).status_code == 404
    vid = made["volunteer"]["id"]
    assert client.get(f"/api/v1/volunteers/{vid}/payment-account", headers=far).status_code == 404


def test_the_coordinator_pages_approve_set_rates_and_export(app: Flask, services: Services) -> None:
    lead = app.test_client()
    token_ = sign_in_coordinator(lead, services)
    month, days = last_month(services)
    v = intake.register_volunteer(services.uow(), factories.offer(name="Amina Begum"), services.clock)
    rate = {
        "csrf_token": token_,
        "activity_type": "talk",
        "pence": "25",
        "basis": "session",
        "effective_from": "2020-01-01",
    }
    assert lead.post("/coordinator/payments/rates", data={**rate, "pence": "12.345"}).status_code == 422
    assert lead.post("/coordinator/payments/rates", data=rate).status_code == 303
    assert "£25.00 per session" in lead.get("/coordinator/payments/rates").get_data(as_text=True)
    form = {
        "csrf_token": token_,
        "volunteer_id": v.id,
        "activity_type": "talk",
        "on": days[0].isoformat(),
        "minutes": "45",
    }
    assert lead.post("/coordinator/payments/activities", data=form).status_code == 303
    page = lead.get("/coordinator/payments").get_data(as_text=True)
    assert "Amina Begum" in page and "£25.00" in page and "Waiting for approval" in page
    with services.uow() as uow:
        [line] = uow.payment_lines.where(volunteer_id=v.id)
    assert lead.post(f"/coordinator/payments/{line.id}/approve", data={"csrf_token": token_}).status_code == 303
    assert lead.post("/coordinator/payments/exports", data={"csrf_token": token_, "month": month}).status_code == 303
    exports = lead.get("/coordinator/payments/exports").get_data(as_text=True)
    assert "£25.00" in exports and "Download the CSV" in exports

    choices = f"/coordinator/payments/volunteers/{v.id}"
    bad = lead.post(choices, data={"csrf_token": token_, "preference": "voucher", "cap_week_pence": "-3"})
    assert bad.status_code == 422 and "cap_week_pence" in bad.get_data(as_text=True)
    ok = lead.post(choices, data={"csrf_token": token_, "preference": "voucher", "cap_week_pence": "72.50"})
    assert ok.status_code == 303
    with services.uow() as uow:
        account = uow.payment_accounts.get(v.id)
        assert account is not None and (account.preference, account.cap_week_pence) == ("voucher", 7250)
    assert 'value="72.50"' in lead.get(choices).get_data(as_text=True)


def test_the_persons_export_holds_their_payments_and_erasure_keeps_only_what_finance_must(
    app: Flask, services: Services
) -> None:
    from matcher.services import volunteer_self

    client = app.test_client()
    auth = token(client, services)
    made = scenario(client, services, auth)
    vid = made["volunteer"]["id"]
    first = made["lines"][0]
    assert client.post(f"/api/v1/claims/{first['id']}/approve", headers=auth).status_code == 200
    exported = client.post("/api/v1/finance-exports", json={"month": made["month"]}, headers=auth).json
    record = volunteer_self.export(services.uow(), vid, services.clock)["payments"]
    assert record["account"]["cap_four_weeks_pence"] == 10000
    assert len(record["activities"]) == 3 and len(record["lines"]) == 3

    volunteer_self.erase(services.uow(), vid, services.clock)
    with services.uow() as uow:
        assert uow.payment_accounts.get(vid) is None  # caps can speak of benefits: gone
        kept = uow.payment_lines.where(volunteer_id=vid)
        assert [(line.id, line.pence, line.payee_name) for line in kept] == [(first["id"], 4000, None)]
        assert [a.id for a in uow.activities.where(volunteer_id=vid)] == [first["activity_id"]]
    body = client.get(exported["csv_url"], headers=auth).data.decode("utf-8")
    assert "Amina Begum" not in body and ",4000,40.00" in body


def test_a_team_confirms_by_its_private_link_that_someone_introduced_took_part(app: Flask, services: Services) -> None:
    from matcher.domain import MatchStatus

    client = app.test_client()
    auth = token(client, services)
    rate = {"activity_type": "project_meeting", "pence": 1500, "basis": "hour", "effective_from": "2020-01-01"}
    assert client.post("/api/v1/rates", json=rate, headers=auth).status_code == 201
    request = intake.submit_request(services.uow(), factories.team_request(), services.clock)
    amina = intake.register_volunteer(services.uow(), factories.offer(name="Amina Begum"), services.clock)
    stranger = intake.register_volunteer(services.uow(), factories.offer(name="Bob Other"), services.clock)
    with services.uow() as uow:
        match = factories.match(of=amina, on=request, status=MatchStatus.INTRODUCED, updated_at=factories.AT)
        elsewhere = factories.match(
            of=stranger, on=request, status=MatchStatus.APPROVED, updated_at=factories.AT
        )  # not yet introduced
        uow.matches.add(match)
        uow.matches.add(elsewhere)
        uow.commit()
    secret = links.issue(services.uow(), TokenPurpose.REQUEST_STATUS, request.id, services.clock)
    team = app.test_client()
    path = f"/team/status/{secret}"
    page = team.get(path).get_data(as_text=True)
    assert "Confirm that someone took part" in page and "Bob" not in page
    day = (services.clock.now().date() - timedelta(days=2)).isoformat()
    form = {"csrf_token": csrf(team, path), "match_id": match.id, "activity_type": "project_meeting", "on": day}
    missing = team.post(path + "/attendance", data=form)
    assert missing.status_code == 422 and "minutes" in missing.get_data(as_text=True).lower()
    not_theirs = team.post(path + "/attendance", data={**form, "minutes": "90", "match_id": elsewhere.id})
    assert not_theirs.status_code == 422 and "introduced to your team" in not_theirs.get_data(as_text=True)
    with services.uow() as uow:
        assert uow.activities.where() == []  # nothing half-stored
    done = team.post(path + "/attendance", data={**form, "minutes": "90"})
    assert done.status_code == 303
    [line] = client.get(f"/api/v1/claims?volunteer_id={amina.id}", headers=auth).json
    assert (line["pence"], line["status"], line["activity_type"]) == (2250, "pending", "project_meeting")
    [activity] = client.get(f"/api/v1/activities?volunteer_id={amina.id}", headers=auth).json
    assert (activity["source"], activity["recorded_by"], activity["match_id"]) == ("team_link", "team", match.id)
