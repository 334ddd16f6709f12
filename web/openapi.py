"""What the OpenAPI document says an operation may answer besides its own success.

Some answers come from the app as a whole rather than from one view: the body checks
that run before any view (400, 413, 415), the database behind every operation (503),
the token check (401, from ``web.api.access.coordinator``), an id in the path that
names nothing the caller may see (404). They are added here from each operation's
shape, so a new endpoint is documented the way the app behaves without repeating
them by hand. What only some views answer (403, 409, 429) each view says itself.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec, BasePlugin
from marshmallow import fields, validate

from matcher.taxonomy import CODE_RULES
from web.schemas import NOT_BLANK, ONE_LINE
from web.vocabulary import Code

BEARER = "bearerAuth"
WRITES = ("post", "put", "patch", "delete")
METHODS = ("get", *WRITES)

RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}

# Named answers, each a components/responses entry with the error body's schema.
ANSWERS: dict[str, tuple[str, dict[str, Any]]] = {
    "MalformedJson": ("The body is not valid JSON, or it nests too deep.", {}),
    "NotSignedIn": (
        "No bearer token, or one that is invalid or has expired: get one from POST /api/v1/auth/token.",
        {},
    ),
    "NotFound": ("Nothing by this id that you may see: ids outside your areas answer the same.", {}),
    "TooLarge": ("The body is larger than 256 KiB.", {}),
    "NotJson": ("The body is not sent as JSON: send Content-Type: application/json.", {}),
    "TooManyRequests": (
        "Too many tries from this account or address; Retry-After says when to try again.",
        RETRY_AFTER,
    ),
    "Unavailable": ("The database (or the broker) is not answering; Retry-After says when to try again.", RETRY_AFTER),
    # flask-smorest's own name for the 422 of every @blp.arguments, reworded.
    "UNPROCESSABLE_ENTITY": (
        "Invalid input: errors names each bad field by its path (e.g. availability.0.end); nothing was stored.",
        {},
    ),
}


def register_shapes(spec: APISpec) -> None:
    """Rules of a whole body that no field's schema carries."""
    from web.schemas import MeetingIn

    # MeetingIn refuses an empty object ("Give intro_at, venue or video_link.").
    spec.components.schema("MeetingIn", {"minProperties": 1}, schema=MeetingIn)


def register_answers(spec: APISpec, error_schema: Any) -> None:
    for name, (description, headers) in ANSWERS.items():
        answer: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": error_schema}},
        }
        if headers:
            answer["headers"] = headers
        # Lazy, as flask-smorest registers its own: only answers an operation refers to are listed,
        # and ours replace flask-smorest's generic words under the same name.
        spec.components.response(name, answer, lazy=True)


class SharedAnswers(BasePlugin):
    """Adds the app-wide answers to each operation as it is registered."""

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None, **_: Any) -> None:
        for method, operation in (operations or {}).items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if any(operation.get("security") or ()):  # a token required, or optional ([{}, bearer])
                _add(responses, 401, "NotSignedIn")
            if path and "{" in path:
                _add(responses, 404, "NotFound")
            if method in WRITES:
                # web.app's and web.errors' checks on every write, whatever the view.
                _add(responses, 400, "MalformedJson")
                _add(responses, 413, "TooLarge")
                _add(responses, 415, "NotJson")
            _add(responses, 503, "Unavailable")
            for status, answer in responses.items():
                # A view's own failure, described in words only: it has the error body all the same.
                if str(status)[0] in "45" and isinstance(answer, dict) and not {"content", "schema"} & set(answer):
                    answer["content"] = {"application/json": {"schema": "ErrorOut"}}


def _add(responses: dict[Any, Any], status: int, name: str) -> None:
    # flask-smorest keys some answers by int, others by str: a view's own words win.
    if status not in responses and str(status) not in responses:
        responses[str(status)] = name


# What the text validators refuse, as the document's patterns, so a client (or a fuzzer) can
# tell valid text from invalid without trying. The validators stay the rule; these say it.
NO_NUL = r"^[^\x00]*$"  # every input schema refuses a NUL (web.schemas.Schema)
ONE_LINE_TEXT = r"^[^\x00-\x1f\x7f]*$"
WORDS = r"^[^\x00]*[^\s\x00][^\x00]*$"
ONE_LINE_WORDS = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
CODE = r"^[a-z0-9_]{1,60}$"  # matcher.services.vocabularies.CODE


def text_rules(self: Any, field: fields.Field, **_: Any) -> dict[str, Any]:
    """An attribute function for apispec's field converter: the pattern of an input text field."""
    if isinstance(field, Code):
        rule = CODE_RULES.get(field.vocabulary)
        return {"pattern": f"^{rule[0]}$" if rule else CODE}
    if not isinstance(field, fields.String) or isinstance(field, fields.Email) or not field.validators:
        return {}  # answers' fields and emails (their format says it)
    if any(isinstance(v, validate.URL) for v in field.validators):
        return {"format": "uri"}  # a web address (http or https, with a domain)
    if any(isinstance(v, validate.OneOf) for v in field.validators):
        return {}  # the enum says it
    if any(isinstance(v, validate.Regexp) and v is not NOT_BLANK for v in field.validators):
        return {}  # a pattern of its own (a phone number, HH:MM)
    one_line, not_blank = ONE_LINE in field.validators, NOT_BLANK in field.validators
    if one_line:
        return {"pattern": ONE_LINE_WORDS if not_blank else ONE_LINE_TEXT}
    return {"pattern": WORDS if not_blank else NO_NUL}
