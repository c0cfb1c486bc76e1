"""kill -9 during `hpkg ingest` (a real subprocess): the store opens, every acknowledged page is
there, every page graph is whole (the old version or the new one, never a mix), and the search
index left behind is either current or marked stale, then detected and rebuilt by the next run.

The data dir starts as the ingested bundled corpus (version A, with its index). Version B
modifies every page and adds renamed copies, so the killed runs overwrite old graphs and add
new ones. A page is acknowledged by the `stored <file>` line ingest writes on stderr after its
transaction commits. (The marker path of a search after a killed ingest, `open_index`, is
tested in test_index_integrity.)
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.compare import isomorphic as _isomorphic

from ingest import iris
from pipeline.build import ONTOLOGY_GRAPH, ingest_paths
from kg.index import STALE_MARKER, _load, load_index
from kg.passages import corpus_hash, read_passages
from kg.store import open_store
from ontology.shapes import validate
from search_api.settings import load_settings

HPKG = Path(sys.executable).parent / "hpkg"
ADDED = " Un dispositif d'appui à la coordination accompagne les gestionnaires de cette démarche."
STORED = re.compile(r"^stored (.+) \((\d+) triples\)$")
RNG = random.Random(9)

pytestmark = pytest.mark.slow


def graphs_of(data_dir: Path) -> dict[URIRef, Graph]:
    with open_store(data_dir) as store:
        dataset = Dataset()
        dataset.parse(data=store.export("nq"), format="nquads")
    return {g.identifier: g for g in dataset.graphs() if len(g)}


def isomorphic(first: Graph, second: Graph) -> bool:
    """Graph equality; plain set equality when there is no blank node (page graphs have none)."""
    if any(isinstance(term, BNode) for graph in (first, second) for triple in graph for term in triple):
        return _isomorphic(first, second)
    return set(first) == set(second)


def modified(text: str) -> str:
    """The page with a sentence added to its first long body paragraph (its graph changes)."""
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if i > 0 and len(line) > 80 and ">" not in line)
    lines[at] = lines[at].rstrip() + ADDED
    return "\n".join(lines)


@pytest.fixture(scope="session")
def version_b(tmp_path_factory, corpus_dir) -> Path:
    """Every corpus page modified, plus a modified copy of each under a new name."""
    folder = tmp_path_factory.mktemp("version_b")
    manifest = tomllib.loads((corpus_dir / "manifest.toml").read_text(encoding="utf-8"))
    lines = ["[defaults]"] + [f"{key} = {json.dumps(value, ensure_ascii=False)}"
                              for key, value in manifest["defaults"].items()]
    for page in sorted(corpus_dir.glob("*.txt")):
        text = modified(page.read_text(encoding="utf-8"))
        for name in (page.name, f"copy_{page.name}"):
            (folder / name).write_text(text, encoding="utf-8")
            lines.append(f'[files."{name}"]')
            lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}"
                      for key, value in manifest["files"][page.name].items()]
    (folder / "manifest.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def reference_b(tmp_path_factory, version_b) -> tuple[Path, dict]:
    """Version B ingested cleanly, in-process, in a fresh data dir (graph only)."""
    data_dir = tmp_path_factory.mktemp("clean_b")
    report = ingest_paths([version_b], load_settings({"data_dir": str(data_dir)}), build_index=False,
                          on_stored=lambda doc, triples: None)
    assert not report.skipped and report.documents == 10, report.summary()
    graphs = graphs_of(data_dir)
    for iri, graph in graphs.items():
        if iri != ONTOLOGY_GRAPH:
            assert validate(graph).conforms, iri
    return data_dir, graphs


@pytest.fixture(scope="module")
def start_a(tmp_path_factory, ingested) -> tuple[Path, dict]:
    """A copy of the ingested corpus (graph + index), and its graphs."""
    data_dir = tmp_path_factory.mktemp("killed")
    source = Path(ingested["data_dir"])
    ox.Store.read_only(str(source / "store")).backup(str(data_dir / "store"))  # consistent even if open
    shutil.copytree(source / "index", data_dir / "index")
    return data_dir, graphs_of(data_dir)


class Ingest:
    """`hpkg ingest` in a subprocess, its stderr read line by line: the acknowledged pages."""

    def __init__(self, paths, data_dir: Path, *extra: str) -> None:
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")
        self.process = subprocess.Popen([str(HPKG), "ingest", *map(str, paths), "--data-dir", str(data_dir), *extra],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.acked: list[str] = []
        self.stderr: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.changed:
                self.stderr.append(line)
                match = STORED.match(line)
                if match:
                    self.acked.append(Path(match.group(1)).stem)
                self.changed.notify_all()

    def kill_after(self, acks: int, delay: float, timeout: float = 240) -> list[str]:
        """SIGKILL once `acks` pages are acknowledged, `delay` seconds later; the pages acknowledged
        (including lines already in the pipe when it died)."""
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.acked) >= acks or self.process.poll() is not None,
                                         timeout), f"no {acks} acknowledgements within {timeout} s"
        assert self.process.poll() is None, "ingest ended before the kill:\n" + "\n".join(self.stderr[-20:])
        time.sleep(delay)
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=30) == -signal.SIGKILL, "ingest ended before the kill"
        self.reader.join(timeout=30)
        self.process.stdout.close()
        return list(self.acked)

    def finish(self, timeout: float = 300) -> str:
        out = self.process.stdout.read().decode()
        assert self.process.wait(timeout=timeout) == 0, out + "\n".join(self.stderr[-20:])
        self.reader.join(timeout=30)
        return out


def check_whole(data_dir: Path, acked: list[str], reference_a: dict, reference_b: dict) -> dict[str, str]:
    """The store opens; every page graph equals version A or B of its page; acknowledged pages
    are version B. Returns page -> "A" or "B"."""
    graphs = graphs_of(data_dir)
    assert len(graphs[ONTOLOGY_GRAPH]) == len(reference_b[ONTOLOGY_GRAPH])
    versions = {}
    for iri, graph in graphs.items():
        if iri == ONTOLOGY_GRAPH:
            continue
        page = str(iri).removeprefix(str(iris.graph_iri("")))
        if iri in reference_b and isomorphic(graph, reference_b[iri]):
            versions[page] = "B"
        elif iri in reference_a and isomorphic(graph, reference_a[iri]):
            versions[page] = "A"
        else:
            pytest.fail(f"graph of {page} is neither its old nor its new version: half-written "
                        f"({len(graph)} triples, expected {len(reference_b.get(iri, ()))} or {len(reference_a.get(iri, ()))})")
    missing = [page for page in acked if versions.get(page) != "B"]
    assert not missing, f"acknowledged but not stored: {missing}"
    originals = {str(i).removeprefix(str(iris.graph_iri(""))) for i in reference_a if i != ONTOLOGY_GRAPH}
    assert originals <= set(versions), "an old page disappeared"
    return versions


def index_is_sound_or_marked_stale(data_dir: Path, store_dir: Path) -> str:
    """The saved index passes its checksums and matches the store, or the stale marker is there."""
    settings = load_settings({"data_dir": str(data_dir)})
    with open_store(store_dir) as store:
        current = corpus_hash(read_passages(store)[0])
    _load.cache_clear()
    try:
        saved = load_index(settings).manifest["corpus_hash"]
    except FileNotFoundError:
        saved = None
    if saved != current:
        assert (data_dir / STALE_MARKER).exists(), "index out of date and not marked stale"
        return "stale"
    return "current"


def test_kill_9_during_ingest_keeps_every_page_whole(start_a, version_b, reference_b):
    data_dir, reference_a = start_a
    _, clean = reference_b
    for iri, graph in reference_a.items():  # every old page differs from its new version
        assert iri == ONTOLOGY_GRAPH or not isomorphic(graph, clean[iri]), iri
    old_hash = load_index(load_settings({"data_dir": str(data_dir)})).manifest["corpus_hash"]
    seen = []
    # 1. at a random moment among the page writes, 2. after the last page, while the search
    # index is being rebuilt (each run pays for loading spaCy: two kills keep the test bounded)
    for acks, delay in [(RNG.randint(1, 6), RNG.uniform(0, 0.5)), (10, RNG.uniform(0.2, 0.6))]:
        run = Ingest([version_b], data_dir)
        acked = run.kill_after(acks, delay)
        versions = check_whole(data_dir, acked, reference_a, clean)
        seen.append((len(acked), sorted(versions.values()).count("B"),
                     index_is_sound_or_marked_stale(data_dir, data_dir)))
    assert seen[0][2] == seen[1][2] == "stale" and seen[1][0] == 10, seen  # pages stored, index not yet

    # the next run detects the stale index, rebuilds it, and gives the store of a clean ingest
    out = Ingest([version_b], data_dir).finish()
    assert "ingested 10 documents" in out
    final = graphs_of(data_dir)
    assert set(final) == set(clean)
    for iri, graph in clean.items():
        assert iri == ONTOLOGY_GRAPH or isomorphic(final[iri], graph), iri
    assert index_is_sound_or_marked_stale(data_dir, data_dir) == "current"
    assert not (data_dir / STALE_MARKER).exists()
    rebuilt = load_index(load_settings({"data_dir": str(data_dir)}))
    assert rebuilt.manifest["corpus_hash"] != old_hash
    assert any(ADDED.strip() in p.text for p in rebuilt.passages)  # the new sentences are searchable
    assert not [p for p in data_dir.iterdir() if p.name.startswith(("index.tmp", "index.old"))]
