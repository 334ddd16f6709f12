"""GOV.UK Notify's delivery receipts: what became of each text, told by Notify's callback.

Notify calls this with the bearer token given to it as the callback's token
(QIMATCH_NOTIFY_CALLBACK_TOKEN). A final failure goes on the volunteer's timeline, so a
coordinator rings them instead. Any well-formed receipt is answered 200, repeats and
unknown ids too: Notify retries what is not, and a retry cannot change the answer.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from matcher.services import texts
from web.api.access import notify_callback
from web.context import services
from web.schemas import NotifyReceiptIn, NotifyReceiptOut

blp = Blueprint("notify", __name__, url_prefix="/api/v1", description="GOV.UK Notify's delivery receipts")


@blp.route("/notify/receipts")
class Receipts(MethodView):
    @notify_callback
    @blp.arguments(NotifyReceiptIn)
    @blp.response(200, NotifyReceiptOut)
    def post(self, receipt: dict[str, Any]) -> Any:
        """A text's delivery receipt from GOV.UK Notify (its callback; bearer QIMATCH_NOTIFY_CALLBACK_TOKEN)."""
        s = services()
        return {"recorded": texts.receipt(s.uow(), receipt["id"], receipt["status"], s.clock)}
