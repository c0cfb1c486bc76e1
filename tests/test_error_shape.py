"""One JSON error shape on every error path: `{"ok": false, "status", "error", "errors"}`
(after datasette's tests/test_error_shape.py). Every status the app answers with JSON is walked,
raised by the real code path that gives it (kg errors, werkzeug errors, the SPARQL endpoint)."""
from __future__ import annotations

import socket

import pytest

from kg.projects import Projects
from kg.store import open_store
from search_api import create_app
from tests.test_link_web import PASSWORD, make_data_dir


def assert_canonical_error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"ok", "status", "error", "errors"}, body
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"].strip()
    assert isinstance(body["errors"], list) and body["errors"] and all(isinstance(e, str) for e in body["errors"])
    return body


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = make_data_dir(tmp_path_factory.mktemp("errors"))
    with open_store(path) as store:  # a project edited once: version 1 is stale
        projects = Projects(store)
        project = projects.create({"title": "Maison de santé", "territories": "84"}, "alice")
        projects.update(project.id, {"promoter": "Association A"}, 1, "alice")
    return path, project.id


@pytest.fixture
def client(data_dir):
    app = create_app({"data_dir": str(data_dir[0]), "secret_key": "shape", "max_body_kb": 4,
                      "login_attempts_per_minute": 1})
    with app.test_client() as client:
        yield client
    store = app.extensions["hpkg"].get("store")
    if store is not None:
        store.close()


def _token(client) -> str:
    return client.get("/api/session").get_json()["csrf_token"]


def _login(client) -> str:
    response = client.post("/api/login", json={"name": "alice", "password": PASSWORD},
                           headers={"X-CSRF-Token": _token(client)})
    assert response.status_code == 200
    return response.get_json()["csrf_token"]


JSON = {"Accept": "application/json"}


def test_400_bad_parameter(client):
    body = assert_canonical_error(client.get("/api/search?q=x&k=zero"), 400)
    assert body["error"].startswith("k: ")


def test_400_lists_each_field(client):
    token = _login(client)
    body = assert_canonical_error(client.post("/api/projects", json={"title": ""}, headers={"X-CSRF-Token": token}), 400)
    assert any(e.startswith("titre") for e in body["errors"]), body


def test_401_not_logged_in(client):
    assert_canonical_error(client.post("/api/projects", json={"title": "X"}, headers={"X-CSRF-Token": _token(client)}), 401)


def test_403_without_csrf_token(client):
    body = assert_canonical_error(client.post("/api/login", json={"name": "alice", "password": PASSWORD}), 403)
    assert "CSRF" in body["error"]


def test_404_unknown_project_and_route(client):
    assert "introuvable" in assert_canonical_error(client.get("/api/projects/nowhere"), 404)["error"]
    assert_canonical_error(client.get("/api/nowhere"), 404)


def test_405_wrong_method(client):
    assert_canonical_error(client.get("/api/login"), 405)


def test_409_stale_version(client, data_dir):
    token = _login(client)
    response = client.patch(f"/api/projects/{data_dir[1]}", json={"promoter": "B", "version": 1},
                            headers={"X-CSRF-Token": token})
    assert "version 2, vous aviez la version 1" in assert_canonical_error(response, 409)["error"]


def test_413_body_over_the_limit(client):
    body = assert_canonical_error(client.post("/api/link", json={"text": "x" * 5000}), 413)
    assert "max_body_kb" in body["error"]


def test_429_too_many_failed_logins(client):
    token = _token(client)
    wrong = {"name": "bob", "password": "faux"}
    assert_canonical_error(client.post("/api/login", json=wrong, headers={"X-CSRF-Token": token}), 401)
    body = assert_canonical_error(client.post("/api/login", json=wrong, headers={"X-CSRF-Token": token}), 429)
    assert "Trop de tentatives" in body["error"]


@pytest.mark.parametrize("request_args, status", [
    ({"path": "/sparql?query=ASK%20%7B"}, 400),
    ({"path": "/sparql?update=CLEAR%20ALL"}, 403),
    ({"path": "/sparql?query=ASK%7B%7D", "method": "PUT"}, 405),
    ({"path": "/sparql?query=ASK%7B%7D&format=nope"}, 406),
    ({"path": "/sparql", "method": "POST", "data": "ASK {}", "content_type": "text/x-nope"}, 415),
], ids=["400", "403", "405", "406", "415"])
def test_sparql_errors_for_json_clients(client, request_args, status):
    assert_canonical_error(client.open(headers=JSON, **request_args), status)


def test_sparql_405_keeps_the_allow_header(client):
    response = client.open("/sparql?query=ASK%7B%7D", method="PUT", headers=JSON)
    assert response.headers["Allow"] == "GET, POST, OPTIONS"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_503_store_unreachable(tmp_path):
    app = create_app({"data_dir": str(tmp_path), "secret_key": "shape",
                      "store": f"http://127.0.0.1:{_closed_port()}/query"})
    body = assert_canonical_error(app.test_client().get("/api/projects"), 503)
    assert "stockage des données est momentanément indisponible" in body["error"]


def test_ingest_errors_belong_to_the_one_hierarchy_and_survive_a_pipe():
    import pickle

    from ingest.errors import IngestError
    from ontology.errors import BadInput
    from search_api.handlers import status_of

    error = IngestError("corpus/x.txt", "cannot parse page:\n  bad\tbytes")
    assert isinstance(error, BadInput) and status_of(error) == 400
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), again.path, again.reason, str(again)) == (
        IngestError, "corpus/x.txt", "cannot parse page: bad bytes", "corpus/x.txt: cannot parse page: bad bytes")
