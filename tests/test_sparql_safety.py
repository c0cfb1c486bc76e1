"""Safety of the public endpoint over real HTTP: a long query is stopped at the time limit while
other requests are served; SERVICE and remote FROM IRIs never open a connection (measured by a
local listener, which also catches connections made by Oxigraph's native HTTP client)."""
from __future__ import annotations

import threading
import time
from urllib.parse import quote

import pyoxigraph
import pytest
import requests

from kg.sparql_exec import answer_query
from tests.sparql_support import Listener, LiveServer, child_pids, close_app, make_app

TIMEOUT_S = 3.0
# A four-way cross product of ~100 triples: 10^8 solutions to count, far beyond the limit.
LONG_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("safety"), sparql_timeout_s=TIMEOUT_S)
    with LiveServer(app) as live:
        yield live
    close_app(app)


def test_long_query_is_stopped_while_other_requests_are_served(server):
    outcome = {}
    before = set(child_pids())  # other fixtures of the session may own processes too

    def long_request():
        started = time.monotonic()
        response = requests.post(server.url + "/sparql", data={"query": LONG_QUERY}, timeout=30)
        outcome["status"], outcome["body"] = response.status_code, response.text
        outcome["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=long_request)
    worker.start()
    deadline = time.monotonic() + 1.5
    while not set(child_pids()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(child_pids()) - before, "the long query should be running in a worker process"
    started = time.monotonic()
    quick = requests.get(server.url + "/sparql", params={"query": "ASK { ?s a hpo:Plan }"}, timeout=10)
    quick_seconds = time.monotonic() - started
    assert quick.status_code == 200 and quick.json()["boolean"] is True
    assert quick_seconds < 1.0
    assert "status" not in outcome, "the quick request must not wait for the long one"
    worker.join(timeout=30)

    assert outcome["status"] == 503
    assert TIMEOUT_S <= outcome["seconds"] < TIMEOUT_S + 2.0
    assert outcome["body"] == (f"the query was stopped after {TIMEOUT_S:g} s (time limit of this endpoint); "
                               "narrow it down or add a LIMIT\n")
    assert set(child_pids()) - before == set(), "the worker must be killed and reaped, not left computing"


def test_workers_are_reaped_after_normal_answers(server):
    before = set(child_pids())
    for _ in range(3):
        assert requests.get(server.url + "/sparql", params={"query": "ASK {}"}, timeout=10).status_code == 200
    assert set(child_pids()) - before == set()


def test_worker_memory_is_capped():
    import os

    from kg.sparql_exec import _cap_memory

    pid = os.fork()
    if pid == 0:  # a worker may grow by 50 MB, not by 200 MB
        code = 4  # exit codes: 0 as expected, 2 no limit, 3 limit too tight, 4 crash
        try:
            _cap_memory(50 * 1024**2)
            small = bytearray(10 * 1024**2)
            try:
                bytearray(200 * 1024**2)
                code = 2
            except MemoryError:
                code = 0 if small else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_listener_sees_a_connection_when_one_is_made():
    # Control for the tests below: Oxigraph's own SERVICE client does reach the listener.
    with Listener() as listener:
        with pytest.raises(OSError):
            list(pyoxigraph.Store().query(f"SELECT * {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"))
        time.sleep(0.3)
    assert listener.connections >= 1


@pytest.mark.parametrize("template", [
    "SELECT * {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT * {{ ?s rdfs:label ?l SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ BIND(<{url}> AS ?ep) SERVICE ?ep {{ ?s ?p ?o }} }}",
], ids=["service", "silent", "after-hash-prefix", "variable"])
def test_service_is_refused_without_any_connection(server, template):
    with Listener() as listener:
        response = requests.get(server.url + "/sparql", params={"query": template.format(url=listener.url)},
                                timeout=10)
        time.sleep(0.3)
    assert response.status_code == 403
    assert "SERVICE is not allowed" in response.text
    assert listener.connections == 0


@pytest.mark.parametrize("template", [
    "SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
    "SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
    "CONSTRUCT {{ ?s ?p ?o }} FROM <{url}> WHERE {{ ?s ?p ?o }}",
], ids=["from", "from-named", "construct-from"])
def test_remote_from_is_a_local_graph_name(server, template):
    with Listener() as listener:
        response = requests.get(server.url + "/sparql", params={"query": template.format(url=listener.url)},
                                headers={"Accept": "application/sparql-results+json, text/turtle"}, timeout=10)
        time.sleep(0.3)
    assert response.status_code == 200, response.text
    assert listener.connections == 0
    if response.headers["Content-Type"].startswith("application/sparql-results+json"):
        assert response.json()["results"]["bindings"] == []  # no such local graph: empty


def test_remote_from_on_the_rdflib_memory_store_in_process(tmp_path):
    """rdflib fetches FROM IRIs from the web by default; answer_query must stop it even without
    the worker's network guard (in-process, as `hpkg sparql` runs)."""
    app = make_app(tmp_path, store="memory")
    try:
        from search_api.resources import get_store

        with app.app_context(), Listener() as listener:
            store = get_store()
            answer = answer_query(store, f"SELECT * FROM <{listener.url}> WHERE {{ ?s ?p ?o }}", fmt="json")
            named = answer_query(store, f"ASK FROM NAMED <{listener.url}> {{ GRAPH ?g {{ ?s ?p ?o }} }}", fmt="json")
            time.sleep(0.3)
        assert listener.connections == 0
        assert b'"bindings": []' in answer.body and b'"boolean": false' in named.body
    finally:
        close_app(app)


def test_remote_from_on_the_memory_store_over_http(tmp_path):
    app = make_app(tmp_path, store="memory")
    try:
        with LiveServer(app) as live, Listener() as listener:
            query = f"SELECT ?s FROM <{listener.url}> WHERE {{ ?s ?p ?o }}"
            response = requests.get(live.url + "/sparql?query=" + quote(query), timeout=10)
            time.sleep(0.3)
        assert response.status_code == 200 and response.json()["results"]["bindings"] == []
        assert listener.connections == 0
    finally:
        close_app(app)


def test_queries_parsed_by_many_threads_at_once_all_parse():
    """rdflib's parser is not thread-safe (under load, threads failed with pyparsing TypeErrors):
    distinct texts (no cache hit) parsed by 8 threads at once must each give their QueryInfo."""
    from concurrent.futures import ThreadPoolExecutor

    from kg.queries import analyst_queries
    from kg.sparql_exec import inspect_query

    texts = [f"{q.text.rstrip()}\nLIMIT {n}" for n in range(1000, 1006)
             for q in analyst_queries() if "LIMIT" not in q.text]
    with ThreadPoolExecutor(8) as pool:
        forms = list(pool.map(lambda text: inspect_query(text).form, texts))
    assert len(forms) == len(texts) > 40
    assert set(forms) <= {"SELECT", "CONSTRUCT", "ASK", "DESCRIBE"}
