"""Helpers of tests/test_hostile_*.py: the inventory of every route and of every request
parameter with where it goes (a SPARQL query, an HTML page, a file path, the store), an app over
a private copy of the ingested corpus with one editor, and a fingerprint of the store.

Where a value goes, per parameter ("sinks"):
  sparql  reaches a SPARQL query (as a bound term, or as the query text itself on /sparql)
  html    echoed or stored then shown in an HTML page
  store   written to the graph (projects) or checked against it
  file    names a file that is served
  none    only parsed (a number, a token, a choice among fixed values)
A route added to the app without an entry here fails test_hostile_inventory.py.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

PASSWORD = "mot de passe solide"
EDITOR = "alice"

# rule -> {"methods": {...}, "params": {name: (where, sinks)}}; `where` is path, query, form,
# json, multipart, body or header.
_IRI_PAGE = {"iri": ("query", {"sparql", "html"}), "Accept": ("header", {"none"})}
_PROJECT_FIELDS = {f: ("form", {"store", "html"}) for f in
                   ("title", "description", "promoter", "territories", "populations", "status")}
INVENTORY: dict[str, dict] = {
    "/": {"methods": {"GET"}, "params": {"Accept": ("header", {"none"})}},
    "/index.json": {"methods": {"GET"}, "params": {}},
    "/search": {"methods": {"GET"}, "params": {
        "q": ("query", {"html"}), "page": ("query", {"none"}), "Accept": ("header", {"none"}),
        **{f: ("query", {"html"}) for f in ("scheme", "population", "actor", "tool", "territory", "programme")}}},
    "/search.json": {"methods": {"GET"}, "params": {"q": ("query", {"none"}), "page": ("query", {"none"})}},
    "/plan": {"methods": {"GET"}, "params": {"Accept": ("header", {"none"})}},
    "/plan.json": {"methods": {"GET"}, "params": {}},
    "/orientation": {"methods": {"GET"}, "params": _IRI_PAGE},
    "/orientation.json": {"methods": {"GET"}, "params": _IRI_PAGE},
    "/orientation/<path:path>": {"methods": {"GET"}, "params": {"path": ("path", {"sparql", "html"})}},
    "/entite": {"methods": {"GET"}, "params": _IRI_PAGE},
    "/entite.json": {"methods": {"GET"}, "params": _IRI_PAGE},
    "/entite/<path:path>": {"methods": {"GET"}, "params": {"path": ("path", {"sparql", "html"})}},
    "/static/<path:filename>": {"methods": {"GET"}, "params": {"filename": ("path", {"file"})}},
    "/api/search": {"methods": {"GET"}, "params": {
        "q": ("query", {"none"}), "k": ("query", {"none"}),
        **{f: ("query", {"none"}) for f in ("scheme", "population", "actor", "tool", "territory", "programme")}}},
    "/sparql": {"methods": {"GET", "POST", "PUT", "DELETE", "PATCH"}, "params": {
        "query": ("query", {"sparql", "html"}), "update": ("query", {"none"}),
        "default-graph-uri": ("query", {"sparql"}), "named-graph-uri": ("query", {"sparql"}),
        "format": ("query", {"none"}), "output": ("query", {"none"}), "body": ("body", {"sparql"}),
        "Accept": ("header", {"none"}), "Content-Type": ("header", {"none"})}},
    "/api/link": {"methods": {"GET", "POST"}, "params": {
        "q": ("query", {"none"}), "k": ("query", {"none"}), "text": ("json", {"none"})}},
    "/api/login": {"methods": {"POST"}, "params": {"name": ("json", {"store"}), "password": ("json", {"none"}),
                                                   "X-CSRF-Token": ("header", {"none"})}},
    "/api/logout": {"methods": {"POST"}, "params": {"X-CSRF-Token": ("header", {"none"})}},
    "/api/session": {"methods": {"GET"}, "params": {}},
    "/api/projects": {"methods": {"GET", "POST"}, "params": {
        **{f: ("json", {"store", "html"}) for f in _PROJECT_FIELDS}, "X-CSRF-Token": ("header", {"none"})}},
    "/api/projects/<project_id>": {"methods": {"GET", "PUT", "PATCH"}, "params": {
        "project_id": ("path", {"store"}), "version": ("json", {"none"}), "If-Match": ("header", {"none"}),
        **{f: ("json", {"store", "html"}) for f in _PROJECT_FIELDS}}},
    "/api/projects/<project_id>/links": {"methods": {"POST"}, "params": {
        "project_id": ("path", {"store"}), "section": ("json", {"store"}), "status": ("json", {"store"}),
        "version": ("json", {"none"}), "reasons": ("json", {"store", "html"})}},
    "/api/projects/<project_id>/suggestions": {"methods": {"POST"}, "params": {"project_id": ("path", {"store"})}},
    "/api/projects/import": {"methods": {"POST"}, "params": {
        "file": ("multipart", {"store", "html"}), "body": ("body", {"store", "html"})}},
    "/api/projects/export.<fmt>": {"methods": {"GET"}, "params": {"fmt": ("path", {"none"})}},
    "/api/axis": {"methods": {"GET"}, "params": {"iri": ("query", {"sparql"})}},
    "/api/coverage": {"methods": {"GET"}, "params": {}},
    "/projets": {"methods": {"GET"}, "params": {}},
    "/projets/nouveau": {"methods": {"GET", "POST"}, "params": {**_PROJECT_FIELDS, "csrf_token": ("form", {"none"})}},
    "/projets/<project_id>": {"methods": {"GET"}, "params": {
        "project_id": ("path", {"store", "html"}), "q": ("query", {"html"})}},
    "/projets/<project_id>/modifier": {"methods": {"GET", "POST"}, "params": {
        "project_id": ("path", {"store"}), "version": ("form", {"none"}), **_PROJECT_FIELDS}},
    "/projets/<project_id>/liens": {"methods": {"POST"}, "params": {
        "project_id": ("path", {"store"}), "section": ("form", {"store"}), "status": ("form", {"store"}),
        "version": ("form", {"none"}), "manual": ("form", {"none"})}},
    "/projets/<project_id>/suggestions": {"methods": {"POST"}, "params": {"project_id": ("path", {"store"})}},
    "/projets/import": {"methods": {"GET", "POST"}, "params": {"file": ("multipart", {"store", "html"})}},
    "/projets/export.<fmt>": {"methods": {"GET"}, "params": {"fmt": ("path", {"none"})}},
    "/axe": {"methods": {"GET"}, "params": {"iri": ("query", {"sparql", "html"})}},
    "/couverture": {"methods": {"GET"}, "params": {}},
    "/connexion": {"methods": {"GET", "POST"}, "params": {
        "name": ("form", {"store", "html"}), "password": ("form", {"none"}), "next": ("query", {"html"}),
        "csrf_token": ("form", {"none"})}},
    "/deconnexion": {"methods": {"POST"}, "params": {"csrf_token": ("form", {"none"})}},
    "/health": {"methods": {"GET"}, "params": {}},
}

# Requests that reach a SPARQL query with a user value in it, as (method, url template, where):
# {} in the template is replaced by the payload. /sparql itself takes whole queries (fuzzed).
SPARQL_REACHING = [
    ("GET", "/orientation?iri={}", "query"),
    ("GET", "/orientation.json?iri={}", "query"),
    ("GET", "/orientation/{}", "path"),
    ("GET", "/entite?iri={}", "query"),
    ("GET", "/entite.json?iri={}", "query"),
    ("GET", "/entite/{}", "path"),
    ("GET", "/axe?iri={}", "query"),
    ("GET", "/api/axis?iri={}", "query"),
    ("GET", "/sparql?query=ASK%20%7B%7D&default-graph-uri={}", "query"),
    ("GET", "/sparql?query=ASK%20%7B%7D&named-graph-uri={}", "query"),
]


def make_app(settings: dict, tmp_path: Path, **config):
    """The real app over a private copy of the ingested data (the embedded store has one opener
    per process, other tests may hold the original) with one editor, EDITOR."""
    from kg.users import UserStore
    from search_api import create_app

    data_dir = tmp_path / "data"
    shutil.copytree(settings["data_dir"], data_dir)
    UserStore(data_dir).add(EDITOR, PASSWORD, role="editor")
    app = create_app({"data_dir": str(data_dir), "secret_key": "hostile-tests", **config})
    app.config["TESTING"] = True
    return app


def close_app(app) -> None:
    store = app.extensions["hpkg"].get("store")
    if store is not None:
        store.close()


def login(client) -> str:
    """Log EDITOR in through the JSON API; returns the session's CSRF token."""
    token = client.get("/api/session").get_json()["csrf_token"]
    response = client.post("/api/login", json={"name": EDITOR, "password": PASSWORD},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 200, response.data
    return response.get_json()["csrf_token"]


def fingerprint(app) -> tuple[int, str]:
    """(quad count, sha256 of the sorted N-Quads export): equal means the store is unchanged."""
    from search_api.resources import get_store

    with app.app_context():
        store = get_store()
        lines = sorted(store.export("nq").splitlines())
        return len(store), hashlib.sha256(b"\n".join(lines)).hexdigest()


def error_message(response) -> str:
    """The error message of a JSON, plain-text or HTML error response."""
    if response.is_json:
        body = response.get_json()
        assert body["ok"] is False and body["status"] == response.status_code, body
        return body["error"]
    if response.mimetype == "text/plain":
        return response.get_data(as_text=True).strip()
    import lxml.html

    page = lxml.html.fromstring(response.get_data(as_text=True))
    return " ".join(page.xpath("string(//main)").split())
