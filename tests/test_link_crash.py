"""An acknowledged write survives kill -9 of the server: a real `hpkg serve` subprocess."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.test_link_web import PASSWORD, make_data_dir
from tests.test_link_projects import section_iri

HPKG = Path(sys.executable).parent / "hpkg"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
