"""A request never builds the search index: it serves the saved one, else the last good one
(reported stale by /health), else 503. `hpkg ingest` and `hpkg serve`'s start-up build it."""
from __future__ import annotations

import shutil

import pytest

from kg.index import ensure_index, index_dir
from search_api import create_app
from search_api.resources import get_store
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
