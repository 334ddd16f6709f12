"""The API's docs page is served from this site alone, under the pages' strict policy."""

from __future__ import annotations

import re

from flask import Flask


def policy(header: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in header.split(";")) if d}


def test_the_docs_page_names_no_other_host_in_its_policy(app: Flask) -> None:
    answer = app.test_client().get("/api/docs")
    assert answer.status_code == 200
    csp = policy(answer.headers["Content-Security-Policy"])
    sources = [s for values in csp.values() for s in values]
    # Hosts, schemes that admit any host (https:, http:) and wildcards: none.
    assert [s for s in sources if re.search(r"https?:|\*|\.\w", s)] == []
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["connect-src"] == ["'self'"]


def test_the_docs_page_loads_its_scripts_and_styles_from_this_site(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/api/docs").get_data(as_text=True)
    assets = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    assert "<script>" not in page  # no inline script: the policy would block it
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200 and len(served.data) > 100, asset
        served.close()
    # The spec the page renders, from this site too.
    assert 'data-spec="/api/openapi.json"' in page
    assert client.get("/api/openapi.json").status_code == 200


def test_the_vendored_swagger_ui_is_the_published_one() -> None:
    # What the page runs is the npm release its README names, byte for byte.
    import hashlib
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "web" / "static" / "swagger-ui"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"`([\w.-]+\.(?:js|css))` ([0-9a-f]{64})", readme))
    assert set(listed) == {"swagger-ui-bundle.js", "swagger-ui.css"}
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in (folder / "LICENSE").read_text(encoding="utf-8")
