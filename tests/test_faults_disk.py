"""A full disk (a small tmpfs as the data dir): `hpkg ingest`, the index writer and the web
app's project writes fail with one clear line naming the cause, and once space is freed the
store opens with everything stored before intact, the search index old-but-valid or marked
stale and rebuilt. We run as root in CI; without the right to mount, these tests skip."""
from __future__ import annotations

import errno
import logging
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib.compare import isomorphic

from kg.index import STALE_MARKER, _load, ensure_index, load_index, mark_stale, open_index
from kg.store import open_store
from ontology.namespaces import HPID
from search_api import create_app
from search_api.settings import load_settings
from tests.test_faults_ingest import (  # noqa: F401 - fixtures
    HPKG, Ingest, check_whole, graphs_of, index_is_sound_or_marked_stale, reference_b, start_a, version_b)
from tests.test_index_integrity import TEXT
from tests.test_link_web import PASSWORD, create, login, make_data_dir
from tests.test_search_unit import tiny_graphs


@contextmanager
def small_disk(path: Path, size_kb: int):
    """A tmpfs of `size_kb` mounted at `path`, unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)  # a file still open


def fill(folder: Path, leave_kb: int) -> Path:
    """A ballast file taking all free space of `folder`'s disk but `leave_kb`."""
    stat = os.statvfs(folder)
    size = stat.f_bavail * stat.f_frsize - leave_kb * 1024
    ballast = folder / "ballast"
    with open(ballast, "wb") as out:
        chunk = b"\0" * (1 << 20)
        while size > 0:
            size -= out.write(chunk[:min(size, len(chunk))])
    return ballast


def tree_kb(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) // 1024


@pytest.mark.slow
def test_ingest_on_a_full_disk_is_one_clear_line_and_keeps_what_was_stored(
        tmp_path, start_a, version_b, reference_b):
    source, reference_a = start_a
    size = tree_kb(source) + 8 * 1024
    with small_disk(tmp_path / "disk", size) as disk:
        data_dir = disk / "data"
        data_dir.mkdir()
        ox.Store.read_only(str(source / "store")).backup(str(data_dir / "store"))
        subprocess.run(["cp", "-a", str(source / "index"), str(data_dir / "index")], check=True)
        index_before = load_index(load_settings({"data_dir": str(data_dir)})).manifest
        ballast = fill(disk, leave_kb=1200)  # room for a page or two, not for ten

        run = Ingest([version_b], data_dir)
        out = run.process.stdout.read().decode()
        code = run.process.wait(timeout=300)
        run.reader.join(timeout=30)
        errors = [line for line in run.stderr if line.startswith("Error: ")]
        assert code == 1, out + "\n".join(run.stderr)
        assert "Traceback" not in "\n".join(run.stderr)
        assert len(errors) == 1, run.stderr
        assert "no space left on device" in errors[0].lower() and str(data_dir) in errors[0], errors[0]

        ballast.unlink()
        versions = check_whole(data_dir, run.acked, reference_a, reference_b[1])
        assert sorted(versions.values()).count("B") == len(run.acked) < 10
        assert index_is_sound_or_marked_stale(data_dir, data_dir) == "stale"
        _load.cache_clear()
        assert load_index(load_settings({"data_dir": str(data_dir)})).manifest == index_before  # old, valid


def test_index_write_on_a_full_disk_keeps_the_old_index(tmp_path):
    with small_disk(tmp_path / "disk", 2048) as disk, open_store(tmp_path / "store_dir") as store:
        settings = load_settings({"data_dir": str(disk)})
        for iri, graph in tiny_graphs(TEXT).items():
            store.replace_graph(iri, graph)
        old = ensure_index(store, settings)
        mark_stale(settings)  # an ingest changes the store...
        changed = "Le guichet unique accompagne l'installation des jeunes médecins en zone rurale."
        store.replace_graph(HPID["graph/900_sroms"], tiny_graphs(changed)[HPID["graph/900_sroms"]])
        ballast = fill(disk, leave_kb=8)  # ...and the new index does not fit
        with pytest.raises(OSError) as failure:
            ensure_index(store, settings)
        assert failure.value.errno == errno.ENOSPC
        assert not [p for p in disk.iterdir() if p.name.startswith(("index.tmp", "index.old"))]
        _load.cache_clear()
        assert load_index(settings).manifest == old.manifest  # the old one, whole and verified
        assert (disk / STALE_MARKER).exists()  # and still known to be stale
        ballast.unlink()
        index = open_index(store, settings)
        assert index.rebuilt and any(changed in p.text for p in index.passages)
        assert not (disk / STALE_MARKER).exists()


def test_project_write_on_a_full_disk_is_a_clear_503_and_changes_nothing(tmp_path, caplog):
    from kg.projects import GRAPH

    with small_disk(tmp_path / "disk", 32 * 1024) as disk:
        app = create_app({"data_dir": str(make_data_dir(disk / "data")), "secret_key": "test-key"})
        app.config["TESTING"] = True
        client = app.test_client()
        try:
            token = login(client)
            first = create(client, token)
            with app.app_context():
                from search_api.resources import get_store

                store = get_store()
                before = graphs_of_store(store)[GRAPH]
            ballast = fill(disk, leave_kb=16)
            caplog.clear()
            with caplog.at_level(logging.ERROR):
                refused = client.post("/api/projects", json={"title": "Plateforme de répit du Var"},
                                      headers={"X-CSRF-Token": token})
                edited = client.patch(f"/api/projects/{first['id']}", json={"title": "Autre titre", "version": first["version"]},
                                      headers={"X-CSRF-Token": token})
            for response in (refused, edited):
                assert response.status_code == 503, response.get_json()
                body = response.get_json()
                assert body["ok"] is False and "disque du serveur est plein" in body["error"]
            logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert logged and all(r.exc_info is None for r in logged)  # one line each, no traceback
            assert all("no space left on device" in r.getMessage().lower() for r in logged)
            assert str(disk / "data") in logged[0].getMessage()
            ballast.unlink()
        finally:
            store = app.extensions["hpkg"].get("store")
            if store is not None:
                store.close()
        # RocksDB keeps a handle that hit ENOSPC read-only: reopened (a server restart), it writes again
        with open_store(disk / "data") as reopened:
            assert isomorphic(graphs_of_store(reopened)[GRAPH], before)
            reopened.replace_graph(GRAPH, before)


def graphs_of_store(store) -> dict:
    from rdflib import Dataset

    dataset = Dataset()
    dataset.parse(data=store.export("nq"), format="nquads")
    return {g.identifier: g for g in dataset.graphs() if len(g)}
