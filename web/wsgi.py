"""The WSGI entry point for gunicorn: ``gunicorn web.wsgi:app``."""

from matcher.adapters import log_lines
from matcher.config import Settings
from web.app import create_app

log_lines.configure(Settings.from_env().log_format, "web")
app = create_app()
