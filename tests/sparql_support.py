"""Helpers of the SPARQL endpoint tests: a small app over tests/data/sparql/, a live HTTP server
on 127.0.0.1 (werkzeug, threaded, free port) and a listener that records connection attempts."""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from werkzeug.serving import make_server

DATA = Path(__file__).resolve().parent / "data" / "sparql"
HPID = "https://w3id.org/healthpolicy-kg/id/"
PLAN_GRAPH = HPID + "graph/test"
PROJECTS_GRAPH = HPID + "graph/projects"


def make_app(data_dir, **settings):
    """The real app over its own store holding plan.ttl and projects.ttl in two named graphs."""
    from search_api import create_app
    from search_api.resources import get_store

    config = {"data_dir": str(data_dir), "store": "oxigraph", "sparql_timeout_s": 10.0}
    config.update(settings)
    app = create_app(config)
    with app.app_context():
        store = get_store()
        store.load_file(DATA / "plan.ttl", PLAN_GRAPH)
        store.load_file(DATA / "projects.ttl", PROJECTS_GRAPH)
    return app


def close_app(app) -> None:
    from search_api.resources import get_store

    with app.app_context():
        get_store().close()


class LiveServer:
    """`app` served over real HTTP on 127.0.0.1 by werkzeug's threaded server."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it receives."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        self.connections = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            conn.close()

    def __enter__(self) -> "Listener":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


def child_pids() -> list[int]:
    """Live (not zombie) child processes of this process, from /proc."""
    me, children = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == me and fields[0] != "Z":
            children.append(int(entry.name))
    return children
