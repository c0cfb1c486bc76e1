"""Oversized and malformed bodies: every route that takes a body refuses one over max_body_kb
with 413 and a message naming the limit, before any work (nothing stored); a chunked body is cut
at the same limit; JSON nested too deeply is a 400; a long or deeply nested SPARQL query is a
400 or stopped at the time limit (503), never a 500 nor a hung thread; over-long query strings
and headers get 4xx from the server."""
from __future__ import annotations

import io
import socket
import time

import pytest

from tests.hostile_support import INVENTORY, close_app, error_message, fingerprint, login, make_app
from tests.sparql_support import LiveServer

LIMIT_KB = 8
TIMEOUT_S = 3.0
WRITE_METHODS = ("POST", "PUT", "PATCH")


@pytest.fixture(scope="module")
def app(ingested, tmp_path_factory):
    app = make_app(ingested, tmp_path_factory.mktemp("hostile-bodies"), max_body_kb=LIMIT_KB,
                   sparql_timeout_s=TIMEOUT_S)
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def client(app):
    client = app.test_client()
    client.token = login(client)
    created = client.post("/api/projects", json={"title": "Projet témoin"}, headers={"X-CSRF-Token": client.token})
    assert created.status_code == 201
    client.project_id = created.get_json()["id"]
    return client


def _body_routes() -> list[tuple[str, str]]:
    return [(rule, method) for rule, entry in INVENTORY.items() for method in sorted(entry["methods"])
            if method in WRITE_METHODS]


@pytest.mark.parametrize("kind", ["json", "form", "multipart", "raw"])
def test_every_body_over_the_limit_is_413_and_nothing_is_stored(app, client, kind):
    big = "x" * (LIMIT_KB * 1024 + 100)
    before = fingerprint(app)
    routes = _body_routes()
    assert len(routes) >= 15
    for rule, method in routes:
        url = rule.replace("<project_id>", client.project_id)
        headers = {"X-CSRF-Token": client.token}
        if kind == "json":
            kwargs = {"json": {"title": big, "text": big, "name": big, "query": big}}
        elif kind == "form":
            kwargs = {"data": {"csrf_token": client.token, "title": big, "query": big}}
        elif kind == "multipart":
            kwargs = {"data": {"csrf_token": client.token, "file": (io.BytesIO(("title\n" + big).encode()), "p.csv")},
                      "content_type": "multipart/form-data"}
        else:
            kwargs = {"data": ("title\n" + big).encode(), "content_type": "text/csv"}
        response = client.open(url, method=method, headers=headers, **kwargs)
        assert response.status_code == 413, (rule, method, kind, response.status_code)
        message = error_message(response)
        if rule == "/sparql":
            assert message == f"request body too large: the limit is {LIMIT_KB} KB", message
        else:
            assert f"dépasse la limite de {LIMIT_KB} Ko" in message and "max_body_kb" in message, (rule, message)
    assert fingerprint(app) == before
    assert client.get(f"/api/projects/{client.project_id}").get_json()["title"] == "Projet témoin"


def test_chunked_body_over_the_limit_is_cut(app):
    """No Content-Length to check first: werkzeug stops reading at the limit."""
    with LiveServer(app) as live:
        port = int(live.url.rsplit(":", 1)[1])
        chunk = b'{"text": "' + b"x" * (LIMIT_KB * 1024 * 2) + b'"}'
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"POST /api/link HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                         + f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data and (part := sock.recv(65536)):
                data += part
    assert data.split(b"\r\n", 1)[0].split()[1] == b"413", data[:300]


@pytest.mark.parametrize("url", ["/api/link", "/api/login", "/api/projects"])
def test_json_nested_very_deep_is_400(client, url):
    deep = b"[" * 3000 + b"]" * 3000  # under the size limit, over Python's recursion limit
    response = client.post(url, data=deep, content_type="application/json", headers={"X-CSRF-Token": client.token})
    assert response.status_code == 400, response.data
    assert response.get_json()["error"] == "corps de la requête : JSON imbriqué trop profondément"


@pytest.mark.parametrize("body", [b"[]", b'"texte"', b"null", b"{", b"1e400", b'{"a": NaN}'])
def test_json_of_the_wrong_shape_is_400(client, body):
    for url in ("/api/link", "/api/login", "/api/projects", f"/api/projects/{client.project_id}/links"):
        response = client.post(url, data=body, content_type="application/json", headers={"X-CSRF-Token": client.token})
        assert response.status_code in (400, 401, 429), (url, body, response.status_code)  # 429: login rate limit
        assert response.get_json()["error"], (url, body)


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { " + "{ " * 300 + "?s ?p ?o" + " }" * 300 + " }",
    "ASK { FILTER(" + "(" * 2000 + "true" + ")" * 2000 + ") }",
    "SELECT * WHERE { ?s ?p ?o } ORDER BY " + "(" * 500 + "?s" + ")" * 500,
])
def test_deeply_nested_sparql_is_400(client, query):
    response = client.post("/sparql", data={"query": query})
    assert response.status_code == 400
    assert "nested too deeply" in response.get_data(as_text=True)


def test_long_sparql_text_is_parsed_under_the_time_limit(app, client):
    """A 7 KB query (a long IN list: rdflib parses it in seconds) is parsed in the killable
    worker: stopped at the time limit, while the server answers other requests."""
    items = ",".join(f'"{i}"' for i in range(1200))
    query = f"SELECT * WHERE {{ ?s ?p ?o FILTER(?o IN ({items})) }} LIMIT 1"
    assert LIMIT_KB * 1024 > len(query) > 2048
    started = time.monotonic()
    response = client.post("/sparql", data=query.encode(), content_type="application/sparql-query")
    seconds = time.monotonic() - started
    assert response.status_code in (200, 503), response.data[:200]
    assert seconds < TIMEOUT_S + 5
    if response.status_code == 503:
        assert "stopped after" in response.get_data(as_text=True)


def test_long_query_strings_are_4xx(client):
    long = "santé " * 5000
    for url in ("/search", "/api/search"):
        response = client.get(url, query_string={"q": long[:30000]})
        assert response.status_code == 400, (url, response.status_code)
    huge_iri = "http://e/" + "a" * 60000
    for url in ("/entite", "/orientation", "/axe", "/api/axis"):
        response = client.get(url, query_string={"iri": huge_iri})
        assert response.status_code in (400, 404), (url, response.status_code)
    response = client.get("/sparql", query_string={"query": "ASK {}" + " " * 60000})
    assert response.status_code == 200


def _raw(url: str, request: bytes) -> int:
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        try:
            while part := sock.recv(65536):
                data += part
        except ConnectionResetError:
            pass
    return int(data.split(b"\r\n", 1)[0].split()[1])


def test_huge_request_line_and_headers_over_real_http(app):
    with LiveServer(app) as live:
        line = _raw(live.url, b"GET /search?q=" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        header = _raw(live.url, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\nConnection: close\r\n\r\n")
        many = _raw(live.url, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200))
                    + b"Connection: close\r\n\r\n")
        accept = _raw(live.url, b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nAccept: " + b"a/b;q=0.1," * 5000
                      + b"\r\nConnection: close\r\n\r\n")
    assert line == 414 and header == 431 and many == 431
    assert accept in (400, 406, 200)
