"""Feedback after follow-up chats, per match; and each coordinator's own digest setting."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.errors import NotFound
from matcher.services import digest, feedback, queries
from web.api.access import coordinator
from web.auth import current_coordinator
from web.context import services
from web.schemas import DigestSettings, FeedbackOut

blp = Blueprint(
    "feedback",
    __name__,
    url_prefix="/api/v1",
    description="Feedback after follow-up chats, and the coordinators' daily digest",
)


@blp.route("/matches/<match_id>/feedback")
class MatchFeedback(MethodView):
    @coordinator
    @blp.response(200, FeedbackOut(many=True))
    def get(self, match_id: str) -> Any:
        """Both sides' feedback forms after each follow-up chat, with their answers once given.

        Forms go out once a chat's time has passed; an unanswered form gets one reminder. A poor
        answer (a rating of 2 or less, a call asked for, or a wish to stop) alerted the area's
        coordinators by email when it came. Only matches in the coordinator's areas (else 404).
        """
        return queries.match_feedback(services().uow(), match_id, current_coordinator())


@blp.route("/matches/<match_id>/feedback/<answer_id>/handled")
class FeedbackHandled(MethodView):
    @coordinator
    @blp.response(200, FeedbackOut)
    def post(self, match_id: str, answer_id: str) -> Any:
        """Mark a poor answer as dealt with: it leaves the dashboard, and the timeline says who and
        when. Marking it again changes nothing."""
        s = services()
        me = current_coordinator()

        def entry() -> queries.FeedbackEntry:
            for e in queries.match_feedback(s.uow(), match_id, me):
                if e.answer is not None and e.answer.id == answer_id:
                    return e
            raise NotFound("feedback answer not found")

        entry()  # this match's answer, in the coordinator's areas
        feedback.handle(s.uow(), answer_id, me, s.clock)
        return entry()


@blp.route("/coordinators/me/digest")
class MyDigest(MethodView):
    @coordinator
    @blp.response(200, DigestSettings)
    def get(self) -> Any:
        """The signed-in coordinator's daily digest time (Europe/London), or null when it is off."""
        return current_coordinator()

    @coordinator
    @blp.arguments(DigestSettings)
    @blp.response(200, DigestSettings)
    def put(self, body: dict[str, Any]) -> Any:
        """Change the digest's time, or turn it off with null. Today's digest, if it has not gone
        yet, moves to the new time. An empty digest is never sent."""
        s = services()
        return digest.set_time(s.uow(), current_coordinator().id, body["digest_time"], s.clock)
