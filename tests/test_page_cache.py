"""Rendered pages kept per store generation (search_api/page_cache.py, kg/generation.py): a page
asked again is not recomputed, and no page outlives a write to the store, whichever process
made it. The two-worker case runs against real gunicorn in tests/test_serving.py."""
from __future__ import annotations

import multiprocessing
import os

import pytest
from rdflib import Literal
from rdflib.namespace import DCTERMS

from kg.generation import GENERATION_FILE, Generation
from kg.index import ensure_index
from kg.store import open_store
from search_api import create_app
from search_api.page_cache import PageCache, cache_enabled
from search_api.resources import get_store
from search_api.serving import ServeError, check_settings
from search_api.settings import load_settings
from tests import ui_sample as s

ORIENTATION = "/orientation/prs-2012-2016/sroms/3.1.5"
PAGES = (ORIENTATION, "/entite/actor/ehpad", "/plan", "/", ORIENTATION + ".json")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = create_app({"data_dir": str(tmp_path_factory.mktemp("page-cache"))})
    with app.app_context():
        s.load_sample(get_store())
        ensure_index(get_store(), app.config["HPKG"])
    yield app
    with app.app_context():
        get_store().close()


def count_calls(monkeypatch, owner, name: str) -> dict:
    """Wraps `owner.name` so that each call is counted in the returned {"n": calls}."""
    counted = {"n": 0}
    original = getattr(owner, name)

    def counting(*args, **kwargs):
        counted["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return counted


@pytest.fixture()
def queries(app, monkeypatch):
    """Counts the SPARQL queries the app's store runs."""
    with app.app_context():
        return count_calls(monkeypatch, get_store(), "query")


def test_a_page_asked_again_runs_no_query(app, queries):
    client = app.test_client()
    for url in PAGES:
        first = client.get(url)
        before = queries["n"]
        again = client.get(url)
        assert again.status_code == first.status_code == 200, url
        assert again.data == first.data and again.content_type == first.content_type, url
        assert queries["n"] == before, f"{url} was recomputed"
    before = queries["n"]
    for url in PAGES:  # pages of every kind, asked in turn, all stay kept
        assert client.get(url).status_code == 200
    assert queries["n"] == before
    assert client.get(ORIENTATION, headers={"Accept": "application/json"}).is_json  # one entry per representation
    assert "Content-Security-Policy" in client.get("/plan").headers  # a kept page still gets every header


def test_a_search_asked_again_is_not_ranked_again_until_the_store_changes(app, monkeypatch):
    import kg.search

    ranked = count_calls(monkeypatch, kg.search, "rank_sections")
    client = app.test_client()
    first = client.get("/api/search?q=coordination+des+SSIAD&k=5").get_json()
    page = client.get("/search?q=coordination+des+SSIAD").text
    again = client.get("/api/search?q=coordination+des+SSIAD&k=5").get_json()
    assert ranked["n"] == 2  # the API (k=5) and the page (k=100) are two answers, each ranked once
    assert again["hits"] == first["hits"] and first["hits"]
    assert again["took_ms"] < 5  # this request's time, not the time the answer first took
    assert client.get("/search?q=coordination+des+SSIAD").text.count("<mark>") == page.count("<mark>") > 0
    assert client.get("/api/search?q=coordination+des+SSIAD&k=3").get_json()["hits"] == first["hits"][:3]
    assert ranked["n"] == 3
    with app.app_context():
        get_store().replace_graph(s.HPID["graph/projects"], s.projects())
    client.get("/api/search?q=coordination+des+SSIAD&k=5")
    assert ranked["n"] == 4


def test_a_sparql_query_asked_again_is_not_run_again_until_the_store_changes(app, monkeypatch):
    import search_api.sparql

    ran = count_calls(monkeypatch, search_api.sparql, "answer_query_limited")
    client = app.test_client()
    titles = "SELECT ?t WHERE { GRAPH ?g { ?s <http://purl.org/dc/terms/title> ?t } } ORDER BY ?t"
    first = client.get("/sparql", query_string={"query": titles}, headers={"Accept": "text/csv"})
    again = client.get("/sparql", query_string={"query": titles}, headers={"Accept": "text/csv"})
    assert first.status_code == again.status_code == 200 and again.data == first.data
    assert again.content_type == first.content_type and ran["n"] == 1
    as_json = client.get("/sparql", query_string={"query": titles}, headers={"Accept": "application/sparql-results+json"})
    assert as_json.is_json and ran["n"] == 2  # another representation is another answer
    clock = "SELECT (NOW() AS ?now) WHERE {}"
    client.get("/sparql", query_string={"query": clock})
    client.get("/sparql", query_string={"query": clock})
    assert ran["n"] == 4  # a query on the clock is never kept
    graph = s.document_a()
    graph.set((s.SEC_315, DCTERMS.title, Literal("Fluidifier les parcours", lang="fr")))
    with app.app_context():
        get_store().replace_graph(s.HPID["graph/doc-a"], graph)
    try:
        after = client.get("/sparql", query_string={"query": titles}, headers={"Accept": "text/csv"})
        assert ran["n"] == 5 and "Fluidifier les parcours" in after.text and "Fluidifier" not in first.text
    finally:
        with app.app_context():
            s.load_sample(get_store())


def test_a_write_through_the_store_shows_at_once(app):
    client = app.test_client()
    assert "Améliorer les parcours de santé" in client.get(ORIENTATION).text
    graph = s.document_a()
    graph.set((s.SEC_315, DCTERMS.title, Literal("Fluidifier les parcours des personnes âgées", lang="fr")))
    with app.app_context():
        get_store().replace_graph(s.HPID["graph/doc-a"], graph)
    try:
        for url in (ORIENTATION, "/plan"):
            assert "Fluidifier les parcours des personnes âgées" in client.get(url).text, url
        with app.app_context():
            get_store().remove_graph(s.HPID["graph/projects"])
        assert "Maison de santé pluriprofessionnelle d'Aubagne" not in client.get(ORIENTATION).text
    finally:
        with app.app_context():
            s.load_sample(get_store())
    assert "Améliorer les parcours de santé" in client.get(ORIENTATION).text


def _bump(data_dir: str) -> None:
    Generation(data_dir).bump()


def test_the_generation_changes_with_every_write_and_is_shared_between_processes(tmp_path):
    with open_store(tmp_path, backend="oxigraph") as store:
        seen = [store.generation.current()]
        store.replace_graph(s.HPID["graph/doc-b"], s.document_b())
        seen.append(store.generation.current())
        (tmp_path / "extra.ttl").write_text(
            "<https://w3id.org/healthpolicy-kg/id/x> <http://purl.org/dc/terms/title> \"x\" .\n", encoding="utf-8")
        store.load_file(tmp_path / "extra.ttl", s.HPID["graph/extra"])
        seen.append(store.generation.current())
        store.remove_graph(s.HPID["graph/extra"])
        seen.append(store.generation.current())
        with pytest.raises(Exception):
            store.load_file(tmp_path / "missing.ttl", s.HPID["graph/extra"])  # failed: a change all the same
        seen.append(store.generation.current())
        assert len(set(seen)) == len(seen) and None not in seen
        other = Generation(tmp_path)  # what another process reading the data dir sees
        assert other.current() == store.generation.current()
        process = multiprocessing.get_context("spawn").Process(target=_bump, args=(str(tmp_path),))
        process.start()
        process.join(60)
        assert process.exitcode == 0
        assert store.generation.current() not in seen


def test_a_token_that_cannot_be_replaced_is_removed(tmp_path, monkeypatch):
    generation = Generation(tmp_path)
    old = generation.current()
    assert (tmp_path / GENERATION_FILE).read_text() == old

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    generation.bump()
    assert not (tmp_path / GENERATION_FILE).exists()  # what was kept under `old` is unreachable
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file left either
    monkeypatch.undo()
    assert generation.current() not in (None, old)  # the next reader starts a fresh token


def test_kept_values_are_bounded_in_bytes_and_belong_to_one_generation():
    cache = PageCache(max_bytes=10)
    assert cache.get("t1", "a") is None
    cache.put("t1", "a", "A", 5)
    cache.put("t1", "b", "B", 5)
    assert cache.get("t1", "a") == "A"  # a is now the most recently used
    cache.put("t1", "c", "C", 3)
    assert cache.get("t1", "b") is None and cache.get("t1", "a") == "A" and len(cache) == 2
    cache.put("t1", "big", "BIG", 11)
    assert cache.get("t1", "big") is None
    assert cache.get("t2", "a") is None and len(cache) == 0  # a new generation empties it
    cache.put("t1", "a", "A", 1)  # computed under a generation that has passed
    assert cache.get("t2", "a") is None


def test_the_cache_is_off_for_a_store_others_may_write(tmp_path):
    assert cache_enabled(load_settings({"store": "oxigraph"}))
    assert not cache_enabled(load_settings({"store": "http://localhost:8890/sparql"}))
    assert cache_enabled(load_settings({"store": "http://localhost:8890/sparql", "page_cache": "on"}))
    assert not cache_enabled(load_settings({"page_cache": "off"}))
    with pytest.raises(ServeError, match="HPKG_PAGE_CACHE"):
        check_settings(load_settings({"page_cache": "sometimes"}))
    app = create_app({"data_dir": str(tmp_path), "page_cache_mb": 0})
    assert "hpkg_pages" not in app.extensions
