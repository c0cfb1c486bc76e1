"""Resources belong to the app: the store and the search index, opened once, closed at exit."""
from __future__ import annotations

import atexit

from flask import Flask, current_app


def init_app(app: Flask) -> None:
    app.extensions["hpkg"] = {}


def get_store():
    """The app's graph store, opened on first use from the settings."""
    cache = current_app.extensions["hpkg"]
    if "store" not in cache:
        from kg.store import open_store

        settings = current_app.config["HPKG"]
        cache["store"] = store = open_store(settings["data_dir"], backend=settings["store"])
        atexit.register(store.close)
    return cache["store"]
