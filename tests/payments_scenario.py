"""The payments issue's closing scenario on a fresh embedded qimatch, printed (``python -m tests.payments_scenario``).

A volunteer with a 4-weekly cap takes part three times; the third line is held with the
amount it would exceed the cap by; two lines are approved and exported; a second export of
the same month is the same file; the volunteer's page shows the statement. Everything goes
through the HTTP API and pages of the real app (SQLite in a temporary folder).
"""

from __future__ import annotations

import re
import tempfile
from datetime import timedelta

from matcher.bootstrap import bootstrap
from matcher.config import Settings
from matcher.domain import TokenPurpose
from matcher.services import coordinators, links
from tests import factories
from tests.pages_support import csrf

PASSWORD = "a long passphrase for the scenario"


def main() -> None:
    from web.app import create_app

    data = tempfile.mkdtemp(prefix="qimatch-payments-")
    env = {"QIMATCH_DATA_DIR": data, "QIMATCH_SECRET_KEY": "scenario", "QIMATCH_REQUIRE_TOTP": "false"}
    services = bootstrap(Settings.from_env(env), publisher=lambda events: None, migrate_database=True)
    client = create_app(services_=services, test_config={"TESTING": True}).test_client()
    coordinators.create_coordinator(services.uow(), "lead@nhs.example", PASSWORD, ["tower_hamlets"], services.clock)
    auth = {"Authorization": "Bearer " + client.post(
        "/api/v1/auth/token", json={"email": "lead@nhs.example", "password": PASSWORD}).json["token"]}  # fmt: skip

    first_this = services.clock.now().date().replace(day=1)
    start = (first_this - timedelta(days=1)).replace(day=1)
    month, days = f"{start.year:04d}-{start.month:02d}", [start + timedelta(days=d) for d in (2, 9, 16)]
    v = client.post("/api/v1/volunteers", json=factories.offer(name="Amina Begum"), headers=auth).json
    rate = {"activity_type": "focus_group", "pence": 2000, "basis": "hour", "effective_from": "2020-01-01"}
    client.post("/api/v1/rates", json=rate, headers=auth)
    cap = {"cap_four_weeks_pence": 10000, "four_weeks_from": days[0].isoformat()}
    client.patch(f"/api/v1/volunteers/{v['id']}/payment-account", json=cap, headers=auth)
    print(f"Volunteer Amina Begum, 4-weekly cap £100.00 from {days[0]}; focus group £20.00 an hour.")
    lines = []
    for day in days:
        body = {"volunteer_id": v["id"], "activity_type": "focus_group", "on": day.isoformat(), "minutes": 120}
        line = client.post("/api/v1/activities", json=body, headers=auth).json["line"]
        lines.append(line)
        held = f", {line['hold_reason']} over by {line['over_by_pence']} pence" if line["status"] == "held" else ""
        print(f"  {day} focus group 2 h -> line {line['pence']} pence: {line['status']}{held}")
    for line in lines[:2]:
        approved = client.post(f"/api/v1/claims/{line['id']}/approve", headers=auth).json
        print(f"  approve {line['on']}: {approved['status']}")
    third = client.post(f"/api/v1/claims/{lines[2]['id']}/approve", headers=auth)
    print(f"  approve {lines[2]['on']}: {third.status_code} {third.json['message']}")
    first = client.post("/api/v1/finance-exports", json={"month": month}, headers=auth)
    again = client.post("/api/v1/finance-exports", json={"month": month}, headers=auth)
    one, two = (client.get(x.json["csv_url"], headers=auth).data for x in (first, again))
    print(f"Export {month}: {first.status_code} (new); again: {again.status_code}, same export: "
          f"{first.json['id'] == again.json['id']}, identical bytes: {one == two}")  # fmt: skip
    print("--- the CSV ---")
    print(one.decode("utf-8").replace("\r\n", "\n"), end="")
    print("--- the volunteer's page (their statement) ---")
    secret = links.issue(services.uow(), TokenPurpose.VOLUNTEER_LINK, v["id"], services.clock)
    client.post("/coordinator/sign-out")
    mine = create_app(services_=services, test_config={"TESTING": True}).test_client()
    mine.post(f"/v/{secret}", data={"csrf_token": csrf(mine, f"/v/{secret}")})
    page = mine.get("/me").get_data(as_text=True)
    section = page[page.index('<section aria-labelledby="h-payments"') : page.index("<h3>Your choices</h3>")]
    text = re.sub(r"[ \t]+", " ", re.sub(r"<[^>]+>", " ", section))
    print("\n".join(line.strip() for line in text.splitlines() if line.strip()))


if __name__ == "__main__":
    main()
