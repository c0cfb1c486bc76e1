"""Oxigraph's bulk loader on several cores: the file parsed once, on the calling thread, its
triples cut into parts, each part loaded by Oxigraph on a thread of its own.

Why: the bulk loader gathers up to 1M quads in one batch before writing any, and writes a batch
(term dictionary, six sorted indexes, SST files) on one thread; `bulk_extend` also holds the GIL
throughout. A 1M-quad file was thus one batch, written after the whole parse, on one core.
Here each part (`PART_QUADS` triples) is written as N-Triples text by Oxigraph's serializer and
handed to `Store.bulk_load(input=..., to_graph=...)`, which parses and writes it without the GIL:
while one part is written, the next one is parsed, and two parts are written side by side.

Every triple goes into the target graph (a quad file's own graph names are dropped, as
`Store.load_file` does); the text round trip is exact (Oxigraph writes and reads back the same
terms). `bulk_load` gives the blank nodes of each text new random labels, which would split
one blank node of two parts in two: triples with a blank node (or a quoted triple) are loaded
apart by `bulk_extend`, which keeps labels as written, as `Store.load_file` always did.
Not transactional: the caller drops the graph on failure.
"""
from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import pyoxigraph as ox

_PLAIN = (ox.NamedNode, ox.Literal)
# Triples per part: ~24 MB of N-Triples for corpus-like triples; a part costs a batch of its own.
# 100k rather than 250k: the first part's parse and the last part's write, which nothing overlaps,
# are shorter (1M triples: 6.8-7.7 s against 9.8-10.3 s, docs/benchmarks.md, fifth pass).
PART_QUADS = 100_000


def load_threads() -> int:
    """Threads writing parts: `HPKG_LOAD_THREADS`, else one per core (at most 4)."""
    value = os.environ.get("HPKG_LOAD_THREADS", "")
    return max(1, int(value)) if value.isdigit() else max(1, min(4, os.cpu_count() or 1))


def bulk_load_parts(store: ox.Store, path: Path, fmt: ox.RdfFormat, graph: ox.NamedNode,
                    threads: int | None = None, part_quads: int | None = None) -> int:
    """Load an RDF file into `graph` of `store` with the bulk loader, part by part on `threads`
    threads (`PART_QUADS` triples a part); returns the number of statements read (duplicates
    included).

    A parse error is raised as the parser gives it (line numbers of the file), and only once
    every part already handed over is written: nothing is still writing when the caller cleans up.
    """
    threads, part_quads = threads or load_threads(), part_quads or PART_QUADS
    count, futures = 0, []
    with ThreadPoolExecutor(threads, thread_name_prefix="hpkg-bulk") as pool:  # exit: waits for all
        part, kept = [], []
        for quad in ox.parse(path=str(path), format=fmt):
            triple = quad.triple
            if type(triple.subject) is ox.NamedNode and type(triple.object) in _PLAIN:
                part.append(triple)
            else:  # a blank node (or a quoted triple): its label must stay as written
                kept.append(ox.Quad(triple.subject, triple.predicate, triple.object, graph))
                if len(kept) == part_quads:
                    count += len(kept)
                    store.bulk_extend(kept)
                    kept = []
            if len(part) == part_quads:
                count += len(part)
                _hand_over(pool, futures, threads, store, part, graph)
                part = []
        if part:
            count += len(part)
            _hand_over(pool, futures, threads, store, part, graph)
        if kept:
            count += len(kept)
            store.bulk_extend(kept)  # keeps labels; holds the GIL (few such triples)
    for future in futures:
        if future.exception() is not None:
            raise future.exception()
    return count


def _hand_over(pool, futures: list[Future], threads: int, store, part: list, graph) -> None:
    """Write `part` as N-Triples (on the calling thread: the GIL is held) and load it on the
    pool; at most `threads` parts load at once (a part's text is ~24 MB)."""
    text = ox.serialize(part, format=ox.RdfFormat.N_TRIPLES)
    running = [f for f in futures if not f.done()]
    while len(running) >= threads:
        wait(running, return_when=FIRST_COMPLETED)
        running = [f for f in running if not f.done()]
    failed = next((f for f in futures if f.done() and f.exception() is not None), None)
    if failed is not None:  # stop parsing: the load has failed anyway
        raise failed.exception()
    futures.append(pool.submit(store.bulk_load, input=text, format=ox.RdfFormat.N_TRIPLES, to_graph=graph))
