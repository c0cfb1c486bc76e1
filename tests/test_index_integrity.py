"""A damaged or stale search index on disk is detected (manifest checksums, format, corpus hash,
stale marker), named in a warning, and rebuilt from the store: never a crash, never garbage.

Real files in a real data dir; the store is the toy plan of test_search_unit in an embedded
Oxigraph store (three short passages, so each rebuild embeds little). Every damage is checked
for detection; a few of them go through the whole rebuild."""
from __future__ import annotations

import json
import logging
import os
import shutil

import pytest

from kg.index import FORMAT, STALE_MARKER, IndexUnusable, _load, ensure_index, load_index, mark_stale, open_index
from kg.search import search_store
from kg.store import open_store
from ontology.namespaces import HPID
from search_api.settings import load_settings
from tests.test_search_unit import tiny_graphs

TEXT = "La convergence tarifaire des EHPAD répartit la ressource régionale de médicalisation."
QUESTION = "convergence tarifaire des EHPAD"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A memory store with the toy plan, and a copy of its freshly built index folder."""
    data_dir = tmp_path_factory.mktemp("pristine")
    settings = load_settings({"data_dir": str(data_dir)})
    store = open_store(tmp_path_factory.mktemp("store"))
    for iri, graph in tiny_graphs(TEXT).items():
        store.replace_graph(iri, graph)
    index = ensure_index(store, settings)
    assert index.rebuilt
    answer = [hit["iri"] for hit in search_store(store, settings, QUESTION, k=3, index=index)["hits"]]
    yield store, data_dir / "index", answer
    store.close()


@pytest.fixture
def copy(pristine, tmp_path):
    """A data dir holding a copy of the pristine index: (store, settings, index folder)."""
    store, folder, _ = pristine
    shutil.copytree(folder, tmp_path / "index")
    return store, load_settings({"data_dir": str(tmp_path)}), tmp_path / "index"


def truncate(path):
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def flip_bytes(path):
    """Invert 8 bytes in the middle, keeping the size and (as a careful attacker would) the mtime."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 8] = bytes(b ^ 0xFF for b in data[middle:middle + 8])
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def bm25_file(folder):
    return sorted((folder / "bm25").iterdir())[0].relative_to(folder).as_posix()


DAMAGES = {
    "truncated vectors": (lambda f: truncate(f / "vectors.faiss"), "vectors.faiss"),
    "truncated passages": (lambda f: truncate(f / "passages.jsonl"), "passages.jsonl"),
    "flipped vectors": (lambda f: flip_bytes(f / "vectors.faiss"), "vectors.faiss"),
    "flipped sections": (lambda f: flip_bytes(f / "sections.json"), "sections.json"),
    "deleted bm25 file": (lambda f: (f / bm25_file(f)).unlink(), "bm25/"),
    "garbage manifest": (lambda f: (f / "manifest.json").write_bytes(b"\x00\xffnot json{"), "manifest.json"),
    "deleted manifest": (lambda f: (f / "manifest.json").unlink(), "manifest.json"),
    "older format": (lambda f: _edit_manifest(f, format=FORMAT - 1), "manifest.json"),
    "manifest without checksums": (lambda f: _edit_manifest(f, files=None), "manifest.json"),
}


def _edit_manifest(folder, **changes):
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest.update(changes)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_manifest_lists_every_file_with_size_and_sha256(pristine):
    import hashlib

    _, folder, _ = pristine
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                     if p.is_file() and p.name != "manifest.json")
    assert sorted(manifest["files"]) == on_disk
    assert {"passages.jsonl", "sections.json", "vectors.faiss"} <= set(on_disk)
    assert any(name.startswith("bm25/") for name in on_disk)
    for name, entry in manifest["files"].items():
        data = (folder / name).read_bytes()
        assert entry == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert not list(folder.parent.glob("index.tmp*")) and not list(folder.parent.glob(".*.tmp*"))


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
def test_damaged_index_is_refused_naming_the_file(copy, damage):
    _, settings, folder = copy
    harm, culprit = DAMAGES[damage]
    load_index(settings)  # sound before
    harm(folder)
    _load.cache_clear()  # as a new process would: the hashes are checked on (re)load
    with pytest.raises(IndexUnusable, match=culprit.replace(".", r"\.")):
        load_index(settings)


@pytest.mark.parametrize("damage", ["truncated vectors", "flipped sections", "garbage manifest"])
def test_damaged_index_is_logged_and_rebuilt(copy, pristine, caplog, damage):
    store, settings, folder = copy
    harm, culprit = DAMAGES[damage]
    harm(folder)
    _load.cache_clear()
    with caplog.at_level(logging.WARNING, logger="kg.index"):
        index = open_index(store, settings)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and culprit in warnings[0] and "rebuilding" in warnings[0], warnings
    assert index.rebuilt
    _load.cache_clear()
    reloaded = load_index(settings)  # the rebuilt files pass their own checksums
    assert reloaded.manifest["corpus_hash"] == index.manifest["corpus_hash"]
    hits = search_store(store, settings, QUESTION, k=3)["hits"]
    assert [hit["iri"] for hit in hits] == pristine[2]


def test_changed_file_is_caught_by_size_without_reloading(copy):
    """Each call checks sizes: a file rewritten under a running process is not served."""
    store, settings, folder = copy
    load_index(settings)
    with open(folder / "passages.jsonl", "a", encoding="utf-8") as out:
        out.write('{"section": "x"}\n')
    with pytest.raises(IndexUnusable, match=r"passages\.jsonl: \d+ bytes, manifest\.json says \d+"):
        load_index(settings)


def test_stale_corpus_hash_rebuilds_without_warning(copy, caplog):
    store, settings, folder = copy
    _edit_manifest(folder, corpus_hash="0" * 64)  # checksums of the files still hold
    with caplog.at_level(logging.INFO, logger="kg.index"):
        index = ensure_index(store, settings)
    assert index.rebuilt and index.manifest["corpus_hash"] != "0" * 64
    assert any("corpus_hash changed" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not ensure_index(store, settings).rebuilt  # and now it is current


def test_stale_marker_makes_the_next_open_check_the_store(tmp_path):
    """An ingest killed after writing pages (before the index) leaves the marker: the next
    search rebuilds from the store instead of serving the old passages."""
    settings = load_settings({"data_dir": str(tmp_path)})
    with open_store(tmp_path / "own") as store:
        for iri, graph in tiny_graphs(TEXT).items():
            store.replace_graph(iri, graph)
        old = ensure_index(store, settings)
        mark_stale(settings)  # what pipeline.build does before its first page
        changed = "Le guichet unique accompagne l'installation des jeunes médecins en zone rurale."
        store.replace_graph(HPID["graph/900_sroms"], tiny_graphs(changed)[HPID["graph/900_sroms"]])
        assert open_index(store, settings) is not None
        index = load_index(settings)
        assert index.manifest["corpus_hash"] != old.manifest["corpus_hash"]
        assert any(changed in p.text for p in index.passages)
        assert not (tmp_path / STALE_MARKER).exists()
        mark_stale(settings)  # nothing changed this time: checked, reused, marker gone
        assert not open_index(store, settings).rebuilt
        assert not (tmp_path / STALE_MARKER).exists()


def test_build_killed_between_renames_or_mid_write_leaves_nothing_trusted(copy, pristine):
    """A kill during a rebuild leaves index.tmp* (maybe without manifest) and possibly no index/:
    the next open rebuilds, and the leftovers are removed."""
    store, settings, folder = copy
    data_dir = folder.parent
    shutil.copytree(folder, data_dir / "index.tmp1")  # complete, never swapped in
    shutil.copytree(folder, data_dir / "index.tmp2")
    (data_dir / "index.tmp2" / "manifest.json").unlink()  # killed before the manifest
    folder.rename(data_dir / "index.old3")  # killed between the two renames
    index = open_index(store, settings)
    assert index.rebuilt and folder.is_dir()
    assert sorted(p.name for p in data_dir.iterdir() if p.name.startswith("index")) == ["index", "index.lock"]
    assert [hit["iri"] for hit in search_store(store, settings, QUESTION, k=3)["hits"]] == pristine[2]


def _passages_of(store):
    from kg.lexical import Synonyms, vocabulary_labels
    from kg.passages import read_passages

    passages, sections = read_passages(store)
    return passages, sections, Synonyms(vocabulary_labels(store))


def test_rebuild_embeds_only_changed_passages(copy):
    """A rebuild reuses the saved vectors of unchanged passage texts; only new texts are embedded,
    and every vector is the one a from-scratch embedding gives."""
    import dataclasses

    import numpy as np

    from kg.embeddings import get_embedder
    from kg.index import build_index

    store, settings, _ = copy
    passages, sections, synonyms = _passages_of(store)
    old = load_index(settings).vectors.reconstruct_n(0, len(passages))
    changed = [dataclasses.replace(passages[0], text=passages[0].text + " Un EHPAD de plus.")] + passages[1:]
    index = build_index(changed, sections, synonyms, settings)
    assert index.manifest["reused_vectors"] == len(passages) - 1
    vectors = index.vectors.reconstruct_n(0, len(passages))
    np.testing.assert_array_equal(vectors[1:], old[1:])
    fresh = get_embedder(settings["embedding_model"]).embed_passages([changed[0].context])
    np.testing.assert_allclose(vectors[0], fresh.reshape(-1), atol=1e-5)
    assert not np.allclose(vectors[0], old[0], atol=1e-3)


def test_rebuild_reuses_nothing_from_a_damaged_index(copy):
    from kg.index import build_index

    store, settings, folder = copy
    flip_bytes(folder / "vectors.faiss")
    passages, sections, synonyms = _passages_of(store)
    assert build_index(passages, sections, synonyms, settings).manifest["reused_vectors"] == 0


def test_rebuild_reuses_title_vectors_and_gives_the_same_calibration(copy, monkeypatch):
    """The calibration's titles are embedded once: a rebuild reads their vectors back from
    title_vectors.npz (checked by the manifest) and gives the calibration a fresh build gives,
    to the bit; a damaged cache file is not trusted."""
    import numpy as np

    from kg.e5_onnx import E5Onnx
    from kg.index import build_index

    store, settings, folder = copy
    fresh, fresh_file = load_index(settings).calibration, (folder / "calibration.json").read_bytes()
    assert (folder / "title_vectors.npz").is_file() and "title_vectors.npz" in load_index(settings).manifest["files"]
    asked = []
    original = E5Onnx.embed_queries  # the titles are embedded as questions
    monkeypatch.setattr(E5Onnx, "embed_queries", lambda self, texts: asked.extend(texts) or original(self, texts))
    passages, sections, synonyms = _passages_of(store)
    index = build_index(passages, sections, synonyms, settings)
    assert asked == [] and index.manifest["reused_title_vectors"] == index.calibration.titles > 0
    assert index.calibration.on_topic_floor == fresh.on_topic_floor
    np.testing.assert_array_equal(index.calibration.centroid, fresh.centroid)
    assert (folder / "calibration.json").read_bytes() == fresh_file  # the saved floor and centroid, byte for byte
    flip_bytes(folder / "title_vectors.npz")
    index = build_index(passages, sections, synonyms, settings)
    assert len(asked) == index.calibration.titles and index.manifest["reused_title_vectors"] == 0
    assert index.calibration.on_topic_floor == fresh.on_topic_floor
