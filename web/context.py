"""The app's Services, and the vocabularies in force for the current request."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app

from matcher.bootstrap import Services
from matcher.services import queries
from web.vocabulary import codes_from, codes_in_force

TAXONOMY_TTL_SECONDS = 30.0


def services() -> Services:
    return current_app.extensions["qimatch"]  # type: ignore[no-any-return]


def taxonomy() -> dict[str, list[dict[str, Any]]]:
    # Read often, edited rarely: a short cache keeps every request from a query.
    cache = current_app.extensions.setdefault("qimatch_taxonomy", {"at": 0.0, "value": None})
    if cache["value"] is None or time.monotonic() - cache["at"] > TAXONOMY_TTL_SECONDS:
        cache["value"] = queries.taxonomy(services().uow())
        cache["at"] = time.monotonic()
    return cache["value"]  # type: ignore[no-any-return]


def forget_taxonomy() -> None:
    current_app.extensions["qimatch_taxonomy"] = {"at": 0.0, "value": None}


def set_codes_in_force() -> None:
    codes_in_force.set(codes_from(taxonomy()))
