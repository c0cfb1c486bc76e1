"""Rendered pages, search and SPARQL answers kept per store generation: the orientation, entity,
plan and home pages (their HTML and their JSON) cost 5-70 ms of SPARQL, FAISS and templates each,
a search 10-20 ms besides embedding the question, an endpoint query a forked worker (8-15 ms
before its own work), and they only change when the store does (and the search index, for
answers and an orientation's related sections).

An entry is valid while the store's generation token (kg/generation.py: every write through a
`Store` changes it, in every process sharing the data directory) and the search index served
are the ones it was rendered under. These pages do not depend on who asks (no session data in
them), so one entry serves every visitor. Bounded in bytes (`page_cache_mb`), least recently
used first out. Off (`page_cache`) for a store URL the user gives: other programs may write to
that server without changing the token.
"""
from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from functools import wraps

from flask import Response, current_app, make_response, request

from kg.index import IndexUnavailable
from kg.search import search_store
from kg.sparql_exec import Answer
from search_api.handlers import wants_json
from search_api.resources import get_index, get_store

MODES = ("auto", "on", "off")


class PageCache:
    """Values by key, all computed under one generation token (a new token empties it), at
    most `max_bytes` of them (each value's size is given when it is put)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self._size = 0
        self._token = None
        self._lock = threading.Lock()

    def get(self, token, key):
        with self._lock:
            if token != self._token:
                self._reset(token)
                return None
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, token, key, value, size: int) -> None:
        if size > self.max_bytes:
            return
        with self._lock:
            if token != self._token:  # computed under a generation that has passed: never kept
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._entries[key] = (value, size)
            self._size += size
            while self._size > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._size -= dropped

    def __len__(self) -> int:
        return len(self._entries)

    def _reset(self, token) -> None:
        self._entries.clear()
        self._size = 0
        self._token = token


def cache_enabled(settings: dict) -> bool:
    mode = settings["page_cache"]
    if mode not in MODES:
        raise ValueError(f"page_cache (HPKG_PAGE_CACHE): {mode!r} is not one of {', '.join(MODES)}")
    if mode == "auto":
        return settings["store"] in ("oxigraph", "memory")
    return mode == "on"


def init_app(app) -> None:
    settings = app.config["HPKG"]
    if cache_enabled(settings) and settings["page_cache_mb"] > 0:
        app.extensions["hpkg_pages"] = PageCache(int(settings["page_cache_mb"] * 1024 * 1024))
        app.extensions["hpkg_answers"] = PageCache(int(settings["page_cache_mb"] * 1024 * 1024))


def _token(name: str) -> tuple[PageCache | None, str | None]:
    """The app's cache `name` and the store's generation token (None, None: keep nothing)."""
    cache = current_app.extensions.get(name)
    generation = get_store().generation
    if cache is None or generation is None:
        return None, None
    token = generation.current()
    return (cache, token) if token is not None else (None, None)


def _index_state():
    """Which search index the app serves, for a page that shows hits (None: none, no hits)."""
    try:
        return _index_key(get_index())
    except IndexUnavailable:
        return None


def _index_key(index) -> tuple | None:
    if index is None:
        return None
    return tuple(index.manifest.get(key) for key in ("corpus_hash", "built_at", "embedding_model", "faiss"))


def cached_page(uses_index: bool = False):
    """Keep the view's 200 answers under the store's generation; with `uses_index` (a page that
    shows search hits) the served index's identity is part of the key."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            cache, token = _token("hpkg_pages")
            if cache is None:
                return view(*args, **kwargs)
            # the index is part of the key, not of the token: pages that do not use it stay
            key = (request.full_path, wants_json(), _index_state() if uses_index else None)
            hit = cache.get(token, key)
            if hit is not None:
                body, status, content_type = hit
                return Response(body, status=status, content_type=content_type)
            response = make_response(view(*args, **kwargs))
            if response.status_code == 200 and not response.is_streamed:
                body = response.get_data()
                cache.put(token, key, (body, response.status_code, response.content_type), len(body))
            return response
        return wrapper
    return decorate


def kept_search(store, settings: dict, query: str, *, index, encoder, **options) -> dict:
    """`kg.search.search_store`'s answer, kept under the store's generation and the index; a
    kept answer's `took_ms` is the time this call took. Callers must not change it."""
    started = time.perf_counter()
    cache, token = _token("hpkg_answers")
    if cache is None:
        return search_store(store, settings, query, index=index, encoder=encoder, **options)
    key = (query, json.dumps(options, sort_keys=True), _index_key(index))
    answer = cache.get(token, key)
    if answer is not None:
        return {**answer, "took_ms": round((time.perf_counter() - started) * 1000, 1)}
    answer = search_store(store, settings, query, index=index, encoder=encoder, **options)
    cache.put(token, key, answer, len(json.dumps(answer, ensure_ascii=False)))
    return answer


# A query whose answer is not a function of the store alone: the clock, random values, fresh
# blank nodes and identifiers (SPARQL 1.1 §17.4), another endpoint's data.
_VOLATILE = re.compile(r"\b(?:NOW|RAND|UUID|STRUUID|BNODE)\s*\(|\bSERVICE\b", re.IGNORECASE)


def kept_sparql_answer(text: str, options: dict, answer) -> Answer:
    """`answer()` (the endpoint's `answer_query_limited` call) kept under the store's generation,
    by the query's text and its protocol options (Accept, format, dataset, row cap). Errors and
    timeouts are raised, never kept."""
    cache, token = _token("hpkg_answers")
    if cache is None or _VOLATILE.search(text):
        return answer()
    key = ("sparql", text, json.dumps(options, sort_keys=True))
    kept = cache.get(token, key)
    if kept is not None:
        return kept
    result = answer()
    cache.put(token, key, result, len(result.body))
    return result
