"""Where an introductory chat is, as the pages show it: the same answer as its invitation."""

from __future__ import annotations

from flask import Flask, render_template_string

from matcher.chat_place import chat_place
from tests import factories

MACRO = '{% from "_chat.html" import chat_place %}{{ chat_place(cp) }}'


def test_the_coordinators_arrangement_wins_over_the_teams_usual_place() -> None:
    person = factories.volunteer(modes=["in_person", "video"])
    team = factories.request(modes=["in_person", "video"], venue="Ward 5 day room")
    assert chat_place(factories.match(person, team), team, person).where == "Ward 5 day room"
    moved = factories.match(person, team, video_link="https://meet.example/ward5")
    place = chat_place(moved, team, person)
    assert (place.how, place.where, place.is_link) == ("by video call", "https://meet.example/ward5", True)


def test_a_video_link_is_a_link_and_anything_else_is_words(app: Flask) -> None:
    person = factories.volunteer(modes=["video"])
    team = factories.request(modes=["video"], video_link="https://meet.example/ward5")
    with app.test_request_context():
        shown = render_template_string(MACRO, cp=chat_place(factories.match(person, team), team, person))
        assert shown == 'by video call: <a href="https://meet.example/ward5">https://meet.example/ward5</a>'
        odd = factories.match(person, team, video_link="javascript:alert(1)")
        assert render_template_string(MACRO, cp=chat_place(odd, team, person)) == "by video call: javascript:alert(1)"
        by_phone = factories.request(modes=["phone"])
        alone = factories.volunteer(modes=["phone"])
        assert render_template_string(MACRO, cp=chat_place(factories.match(alone, by_phone), by_phone, alone)) == (
            "by phone"
        )
