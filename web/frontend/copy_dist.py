"""Copy nhsuk-frontend's compiled files from node_modules into web/static/nhsuk (run after `npm ci`).

    npm ci --prefix web/frontend && python web/frontend/copy_dist.py

The JS and the images are copied as they are. The CSS is copied less its two @font-face rules:
they load Frutiger from assets.nhs.uk (licensed to be served from there only), which the pages'
CSP refuses (no external origins), and Chrome asks for them even when the page names another
font, so every page would log refused loads. Without them the design system's own font stack
falls back to Arial. tests/e2e/test_design_system_files.py holds the copies to the package.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
DIST = HERE / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk"
STATIC = HERE.parent / "static" / "nhsuk"
# The images the pages use (favicons) and those the CSS names by /assets/images/… (search, sortable tables).
IMAGES = (
    "favicon.ico", "favicon.svg", "nhsuk-icon-180.png", "nhsuk-icon-192.png", "nhsuk-icon-mask.svg",
    "nhsuk-icon-cross.svg", "nhsuk-icon-arrow-up-down.svg", "nhsuk-icon-arrow-up.svg", "nhsuk-icon-arrow-down.svg",
)  # fmt: skip
FONT_FACE = re.compile(rb"@font-face\{[^}]*https://assets\.nhs\.uk/fonts/[^}]*\}")


def without_remote_fonts(css: bytes) -> bytes:
    return FONT_FACE.sub(b"", css)


def copy() -> str:
    version = json.loads((DIST.parent.parent / "package.json").read_text())["version"]
    STATIC.mkdir(parents=True, exist_ok=True)
    css = (DIST / "nhsuk-frontend.min.css").read_bytes()
    (STATIC / "nhsuk-frontend.min.css").write_bytes(without_remote_fonts(css))
    shutil.copyfile(DIST / "nhsuk-frontend.min.js", STATIC / "nhsuk-frontend.min.js")
    images = STATIC / "assets" / "images"
    shutil.rmtree(STATIC / "assets", ignore_errors=True)
    images.mkdir(parents=True)
    for name in IMAGES:
        shutil.copyfile(DIST / "assets" / "images" / name, images / name)
    (STATIC / "VERSION").write_text(version + "\n")
    return version


if __name__ == "__main__":
    print(f"nhsuk-frontend {copy()} copied to {STATIC}")
