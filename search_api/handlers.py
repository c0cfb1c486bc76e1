"""The one place where an exception becomes a status plus JSON or a French HTML page."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from kg.store import QueryError, StoreError
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

    @app.errorhandler(StoreError)
    def _store_error(error: StoreError):
        if isinstance(error, QueryError):  # a bug in one of our queries: as any unexpected error
            return _unexpected(error)
        # one log line naming the data dir and the cause (a full disk, a lost SPARQL server)
        app.logger.error("store error: %s", error)
        if "no space left" in str(error).lower():
            return render_error(503, "Enregistrement impossible : le disque du serveur est plein. "
                                     "Rien n'a été modifié ; réessayez quand de la place aura été libérée.")
        return render_error(503, "Le stockage des données est momentanément indisponible ; rien n'a été modifié.")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        return render_error(error.code or 500, error.description or "")

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path, extra={"event": "error"})
        return render_error(500, "Une erreur inattendue est survenue.")
