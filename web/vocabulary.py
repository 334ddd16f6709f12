"""Coded fields checked against the vocabularies stored in the database.

The codes in force are set for the current request (or batch run) in a
context variable, so the schemas stay plain marshmallow and the vocabularies
stay data.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from marshmallow import ValidationError, fields

from matcher.taxonomy import STARTING_TERMS

codes_in_force: ContextVar[dict[str, set[str]]] = ContextVar("codes_in_force")


def codes_from(taxonomy: dict[str, list[dict[str, Any]]]) -> dict[str, set[str]]:
    return {vocabulary: {t["code"] for t in terms} for vocabulary, terms in taxonomy.items()}


class Code(fields.String):
    """A code from one vocabulary, e.g. ``Code("areas")``."""

    def __init__(self, vocabulary: str, **kwargs: Any) -> None:
        metadata = kwargs.pop("metadata", {})
        metadata.setdefault(
            "description",
            f"A code from the '{vocabulary}' vocabulary (GET /api/v1/taxonomy). Not a fixed enum: "
            "an admin adds and retires codes while the service runs.",
        )
        # Named for clients that build pickers from the taxonomy instead of a frozen list.
        metadata.setdefault("x-vocabulary", vocabulary)
        if vocabulary in STARTING_TERMS:
            # A code a fresh install has, so the docs page's "Try it out" body is valid as shown.
            metadata.setdefault("example", STARTING_TERMS[vocabulary][0][0])
        super().__init__(metadata=metadata, **kwargs)
        self.vocabulary = vocabulary

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs)
        known = codes_in_force.get({}).get(self.vocabulary, set())
        if code not in known:
            raise ValidationError(f"Unknown {self.vocabulary} code '{code[:60]}'; GET /api/v1/taxonomy lists them.")
        return code
