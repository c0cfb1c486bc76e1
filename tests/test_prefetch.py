"""pipeline/prefetch.py: passages embedded beside the ingest give the index a build from
scratch gives (same files, byte for byte), and the build embeds only what was not prefetched."""
from __future__ import annotations

import shutil

import pytest

from kg.e5_onnx import E5Onnx
from pipeline.build import ingest_paths
from pipeline.prefetch import PassagePrefetch, page_contexts
from search_api.settings import load_settings

PAGES = ["001_3df355c2a6af415e.txt", "003_c60e09274645cd37.txt"]  # two short pages
SAME_FILES = ("vectors.faiss", "passages.jsonl", "calibration.json", "sections.json", "title_vectors.npz")


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory, corpus_dir):
    folder = tmp_path_factory.mktemp("two-pages")
    for name in PAGES + ["manifest.toml"]:
        shutil.copy(corpus_dir / name, folder / name)
    return folder


def _ingest(folder, data_dir, prefetch, monkeypatch):
    """Ingest with the index; returns the texts the build itself embedded (main thread)."""
    import threading

    embedded = []
    original = E5Onnx.embed_passages

    def spy(self, texts, threads=None):
        if threading.current_thread() is threading.main_thread():
            embedded.extend(texts)
        return original(self, texts, threads)

    monkeypatch.setattr(E5Onnx, "embed_passages", spy)
    report = ingest_paths([folder], load_settings({"data_dir": str(data_dir)}), prefetch=prefetch)
    assert report.documents == len(PAGES) and not report.skipped
    return embedded


@pytest.mark.parametrize("wait", [True, False])
def test_prefetched_index_equals_the_index_built_after_the_pages(two_pages, tmp_path, monkeypatch, wait):
    """With `wait`, every page is embedded beside the ingest (the build embeds nothing); without,
    the build embeds what the background had not reached: the same index either way."""
    after = _ingest(two_pages, tmp_path / "after", False, monkeypatch)
    if wait:
        original = PassagePrefetch.vectors
        monkeypatch.setattr(PassagePrefetch, "vectors", lambda self: original(self, wait=True))
    beside = _ingest(two_pages, tmp_path / "beside", True, monkeypatch)
    assert after and (beside == [] if wait else len(beside) <= len(after))
    for name in SAME_FILES:
        assert (tmp_path / "beside" / "index" / name).read_bytes() == \
            (tmp_path / "after" / "index" / name).read_bytes(), name


def test_page_contexts_are_the_passages_of_the_page(tmp_path, two_pages):
    """The texts read from one page alone are texts the index reads from the whole store."""
    from ingest import iris
    from kg.passages import read_passages
    from kg.store import open_store

    ingest_paths([two_pages], load_settings({"data_dir": str(tmp_path)}), build_index=False)
    graph_iri = iris.graph_iri(PAGES[0][:-len(".txt")])
    with open_store(tmp_path) as store:
        everything = {p.context for p in read_passages(store)[0]}
        page_graph = store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph_iri}> {{ ?s ?p ?o }} }}").graph
    page = set(page_contexts(graph_iri, page_graph))
    assert len(page) > 2 and page <= everything
