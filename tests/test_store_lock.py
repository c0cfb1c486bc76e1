"""Store.lock: project writes from several processes sharing one SPARQL server lose nothing
(oxigraph serve and Virtuoso), leases of killed holders expire, and the embedded store's lock
is a real file lock."""
from __future__ import annotations

import fcntl
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import DCTERMS, RDF

from kg.projects import Projects
from kg.store import LOCK_EXPIRES, LOCK_GRAPH, LOCK_HELD_BY, LockTimeout, StoreError, open_store
from ontology.namespaces import HPID, HPO
from tests.test_kg_store import oxigraph_server  # noqa: F401  (session fixture)
from tests.virtuoso_support import virtuoso  # noqa: F401  (session fixture)

pytestmark = pytest.mark.slow  # starts Virtuoso (and oxigraph serve)
ROOT = Path(__file__).resolve().parent.parent
DOC = "950_lock"
SECTION = HPID[f"section/test/{DOC}/1"]
WRITES_PER_WORKER = 8


def plan_graph() -> Graph:
    """One section, enough for `Projects.decide` to accept it."""
    graph = Graph()
    doc = HPID[f"doc/{DOC}"]
    graph.add((doc, RDF.type, HPO.Document))
    graph.add((SECTION, RDF.type, HPO.Section))
    graph.add((SECTION, DCTERMS.title, Literal("Coordonner les parcours", lang="fr")))
    graph.add((SECTION, HPO.number, Literal("1")))
    graph.add((SECTION, HPO.inDocument, doc))
    return graph


def hammer(backend: str, project: str, writes: int, start_at: float) -> None:
    """Worker process: `writes` times, confirm the shared alignment again (its version goes
    up by one) and create a project; prints how many of each were acknowledged."""
    with open_store(None, backend=backend) as store:
        projects = Projects(store)
        time.sleep(max(0.0, start_at - time.time()))
        done = {"decide": 0, "create": 0}
        for i in range(writes):
            projects.decide(project, str(SECTION), "confirmed", f"worker-{i}")
            done["decide"] += 1
            projects.create({"title": f"Projet {i}", "populations": ""}, "worker")
            done["create"] += 1
    print(json.dumps(done))


@pytest.fixture(params=["oxigraph-serve", "virtuoso"])
def remote(request):
    """URL of a real SPARQL server holding the test plan and nothing else."""
    url = request.getfixturevalue("oxigraph_server" if request.param == "oxigraph-serve" else "virtuoso")
    url = url if isinstance(url, str) else url.url
    with open_store(None, backend=url) as store:
        for iri in store.graphs():
            store.remove_graph(iri)
        store.remove_graph(LOCK_GRAPH)
        store.replace_graph(HPID[f"graph/{DOC}"], plan_graph())
    return url


def test_two_processes_lose_no_project_write(remote):
    with open_store(None, backend=remote) as store:
        project = Projects(store).create({"title": "Maison de santé", "populations": ""}, "alice")
    start_at = time.time() + 3  # both start writing together, after their imports
    code = "import sys; from tests.test_store_lock import hammer; hammer(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))"
    workers = [subprocess.Popen([sys.executable, "-c", code, remote, project.id, str(WRITES_PER_WORKER), str(start_at)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    acknowledged = {"decide": 0, "create": 0}
    for worker in workers:
        out, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err[-2000:]
        for kind, count in json.loads(out.strip().splitlines()[-1]).items():
            acknowledged[kind] += count
    assert acknowledged == {"decide": 2 * WRITES_PER_WORKER, "create": 2 * WRITES_PER_WORKER}
    with open_store(None, backend=remote) as store:
        projects = Projects(store)
        assert len(projects.list()) == 1 + acknowledged["create"]
        alignment = projects.get(project.id).alignment(str(SECTION))
        assert alignment.version == acknowledged["decide"]
        assert LOCK_GRAPH not in store.graphs()
        assert not list(store.query(f"SELECT * WHERE {{ GRAPH <{LOCK_GRAPH}> {{ ?s ?p ?o }} }}"))


def test_lease_of_a_killed_holder_expires_and_a_live_one_blocks(remote):
    lock = HPID["lock/projects"]
    with open_store(None, backend=remote) as other, open_store(None, backend=remote) as store:
        # a holder that died without releasing: its lease ended a second ago
        claim = HPID["lock/projects/dead"]
        other._update(f"INSERT DATA {{ GRAPH <{LOCK_GRAPH}> {{ <{lock}> <{LOCK_HELD_BY}> <{claim}> . "
                      f"<{claim}> <{LOCK_EXPIRES}> {time.time() - 1:.3f} }} }}")
        started = time.monotonic()
        with store.lock("projects", timeout=5):
            assert time.monotonic() - started < 5
            with pytest.raises(LockTimeout, match="'projects'"):
                with other.lock("projects", timeout=0.5):
                    pass
            assert LOCK_GRAPH not in store.graphs()  # the lease is not data
        with other.lock("projects", timeout=5):  # released: the other instance gets it
            pass


def test_threads_on_one_embedded_store_lose_no_write(tmp_path):
    with open_store(tmp_path, backend="oxigraph") as store:
        store.replace_graph(HPID[f"graph/{DOC}"], plan_graph())
        projects = Projects(store)
        project = projects.create({"title": "Maison de santé", "populations": ""}, "alice")
        errors = []

        def work():
            try:
                for i in range(WRITES_PER_WORKER):
                    projects.decide(project.id, str(SECTION), "confirmed", f"thread-{i}")
            except Exception as error:  # reported by the assertion below
                errors.append(error)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert projects.get(project.id).alignment(str(SECTION)).version == 3 * WRITES_PER_WORKER


def test_embedded_lock_is_a_file_lock(tmp_path):
    """Another process holding {data_dir}/locks/projects.lock keeps the store waiting."""
    holder_code = ("import fcntl, sys, time; f = open(sys.argv[1], 'a+b'); fcntl.flock(f, fcntl.LOCK_EX); "
                   "print('held', flush=True); time.sleep(float(sys.argv[2]))")
    with open_store(tmp_path, backend="oxigraph") as store:
        with store.lock("projects"):  # creates the lock file, then frees it
            pass
        path = tmp_path / "locks" / "projects.lock"
        holder = subprocess.Popen([sys.executable, "-c", holder_code, str(path), "2"], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "held"
            with pytest.raises(LockTimeout, match="held by another process"):
                with store.lock("projects", timeout=0.3):
                    pass
            with store.lock("projects", timeout=30):  # acquired once the holder exits
                with open(path, "a+b") as probe, pytest.raises(BlockingIOError):
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            holder.kill()
            holder.wait()


def test_lock_name_is_checked():
    with open_store(None, backend="memory") as store, pytest.raises(StoreError, match="invalid lock name"):
        with store.lock("../projects"):
            pass
