"""Production mode against real gunicorn: `hpkg serve --production --workers 2` as a subprocess
over a copy of the ingested corpus (so an `oxigraph serve` child holds the store): health, two
workers, the main routes, one JSON log line per request, slow clients cut off without blocking
others, and nothing left running after SIGTERM. Then an unreachable store (503), the dev server,
and the session key created once by racing processes."""
from __future__ import annotations

import json
import multiprocessing
import socket
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from kg.users import UserStore

from search_api.serving import free_port
from tests.browser_support import copy_data_dir
from tests.serving_support import Server, alive, get, slow_client

pytestmark = pytest.mark.slow
REQUEST_TIMEOUT_S = 3  # HPKG_REQUEST_TIMEOUT_S of the production server: slow clients are cut at 3 s
REQUEST_FIELDS = {"ts", "level", "event", "request_id", "method", "path", "status", "duration_ms",
                  "remote_addr", "bytes", "worker_pid"}


@pytest.fixture(scope="module")
def production(ingested, tmp_path_factory):
    """2 workers x 2 threads (4 threads in all, fewer than the slow clients below)."""
    data_dir = copy_data_dir(ingested, tmp_path_factory.mktemp("serving"))
    server = Server(data_dir, "--production", "--workers", "2", "--threads", "2",
                    env={"HPKG_REQUEST_TIMEOUT_S": str(REQUEST_TIMEOUT_S), "HPKG_LOG_FORMAT": "json"})
    server.start()
    server.data_dir = data_dir
    yield server
    server.stop()


def _health(server) -> dict:
    status, headers, body = get(server.url + "/health")
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    return json.loads(body)


def test_health_reports_store_index_version_and_worker(production):
    payload = _health(production)
    assert payload["status"] == "ok"
    assert payload["version"] == "0.1.0"
    assert payload["store"]["backend"] == "remote"  # two workers: the oxigraph server holds the store
    assert payload["store"]["triples"] > 1000
    index = payload["index"]
    assert index["passages"] > 0 and index["embedding_model"] == "e5-small"
    assert index["built_at"].endswith("Z")
    assert payload["pid"] in production.children()
    assert payload["uptime_s"] >= 0
    status, headers, body = get(production.url + "/health", method="HEAD")
    assert (status, body) == (200, b"")
    assert (Path(production.data_dir) / "secret_key").read_text().strip()  # made once, by the master


def test_two_worker_processes_answer(production):
    pids: set[int] = set()

    def ask():
        pids.add(_health(production)["pid"])

    deadline = time.monotonic() + 30  # a worker still booting on a loaded machine answers later
    while time.monotonic() < deadline:  # concurrent requests: the workers race to accept them
        threads = [threading.Thread(target=ask) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if len(pids) == 2:
            break
    children = production.children()
    assert len(pids) == 2 and pids <= set(children), (pids, children)
    assert "oxigraph" in children.values()


def test_search_orientation_page_and_sparql_answer(production):
    query = urllib.parse.urlencode({"q": "accès aux soins de premier recours", "k": 3})
    status, _, body = get(f"{production.url}/api/search?{query}")
    assert status == 200
    hits = json.loads(body)["hits"]
    assert hits and {"rank", "score", "iri", "doc", "section", "title", "breadcrumb"} <= set(hits[0])
    section = hits[0]["iri"].removeprefix("https://w3id.org/healthpolicy-kg/id/section/")
    status, headers, body = get(f"{production.url}/orientation/{section}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert hits[0]["title"].split()[0] in body.decode()
    sparql = urllib.parse.urlencode({"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/healthpolicy-kg/ontology#Section> }"})
    status, _, body = get(f"{production.url}/sparql?{sparql}", headers={"Accept": "application/sparql-results+json"})
    assert status == 200
    assert int(json.loads(body)["results"]["bindings"][0]["n"]["value"]) > 0


def test_a_write_through_one_worker_shows_on_the_pages_every_worker_kept(production):
    """Each worker keeps rendered pages (search_api/page_cache.py): a project linked to an
    orientation through one worker shows on that orientation's page at once, from both."""
    UserStore(production.data_dir).add("claire", "mot de passe solide", role="editor")
    query = urllib.parse.urlencode({"q": "convergence tarifaire", "k": 1})
    section = json.loads(get(f"{production.url}/api/search?{query}")[2])["hits"][0]["iri"]
    page = f"{production.url}/orientation/{section.removeprefix('https://w3id.org/healthpolicy-kg/id/section/')}"

    def served_by_both(check) -> set[int]:
        """Asks the page until both workers answered it (each answer passes `check`)."""
        pids: set[int] = set()
        deadline = time.monotonic() + 60
        while len(pids) < 2 and time.monotonic() < deadline:
            ids = [f"page-cache-{time.monotonic_ns()}-{i}" for i in range(6)]
            answers = {}
            threads = [threading.Thread(target=lambda i=i: answers.__setitem__(i, get(page, headers={"X-Request-ID": i})))
                       for i in ids]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for status, _, body in answers.values():
                assert status == 200 and check(body.decode())
            time.sleep(0.3)  # the access line is written once the response is sent
            pids |= {r["worker_pid"] for r in production.log_records() if r.get("request_id") in ids}
        return pids

    title = "Observatoire des coûts des EHPAD varois"
    assert len(served_by_both(lambda html: title not in html)) == 2  # kept by both workers now
    editor = requests.Session()
    token = editor.get(production.url + "/api/session", timeout=30).json()["csrf_token"]
    answer = editor.post(production.url + "/api/login", json={"name": "claire", "password": "mot de passe solide"},
                         headers={"X-CSRF-Token": token}, timeout=30)
    token = answer.json()["csrf_token"]
    project = editor.post(production.url + "/api/projects", json={"title": title, "description": "Suivi des tarifs."},
                          headers={"X-CSRF-Token": token}, timeout=60).json()
    answer = editor.post(f"{production.url}/api/projects/{project['id']}/links",
                         json={"section": section, "status": "confirmed"}, headers={"X-CSRF-Token": token}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert len(served_by_both(lambda html: title in html)) == 2


def test_each_log_line_is_json_and_each_request_is_logged_once(production):
    status, headers, _ = get(production.url + "/health", headers={"X-Request-ID": "test-serving-1"})
    assert headers["X-Request-ID"] == "test-serving-1"
    _, headers, _ = get(production.url + "/health", headers={"X-Request-ID": "bad id\u00e9<script>"})
    generated = headers["X-Request-ID"]
    assert generated != "bad id\u00e9<script>" and len(generated) == 32
    get(production.url + "/connexion?user=a&password=hunter2-secret", headers={"Cookie": "session=cookie-secret"})
    get(production.url + "/nowhere?q=1")
    deadline = time.monotonic() + 10  # the line is written once the response is sent
    while '"path": "/nowhere"' not in production.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    records = production.log_records()  # raises on a line that is not JSON
    assert all({"ts", "level", "event", "pid"} <= set(r) for r in records)
    requests = [r for r in records if r["event"] == "request"]
    assert all(REQUEST_FIELDS <= set(r) for r in requests)
    mine = [r for r in requests if r["request_id"] == "test-serving-1"]
    assert len(mine) == 1
    assert mine[0]["method"] == "GET" and mine[0]["path"] == "/health" and mine[0]["status"] == 200
    assert mine[0]["bytes"] > 0 and mine[0]["remote_addr"] == "127.0.0.1"
    assert [r["status"] for r in requests if r["request_id"] == generated] == [200]
    assert any(r["path"] == "/nowhere" and r["status"] == 404 and r["query"] == "q=1" for r in requests)
    login = [r for r in requests if r["path"] == "/connexion"]
    assert login and "query" not in login[0]
    text = production.log_text()
    assert "hunter2-secret" not in text and "cookie-secret" not in text
    assert any(r.get("logger") == "gunicorn.error" and "Booting worker" in r.get("message", "") for r in records)


def test_slow_clients_are_cut_off_without_blocking_others(production):
    """Six clients trickle a request head one byte every 0.3 s and two stall in their body: more
    than the 4 threads there are. A normal request is answered meanwhile; each slow one gets
    408 and is closed after HPKG_REQUEST_TIMEOUT_S, not kept."""
    head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    results: dict[int, tuple[float, bytes]] = {}
    closed_at: dict[int, float] = {}

    def run(i, payload, rest):
        results[i] = slow_client(production.port, payload, rest, limit_s=REQUEST_TIMEOUT_S * 5)
        closed_at[i] = time.monotonic()

    clients = [threading.Thread(target=run, args=(i, b"G", head[1:] + b"X-Pad: " + b"a" * 200)) for i in range(6)]
    body_head = b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n" + b"q" * 10
    clients += [threading.Thread(target=run, args=(i, body_head, b"")) for i in range(6, 8)]
    for client in clients:
        client.start()
    time.sleep(1)
    status, _, _ = get(production.url + "/health", timeout=REQUEST_TIMEOUT_S * 5)
    answered_at = time.monotonic()
    for client in clients:
        client.join()
    assert status == 200
    assert answered_at < min(closed_at.values()), "the normal request waited for the slow clients"
    for elapsed, answer in results.values():
        assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
        assert REQUEST_TIMEOUT_S - 0.5 < elapsed < REQUEST_TIMEOUT_S * 3
    assert sum(r["event"] == "slow_client" for r in production.log_records()) >= 8


def test_keep_alive_pipelining_and_bodies_still_work(production):
    """Requests received by the event loop: pipelined, kept alive, with a body sent in two
    parts, and a body over max_body_kb refused without being read."""
    health = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    form = b"query=" + urllib.parse.quote_plus("ASK { ?s ?p ?o }").encode()
    post_head = (b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/sparql-results+json\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(form))
    with socket.create_connection(("127.0.0.1", production.port), timeout=30) as sock:
        stream = sock.makefile("rb")
        sock.sendall(health + health)
        assert [read_response(stream)[0] for _ in range(2)] == [200, 200]
        sock.sendall(post_head + form[:5])
        time.sleep(0.5)
        sock.sendall(form[5:])
        status, body = read_response(stream)
        assert status == 200 and json.loads(body)["boolean"] is True
        time.sleep(0.5)  # idle on the kept-alive connection, then one more request
        sock.sendall(health)
        assert read_response(stream)[0] == 200
    with socket.create_connection(("127.0.0.1", production.port), timeout=30) as sock:
        sock.sendall(post_head.replace(b"%d" % len(form), b"%d" % (600 * 1024)))
        assert read_response(sock.makefile("rb"))[0] == 413


def read_response(stream) -> tuple[int, bytes]:
    """(status, body) of one HTTP/1.1 response with a Content-Length, read from `stream`."""
    status = int(stream.readline().split()[1])
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, stream.read(length)


def test_sigterm_stops_workers_and_the_oxigraph_server(production):
    """Last of the module's production tests: it stops the server."""
    from kg.store import open_store

    children = production.children()
    assert len(children) == 3, children  # 2 workers + oxigraph
    assert production.stop() == 0
    assert not [pid for pid in children if alive(pid)], "left running after SIGTERM"
    with open_store(production.data_dir) as store:  # the store's lock was released
        assert len(store) > 1000


def test_unreachable_store_gives_503_naming_the_store(ingested, tmp_path):
    data_dir = copy_data_dir(ingested, tmp_path)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    server = Server(data_dir, "--production", "--workers", "1", env={"HPKG_STORE": dead})
    try:
        server.start()
        status, _, body = get(server.url + "/health")
        payload = json.loads(body)
        assert status == 503 and payload["status"] == "error"
        assert payload["reason"].startswith("store unreachable")
        assert "index" not in payload["reason"] and payload["index"]["passages"] > 0
        assert dead not in body.decode()  # the server's address stays in the log
        assert server.children() and "oxigraph" not in server.children().values()
    finally:
        assert server.stop() == 0


def test_dev_server_keeps_the_design_contract_and_logs_text(ingested, tmp_path):
    data_dir = copy_data_dir(ingested, tmp_path)
    server = Server(data_dir, "--host", "127.0.0.1", env={"HPKG_LOG_FORMAT": "text"})
    try:
        server.start()
        status, headers, body = get(server.url + "/health", headers={"X-Request-ID": "dev-1"})
        assert status == 200 and json.loads(body)["store"]["backend"] == "oxigraph"
        assert headers["X-Request-ID"] == "dev-1"
        deadline = time.monotonic() + 10  # the line is written once the response is sent
        while "request_id=dev-1" not in server.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
    lines = [line for line in server.log_text().splitlines() if "request_id=dev-1" in line]
    assert len(lines) == 1 and " request " in lines[0] and "status=200" in lines[0], lines


def test_workers_and_threads_need_production():
    from search_api.cli import main

    result = CliRunner().invoke(main, ["serve", "--workers", "2"])
    assert result.exit_code == 2 and "--workers and --threads need --production" in result.output


def _secret(data_dir, barrier, queue):
    from search_api.resources import stored_secret

    barrier.wait()
    queue.put(stored_secret(Path(data_dir)))


def test_session_key_is_created_once_by_racing_processes(tmp_path):
    context = multiprocessing.get_context("fork")
    barrier, queue = context.Barrier(6), context.Queue()
    processes = [context.Process(target=_secret, args=(str(tmp_path), barrier, queue)) for _ in range(6)]
    for process in processes:
        process.start()
    keys = {queue.get(timeout=30) for _ in processes}
    for process in processes:
        process.join(timeout=30)
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".secret_key.lock", "secret_key"]  # no temporary file


def test_an_unhandled_error_is_logged_with_its_request_id_and_traceback(tmp_path):
    import io
    import logging

    from search_api import create_app
    from search_api.logs import JsonFormatter, RequestIdFilter

    app = create_app({"data_dir": str(tmp_path), "store": "memory", "secret_key": "k"})

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    app.logger.addHandler(handler)
    try:
        response = app.test_client().get("/boom", headers={"X-Request-ID": "err-1", "Accept": "application/json"})
    finally:
        app.logger.removeHandler(handler)
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "err-1"
    assert response.get_json()["error"] == "Une erreur inattendue est survenue."  # no traceback to the client
    (record,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert record["event"] == "error" and record["level"] == "error" and record["request_id"] == "err-1"
    assert record["message"] == "unhandled error on GET /boom"
    assert record["error"] == "RuntimeError: kaput" and 'raise RuntimeError("kaput")' in record["traceback"]
