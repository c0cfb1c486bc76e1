"""The one place where an exception becomes a status plus JSON, a French HTML page or, for
SPARQL clients, plain text.

`ontology.errors` says what went wrong; `STATUS` says which HTTP status that is. Every JSON error has
one shape, `{"ok": false, "status", "error", "errors"}` (`errors`: one message per field or CSV
line; `[error]` when there is one), tested on every error path by tests/test_error_shape.py.
"""
from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from ontology import errors
from kg.store import QueryError, StoreError

STATUS = {
    errors.BadInput: 400,
    errors.NotAuthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.MethodNotAllowed: 405,
    errors.NoAcceptableFormat: 406,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.TooManyAttempts: 429,
    errors.Failed: 500,
    errors.Unavailable: 503,
}

TITLES = {  # the heading of the French error page
    400: "Requête invalide",
    401: "Connexion requise",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    406: "Format non disponible",
    409: "Conflit de modification",
    413: "Requête trop volumineuse",
    415: "Type de contenu non pris en charge",
    429: "Trop de tentatives",
    500: "Erreur interne",
    503: "Service momentanément indisponible",
}

UNEXPECTED = "Une erreur inattendue est survenue."
DISK_FULL = ("Enregistrement impossible : le disque du serveur est plein. "
             "Rien n'a été modifié ; réessayez quand de la place aura été libérée.")
STORE_DOWN = "Le stockage des données est momentanément indisponible ; rien n'a été modifié."
SPARQL_CLIENT_TYPES = ["text/plain", "application/json", "application/sparql-results+json", "text/html"]


def status_of(error: errors.HpkgError) -> int:
    """The HTTP status of an error: that of its nearest class in `STATUS`."""
    return next((STATUS[cls] for cls in type(error).__mro__ if cls in STATUS), 500)


def wants_json() -> bool:
    if request.path.startswith("/api/") or request.path.endswith(".json"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _answer_kind() -> str:
    """"text" for SPARQL clients of /sparql (SPARQL 1.1 Protocol), else "json" or "html"."""
    if request.blueprint == "sparql":
        best = request.accept_mimetypes.best_match(SPARQL_CLIENT_TYPES)
        if best != "text/html":
            return "json" if best in ("application/json", "application/sparql-results+json") else "text"
        return "html"
    return "json" if wants_json() else "html"


def render_error(status: int, message: str, details: list[str] | None = None,
                 headers: dict | None = None) -> Response:
    """The error answer of `status`, in the form the client of this request reads."""
    kind = _answer_kind()
    if kind == "json":
        response = jsonify({"ok": False, "status": status, "error": message, "errors": details or [message]})
    elif kind == "text":
        response = Response(message + "\n", content_type="text/plain; charset=utf-8")
    else:
        response = current_app.make_response(render_template(
            "error.html", status=status, title=TITLES.get(status, "Erreur"), message=message))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(errors.HpkgError)
    def _hpkg_error(error: errors.HpkgError):
        if isinstance(error, QueryError):  # a bug in one of our queries: as any unexpected error
            return _unexpected(error)
        if isinstance(error, StoreError):
            # one log line naming the data dir and the cause (a full disk, a lost SPARQL server)
            app.logger.error("store error: %s", error)
            return render_error(503, DISK_FULL if "no space left" in str(error).lower() else STORE_DOWN)
        allowed = getattr(error, "allowed", None)
        return render_error(status_of(error), error.message, error.errors,
                            {"Allow": allowed} if allowed else None)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        message = error.description or ""
        if request.blueprint == "sparql":  # SPARQL clients read English
            message = error.description or error.name
            if status == 413:
                message = f"request body too large: the limit is {app.config['HPKG']['max_body_kb']} KB"
        return render_error(status, message)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path, extra={"event": "error"})
        return render_error(500, UNEXPECTED)
