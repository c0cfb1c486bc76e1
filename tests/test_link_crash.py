"""An acknowledged write survives kill -9 of the server: a real `hpkg serve` subprocess, killed
after one acknowledged write, then while many concurrent writes are in flight."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from rdflib import Dataset
from rdflib.namespace import DCTERMS, RDF

from kg.projects import GRAPH
from kg.store import open_store
from ontology.namespaces import HPO
from ontology.shapes import validate
from search_api.serving import free_port
from tests.test_link_web import PASSWORD, make_data_dir
from tests.test_link_projects import section_iri

HPKG = Path(sys.executable).parent / "hpkg"


def start_server(data_dir: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, HPKG_SECRET_KEY="crash-test-key", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    process = subprocess.Popen([str(HPKG), "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--data-dir", str(data_dir)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            requests.get(f"http://127.0.0.1:{port}/api/session", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start within 60 s")


def kill_hard(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    process.stderr.close()


@pytest.mark.slow
def test_acknowledged_link_survives_kill_9(tmp_path):
    data_dir = make_data_dir(tmp_path / "data")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port)
    try:
        http = requests.Session()
        token = http.get(f"{base}/api/session", timeout=10).json()["csrf_token"]
        login = http.post(f"{base}/api/login", json={"name": "alice", "password": PASSWORD},
                          headers={"X-CSRF-Token": token}, timeout=10)
        assert login.status_code == 200
        token = login.json()["csrf_token"]
        imported = http.post(f"{base}/api/projects/import", data="title\nPlateforme de répit du Var\n".encode(),
                             headers={"X-CSRF-Token": token, "Content-Type": "text/csv"}, timeout=30)
        assert imported.status_code == 201
        project_id = imported.json()["projects"][0]
        linked = http.post(f"{base}/api/projects/{project_id}/links",
                           json={"section": str(section_iri("2.8.2")), "status": "confirmed"},
                           headers={"X-CSRF-Token": token}, timeout=30)
        assert linked.status_code == 200 and linked.json()["status"] == "confirmed"
    finally:
        kill_hard(server)  # no shutdown, no flush: the write must already be on disk

    server = start_server(data_dir, port)
    try:
        project = requests.get(f"{base}/api/projects/{project_id}", timeout=10).json()
        assert project["title"] == "Plateforme de répit du Var"
        assert [(a["section"], a["status"], a["who"]) for a in project["alignments"]] == [
            (str(section_iri("2.8.2")), "confirmed", "alice")]
        axis = requests.get(f"{base}/api/axis", params={"iri": str(section_iri("2.8.2"))}, timeout=10).json()
        assert [p["id"] for p in axis["projects"]] == [project_id]
    finally:
        kill_hard(server)


def login(base: str) -> tuple[requests.Session, str]:
    http = requests.Session()
    token = http.get(f"{base}/api/session", timeout=10).json()["csrf_token"]
    response = http.post(f"{base}/api/login", json={"name": "alice", "password": PASSWORD},
                         headers={"X-CSRF-Token": token}, timeout=10)
    assert response.status_code == 200
    return http, response.json()["csrf_token"]


def projects_graph(data_dir: Path):
    with open_store(data_dir) as store:
        dataset = Dataset()
        dataset.parse(data=store.export("nq"), format="nquads")
    return dataset.graph(GRAPH)


@pytest.mark.slow
def test_kill_9_with_concurrent_writes_in_flight(tmp_path):
    """Writers create and edit projects in parallel; the server dies mid-stream. Every write it
    answered is stored, whole; a write it never answered is either whole or absent."""
    data_dir = make_data_dir(tmp_path / "data")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port)
    acked: dict[str, str] = {}  # project IRI -> title, for every 201 / 200 received
    sent: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()
    refused: list[str] = []

    def writer(n: int) -> None:
        try:
            http, token = login(base)
        except (AssertionError, requests.RequestException) as error:
            refused.append(f"login: {error!r}")
            return
        for i in range(1000):
            if stop.is_set():
                return
            title = f"Projet {n}-{i} : plateforme territoriale d'appui du Var"
            with lock:
                sent.add(title)
            try:
                created = http.post(f"{base}/api/projects", json={"title": title, "territories": "83"},
                                    headers={"X-CSRF-Token": token}, timeout=120)
                if created.status_code != 201:
                    refused.append(f"create: {created.status_code} {created.text[:200]}")
                    return
                project = created.json()
                with lock:
                    acked[project["iri"]] = title
                renamed = title + " (révisé)"
                with lock:
                    sent.add(renamed)
                edited = http.patch(f"{base}/api/projects/{project['id']}", json={"title": renamed,
                                    "version": project["version"]}, headers={"X-CSRF-Token": token}, timeout=120)
                if edited.status_code == 200:
                    with lock:
                        acked[project["iri"]] = renamed
            except requests.RequestException:  # the server died under this request
                return

    writers = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(6)]
    try:
        http, token = login(base)  # a first project builds the search index: not timed below
        warm = http.post(f"{base}/api/projects", json={"title": "Projet initial du Var"},
                         headers={"X-CSRF-Token": token}, timeout=300)
        assert warm.status_code == 201, warm.text
        acked[warm.json()["iri"]] = "Projet initial du Var"
        sent.add("Projet initial du Var")
        for thread in writers:
            thread.start()
        deadline = time.monotonic() + 180
        while len(acked) < 9 and time.monotonic() < deadline and any(t.is_alive() for t in writers):
            time.sleep(0.05)
        assert len(acked) >= 9, f"only {len(acked)} writes acknowledged; {refused}"
        assert sum(t.is_alive() for t in writers) >= 4  # writes in flight at the kill
    finally:
        kill_hard(server)
        stop.set()
    for thread in writers:
        thread.join(timeout=60)
    with lock:
        acked, sent = dict(acked), set(sent)

    graph = projects_graph(data_dir)
    assert validate(graph).conforms, validate(graph).text
    stored = {}
    for project in graph.subjects(RDF.type, HPO.Project):
        titles = list(graph.objects(project, DCTERMS.title))
        versions = list(graph.objects(project, HPO.version))
        assert len(titles) == 1 and len(versions) == 1, f"{project}: half-written ({titles}, {versions})"
        assert len(list(graph.objects(project, DCTERMS.creator))) == 1
        stored[str(project)] = str(titles[0])
    assert set(stored.values()) <= sent  # nothing invented, nothing torn
    for iri, title in acked.items():
        assert iri in stored, f"acknowledged project {title!r} lost"
        # the last acknowledged title, or a later edit whose answer the kill swallowed
        assert stored[iri] in (title, title + " (révisé)"), (stored[iri], title)
    # and the server restarts on that store
    server = start_server(data_dir, port)
    try:
        listed = requests.get(f"{base}/api/projects", timeout=30).json()["projects"]
        assert {p["iri"] for p in listed} == set(stored)
    finally:
        kill_hard(server)
