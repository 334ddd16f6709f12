"""QR codes for outreach events' sign-up links, drawn here (segno; no service called)."""

from __future__ import annotations

import io

import segno

from matcher.outreach import OutreachEvent
from web.context import services

FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


def sign_up_url(event: OutreachEvent) -> str:
    return f"{services().settings.base_url}/join/{event.code}"


def qr_code(event: OutreachEvent, kind: str) -> bytes:
    """The event's sign-up link as a QR code: SVG for print, PNG for slides and social posts."""
    code = segno.make(sign_up_url(event), error="m")  # readable with a corner torn or smudged
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=8, border=4, title=f"Sign up to be involved: {event.name}")
    else:
        code.save(out, kind="png", scale=10, border=4)
    return out.getvalue()
