"""The volunteer's data download covers everything held about them (UK GDPR Art. 15),
including the suggestions with their factor scores (profiling, Art. 22): the real app on
SQLite, a volunteer who has been suggested, matched, rejected and emailed."""

from __future__ import annotations

from matcher.bootstrap import Services
from matcher.domain import Coordinator, MatchStatus
from matcher.services import decisions, endings, intake, introductions, suggestions, volunteer_self
from tests import factories
from tests.pages_support import LEAD_EMAIL, LEAD_PASSWORD, sign_in_coordinator


def _lived_through_it(services: Services) -> tuple[str, str, str, Coordinator]:
    """A volunteer suggested for two requests: approved and introduced on one (then closed),
    rejected on the other. Returns (volunteer, approved match, rejected match, coordinator)."""
    clock, config = services.clock, services.settings.matching
    with services.uow() as uow:
        signed_in = uow.coordinators.where()
    lead = signed_in[0] if signed_in else factories.coordinator()
    if not signed_in:
        with services.uow() as uow:
            uow.coordinators.add(lead)
            uow.commit()
    v = intake.register_volunteer(
        services.uow(), factories.offer(name="Amina Begum", email="amina@example.org", access_needs="step-free"), clock
    )
    first = intake.submit_request(services.uow(), factories.team_request(team_name="Ward 5 team"), clock)
    second = intake.submit_request(services.uow(), factories.team_request(team_name="Clinic team"), clock)
    suggestions.suggest_for_requests(services.uow(), [first.id, second.id], config, clock)
    with services.uow() as uow:
        on_first = uow.matches.where(team_request_id=first.id, volunteer_id=v.id)[0]
        on_second = uow.matches.where(team_request_id=second.id, volunteer_id=v.id)[0]
    decisions.approve(services.uow(), on_first.id, lead, clock)
    sent = introductions.send_introductions(
        services.uow(), services.mailer, services.letters, on_first.id, clock, config, 60
    )
    assert sent == 2
    decisions.reject(services.uow(), on_second.id, lead, "She told me mornings are hard this month.", clock)
    endings.close_match(services.uow(), on_first.id, lead, "Finished: the project ended well.", clock)
    return v.id, on_first.id, on_second.id, lead


def test_the_download_holds_every_section_with_its_content(services: Services) -> None:
    volunteer_id, approved, rejected, _ = _lived_through_it(services)

    data = volunteer_self.export(services.uow(), volunteer_id, services.clock)

    # The profile, availability, trainings and exclusions.
    offer = data["offer"]
    assert offer["name"] == "Amina Begum" and offer["access_needs"] == "step-free"
    assert offer["availability"] == [{"day": "tue", "start": "09:00", "end": "17:00"}]
    assert {"trainings", "exclusions", "excluded_teams"} <= set(offer)
    # Every decision, with the reasons a coordinator gave.
    by_id = {m["match_id"]: m for m in data["involvements"]}
    assert by_id[rejected]["status"] == MatchStatus.REJECTED
    assert by_id[rejected]["reject_reason"] == "She told me mornings are hard this month."
    assert by_id[approved]["status"] == MatchStatus.CLOSED
    assert by_id[approved]["close_reason"] == "Finished: the project ended well."
    assert by_id[approved]["team"] == "Ward 5 team"
    # The suggestions the programme made, each score factor by factor (profiling).
    scored = {s["match_id"]: s for s in data["suggestions"]}
    assert set(scored) == {approved, rejected}
    for s in scored.values():
        assert s["factors"] and abs(sum(s["factors"].values()) - s["score"]) < 1e-6
        assert s["origin"] == "engine" and s["rank"] >= 0
    assert {h["match_id"] for h in data["suggestion_history"] if h["what"] == "match.suggested"} == {approved, rejected}
    assert all("score" in h["data"] for h in data["suggestion_history"] if h["what"] == "match.suggested")
    # The events about them, with their data.
    kinds = [e["what"] for e in data["timeline"]]
    assert {"volunteer.registered", "match.approved", "match.rejected", "match.closed", "email.sent"} <= set(kinds)
    closed = next(e for e in data["timeline"] if e["what"] == "match.closed")
    assert closed["data"] == {"reason": "by_coordinator"} and closed["match_id"] == approved
    # The emails sent to them (not the team's copies).
    intro = [e for e in data["emails"] if e["kind"] == "introduction"]
    assert len(intro) == 1 and intro[0]["about"] == approved
    assert intro[0]["status"] == "sent" and intro[0]["sent_at"] and intro[0]["message_id"]
    # The audit log's entries about them: ids and codes, whose.
    assert {(a["action"], a["subject_id"]) for a in data["audit"]} >= {
        ("match.approve", approved),
        ("match.reject", rejected),
        ("match.close", approved),
    }
    assert data["layout"] == volunteer_self.EXPORT_LAYOUT  # named, as docs/privacy.md describes it


def test_a_coordinator_downloads_it_for_a_request_by_letter_and_that_is_on_the_audit_log(
    app, services: Services
) -> None:
    client = app.test_client()
    sign_in_coordinator(client, services)
    volunteer_id, *_ = _lived_through_it(services)

    page = client.get(f"/coordinator/volunteers/{volunteer_id}").get_data(as_text=True)
    assert "download everything held about them" in page
    download = client.get(f"/coordinator/volunteers/{volunteer_id}/data.json")

    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert download.json["offer"]["email"] == "amina@example.org" and download.json["suggestions"]
    with services.uow() as uow:
        exported = uow.audit.where(action="volunteer.export")
    assert [(e.subject_kind, e.subject_id, e.details) for e in exported] == [
        ("volunteer", volunteer_id, {"format": "json"})
    ]
    token = client.post("/api/v1/auth/token", json={"email": LEAD_EMAIL, "password": LEAD_PASSWORD}).json["token"]
    api = client.get(f"/api/v1/volunteers/{volunteer_id}/export", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.json["layout"] == volunteer_self.EXPORT_LAYOUT
    assert set(api.json) == set(download.json) and api.json["suggestions"] == download.json["suggestions"]
