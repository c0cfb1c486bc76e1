"""The graph store: one API over an embedded Oxigraph, rdflib's memory store, or a SPARQL server.

Every write goes to a named graph (one per document, `hpid:graph/{doc}`); the default graph of
a query is the union of all named graphs. Writes of one graph are atomic: `replace_graph` checks
every term first, then swaps the graph in one transaction (one SPARQL update on Oxigraph, embedded
or served), so a failure leaves the old graph as it was. Virtuoso has no such transaction over
HTTP: there a failed write is undone by putting the old content back (`RemoteStore._replace`).
`Store.lock(name)` serialises read-change-write cycles (kg/projects.py) across threads,
processes and app instances sharing one server.

>>> from rdflib import Graph, URIRef, Literal
>>> g = Graph()
>>> _ = g.add((URIRef("http://example.org/s"), URIRef("http://example.org/p"), Literal("x")))
>>> with open_store(None, backend="memory") as store:
...     _ = store.replace_graph("http://example.org/g", g)
...     [str(row.o) for row in store.query("SELECT ?o WHERE { ?s ?p ?o }")]
['x']
"""
from __future__ import annotations

import fcntl
import io
import os
import random
import re
import threading
import time
import urllib.parse
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import urllib3
from rdflib import BNode, Dataset, Graph, Literal, URIRef, Variable
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD
from rdflib.plugins.sparql import prepareQuery
from rdflib.query import Result

from kg.bulk_load import bulk_load_parts
from kg.generation import Generation
from ontology.errors import Timeout, Unavailable
from ontology.namespaces import HPID, HPO

BACKENDS = ("oxigraph", "memory", "http://...")  # a URL: RemoteStore (oxigraph serve, Virtuoso 7)
EXPORT_FORMATS = ("ttl", "nq", "jsonld", "xml")
# Formats of load_file, by file extension.
LOAD_FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES, ".nq": ox.RdfFormat.N_QUADS,
    ".trig": ox.RdfFormat.TRIG, ".rdf": ox.RdfFormat.RDF_XML, ".xml": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML, ".jsonld": ox.RdfFormat.JSON_LD, ".json": ox.RdfFormat.JSON_LD,
}
PREFIXES = {
    "hpo": str(HPO._NS), "hpid": str(HPID), "skos": str(SKOS), "dcterms": str(DCTERMS),
    "prov": str(PROV), "rdf": str(RDF), "rdfs": str(RDFS), "xsd": str(XSD),
}
# rdflib serializer names for export formats that rdflib writes (memory and remote backends).
RDFLIB_FORMATS = {"ttl": "turtle", "nq": "nquads", "jsonld": "json-ld", "xml": "xml"}
_IRI = re.compile(r"<[^<>\"{}|^`\\\x00-\x20]*>")
_FORM = re.compile(r"(SELECT|CONSTRUCT|DESCRIBE|ASK)(?![\w:-])", re.IGNORECASE)
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Characters an IRI may not hold (RFC 3987 IRIREF production of Turtle/SPARQL).
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
# Leases of `RemoteStore.lock`: outside hpid:, so that no page name can collide with them.
LOCK_GRAPH = URIRef("urn:hpkg:locks")
LOCK_HELD_BY, LOCK_EXPIRES = URIRef("urn:hpkg:lock:heldBy"), URIRef("urn:hpkg:lock:expires")
_LOCK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# Graphs a server keeps for itself (Virtuoso: its RDF views, LDP and service description):
# not data, so graphs(), len() and export() leave them out, as they leave out the lock graph.
HIDDEN_GRAPH_PREFIXES = ("http://www.openlinksw.com/", "http://www.w3.org/ns/ldp#", "http://localuriqaserver/")
_LOCKS_GUARD = threading.Lock()


class _ParserLock:
    """rdflib's SPARQL parser (pyparsing) is not thread-safe: two threads parsing at once fail
    with errors such as "Param.postParse2() missing 1 required positional argument" (seen under
    load). Every rdflib parse of this process holds this lock; a forked child (the SPARQL
    time-limit worker) starts with a free one, whatever a parent thread held at fork time."""

    def __init__(self):
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc) -> None:
        self._lock.release()

    def reset(self) -> None:
        self._lock = threading.Lock()


RDFLIB_PARSER = _ParserLock()
os.register_at_fork(after_in_child=RDFLIB_PARSER.reset)


class StoreError(Unavailable):
    """The store refused an operation; the message names the graph, file or term at fault
    (for the log: the web shows its own French message)."""


class QueryError(StoreError, ValueError):
    """A SPARQL query is malformed or failed; the message says why in one line."""


class LockTimeout(StoreError, Timeout):
    """`Store.lock` could not be taken in time; the message names the lock."""


def open_store(data_dir, backend: str = "oxigraph") -> Store:
    """Open the graph store of `data_dir` with `backend` (see the module docstring).

    `backend` is "oxigraph" (on disk in {data_dir}/store), "memory" (rdflib, nothing saved) or
    the URL of a SPARQL 1.1 server (`remote_endpoints`): Virtuoso's .../sparql, or Oxigraph's
    base URL. The remote server must use the union of its named graphs as default graph
    (Oxigraph: `oxigraph serve --union-default-graph`; Virtuoso does, see docs/deploy.md).

    >>> with open_store(None, backend="memory") as store:
    ...     len(store)
    0
    """
    if backend == "oxigraph":
        if data_dir is None:
            raise StoreError("the oxigraph backend needs a data directory")
        store = OxigraphStore(Path(data_dir) / "store")
    elif backend == "memory":
        store = MemoryStore()
    elif backend.startswith(("http://", "https://")):
        store = RemoteStore(backend)
    else:
        raise StoreError(f"unknown store backend {backend!r} (expected oxigraph, memory or an http(s) URL)")
    store.generation = Generation(data_dir)
    return store


class Store(ABC):
    """What every backend offers. Graph IRIs may be given as `str` or `URIRef`.

    `generation` (set by `open_store`) changes after every write through this object, for
    whoever keeps what it computed from the store (kg/generation.py)."""

    generation: Generation | None = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- writes -----------------------------------------------------------------
    def replace_graph(self, iri, graph: Graph) -> int:
        """Replace named graph `iri` by the triples of `graph`, atomically; returns their count."""
        iri = _graph_iri(iri)
        triples = _checked_triples(graph, iri)  # fails before anything is written
        with self._writing():
            self._replace(iri, triples)
        return len(triples)

    @contextmanager
    def _writing(self):
        """Around every write: the generation changes once it is over, even when it failed
        (a write may fail after changing something, and a spurious change costs nothing)."""
        try:
            yield
        finally:
            if self.generation is not None:
                self.generation.bump()

    @abstractmethod
    def _replace(self, iri: URIRef, triples: list) -> None: ...

    @abstractmethod
    def _add(self, iri: URIRef, triples: list) -> None: ...

    def remove_graph(self, iri) -> None:
        """Drop named graph `iri` (nothing happens when it does not exist)."""
        with self._writing():
            self._remove(_graph_iri(iri))

    @abstractmethod
    def _remove(self, iri: URIRef) -> None: ...

    def load_file(self, path, graph_iri) -> int:
        """Add the triples of an RDF file to named graph `graph_iri`; returns how many were read.

        The format comes from the extension (ttl, nt, nq, trig, rdf/xml/owl, jsonld/json); the
        triples of a quad file all go into `graph_iri`. Nothing is written when the file is bad.
        """
        with self._writing():
            return self._load_file(Path(path), graph_iri)

    def _load_file(self, path: Path, graph_iri) -> int:
        fmt = LOAD_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise StoreError(f"{path}: unknown RDF format {path.suffix!r} (known: {', '.join(LOAD_FORMATS)})")
        iri = _graph_iri(graph_iri)
        try:
            quads = list(ox.parse(path=str(path), format=fmt))
        except (SyntaxError, ValueError, OSError) as error:
            raise StoreError(f"{path}: cannot read as {fmt}: {_one_line(error)}") from error
        graph = Graph()
        for quad in quads:
            graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
        self._add(iri, _checked_triples(graph, iri))
        return len(quads)

    # --- reads ------------------------------------------------------------------
    @abstractmethod
    def graphs(self) -> list[URIRef]:
        """IRIs of the named graphs holding at least one triple, sorted."""

    def query(self, text: str, bindings: Mapping | None = None, default_graph_uris: Iterable | None = None,
              named_graph_uris: Iterable | None = None) -> Result:
        """Run a SPARQL query; `bindings` maps variable names to terms (or plain values).

        Bindings are data, never pasted text: rdflib's initBindings in memory, elsewhere a
        VALUES block opening the WHERE group, written from escaped terms (`inject_values`).

        The default graph is the union of the named graphs unless `default_graph_uris` is
        given; `named_graph_uris` limits what GRAPH clauses see.
        """
        terms = _checked_bindings(bindings or {})
        defaults = [_graph_iri(u) for u in default_graph_uris] if default_graph_uris else None
        named = [_graph_iri(u) for u in named_graph_uris] if named_graph_uris else None
        return self._query(text, terms, defaults, named)

    @abstractmethod
    def _query(self, text: str, bindings: dict, defaults: list | None, named: list | None) -> Result: ...

    def export(self, fmt: str = "ttl") -> bytes:
        """Serialize the store: ttl and xml as one graph (the union), nq and jsonld per graph."""
        if fmt not in EXPORT_FORMATS:
            raise StoreError(f"unknown export format {fmt!r} (known: {', '.join(EXPORT_FORMATS)})")
        return self._export(fmt)

    def _export(self, fmt: str) -> bytes:
        dataset = Dataset()
        for prefix, ns in PREFIXES.items():
            dataset.bind(prefix, ns)
        for s, p, o, g in self._quads():
            dataset.add((s, p, o, g))
        if fmt in ("ttl", "xml"):
            union = Graph()
            for prefix, ns in PREFIXES.items():
                union.bind(prefix, ns)
            for s, p, o, _ in dataset.quads():
                union.add((s, p, o))
            return union.serialize(format=RDFLIB_FORMATS[fmt], encoding="utf-8")
        return dataset.serialize(format=RDFLIB_FORMATS[fmt], encoding="utf-8")

    def _quads(self):
        rows = self.query("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return ((row.s, row.p, row.o, row.g) for row in rows)

    def __len__(self) -> int:
        """Number of quads in the named graphs."""
        rows = list(self.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"))
        return int(rows[0].n)

    # --- locks ------------------------------------------------------------------
    @contextmanager
    def lock(self, name: str, timeout: float = 30.0, lease: float = 60.0):
        """Hold lock `name` across threads, processes and app instances sharing this store,
        for a read-change-write of one graph; re-entrant in one thread.

        Embedded and memory stores: a thread lock plus an fcntl lock on `{data_dir}/locks/`.
        Remote store: a lease on the server (`RemoteStore._acquire_shared`) that ends by itself
        `lease` seconds after it was taken, so a killed holder blocks nobody for longer; the
        critical section must be shorter than that. Raises `LockTimeout` after `timeout` s.

        >>> with open_store(None, backend="memory") as store, store.lock("projects"):
        ...     with store.lock("projects"):  # the same thread may take it again
        ...         "held"
        'held'
        """
        if not _LOCK_NAME.match(name):
            raise StoreError(f"invalid lock name {name!r} (lower-case letters, digits and -)")
        with _LOCKS_GUARD:
            entry = self.__dict__.setdefault("_locks", {}).setdefault(name, [threading.RLock(), 0, None])
        deadline = time.monotonic() + timeout
        if not entry[0].acquire(timeout=timeout):
            raise LockTimeout(f"lock {name!r}: held by another thread for more than {timeout:g} s")
        try:
            if entry[1] == 0:  # only the owning thread reads and writes entry[1:] from here
                entry[2] = self._acquire_shared(name, deadline, lease)
            entry[1] += 1
            try:
                yield
            finally:
                entry[1] -= 1
                if entry[1] == 0:
                    self._release_shared(name, entry[2])
        finally:
            entry[0].release()

    def _lock_folder(self) -> Path | None:
        """Where the fcntl lock files live (None: no other process can open this store)."""
        return None

    def _acquire_shared(self, name: str, deadline: float, lease: float):
        folder = self._lock_folder()
        if folder is None:
            return None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(folder / f"{name}.lock", "a+b")
        except OSError as error:  # a full disk or a read-only data dir: nothing was written
            raise StoreError(f"{folder}: cannot create lock file {name}.lock ({_one_line(error)})") from error
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                if time.monotonic() > deadline:
                    handle.close()
                    raise LockTimeout(f"lock {name!r}: {folder / name}.lock held by another process") from None
                time.sleep(0.01)

    def _release_shared(self, name: str, token) -> None:
        if token is not None:
            fcntl.flock(token, fcntl.LOCK_UN)
            token.close()

    def close(self) -> None:
        """Release the store (the on-disk lock, the HTTP connection)."""


class _UpdateStore(Store):
    """Backends written through SPARQL Update: a page's replacement is one update request,
    which Oxigraph (embedded or served) runs as one transaction, so a failure keeps the old graph."""

    @abstractmethod
    def _update(self, text: str) -> None: ...

    def _replace(self, iri, triples) -> None:
        self._update(f"DROP SILENT GRAPH <{iri}> ;\n" + _insert_data(iri, triples))

    def _add(self, iri, triples) -> None:
        self._update(_insert_data(iri, triples))

    def _remove(self, iri) -> None:
        self._update(f"DROP SILENT GRAPH <{iri}>")


class OxigraphStore(_UpdateStore):
    """Embedded, transactional, on-disk Oxigraph (pyoxigraph) at `path`; in memory when `path`
    is None (a scratch store: the passages of one page, pipeline/prefetch.py)."""

    def __init__(self, path: Path | None):
        self.path = path
        if path is None:
            self._ox = ox.Store()
            return
        path.mkdir(parents=True, exist_ok=True)
        try:
            self._ox = ox.Store(str(path))
        except OSError as error:
            hint = "; is another hpkg process (serve?) using it?" if "lock" in str(error).lower() else ""
            raise StoreError(f"{path}: cannot open the store ({_one_line(error)}){hint}") from error
        self.path = path

    def _update(self, text: str) -> None:
        try:
            self._ox.update(text)
        except (SyntaxError, ValueError, OSError) as error:
            raise StoreError(f"{self.path}: update refused: {_one_line(error)}") from error

    def graphs(self) -> list[URIRef]:
        rows = self._ox.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return sorted(URIRef(row["g"].value) for row in rows)

    def _query(self, text, bindings, defaults, named) -> Result:
        options = {"use_default_graph_as_union": defaults is None}
        if defaults is not None:
            options["default_graph"] = [ox.NamedNode(u) for u in defaults]
        if named is not None:
            options["named_graphs"] = [ox.NamedNode(u) for u in named]
        if bindings:
            # Not `substitutions`: SEP-0007 wants every bound variable projected.
            text = inject_values(text, bindings)
        try:
            answer = self._ox.query(text, **options)
            return _to_result(answer)
        except (SyntaxError, ValueError, OSError, RuntimeError) as error:
            raise QueryError(f"SPARQL query failed: {_one_line(error)}") from error

    def _export(self, fmt: str) -> bytes:
        if fmt == "nq":
            return self._ox.dump(format=ox.RdfFormat.N_QUADS)
        if fmt == "jsonld":
            return self._ox.dump(format=ox.RdfFormat.JSON_LD)
        triples = dict.fromkeys(self._ox.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
                                               use_default_graph_as_union=True))
        out = ox.RdfFormat.TURTLE if fmt == "ttl" else ox.RdfFormat.RDF_XML
        # no hpid: prefix here: Oxigraph would escape every `/` of the local names (hpid:doc\/x)
        prefixes = {k: v for k, v in PREFIXES.items() if k != "hpid"}
        return ox.serialize(list(triples), format=out, prefixes=prefixes)

    def _load_file(self, path, graph_iri) -> int:
        """Native parser. Into an empty graph (`hpkg load` of a new graph, a big file): the bulk
        loader, fed in parts on every core (`bulk_load_parts`), several times faster than one
        transaction; it is not transactional, so a failure drops the graph again (it was
        empty: nothing of the file stays). Into a graph that holds triples: one transaction,
        so a failure leaves the graph as it was."""
        fmt = LOAD_FORMATS.get(path.suffix.lower())
        if fmt is None:
            return super()._load_file(path, graph_iri)  # names the problem
        iri = ox.NamedNode(str(_graph_iri(graph_iri)))
        bulk = not self._graph_holds_triples(iri)
        count = 0

        def quads():
            nonlocal count
            for quad in ox.parse(path=str(path), format=fmt):
                count += 1
                yield ox.Quad(quad.subject, quad.predicate, quad.object, iri)

        try:
            if bulk:  # parts loaded side by side on the cores (kg/bulk_load.py)
                count = bulk_load_parts(self._ox, path, fmt, iri)
            else:
                self._ox.extend(list(quads()))  # parsed whole first: a bad file writes nothing
        except BaseException as error:  # an interrupt too: the bulk loader leaves what it wrote
            if bulk:
                self._drop_after_failed_bulk(iri)
            if isinstance(error, (SyntaxError, ValueError, OSError)):
                raise StoreError(f"{path}: cannot read as {fmt}: {_one_line(error)}") from error
            raise
        return count

    def _graph_holds_triples(self, iri: ox.NamedNode) -> bool:
        return next(iter(self._ox.quads_for_pattern(None, None, None, iri)), None) is not None

    def _drop_after_failed_bulk(self, iri: ox.NamedNode) -> None:
        try:
            self._ox.remove_graph(iri)
        except OSError:  # a full disk: the partial graph stays; `hpkg load` again completes it
            pass

    def __len__(self) -> int:
        return len(self._ox)

    def _lock_folder(self) -> Path | None:
        return None if self.path is None else self.path.parent / "locks"

    def close(self) -> None:
        # pyoxigraph has no close(): dropping the last reference releases the RocksDB lock.
        if getattr(self, "_ox", None) is not None:
            try:
                self._ox.flush()
            except OSError:  # a full disk: committed writes are in the WAL, replayed on next open
                pass
            finally:
                self._ox = None


class MemoryStore(Store):
    """rdflib's in-memory Dataset: for small tests; nothing is saved."""

    def __init__(self):
        self._ds = Dataset(default_union=True)

    def _replace(self, iri, triples) -> None:
        self._ds.remove_graph(self._ds.graph(iri))
        self._add(iri, triples)

    def _add(self, iri, triples) -> None:
        self._ds.addN((s, p, o, self._ds.graph(iri)) for s, p, o in triples)

    def _remove(self, iri) -> None:
        self._ds.remove_graph(self._ds.graph(iri))

    def graphs(self) -> list[URIRef]:
        return sorted(c for c in self._named() if len(self._ds.graph(c)))

    def _named(self) -> set[URIRef]:
        default = self._ds.default_graph.identifier
        return {g.identifier for g in self._ds.graphs() if g.identifier != default}

    def _query(self, text, bindings, defaults, named) -> Result:
        dataset = self._ds
        if defaults is not None or named is not None:
            dataset = self._view(defaults, named)
        try:
            with RDFLIB_PARSER:  # the parse only: evaluation runs beside other threads
                prepared = prepareQuery(text, initNs=dict(dataset.namespaces()))
            return dataset.query(prepared, initBindings=bindings)
        except Exception as error:  # pyparsing and rdflib evaluation errors have no common base
            raise QueryError(f"SPARQL query failed: {_one_line(error)}") from error

    def _view(self, defaults, named) -> Dataset:
        """A copy whose default graph merges `defaults` and whose named graphs are `named`."""
        view = Dataset(default_union=False)
        for iri in defaults or []:
            for triple in self._ds.graph(iri):
                view.default_graph.add(triple)
        for iri in named if named is not None else self._named():
            target = view.graph(iri)
            for triple in self._ds.graph(iri):
                target.add(triple)
        return view

    def _quads(self):
        default = self._ds.default_graph.identifier
        return ((s, p, o, g) for s, p, o, g in self._ds.quads() if g != default and g is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self._quads())


class RemoteStore(_UpdateStore):
    """A SPARQL 1.1 server over HTTP (the Protocol for queries and updates).

    Tested against `oxigraph serve --union-default-graph` and Virtuoso 7.2, recognised by its
    `Server` header. Virtuoso differs, and is handled here:
    - one endpoint (/sparql) for queries and updates; its default graph is the union of all
      graphs it lets the anonymous user read: its own system graphs must be made private
      (docs/deploy.md), and are left out of graphs(), len() and export anyway
      (`HIDDEN_GRAPH_PREFIXES`);
    - an update request is not one transaction (each operation commits on its own), INSERT DATA
      refuses blank nodes and chokes on ~5,000 triples, so a graph is written with the Graph
      Store Protocol (one N-Triples PUT, fast); a failed PUT is not rolled back by Virtuoso, so
      the old content, read just before, is put back (see `_replace`);
    - booleans come back as "1"/"0", plain strings as xsd:string, blank nodes as nodeID://:
      normalised (`_normal`);
    - a SELECT cut at the server's ResultSetMaxRows says so (X-SPARQL-MaxRows): a QueryError,
      never a silently short answer.
    """

    def __init__(self, url: str):
        self.query_url, self.update_url = remote_endpoints(url)
        self._server: str | None = None  # the Server header, read on first contact

    # --- HTTP -----------------------------------------------------------------------
    def _http(self, url: str, data: bytes | None, headers: dict, method: str | None = None,
              error=StoreError, timeout: float = 300) -> tuple[bytes, dict]:
        method = method or ("POST" if data is not None else "GET")
        try:
            response = _http_pool().request(method, url, body=data, headers=headers,
                                            timeout=timeout, retries=False)
        except urllib3.exceptions.HTTPError as failure:  # refused, reset, timed out
            reason = getattr(failure, "reason", None) or failure
            raise StoreError(f"{url}: server unreachable: {reason}") from failure
        self._server = response.headers.get("Server", self._server or "")
        if response.status >= 400:
            what = "SPARQL query failed" if error is QueryError else f"{url}: refused"
            text = _one_line(Exception(response.data.decode("utf-8", "replace")))[:300] or response.reason
            raise error(f"{what} ({response.status}): {text}")
        return response.data, response.headers

    @property
    def virtuoso(self) -> bool:
        """Whether the server is Virtuoso (asks it once when nothing was exchanged yet)."""
        if self._server is None:
            probe = self.query_url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
            self._http(probe, None, {"Accept": "application/sparql-results+json"}, timeout=30)
        return (self._server or "").startswith("Virtuoso")

    def _update(self, text: str) -> None:
        form = urllib.parse.urlencode({"update": text}).encode()
        self._http(self.update_url, form, {"Content-Type": "application/x-www-form-urlencoded",
                                           "Accept": "application/sparql-results+json, */*;q=0.1"})

    # --- writes ---------------------------------------------------------------------
    def _replace(self, iri, triples) -> None:
        if not self.virtuoso:
            return super()._replace(iri, triples)  # one update, one transaction (Oxigraph)
        old = self._graph_store("GET", iri)
        try:
            self._graph_store("PUT", iri, _ntriples(triples))
        except StoreError as error:
            try:  # Virtuoso keeps what it read before the failure: put the old graph back
                self._graph_store("PUT", iri, old)
            except StoreError as second:
                raise StoreError(f"graph <{iri}>: write failed ({error}) and the old content could "
                                 f"not be restored ({second}); write the graph again") from error
            raise StoreError(f"graph <{iri}>: write failed, old content restored: {error}") from error

    def _add(self, iri, triples) -> None:
        if not self.virtuoso:
            return super()._add(iri, triples)
        self._graph_store("POST", iri, _ntriples(triples))

    def _graph_store(self, method: str, iri, body: bytes | None = None) -> bytes:
        """SPARQL 1.1 Graph Store Protocol on Virtuoso's /sparql-graph-crud (N-Triples)."""
        base = self.query_url.rsplit("/", 1)[0]
        url = f"{base}/sparql-graph-crud?" + urllib.parse.urlencode({"graph-uri": str(iri)})
        if method == "GET":
            try:
                data, _ = self._http(url, None, {"Accept": "application/n-triples"})
            except StoreError as error:
                if "(404)" in str(error):  # no such graph yet
                    return b""
                raise
            return data
        self._http(url, body, {"Content-Type": "application/n-triples"}, method=method)
        return b""

    # --- reads ----------------------------------------------------------------------
    def _counts(self) -> dict[URIRef, int]:
        rows = self._query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
                           {}, None, None)
        return {row.g: int(row.n) for row in rows if visible_graph(row.g)}

    def graphs(self) -> list[URIRef]:
        return sorted(self._counts())

    def __len__(self) -> int:
        return sum(self._counts().values())

    def _quads(self):
        return ((s, p, o, g) for s, p, o, g in super()._quads() if visible_graph(g))

    def _query(self, text, bindings, defaults, named) -> Result:
        # urllib, not rdflib's SPARQLStore: it cannot send several default-graph-uri.
        if bindings:
            text = inject_values(text, bindings)
        form = [("query", text)]
        form += [("default-graph-uri", str(u)) for u in defaults or []]
        form += [("named-graph-uri", str(u)) for u in named or []]
        # Ask for the right kind of answer: Virtuoso would send a CONSTRUCT as a JSON table.
        graph_form = query_form(text) in ("CONSTRUCT", "DESCRIBE")
        accept = "application/n-triples, text/turtle;q=0.8" if graph_form else "application/sparql-results+json"
        body, headers = self._http(self.query_url, urllib.parse.urlencode(form).encode(), {
            "Accept": accept, "Content-Type": "application/x-www-form-urlencoded"}, error=QueryError)
        if headers.get("X-SPARQL-MaxRows"):
            raise QueryError(f"{self.query_url}: the server cut the answer at {headers['X-SPARQL-MaxRows']} rows "
                             "(Virtuoso: raise ResultSetMaxRows in the [SPARQL] section of virtuoso.ini)")
        content_type = headers.get("Content-Type", "").split(";")[0].strip()
        if content_type in ("application/n-triples", "text/plain", "text/turtle"):
            result = Result("CONSTRUCT")
            parsed = Graph().parse(data=body, format="nt" if content_type != "text/turtle" else "turtle")
            result.graph = Graph()
            for s, p, o in parsed:
                result.graph.add((s, p, _normal(o)))
            return result
        result = Result.parse(source=io.BytesIO(body), content_type=content_type)
        if result.type == "SELECT":
            result.bindings = [{name: _normal(term) for name, term in row.items()} for row in result.bindings]
        return result

    # --- locks ----------------------------------------------------------------------
    def _acquire_shared(self, name: str, deadline: float, lease: float):
        """A lease in LOCK_GRAPH: claim it when nobody holds it (one update: drop expired
        claims, then INSERT ... WHERE FILTER NOT EXISTS), then read the claims back. Only a
        claim that is alone is held: two claims inserted at once (Virtuoso checks and inserts
        in two steps) both step back and retry after a random pause."""
        lock = HPID[f"lock/{name}"]
        pause = 0.01
        while True:
            claim = HPID[f"lock/{name}/{uuid.uuid4().hex}"]
            now = time.time()
            self._update(
                f"DELETE {{ GRAPH <{LOCK_GRAPH}> {{ <{lock}> <{LOCK_HELD_BY}> ?c . ?c <{LOCK_EXPIRES}> ?e }} }}\n"
                f"WHERE {{ GRAPH <{LOCK_GRAPH}> {{ <{lock}> <{LOCK_HELD_BY}> ?c . ?c <{LOCK_EXPIRES}> ?e }} "
                f"FILTER(?e < {now:.3f}) }} ;\n"
                f"INSERT {{ GRAPH <{LOCK_GRAPH}> {{ <{lock}> <{LOCK_HELD_BY}> <{claim}> . "
                f"<{claim}> <{LOCK_EXPIRES}> {now + lease:.3f} }} }}\n"
                f"WHERE {{ FILTER NOT EXISTS {{ GRAPH <{LOCK_GRAPH}> {{ <{lock}> <{LOCK_HELD_BY}> ?any }} }} }}")
            rows = self._query(f"SELECT ?c WHERE {{ GRAPH <{LOCK_GRAPH}> {{ <{lock}> <{LOCK_HELD_BY}> ?c }} }}",
                               {}, None, None)
            holders = {row.c for row in rows}
            if holders == {claim}:
                return claim
            if claim in holders:
                self._release_shared(name, claim)
            if time.monotonic() > deadline:
                raise LockTimeout(f"lock {name!r} on {self.update_url}: still held after waiting "
                                  f"(a crashed holder's lease ends by itself after at most {lease:.0f} s)")
            time.sleep(random.uniform(pause, 2 * pause))
            pause = min(pause * 2, 0.5)

    def _release_shared(self, name: str, claim) -> None:
        lock = HPID[f"lock/{name}"]
        self._update(f"DELETE {{ GRAPH <{LOCK_GRAPH}> {{ <{lock}> <{LOCK_HELD_BY}> <{claim}> . "
                     f"<{claim}> <{LOCK_EXPIRES}> ?e }} }}\n"
                     f"WHERE {{ GRAPH <{LOCK_GRAPH}> {{ <{claim}> <{LOCK_EXPIRES}> ?e }} }}")


# --- helpers -----------------------------------------------------------------------
def remote_endpoints(url: str) -> tuple[str, str]:
    """(query, update) endpoint URLs of a SPARQL server given by URL: a `/sparql` endpoint
    takes both (Virtuoso, Blazegraph), a `/query` one has `/update` beside it, and a base URL
    has both under it (Oxigraph, Fuseki's /dataset).

    >>> remote_endpoints("http://127.0.0.1:7878")
    ('http://127.0.0.1:7878/query', 'http://127.0.0.1:7878/update')
    >>> remote_endpoints("http://127.0.0.1:8890/sparql")
    ('http://127.0.0.1:8890/sparql', 'http://127.0.0.1:8890/sparql')
    """
    url = url.rstrip("/")
    if url.endswith("/sparql"):
        return url, url
    if url.endswith("/query"):
        return url, url[: -len("/query")] + "/update"
    return url + "/query", url + "/update"


def visible_graph(iri) -> bool:
    """Whether a named graph holds data (not a server's system graph, not the lock graph).

    >>> visible_graph("http://www.openlinksw.com/schemas/virtrdf#"), visible_graph(HPID["graph/x"])
    (False, True)
    """
    return str(iri) != str(LOCK_GRAPH) and not str(iri).startswith(HIDDEN_GRAPH_PREFIXES)


def inject_values(text: str, bindings: Mapping[str, object]) -> str:
    """Bind variables by a VALUES block opening the query's WHERE group (no text pasting).

    Terms are written by `sparql_term` (escaped); names are checked identifiers. Placing the
    block inside the WHERE group, not after the query, keeps the binding before GROUP BY.

    >>> inject_values('SELECT ?x WHERE { ?x ?p ?o }', {"o": Literal('a" } ; DROP ALL #')})
    'SELECT ?x WHERE { VALUES (?o) { ("a\\\\" } ; DROP ALL #") } ?x ?p ?o }'
    """
    names = list(bindings)
    block = "VALUES (" + " ".join("?" + n for n in names) + ") { (" + \
        " ".join(sparql_term(bindings[n]) for n in names) + ") }"
    at = _where_brace(text)
    if at is None:  # DESCRIBE <x>, CONSTRUCT WHERE: a trailing VALUES still binds
        return text + "\n" + block + "\n"
    return text[: at + 1] + " " + block + text[at + 1:]


def query_form(text: str) -> str | None:
    """SELECT, CONSTRUCT, DESCRIBE or ASK: the form of a query (None for an update).

    >>> query_form("PREFIX select: <http://e/> construct { ?s ?p ?o } WHERE { ?s ?p ?o }")
    'CONSTRUCT'
    """
    return _scan(text)[0]


def _where_brace(text: str) -> int | None:
    """Offset of the `{` opening the query's WHERE group: the first top-level group, or the
    second after a CONSTRUCT template."""
    return _scan(text)[1]


def _scan(text: str) -> tuple[str | None, int | None]:
    """(query form, offset of the WHERE group's `{`); strings, IRIs and comments are skipped."""
    i, n, depth, braces, form, template = 0, len(text), 0, [], None, False
    while i < n:
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "'\"":
            quote = c * 3 if text.startswith(c * 3, i) else c
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                j += 2 if text[j] == "\\" else 1
            i = j + len(quote)
            continue
        if c == "<":
            iri = _IRI.match(text, i)
            if iri:
                i = iri.end()
                continue
        if form is None and depth == 0 and c.isalpha() and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_:?$")):
            keyword = _FORM.match(text, i)
            if keyword:
                form = keyword.group(1).upper()
                template = form == "CONSTRUCT" and text[keyword.end():].lstrip().startswith("{")
        if c == "{":
            if depth == 0:
                braces.append(i)
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1
    if form == "CONSTRUCT":  # CONSTRUCT WHERE { triples } admits no VALUES inside: trailing one
        return form, braces[1] if template and len(braces) > 1 else None
    return form, braces[0] if braces else None


def _insert_data(iri: URIRef, triples: list) -> str:
    if not triples:
        return "INSERT DATA { }"
    body = "\n".join(f"{sparql_term(s)} {sparql_term(p)} {sparql_term(o)} ." for s, p, o in triples)
    return f"INSERT DATA {{ GRAPH <{iri}> {{\n{body}\n}} }}"


def _ntriples(triples) -> bytes:
    """Triples as an N-Triples document (the terms written by `sparql_term`, valid there too)."""
    return "".join(f"{sparql_term(s)} {sparql_term(p)} {sparql_term(o)} .\n" for s, p, o in triples).encode()


def _normal(term):
    """A term read from a server in the form rdflib and the other backends give: Virtuoso
    writes booleans as 1/0, keeps xsd:string on plain literals and labels blank nodes nodeID://.

    >>> _normal(Literal("1", datatype=XSD.boolean)) == Literal(True), _normal(Literal("a", datatype=XSD.string))
    (True, rdflib.term.Literal('a'))
    """
    if isinstance(term, BNode):  # Virtuoso's labels (nodeID://b1) are no N-Triples labels
        return BNode(re.sub(r"[^A-Za-z0-9]", "_", str(term)))
    if isinstance(term, Literal) and term.datatype is not None:
        if term.datatype == XSD.string:
            return Literal(str(term))
        if term.datatype == XSD.boolean and str(term) in ("1", "0"):
            return Literal(str(term) == "1")
    return term


def sparql_term(term) -> str:
    """A term in SPARQL/N-Triples syntax, always one-line and escaped (rdflib's `n3()` writes
    long strings that a trailing quote breaks).

    >>> print(sparql_term(Literal('a"\\nb', lang="fr")), sparql_term(Literal(2)))
    "a\\"\\nb"@fr "2"^^<http://www.w3.org/2001/XMLSchema#integer>
    """
    if isinstance(term, URIRef):
        if _BAD_IRI.search(term):
            raise StoreError(f"invalid IRI {str(term)!r}")
        return f"<{term}>"
    if isinstance(term, BNode):
        return "_:b" + re.sub(r"[^A-Za-z0-9]", "_", str(term))
    if isinstance(term, Literal):
        text = str(term).translate(_ESCAPES)
        if term.language:
            return f'"{text}"@{term.language}'
        if term.datatype and term.datatype != XSD.string:
            return f'"{text}"^^{sparql_term(term.datatype)}'
        return f'"{text}"'
    raise StoreError(f"unsupported RDF term {term!r}")


def _graph_iri(iri) -> URIRef:
    iri = URIRef(str(iri))
    if not str(iri) or _BAD_IRI.search(str(iri)) or ":" not in str(iri):
        raise StoreError(f"invalid graph IRI {str(iri)!r}")
    return iri


def _checked_triples(graph: Graph, iri: URIRef) -> list:
    """The triples of `graph` as a list, each IRI checked, before any write starts."""
    triples = []
    for triple in graph:
        for term in triple:
            if isinstance(term, URIRef) and (_BAD_IRI.search(term) or ":" not in term):
                raise StoreError(f"graph <{iri}>: invalid IRI {str(term)!r}")
            if isinstance(term, Literal) and term.language and not re.fullmatch(r"[A-Za-z]+(-[A-Za-z0-9]+)*", term.language):
                raise StoreError(f"graph <{iri}>: invalid language tag {term.language!r}")
        triples.append(triple)
    return triples


def _checked_bindings(bindings: Mapping) -> dict:
    terms = {}
    for name, value in bindings.items():
        name = str(name).lstrip("?$")
        if not _VARIABLE.match(name):
            raise QueryError(f"invalid variable name {name!r} in bindings")
        term = value if isinstance(value, (URIRef, Literal)) else Literal(value)
        if isinstance(term, URIRef) and (_BAD_IRI.search(term) or ":" not in term):
            raise QueryError(f"binding ?{name}: invalid IRI {str(term)!r}")
        terms[name] = term
    return terms


def to_rdflib(term):
    """A pyoxigraph term as an rdflib term."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        return Literal(term.value, datatype=None if datatype == str(XSD.string) else URIRef(datatype))
    if term is None:
        return None
    raise StoreError(f"unsupported RDF term {term!r}")


def to_oxigraph(term):
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise StoreError(f"unsupported RDF term {term!r}")


def _to_result(answer) -> Result:
    """A pyoxigraph answer (solutions, boolean or triples) as an rdflib Result."""
    if isinstance(answer, ox.QueryBoolean):
        result = Result("ASK")
        result.askAnswer = bool(answer)
        return result
    if isinstance(answer, ox.QueryTriples):
        result = Result("CONSTRUCT")
        graph = Graph()
        for triple in answer:
            graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
        result.graph = graph
        return result
    result = Result("SELECT")
    names = [v.value for v in answer.variables]
    result.vars = [Variable(n) for n in names]
    rows = []
    for solution in answer:
        row = {}
        for name in names:
            value = solution[name]
            if value is not None:
                row[Variable(name)] = to_rdflib(value)
        rows.append(row)
    result.bindings = rows
    return result


_POOL: urllib3.PoolManager | None = None


def _http_pool() -> urllib3.PoolManager:
    """Keep-alive connections to SPARQL servers, shared by the threads of this process (an
    orientation page runs 7 queries: a new TCP connection for each cost 7% of a worker)."""
    global _POOL
    if _POOL is None:
        _POOL = urllib3.PoolManager(maxsize=32)
    return _POOL


def _forget_pool() -> None:
    # A forked child (the SPARQL time-limit worker) must not share the parent's sockets.
    global _POOL
    _POOL = None


os.register_at_fork(after_in_child=_forget_pool)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
