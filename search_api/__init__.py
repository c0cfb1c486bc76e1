"""The Flask app: semantic search, SPARQL endpoint, web UI. `create_app` builds it."""
from __future__ import annotations

from typing import Any

from flask import Flask

from search_api.settings import load_settings


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings (defaults, env, `config`), resources, blueprints, errors."""
    app = Flask(__name__)
    settings = load_settings(config)
    app.config["HPKG"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings["max_body_kb"] * 1024
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False

    # Imported here, not at the top: `hpkg` imports this package for its settings, and the
    # blueprints pull in the search stack, which `hpkg --help` must not wait for.
    from search_api import handlers, page_cache, resources, security

    resources.init_app(app)
    page_cache.init_app(app)
    handlers.init_app(app)
    security.init_app(app)  # headers, body limit, deep JSON: every route

    from search_api import auth, health, links, search, sparql, ui

    for module in (ui, search, sparql, auth, links, health):
        app.register_blueprint(module.bp)

    from search_api.logs import RequestLog

    # outermost: the request id and the access line cover every response, errors included
    app.wsgi_app = RequestLog(app.wsgi_app)
    return app
