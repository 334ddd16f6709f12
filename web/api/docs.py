"""The API's documentation page: Swagger UI, served from this package.

Nothing is fetched from another host, so the page works on a hospital network
without internet access and keeps the pages' strict Content-Security-Policy
(``script-src 'self'``, no inline script: the page is started by a static file).
The bundle is vendored in web/static/swagger-ui (its README says which version
and how to update it).
"""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("api_reference", __name__)


@bp.get("/api/docs")
def page() -> str:
    return render_template("api_docs.html")
