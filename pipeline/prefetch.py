"""Passage embedding beside the ingest: each page's passages are embedded on a background
thread as soon as the page is stored, while the next pages are read, extracted and validated;
the index build then reuses those vectors (`kg.index.ensure_index(known_vectors=...)`).

The passages of a page are read from a scratch in-memory store holding that page's graph
alone (`kg.passages.read_passages`). The index builds them from the whole store, where a few
may read differently (a breadcrumb parent on another page, a section stated by two pages): a
vector is keyed by the exact text it embeds, so such a passage is simply embedded again by
the build, never given a wrong vector. Embedding is deterministic whatever the batch
(tests/test_embedding_threads.py): the index is the one a build from scratch gives.

The background thread (and the engine threads it starts) runs at a lower priority (nice +10,
Linux: per thread): it takes the cores the page work leaves idle, never the page work's own
(measured at normal priority on a busy machine: the pages slowed down more than the embedding
gained). When the pages are done, `vectors()` stops it after the page in hand; the build embeds
the rest at normal priority, on every core.
"""
from __future__ import annotations

import logging
import os
import queue
import threading

import numpy as np

from kg.embeddings import get_embedder
from kg.passages import read_passages
from kg.store import OxigraphStore

log = logging.getLogger(__name__)
_DONE = object()


class PassagePrefetch:
    """`add(iri, graph)` after each stored page; `vectors()` at the end: context -> vector.
    A failure in the background (a page the scratch store refuses, the model) is logged and
    only loses the head start: the build embeds what is missing."""

    def __init__(self, model: str):
        self._model = model
        self._pages: queue.Queue = queue.Queue()
        self._vectors: dict[str, np.ndarray] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hpkg-prefetch", daemon=True)
        self._thread.start()

    def add(self, iri, graph) -> None:
        self._pages.put((iri, graph))

    def vectors(self, wait: bool = False) -> dict[str, np.ndarray]:
        """Stop after the page in hand (with `wait`: after every page handed in); the vectors
        embedded so far."""
        self.close(wait)
        return self._vectors

    def close(self, wait: bool = False) -> None:
        if not wait:
            self._stop.set()
        if self._thread.is_alive():
            self._pages.put(_DONE)
            self._thread.join()

    def _run(self) -> None:
        _lower_priority()
        try:
            embedder = get_embedder(self._model)
            while (item := self._pages.get()) is not _DONE and not self._stop.is_set():
                texts = [t for t in page_contexts(*item) if t not in self._vectors]
                if texts:
                    rows = embedder.embed_passages(texts).reshape(len(texts), embedder.dim)
                    self._vectors.update(zip(texts, rows))
        except Exception as error:  # the build embeds whatever is missing
            log.warning("passage prefetch stopped: %s: %s", type(error).__name__, error)
            while self._pages.get() is not _DONE:
                pass


def _lower_priority(step: int = 10) -> None:
    """Nice this thread (Linux: a thread's own priority; threads it starts inherit it)."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
    except (AttributeError, OSError):  # not Linux, or not allowed: run at the normal priority
        pass


def page_contexts(iri, graph) -> list[str]:
    """The indexed texts (`Passage.context`) of one page graph, read on its own."""
    scratch = OxigraphStore(None)
    scratch.replace_graph(iri, graph)
    passages, _ = read_passages(scratch, concepts=False)
    return list(dict.fromkeys(p.context for p in passages))
