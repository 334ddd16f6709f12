"""The NHS.UK design system: nhsuk-frontend-jinja's macros and nhsuk-frontend's compiled files.

The macros come from the PyPI package (templates under ``nhsuk/``); the compiled CSS, JS and
images are copies of the npm package's ``dist`` files in ``web/static/nhsuk`` (its version in
``VERSION``; ``web/frontend/package.json`` pins it, and a test holds the copies byte-equal), so
the service starts from a plain ``pip install`` with no build step and no CDN.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, send_from_directory
from flask.typing import ResponseReturnValue
from jinja2 import ChainableUndefined, ChoiceLoader, PackageLoader

NHSUK_STATIC = Path(__file__).resolve().parent.parent / "static" / "nhsuk"
VERSION = (NHSUK_STATIC / "VERSION").read_text().strip()


def register(app: Flask) -> None:
    # Our templates first, then the port's: `{% from "nhsuk/components/button/macro.jinja" import button %}`.
    app.jinja_env.loader = ChoiceLoader([app.create_global_jinja_loader(), PackageLoader("nhsuk_frontend_jinja")])
    # The port's macros read optional parameters through chains (params.hint.text): its README asks for this.
    app.jinja_env.undefined = ChainableUndefined
    # nhsuk-frontend's CSS names a few icons by the absolute path /assets/images/… (the search box's
    # clear button, sortable tables): serve them there, from the same copied files.
    app.add_url_rule("/assets/<path:filename>", "nhsuk_assets", _asset)


def _asset(filename: str) -> ResponseReturnValue:
    return send_from_directory(NHSUK_STATIC / "assets", filename, max_age=86400)
