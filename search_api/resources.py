"""Resources belong to the app: the store (opened once, closed at exit), the search index (the
saved one, or the last good one: a request never builds it) and the query encoder (its cache of
query embeddings, cleared when the app closes)."""
from __future__ import annotations

import atexit
import fcntl
import os
import secrets
import threading
from pathlib import Path

from flask import Flask, current_app

from kg.embeddings import QueryEncoder
from kg.index import SearchIndex, serve_index
from kg.store import open_store


def init_app(app: Flask) -> None:
    app.extensions["hpkg"] = {}


_OPEN_LOCK = threading.Lock()  # concurrent first requests must not open the embedded store twice


def get_store():
    """The app's graph store, opened on first use from the settings."""
    cache = current_app.extensions["hpkg"]
    if "store" not in cache:
        with _OPEN_LOCK:
            if "store" not in cache:
                settings = current_app.config["HPKG"]
                cache["store"] = store = open_store(settings["data_dir"], backend=settings["store"])
                atexit.register(store.close)
    return cache["store"]


def get_index() -> SearchIndex:
    """The search index for this request: the saved one, or the last good one this app served
    when the saved one is missing, damaged or being rebuilt (then reported stale by /health).
    Never built here: `hpkg ingest` and `hpkg serve`'s start-up build it. IndexUnavailable
    (503) when there has never been one."""
    cache = current_app.extensions["hpkg"]
    index, stale = serve_index(current_app.config["HPKG"], cache.get("index"))
    cache["index"], cache["index_stale"] = index, stale
    return index


def get_encoder() -> QueryEncoder:
    """The app's query encoder: embeddings of the questions asked, cached across requests."""
    cache = current_app.extensions["hpkg"]
    if "encoder" not in cache:
        with _OPEN_LOCK:
            if "encoder" not in cache:
                cache["encoder"] = encoder = QueryEncoder()
                atexit.register(encoder.close)
    return cache["encoder"]


def index_stale() -> bool | None:
    """Whether the index last served is stale (None: none served yet in this app)."""
    return current_app.extensions["hpkg"].get("index_stale")


def stored_secret(data_dir: Path) -> str:
    """The random key kept in {data_dir}/secret_key (sessions survive a restart), created once.

    Several gunicorn workers (or processes on one disk) may start at the same moment: the
    first takes an exclusive lock, writes the key to a temporary file and renames it into
    place; the others wait for the lock and read that key. App instances on several machines
    must share one key through the `secret_key` setting instead.
    """
    data_dir = Path(data_dir)
    path = data_dir / "secret_key"
    key = _read_key(path)
    if key:
        return key
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".secret_key.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        key = _read_key(path)  # made by whoever held the lock before us
        if not key:
            key = secrets.token_hex(32)
            tmp = data_dir / f".secret_key.{os.getpid()}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, key.encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)  # whole or absent, never half-written
    return key


def _read_key(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
