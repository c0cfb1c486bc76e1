"""Passage embedding beside the ingest: each page's passages are embedded on a background
thread as soon as the page is stored, while the next pages are read, extracted and validated;
the index build then reuses those vectors (`kg.index.ensure_index(known_vectors=...)`).

The passages of a page are read from a scratch in-memory store holding that page's graph
alone (`kg.passages.read_passages`). The index builds them from the whole store, where a few
may read differently (a breadcrumb parent on another page, a section stated by two pages): a
vector is keyed by the exact text it embeds, so such a passage is simply embedded again by
the build, never given a wrong vector. Embedding is deterministic whatever the batch
(tests/test_embedding_threads.py): the index is the one a build from scratch gives.

The background thread embeds one passage at a time, on one core, at a lower priority (nice
+10, Linux: per thread): it takes the core the page work leaves idle, never the page work's own
(measured at normal priority with two engine threads on a busy machine: the pages slowed down
more than the embedding gained). When the pages are done, `vectors()` takes what it embedded
and stops it; the build embeds the rest at normal priority, on every core.
"""
from __future__ import annotations

import inspect
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
        self._lock = threading.Lock()
        # Not a daemon: at exit Python waits for it to finish the passage in hand (close() has
        # told it to stop); a daemon thread killed inside a torch call aborts the process.
        self._thread = threading.Thread(target=self._run, name="hpkg-prefetch", daemon=False)
        self._thread.start()

    def add(self, iri, graph) -> None:
        self._pages.put((iri, graph))

    def vectors(self, wait: bool = False) -> dict[str, np.ndarray]:
        """The vectors embedded so far; the background stops after the passage in hand, in its
        own time (it runs niced: waiting for it on a busy machine would cost seconds). With
        `wait`: after every page handed in."""
        if wait:
            self._pages.put(_DONE)
            self._thread.join()
        self.close()
        with self._lock:
            return dict(self._vectors)

    def close(self) -> None:
        self._stop.set()
        self._pages.put(_DONE)

    def _run(self) -> None:
        _lower_priority()
        try:
            embedder = get_embedder(self._model)
            while (item := self._pages.get()) is not _DONE and not self._stop.is_set():
                for text in page_contexts(*item):
                    if self._stop.is_set():
                        return
                    if text not in self._vectors:  # one passage a call, on this thread alone
                        row = _embed_one(embedder, text)
                        with self._lock:
                            self._vectors[text] = row
        except Exception as error:  # the build embeds whatever is missing
            log.warning("passage prefetch stopped: %s: %s", type(error).__name__, error)


def _embed_one(embedder, text: str) -> np.ndarray:
    if "threads" in inspect.signature(embedder.embed_passages).parameters:  # e5: no thread pool
        return embedder.embed_passages([text], threads=1).reshape(-1)
    return embedder.embed_passages([text]).reshape(-1)


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
