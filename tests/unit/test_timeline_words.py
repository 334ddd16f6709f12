"""Every kind of event a timeline can show is told in words, not as its code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from matcher.domain import Event
from web.pages import EVENT_WORDS, describe

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "kind",
    [
        "volunteer.team_excluded",
        "match.suggestion_withdrawn",
        "email.owed",
        "match.meeting_changed",
        "vocabulary.term_set",
        "request.reopened",
        "volunteer.call_requested",
    ],
)
def test_each_kind_the_services_record_has_words(kind: str) -> None:
    assert kind in EVENT_WORDS


def test_an_owed_email_and_a_vocabulary_change_say_what_they_were() -> None:
    owed = Event("email.owed", NOW, data={"key": "follow_up:f1:invitation:team"})
    retired = Event("vocabulary.term_set", NOW, data={"vocabulary": "languages", "code": "kri", "active": False})

    assert describe(owed) == "Email due to go out: follow up"
    assert describe(retired) == "Vocabulary changed by an admin: languages kri (retired)"
