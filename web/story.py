"""``qimatch up``'s quiet output: one line per thing a person would care about.

Read from the events table (every process writes there), so the lines come from the web,
the worker and beat alike without parsing their logs. Team names and codes only: a
volunteer's or contact's name never appears.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from sqlalchemy import Engine

from matcher.adapters.operations import Happened, events_after
from matcher.domain import EventKind as K

LETTERS = {
    "introduction": "introduction",
    "private_link": "sign-in link",
    "follow_up": "follow-up",
    "coordinator_link": "coordinator link",
}


def lines(happened: list[Happened]) -> list[str]:
    told: list[str] = []
    suggested: Counter[str] = Counter()
    for e in happened:
        team = e.team_name or "a request"
        if e.kind == K.REQUEST_SUBMITTED:
            told.append(f"request from {team}")
        elif e.kind == K.VOLUNTEER_REGISTERED:
            told.append("an offer of involvement came in")
        elif e.kind == K.MATCH_SUGGESTED:
            suggested[team] += 1
        elif e.kind == K.MATCH_APPROVED:
            told.append(f"suggestion approved for {team}")
        elif e.kind in (K.EMAIL_SENT, K.EMAIL_FAILED, K.EMAIL_UNCERTAIN):
            letter = str(e.data.get("letter", "email"))
            what = LETTERS.get(letter, letter.replace("_", " "))
            to = e.data.get("to")
            whom = "" if not to or to == "self" else f" to the {to}"
            verb = {K.EMAIL_SENT: "sent", K.EMAIL_FAILED: "failed", K.EMAIL_UNCERTAIN: "possibly sent"}[K(e.kind)]
            told.append(f"{what} {verb}{whom}")
    told.extend(f"suggestions for {team} ({n})" for team, n in suggested.items())
    return told


def follow(engine: Engine, say: Callable[[str], None], every: float = 1.0) -> threading.Thread:
    """A daemon thread that says a line for each new event worth telling."""

    def run() -> None:
        last: int | None = None
        while True:
            try:
                found = events_after(engine, last)
                if last is None:
                    last = found[0].id
                elif found:
                    last = found[-1].id
                    for line in lines(found):
                        say(line)
            except Exception:  # noqa: BLE001 - a busy embedded database: try again next time
                pass
            time.sleep(every)

    thread = threading.Thread(target=run, name="qimatch-story", daemon=True)
    thread.start()
    return thread
