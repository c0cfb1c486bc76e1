"""The one place where an exception becomes a status plus JSON or a French HTML page."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from search_api.errors import HpkgError

_FRENCH = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    413: "Requête trop volumineuse",
    415: "Type de contenu non pris en charge",
    500: "Erreur interne",
    503: "Service momentanément indisponible",
}


def wants_json() -> bool:
    if request.path.startswith("/api/") or request.path.endswith(".json"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def render_error(status: int, message: str):
    if wants_json():
        response = jsonify({"ok": False, "status": status, "error": message})
    else:
        title = _FRENCH.get(status, "Erreur")
        response = render_template("error.html", status=status, title=title, message=message)
    return response, status


def init_app(app: Flask) -> None:
    @app.errorhandler(HpkgError)
    def _hpkg_error(error: HpkgError):
        return render_error(error.status, error.message)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        return render_error(error.code or 500, error.description or "")

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return render_error(500, "Une erreur inattendue est survenue.")
