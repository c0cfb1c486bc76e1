"""`GET /health` (and HEAD): is this worker able to answer? For load balancers and operators.

200 `{"status": "ok", ...}` when the store answers a query and the search index is on disk;
503 `{"status": "error", "reason": "...", ...}` naming what is wrong otherwise. Cheap: one ASK
on the store, a triple count cached for `COUNT_TTL_S`, the index manifest read from disk;
nothing is embedded and the index is not loaded.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from importlib.metadata import PackageNotFoundError, version

from flask import Blueprint, current_app, jsonify

from kg.index import index_dir, marked_stale
from kg.store import StoreError
from search_api.resources import get_store, index_stale

bp = Blueprint("health", __name__)
log = logging.getLogger("hpkg.health")
COUNT_TTL_S = 60.0  # counting triples scans the store: at most once a minute per worker
INDEX_FILES = ("manifest.json", "vectors.faiss", "passages.jsonl")


@bp.record_once
def _setup(state) -> None:
    state.app.extensions["hpkg_health"] = {"started": time.time(), "count": None, "lock": threading.Lock()}


@bp.get("/health")
def health():
    settings = current_app.config["HPKG"]
    reasons: list[str] = []
    store_state = _store_state(settings, reasons)
    index_state = _index_state(settings, reasons)
    started = current_app.extensions["hpkg_health"]["started"]
    payload = {
        "status": "error" if reasons else "ok",
        "version": _version(),
        "pid": os.getpid(),
        "uptime_s": round(time.time() - started, 1),
        "store": store_state,
        "index": index_state,
    }
    if reasons:
        payload["reason"] = "; ".join(reasons)
    response = jsonify(payload)
    response.status_code = 503 if reasons else 200
    response.headers["Cache-Control"] = "no-store"
    return response


def _store_state(settings: dict, reasons: list[str]) -> dict:
    """Backend name, reachability (one ASK) and the cached triple count."""
    backend = settings["store"]
    state = {"backend": "remote" if backend.startswith(("http://", "https://")) else backend}
    try:
        store = get_store()
        store.query("ASK { ?s ?p ?o }")
        state["triples"] = _triple_count(store)
    except (StoreError, OSError) as error:  # OSError: a server that times out
        # The detail (server URL, path) goes to the log only; the reason names the part at fault.
        log.warning("store check failed: %s", error, extra={"event": "health_store_error"})
        reasons.append(f"store unreachable ({_cause(error)})")
        state["error"] = "unreachable"
    return state


def _triple_count(store) -> int:
    cache = current_app.extensions["hpkg_health"]
    with cache["lock"]:
        if cache["count"] is None or time.monotonic() - cache["count"][0] > COUNT_TTL_S:
            cache["count"] = (time.monotonic(), len(store))
        return cache["count"][1]


def _index_state(settings: dict, reasons: list[str]) -> dict:
    """What the index manifest says (passages, model, built at); missing files are an error."""
    folder = index_dir(settings)
    missing = [name for name in INDEX_FILES if not (folder / name).is_file()]
    if missing:
        reasons.append(f"search index missing ({', '.join(missing)} not in the data directory's index/)")
        return {"error": "missing"}
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        reasons.append(f"search index unreadable (manifest.json: {type(error).__name__})")
        return {"error": "unreadable"}
    state = {key: manifest.get(key) for key in ("passages", "sections", "embedding_model", "faiss", "built_at")}
    # the store changed since the build (an ingest ran or runs), or requests get the last good index
    state["stale"] = marked_stale(settings) or bool(index_stale())
    return state


def _cause(error: Exception) -> str:
    """The last clause of a store error (`[Errno 111] Connection refused`), without paths or URLs."""
    text = str(error).rsplit(": ", 1)[-1].strip()
    return text[:120] if "://" not in text and "/" not in text else type(error).__name__


def _version() -> str:
    try:
        return version("healthpolicy-kg")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "unknown"
