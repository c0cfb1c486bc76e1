"""WSGI entry point: `search_api.wsgi:app` (what `hpkg serve --production` runs in gunicorn).

Settings come from the `HPKG_*` environment (see docs/settings.md). When the process has no
logging set up yet (a bare `gunicorn search_api.wsgi:app`), hpkg's log format is applied.
"""
from __future__ import annotations

import logging

from search_api import create_app
from search_api.logs import configure_logging

app = create_app()

if not logging.getLogger().handlers:
    configure_logging(app.config["HPKG"]["log_format"], app.config["HPKG"]["log_level"])
