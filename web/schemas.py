"""The API's marshmallow schemas: one source for validation and for OpenAPI.

Unknown fields are refused (marshmallow's default RAISE) and every invalid
field is reported at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from marshmallow import EXCLUDE, ValidationError, fields, post_load, pre_load, validate, validates_schema
from marshmallow import Schema as _Schema

from matcher import addresses, phones
from matcher.domain import (
    AuditAction,
    AuditSubject,
    EventKind,
    FollowUpStatus,
    MatchStatus,
    RequestStatus,
    VolunteerStatus,
)
from matcher.rules import REASONS
from matcher.services import texts
from matcher.taxonomy import STARTING_TERMS
from web.vocabulary import Code

MAX_DEPTH = 32  # no form or record nests deeper than a few levels


def _nul_paths(value: Any) -> list[str]:
    """Paths of strings holding a NUL, walked with a stack (never recursion: a body nested
    500 deep once answered an unauthenticated 500). Deeper than MAX_DEPTH is refused."""
    found: list[str] = []
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValidationError({path or "body": [f"Nested more than {MAX_DEPTH} levels deep."]})
        if isinstance(item, str):
            if "\x00" in item:
                found.append(path or "body")
        elif isinstance(item, Mapping):  # a query string comes as webargs' MultiDictProxy, not a dict
            stack.extend((v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{path}.{i}" if path else str(i), depth + 1) for i, v in enumerate(item))
    return sorted(found)


def _may_hold_nul(value: Any) -> bool:
    """False only when no text in ``value`` holds a NUL: JSON writes one as \\u0000, and the
    C encoder reads a body in microseconds where walking it (``_nul_paths``) takes tens."""
    try:
        return "\\u0000" in json.dumps(value)
    except (TypeError, ValueError, RecursionError):  # not plain JSON data: walk it
        return True


class Schema(_Schema):
    """Every input schema: text with a NUL character is refused (no database stores it)."""

    @pre_load
    def _no_nul(self, data: Any, **_: Any) -> Any:
        bad = _nul_paths(data) if _may_hold_nul(data) else []
        if bad:
            raise ValidationError({path: ["Must not contain a NUL character."] for path in bad})
        return data


# Regexp matches from the start: "\s*" first, or text after a leading space or line break was
# refused as blank (schemathesis found it once the document stated the rule as a pattern).
NOT_BLANK = validate.Regexp(r"\s*\S", error="Must not be blank.")
HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Use 24-hour HH:MM, e.g. 09:30.")
# Names, titles and places go into email subjects, headers and calendar lines: a line break
# there once spilled into email bodies. One line, no control characters.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError("Must be one line, without line breaks, tabs or control characters.")


ONE_LINE = one_line
SHORT: list[Callable[[Any], Any]] = [validate.Length(min=1, max=200), NOT_BLANK, ONE_LINE]
LONG = validate.Length(max=4000)
VENUE: list[Callable[[Any], Any]] = [validate.Length(max=300), ONE_LINE]
# A meeting link people will click: web addresses only, never javascript: or the like.
VIDEO_LINK = [validate.URL(schemes={"https", "http"}, error="Give a web address, like https://meet.example/abc."),
              validate.Length(max=500)]  # fmt: skip


KINDS = ("service_user", "carer", "both")
CONTACT_WAYS = ("email", "phone")
ORIGINS = ("engine", "coordinator")  # matcher.domain.Match.origin: suggested by the engine, or made by hand


def coded(choices: Iterable[str], **kwargs: Any) -> fields.String:
    """A fixed domain code in an answer (a status, a rule, an event kind): an enum in the
    OpenAPI document. Codes a trust edits at run time are ``Code`` fields instead."""
    return fields.String(validate=validate.OneOf(list(choices)), **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON true or false, nothing else: marshmallow's Boolean also takes 1, "yes" or "on",
    which the document (type: boolean) does not admit, and a consent should be a plain true."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class EmailAddress(fields.Email):
    """An address a person can own and be reached at (``matcher.addresses``).

    Loaded cleaned (NFKC, no invisible characters), so the checks and the stored
    offer see what mail will be sent to; then refused if it mixes alphabets (a
    look-alike of someone's address) or can only be reached inside one network.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Length(max=320))
        super().__init__(**kwargs)
        self.validators.append(_ownable)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            value = addresses.clean(value)
        return super()._deserialize(value, attr, data, **kwargs)


class PhoneNumber(fields.String):
    """A UK phone number (``matcher.phones``), loaded as E.164 (+447700900982) whatever its spaces
    and prefix; a number that is not a valid UK one is refused saying how to write it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Length(max=40))
        kwargs.setdefault(
            "metadata",
            {
                "description": "A UK phone number, stored and answered in E.164 (+447700900982). Texts go"
                " only to a mobile number, to a volunteer who prefers the phone.",
                "example": "07700 900 982",
            },
        )
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return phones.normalise(text)
        except ValueError as bad:
            raise ValidationError(f"{bad}.") from None


def _ownable(value: str) -> None:
    try:
        validate.Email()(value)
    except ValidationError:
        return  # not an address at all: the Email check says so already
    reason = addresses.refusal(value)
    if reason:
        raise ValidationError(reason)


def unique(values: list[Any]) -> None:
    if len(values) != len(set(map(str, values))):
        raise ValidationError("Each value may appear only once.")


def codes(vocabulary: str, *, required: bool = False, at_least: int = 0, at_most: int = 50) -> fields.List:
    return fields.List(
        Code(vocabulary),
        required=required,
        validate=[validate.Length(min=at_least, max=at_most), unique],
    )


class SlotSchema(Schema):
    day = Code("days", required=True)
    start = fields.String(required=True, validate=HHMM, metadata={"example": "09:00"})
    end = fields.String(required=True, validate=HHMM, metadata={"example": "17:00"})

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if "start" in data and "end" in data and data["end"] <= data["start"]:
            raise ValidationError("The end must be after the start.", "end")


class TrainingSchema(Schema):
    code = Code("trainings", required=True)
    completed_on = fields.Date(load_default=None)

    @post_load
    def _as_json(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        # Stored in a JSON column: the date as ISO text.
        done = data.get("completed_on")
        return {"code": data["code"], "completed_on": done.isoformat() if done else None}


class ConsentSchema(Schema):
    data_processing = StrictBoolean(
        required=True,
        validate=validate.Equal(True, error="We can only keep your offer with your consent."),
    )
    version = fields.String(required=True, validate=validate.Length(min=1, max=40))
    assisted = fields.Boolean(
        load_default=False,
        metadata={"description": "Consent taken in person by the signed-in coordinator entering the offer."},
    )


class VolunteerFields(Schema):
    """Fields an offer may carry, shared by registering and changing it."""

    name = fields.String(validate=SHORT)
    phone = PhoneNumber()
    preferred_contact = fields.String(validate=validate.OneOf(CONTACT_WAYS))
    roles = codes("roles", at_least=1)
    modes = codes("modes", at_least=1)
    availability = fields.List(fields.Nested(SlotSchema), validate=validate.Length(min=1, max=50))
    max_commitments = fields.Integer(strict=True, validate=validate.Range(1, 5))
    travel_areas = codes("areas")
    experience = codes("experience")
    interests = codes("topics")
    languages = codes("languages", at_most=20)
    trainings = fields.List(fields.Nested(TrainingSchema), validate=validate.Length(max=20))
    access_needs = fields.String(allow_none=True, validate=LONG)
    exclusions = fields.String(allow_none=True, validate=LONG)
    excluded_teams = fields.List(fields.String(validate=SHORT), validate=validate.Length(max=50))


class VolunteerIn(VolunteerFields):
    name = fields.String(required=True, validate=SHORT)
    email = EmailAddress(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    home_area = Code("areas", required=True)
    roles = codes("roles", required=True, at_least=1)
    modes = codes("modes", required=True, at_least=1)
    availability = fields.List(fields.Nested(SlotSchema), required=True, validate=validate.Length(min=1, max=50))
    max_commitments = fields.Integer(required=True, strict=True, validate=validate.Range(1, 5))
    consent = fields.Nested(ConsentSchema, required=True)
    source = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "The outreach event (its id) this offer came through."},
    )

    @validates_schema
    def _reachable(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("preferred_contact") == "phone" and not data.get("phone"):
            raise ValidationError("Give a phone number to be contacted by phone.", "phone")


class VolunteerPatch(VolunteerFields):
    # Not "unconfirmed": only the owner of the address confirms it, through their link.
    status = fields.String(validate=validate.OneOf(VolunteerStatus.CHOSEN))


class ConsentOut(Schema):
    version = fields.String(attribute="consent_version")
    given_at = fields.DateTime(attribute="consent_given_at")
    assisted_by = fields.String(
        attribute="consent_assisted_by",
        allow_none=True,
        metadata={"description": "The coordinator who took it in person."},
    )


class TrainingOut(Schema):
    code = Code("trainings")
    completed_on = fields.String(allow_none=True, metadata={"format": "date"})
    # Set when a coordinator marked attendance at a session conferring it (docs/sessions.md);
    # absent or null: declared by the volunteer, not yet verified.
    verified_on = fields.String(allow_none=True, metadata={"format": "date"})
    verified_by = fields.String(allow_none=True, metadata={"description": "The coordinator who marked attendance."})
    session_id = fields.String(allow_none=True, metadata={"description": "The session whose attendance verified it."})


class VolunteerOut(Schema):
    id = fields.String()
    status = coded(VolunteerStatus.ALL)
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    kind = coded(KINDS)
    home_area = Code("areas")
    preferred_contact = coded(CONTACT_WAYS)
    roles = fields.List(Code("roles"))
    modes = fields.List(Code("modes"))
    availability = fields.List(fields.Nested(SlotSchema))
    max_commitments = fields.Integer()
    travel_areas = fields.List(Code("areas"))
    experience = fields.List(Code("experience"))
    interests = fields.List(Code("topics"))
    languages = fields.List(Code("languages"))
    trainings = fields.List(fields.Nested(TrainingOut))
    access_needs = fields.String(allow_none=True)
    exclusions = fields.String(allow_none=True)
    excluded_teams = fields.List(fields.String())
    consent = fields.Function(lambda v: ConsentOut().dump(v))
    source = fields.String(attribute="source_event_id", allow_none=True)
    email_confirmed_at = fields.DateTime(
        allow_none=True, metadata={"description": "When the address was shown to be theirs; null while unconfirmed."}
    )
    email_confirmed_by = fields.String(
        allow_none=True,
        metadata={
            "description": '"link" (they opened their private link), "not_asked" (confirmation was off), or the '
            "id of the coordinator who entered the offer. Null while unconfirmed, and on offers from before."
        },
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class Receipt(Schema):
    """What an anonymous submitter gets back: enough to refer to it, nothing more."""

    id = fields.String()
    status = fields.String()


class OfferReceipt(Receipt):
    status = coded(VolunteerStatus.ALL)


class RequestReceipt(Receipt):
    status = coded(RequestStatus.ALL)


class RoleCountSchema(Schema):
    role = Code("roles", required=True)
    count = fields.Integer(required=True, strict=True, validate=validate.Range(1, 20))


class ContactSchema(Schema):
    name = fields.String(required=True, validate=SHORT)
    email = EmailAddress(required=True)


class TeamRequestIn(Schema):
    team_name = fields.String(required=True, validate=SHORT)
    project_title = fields.String(required=True, validate=[validate.Length(min=1, max=300), NOT_BLANK, ONE_LINE])
    area = Code("areas", required=True)
    qi_stage = Code("qi_stages", required=True)
    roles = fields.List(fields.Nested(RoleCountSchema), required=True, validate=validate.Length(min=1, max=8))
    modes = codes("modes", required=True, at_least=1)
    contact = fields.Nested(ContactSchema, required=True)
    aim = fields.String(allow_none=True, validate=LONG)
    topics = codes("topics")
    experience_sought = codes("experience")
    meeting_slots = fields.List(fields.Nested(SlotSchema), validate=validate.Length(max=20))
    languages = codes("languages", at_most=20)
    required_trainings = codes("trainings")
    start_date = fields.Date(allow_none=True)
    hours_per_month = fields.Integer(allow_none=True, strict=True, validate=validate.Range(1, 200))
    duration_weeks = fields.Integer(allow_none=True, strict=True, validate=validate.Range(1, 104))
    notes = fields.String(allow_none=True, validate=LONG)
    venue = fields.String(allow_none=True, validate=VENUE, metadata={"description": "Where the team meets."})
    video_link = fields.String(allow_none=True, validate=VIDEO_LINK, metadata={"description": "The team's call link."})

    @validates_schema
    def _one_line_per_role(self, data: dict[str, Any], **_: Any) -> None:
        roles = [r["role"] for r in data.get("roles", [])]
        if len(roles) != len(set(roles)):
            raise ValidationError("List each role once, with its count.", "roles")


class MatchOut(Schema):
    id = fields.String()
    team_request_id = fields.String()
    volunteer_id = fields.String()
    role = Code("roles")
    status = coded(MatchStatus.ALL)
    origin = coded(ORIGINS, metadata={"description": "engine: suggested by the matcher; coordinator: made by hand."})
    proposed = fields.Boolean()
    rank = fields.Integer()
    score = fields.Float()
    factors = fields.Dict(keys=fields.String(), values=fields.Float())
    reject_reason = fields.String(allow_none=True, metadata={"description": "The coordinator's own words."})
    close_reason = fields.String(allow_none=True, metadata={"description": "The coordinator's own words."})
    intro_at = fields.DateTime(allow_none=True)
    venue = fields.String(allow_none=True)
    video_link = fields.String(allow_none=True)
    invite_sequence = fields.Integer(metadata={"description": "The chat's calendar revision (iCalendar SEQUENCE)."})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PartsOf(Schema):
    """Dumps a read-model view: the fields of its domain object (``subject``) and the
    parts the read model gives beside it, so no view bolts attributes onto the object."""

    subject = ""
    parts: tuple[str, ...] = ()

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        return super().get_attribute(obj if attr in self.parts else getattr(obj, self.subject), attr, default)


class TeamRequestSummaryOut(Schema):
    id = fields.String()
    status = coded(RequestStatus.ALL)
    team_name = fields.String()
    project_title = fields.String()
    area = Code("areas")
    qi_stage = Code("qi_stages")
    roles = fields.List(fields.Nested(RoleCountSchema))
    modes = fields.List(Code("modes"))
    contact = fields.Nested(ContactSchema)
    aim = fields.String(allow_none=True)
    topics = fields.List(Code("topics"))
    experience_sought = fields.List(Code("experience"))
    meeting_slots = fields.List(fields.Nested(SlotSchema))
    languages = fields.List(Code("languages"))
    required_trainings = fields.List(Code("trainings"))
    start_date = fields.Date(allow_none=True)
    hours_per_month = fields.Integer(allow_none=True)
    duration_weeks = fields.Integer(allow_none=True)
    notes = fields.String(allow_none=True)
    venue = fields.String(allow_none=True)
    video_link = fields.String(allow_none=True)
    created_at = fields.DateTime()


class TeamRequestOut(PartsOf, TeamRequestSummaryOut):
    """A request and its matches so far (queries.RequestDetail)."""

    subject, parts = "request", ("matches",)
    matches = fields.List(fields.Nested(MatchOut))


class EventOut(Schema):
    kind = coded(EventKind)
    at = fields.DateTime(attribute="occurred_at")
    data = fields.Dict(
        metadata={
            "description": "What goes with this kind of event: codes and ids "
            "(a role, rule codes, a letter and its address)."
        }
    )


class FollowUpOut(Schema):
    id = fields.String()
    sequence = fields.Integer()
    due_at = fields.DateTime()
    status = coded(FollowUpStatus.ALL)
    invited_at = fields.DateTime(allow_none=True)
    reminded_at = fields.DateTime(allow_none=True)


class MatchDetailOut(PartsOf, MatchOut):
    """A match with its timeline and follow-up chats (queries.MatchView)."""

    subject, parts = "match", ("timeline", "follow_ups")
    timeline = fields.List(fields.Nested(EventOut))
    follow_ups = fields.List(fields.Nested(FollowUpOut))


class SuggestionOut(Schema):
    match_id = fields.String()
    volunteer_id = fields.String()
    volunteer_name = fields.String()
    role = Code("roles")
    score = fields.Float()
    factors = fields.Dict(keys=fields.String(), values=fields.Float())
    proposed = fields.Boolean(metadata={"description": "Part of the proposed assignment; false for alternates."})
    rank = fields.Integer()
    volunteer_exclusions = fields.String(
        allow_none=True,
        dump_only=True,
        metadata={"description": "What the volunteer said they would rather avoid, in their own words."},
    )


class ReasonIn(Schema):
    """Why a suggestion is turned down, or an involvement ends."""

    reason = fields.String(required=True, validate=[validate.Length(min=1, max=1000), NOT_BLANK])


class MeetingIn(Schema):
    """The introductory chat's time and place; null clears the match's own venue or link."""

    intro_at = fields.AwareDateTime(metadata={"description": "With its UTC offset, e.g. 2026-03-10T14:00:00+00:00."})
    venue = fields.String(allow_none=True, validate=VENUE)
    video_link = fields.String(allow_none=True, validate=VIDEO_LINK)

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Give intro_at, venue or video_link.", "_schema")


class MatchIn(Schema):
    team_request_id = fields.String(required=True, validate=SHORT)
    volunteer_id = fields.String(required=True, validate=SHORT)
    role = Code("roles", required=True)


class TokenIn(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=320))
    password = fields.String(required=True, validate=validate.Length(min=1, max=500))
    otp = fields.String(
        validate=validate.Length(max=40),
        metadata={
            "description": "The 6-digit code from the authenticator app, or an unused recovery code. Needed"
            " unless the service runs with QIMATCH_REQUIRE_TOTP=false."
        },
    )
    label = fields.String(
        validate=[validate.Length(max=100), ONE_LINE],
        metadata={"description": "A name for this token, shown when tokens are listed (e.g. 'trust system')."},
    )


class TokenOut(Schema):
    token = fields.String(metadata={"description": "Send as 'Authorization: Bearer <token>'. Shown only now."})
    id = fields.String(metadata={"description": "The token's id in GET /api/v1/auth/tokens, to revoke it."})
    expires_at = fields.DateTime()


class ListArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    area = Code("areas")
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class VolunteerListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(VolunteerStatus.ALL))


class RequestListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(RequestStatus.ALL))


class MatchListArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(MatchStatus.ALL))


class WhyNotArgs(Schema):
    volunteer_id = fields.String(required=True, validate=SHORT)


class TermIn(Schema):
    label = fields.String(required=True, validate=SHORT)
    active = StrictBoolean(load_default=True)


class TermBrief(Schema):
    code = fields.String()
    label = fields.String()


# Each vocabulary (they are seeded from the starting set; a trust edits their terms) → its terms in order.
TaxonomyOut = Schema.from_dict(
    {name: fields.List(fields.Nested(TermBrief)) for name in STARTING_TERMS}, name="TaxonomyOut"
)


class ReasonOut(Schema):
    rule = coded(REASONS, metadata={"description": "The rule's code, e.g. at_capacity."})
    reason = fields.String(metadata={"description": "The rule in words."})


class WhyNotOut(Schema):
    volunteer_id = fields.String()
    roles = fields.Dict(
        keys=Code("roles"),
        values=fields.List(fields.Nested(ReasonOut)),
        metadata={"description": "For each of the request's roles, every rule that keeps the volunteer out."},
    )
    eligible = fields.Boolean(metadata={"description": "No rule keeps them from at least one role."})


class TermOut(Schema):
    vocabulary = coded(STARTING_TERMS)
    code = fields.String()
    label = fields.String()
    active = fields.Boolean()


# --- Feedback after follow-up chats, and the coordinators' digest ------------------------------


class FeedbackIn(Schema):
    """One side's answers on the feedback form (the page's fields, loaded as the API would)."""

    rating = fields.Integer(
        required=True,
        validate=validate.Range(1, 5, error="Choose how it is going, from 1 to 5."),
        metadata={"description": "How it is going, 1 (badly) to 5 (very well)."},
    )
    note = fields.String(allow_none=True, load_default=None, validate=LONG)
    wants_call = fields.Boolean(load_default=False)
    wants_stop = fields.Boolean(load_default=False)


class FeedbackOut(Schema):
    """One side's feedback form after one follow-up chat, and its answer once it came
    (queries.FeedbackEntry); the answer's fields are null until then."""

    id = fields.String()
    follow_up_sequence = fields.Integer(metadata={"description": "Which follow-up chat (1, 2, ...)."})
    party = fields.String(metadata={"description": "team or volunteer."})
    status = fields.String(metadata={"description": "asked, reminded or answered."})
    asked_at = fields.DateTime()
    reminded_at = fields.DateTime(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    rating = fields.Integer(allow_none=True, metadata={"description": "How it is going, 1 (badly) to 5 (very well)."})
    note = fields.String(
        allow_none=True, metadata={"description": "Their own words; cleared if the volunteer is erased."}
    )
    wants_call = fields.Boolean(allow_none=True, metadata={"description": "Would like a call from the coordinator."})
    wants_stop = fields.Boolean(allow_none=True, metadata={"description": "Wants to stop."})
    poor = fields.Boolean(
        allow_none=True, metadata={"description": "A rating of 2 or less, a call asked for, or a wish to stop."}
    )
    handled_at = fields.DateTime(allow_none=True, metadata={"description": "When a coordinator dealt with it."})
    answer_id = fields.String(
        allow_none=True, metadata={"description": "The answer, for POST .../feedback/{answer_id}/handled."}
    )

    FORM_FIELDS = ("id", "party", "status", "asked_at", "reminded_at")

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        if attr == "follow_up_sequence":
            return obj.sequence
        if attr == "answer_id":
            return obj.answer.id if obj.answer is not None else None
        if attr in self.FORM_FIELDS:
            return getattr(obj.form, attr)
        return getattr(obj.answer, attr) if obj.answer is not None else None


class DigestSettings(Schema):
    """A coordinator's daily digest: its time on the London clock, or null for off."""

    digest_time = fields.String(
        required=True,
        allow_none=True,
        validate=HHMM,
        metadata={"description": "24-hour HH:MM, Europe/London, e.g. 08:00; null turns the digest off."},
    )


class AuditListArgs(Schema):
    """Filters for the audit log; dates are whole days, Europe/London, both ends included."""

    class Meta:
        unknown = EXCLUDE

    coordinator = fields.String(validate=validate.Length(1, 32), metadata={"description": "Who acted: an id."})
    action = fields.String(validate=validate.OneOf([a.value for a in AuditAction]))
    subject_kind = fields.String(validate=validate.OneOf([k.value for k in AuditSubject]))
    subject_id = fields.String(validate=validate.Length(1, 200))
    from_ = fields.Date(data_key="from", metadata={"description": "The first day, e.g. 2026-03-01."})
    to = fields.Date(metadata={"description": "The last day, included."})
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 200))

    @validates_schema
    def _in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError({"to": ["Choose a day on or after the first day."]})


class AuditEntryOut(Schema):
    """One coordinator action on record: ids and codes only."""

    id = fields.Integer()
    at = fields.DateTime()
    coordinator_id = fields.String(allow_none=True, metadata={"description": "Who acted; null for a failed sign-in."})
    action = fields.String(metadata={"enum": [a.value for a in AuditAction]})
    subject_kind = fields.String(metadata={"enum": [k.value for k in AuditSubject]})
    subject_id = fields.String(allow_none=True)
    details = fields.Dict(metadata={"description": "Codes only: fields changed, a reason's code, an export's format."})
    attempted_email = fields.String(
        allow_none=True, metadata={"description": "A failed sign-in: the address typed (never the password)."}
    )


class ErasedOut(Schema):
    id = fields.String()
    erased_at = fields.DateTime()


class VolunteerExportOut(Schema):
    """Everything held about a volunteer; docs/privacy.md describes each section."""

    layout = fields.String(metadata={"enum": ["qimatch.volunteer-export/2"]})
    exported_at = fields.String()
    offer = fields.Dict(metadata={"description": "The profile as held, availability, trainings and exclusions."})
    involvements = fields.List(
        fields.Dict(), metadata={"description": "Decided matches, with reject_reason and close_reason."}
    )
    suggestions = fields.List(fields.Dict(), metadata={"description": "Each suggestion's score and its factors."})
    suggestion_history = fields.List(fields.Dict(), metadata={"description": "Suggestions made and taken back."})
    feedback = fields.List(
        fields.Dict(),
        metadata={"description": "Their feedback forms after follow-up chats: asked, answered, rating, flags, words."},
    )
    calls = fields.List(
        fields.Dict(), metadata={"description": "Calls owed or made to them, with the coordinators' notes."}
    )
    timeline = fields.List(fields.Dict(), metadata={"description": "Events about them, with their data."})
    emails = fields.List(fields.Dict(), metadata={"description": "Emails owed or sent to them: kind, status, times."})
    texts = fields.List(
        fields.Dict(),
        metadata={"description": "Texts owed or sent to their mobile: kind, status, times, Notify's id and receipt."},
    )
    audit = fields.List(fields.Dict(), metadata={"description": "Audit log entries about them."})
    session_bookings = fields.List(
        fields.Dict(), metadata={"description": "Sessions booked or waited for, and attendance."}
    )
    retention = fields.List(
        fields.Dict(), metadata={"description": "Each time they were asked whether to keep their details."}
    )
    payments = fields.Dict(
        metadata={"description": "Payment preference and caps, activities, and payable lines (integer pence)."}
    )


class ErrorOut(Schema):
    """Every failure's body, whatever its status."""

    message = fields.String(required=True, metadata={"description": "What went wrong, in words."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "On a 422 (and a 409 for a repeated email): each bad field by its path, "
            "e.g. availability.0.end, with its messages."
        },
    )


class NotifyReceiptIn(Schema):
    """GOV.UK Notify's delivery receipt for one text (its callback's body). Notify sends more
    fields (the number, its times, the template): they are read past, and not kept."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={"format": "uuid"})
    reference = fields.String(allow_none=True, validate=validate.Length(max=200))
    status = fields.String(
        required=True,
        validate=validate.OneOf(texts.RECEIPTS),
    )
    notification_type = fields.String(validate=validate.Length(max=20))


class NotifyReceiptOut(Schema):
    recorded = fields.Boolean(
        metadata={"description": "False for a repeat of a receipt already kept, or an id that is not one of ours."}
    )
