"""Defences against hostile input that hold for every route: security headers on every
response, request bodies over `max_body_kb` refused before any view runs (413), and JSON nested
too deeply for the parser refused as 400 rather than a crash. Tested in tests/test_hostile_*.py.
"""
from __future__ import annotations

from flask import Flask, Request, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from ontology.errors import BadInput

# Everything the pages use is served from here (YASGUI is vendored): no other origin, no inline
# script. Inline styles stay allowed: templates and YASGUI's editor set `style` attributes.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class HpkgRequest(Request):
    """Flask's request, except that JSON too deep for Python's parser is a clear 400."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            raise BadInput("corps de la requête : JSON imbriqué trop profondément") from None


def init_app(app: Flask) -> None:
    app.request_class = HpkgRequest
    app.before_request(refuse_large_body)
    app.after_request(add_security_headers)


def refuse_large_body() -> None:
    """413 as soon as a declared Content-Length is over the limit, whether or not the view
    would read the body (a chunked body is cut by werkzeug at the same limit when read).
    handlers.py shows the message; /sparql words it for SPARQL clients (sparql.py)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if not limit:
        return
    message = (f"Requête trop volumineuse : le corps dépasse la limite de "
               f"{current_app.config['HPKG']['max_body_kb']} Ko (réglage max_body_kb).")
    if request.content_length is not None:
        if request.content_length > limit:
            raise RequestEntityTooLarge(message)
    elif "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # werkzeug would hand the view the first `limit` bytes as if they were all: read them
        # now (kept for the view) and refuse the request if one more byte follows.
        request.get_data(cache=True)
        try:
            more = request.stream.read(1)
        except RequestEntityTooLarge:
            more = b"x"
        if more:
            raise RequestEntityTooLarge(message)


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
