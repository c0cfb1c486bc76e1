"""A request never builds the search index: it serves the saved one, else the last good one
(reported stale by /health), else 503. `hpkg ingest` and `hpkg serve`'s start-up build it."""
from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kg.index import ensure_index, index_dir
from search_api import create_app
from search_api.resources import get_encoder, get_store
from tests import ui_sample

QUERY = {"q": "infirmiers libéraux et SSIAD"}


@pytest.fixture()
def app(tmp_path):
    app = create_app({"data_dir": str(tmp_path / "data")})
    with app.app_context():
        ui_sample.load_sample(get_store())
    yield app
    with app.app_context():
        get_store().close()


def test_no_index_is_a_503_and_the_request_builds_none(app):
    client = app.test_client()
    response = client.get("/api/search", query_string=QUERY)
    assert response.status_code == 503
    body = response.get_json()
    assert body["ok"] is False and "search index unavailable" in body["error"]
    assert not index_dir(app.config["HPKG"]).exists()  # nothing was built inside the request
    assert client.get("/health").get_json()["status"] == "error"


def test_a_damaged_index_is_served_from_the_last_good_one_and_reported_stale(app):
    client = app.test_client()
    with app.app_context():
        ensure_index(get_store(), app.config["HPKG"])
    first = client.get("/api/search", query_string=QUERY).get_json()
    assert first["hits"] and client.get("/health").get_json()["index"]["stale"] is False

    shutil.rmtree(index_dir(app.config["HPKG"]) / "bm25")  # damaged on disk under a running app
    again = client.get("/api/search", query_string=QUERY).get_json()
    assert [h["iri"] for h in again["hits"]] == [h["iri"] for h in first["hits"]]
    assert not (index_dir(app.config["HPKG"]) / "bm25").exists()  # still not rebuilt by a request
    assert client.get("/health").get_json()["index"]["stale"] is True  # the last good one is served


def test_an_ingest_in_progress_marks_the_served_index_stale(app):
    client = app.test_client()
    settings = app.config["HPKG"]
    with app.app_context():
        ensure_index(get_store(), settings)
    (index_dir(settings).parent / "index.stale").write_text("1")  # what an ingest writes first
    assert client.get("/api/search", query_string=QUERY).get_json()["hits"]
    assert client.get("/health").get_json()["index"]["stale"] is True


def test_the_app_owns_its_query_encoder_and_caches_each_question_once(app, tmp_path):
    client = app.test_client()
    with app.app_context():
        ensure_index(get_store(), app.config["HPKG"])
        encoder = get_encoder()
    assert len(encoder) == 0
    first = client.get("/api/search", query_string=QUERY).get_json()
    assert len(encoder) == 1  # the question's vector, kept by this app
    assert client.get("/search", query_string=QUERY).status_code == 200  # the same question, UI page
    assert len(encoder) == 1
    assert client.get("/api/search", query_string=QUERY).get_json()["hits"] == first["hits"]
    other = create_app({"data_dir": str(tmp_path / "other")})
    with other.app_context():
        assert get_encoder() is not encoder and len(get_encoder()) == 0  # one per app, not per process
    encoder.close()
    assert len(encoder) == 0


def test_the_query_encoder_is_bounded_and_computes_a_new_question_once(monkeypatch):
    import kg.embeddings as embeddings

    calls = []
    real = embeddings.embed_query

    def counted(model, text):
        calls.append(text)
        time.sleep(0.05)  # long enough for every thread to ask while the first computes
        return real(model, text)

    monkeypatch.setattr(embeddings, "embed_query", counted)
    encoder = embeddings.QueryEncoder(size=2)
    with ThreadPoolExecutor(6) as pool:
        vectors = list(pool.map(lambda _: encoder.vector("e5-small", "soins à domicile"), range(6)))
    assert calls == ["soins à domicile"]  # six threads, one model run
    assert all(v is vectors[0] for v in vectors) and not vectors[0].flags.writeable
    for text in ("EHPAD", "SSIAD"):
        encoder.vector("e5-small", text)
    assert len(encoder) == 2  # the oldest question left the cache
    encoder.vector("e5-small", "soins à domicile")
    assert calls.count("soins à domicile") == 2
