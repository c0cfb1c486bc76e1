"""The graph store: one API over an embedded Oxigraph, rdflib's memory store, or a SPARQL server.

Every write goes to a named graph (one per document, `hpid:graph/{doc}`); the default graph of
a query is the union of all named graphs. Writes of one graph are atomic: `replace_graph` checks
every term first, then swaps the graph in one transaction (one SPARQL update on Oxigraph and on
a remote server), so a failure leaves the old graph as it was.

>>> from rdflib import Graph, URIRef, Literal
>>> g = Graph()
>>> _ = g.add((URIRef("http://example.org/s"), URIRef("http://example.org/p"), Literal("x")))
>>> with open_store(None, backend="memory") as store:
...     _ = store.replace_graph("http://example.org/g", g)
...     [str(row.o) for row in store.query("SELECT ?o WHERE { ?s ?p ?o }")]
['x']
"""
from __future__ import annotations

import io
import re
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef, Variable
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD
from rdflib.query import Result

from ontology.namespaces import HPID, HPO

BACKENDS = ("oxigraph", "memory", "http://...")
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


class StoreError(Exception):
    """The store refused an operation; the message names the graph, file or term at fault."""


class QueryError(StoreError, ValueError):
    """A SPARQL query is malformed or failed; the message says why in one line."""


def open_store(data_dir, backend: str = "oxigraph") -> Store:
    """Open the graph store of `data_dir` with `backend` (see the module docstring).

    `backend` is "oxigraph" (on disk in {data_dir}/store), "memory" (rdflib, nothing saved) or
    the URL of a SPARQL 1.1 server: its query endpoint (.../query or .../sparql, the update
    endpoint being .../update beside it) or its base URL (Oxigraph layout: /query and /update).
    The remote server must use the union of its named graphs as default graph (Oxigraph:
    `oxigraph serve --union-default-graph`).

    >>> with open_store(None, backend="memory") as store:
    ...     len(store)
    0
    """
    if backend == "oxigraph":
        if data_dir is None:
            raise StoreError("the oxigraph backend needs a data directory")
        return OxigraphStore(Path(data_dir) / "store")
    if backend == "memory":
        return MemoryStore()
    if backend.startswith(("http://", "https://")):
        return RemoteStore(backend)
    raise StoreError(f"unknown store backend {backend!r} (expected oxigraph, memory or an http(s) URL)")


class Store(ABC):
    """What every backend offers. Graph IRIs may be given as `str` or `URIRef`."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- writes -----------------------------------------------------------------
    def replace_graph(self, iri, graph: Graph) -> int:
        """Replace named graph `iri` by the triples of `graph`, atomically; returns their count."""
        iri = _graph_iri(iri)
        triples = _checked_triples(graph, iri)  # fails before anything is written
        self._replace(iri, triples)
        return len(triples)

    @abstractmethod
    def _replace(self, iri: URIRef, triples: list) -> None: ...

    @abstractmethod
    def _add(self, iri: URIRef, triples: list) -> None: ...

    @abstractmethod
    def remove_graph(self, iri) -> None:
        """Drop named graph `iri` (nothing happens when it does not exist)."""

    def load_file(self, path, graph_iri) -> int:
        """Add the triples of an RDF file to named graph `graph_iri`; returns how many were read.

        The format comes from the extension (ttl, nt, nq, trig, rdf/xml/owl, jsonld/json); the
        triples of a quad file all go into `graph_iri`. Nothing is written when the file is bad.
        """
        path = Path(path)
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

    def remove_graph(self, iri) -> None:
        self._update(f"DROP SILENT GRAPH <{_graph_iri(iri)}>")


class OxigraphStore(_UpdateStore):
    """Embedded, transactional, on-disk Oxigraph (pyoxigraph) at `path`."""

    def __init__(self, path: Path):
        path.mkdir(parents=True, exist_ok=True)
        try:
            self._ox = ox.Store(str(path))
        except OSError as error:
            raise StoreError(f"{path}: cannot open the store ({_one_line(error)}); "
                             "is another hpkg process (serve?) using it?") from error
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

    def load_file(self, path, graph_iri) -> int:
        path = Path(path)
        fmt = LOAD_FORMATS.get(path.suffix.lower())
        if fmt is None:
            return super().load_file(path, graph_iri)  # names the problem
        # Native parser, one transaction: the fast path for big vocabularies.
        iri = ox.NamedNode(str(_graph_iri(graph_iri)))
        try:
            quads = [ox.Quad(q.subject, q.predicate, q.object, iri) for q in ox.parse(path=str(path), format=fmt)]
            self._ox.extend(quads)
        except (SyntaxError, ValueError, OSError) as error:
            raise StoreError(f"{path}: cannot read as {fmt}: {_one_line(error)}") from error
        return len(quads)

    def __len__(self) -> int:
        return len(self._ox)

    def close(self) -> None:
        # pyoxigraph has no close(): dropping the last reference releases the RocksDB lock.
        if getattr(self, "_ox", None) is not None:
            self._ox.flush()
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

    def remove_graph(self, iri) -> None:
        self._ds.remove_graph(self._ds.graph(_graph_iri(iri)))

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
            return dataset.query(text, initBindings=bindings)
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
    """A SPARQL 1.1 server: updates through rdflib's SPARQLUpdateStore, queries by the Protocol."""

    def __init__(self, url: str):
        from rdflib.plugins.stores.sparqlstore import SPARQLUpdateStore

        self.query_url, self.update_url = remote_endpoints(url)
        self._sparql = SPARQLUpdateStore(self.query_url, self.update_url, autocommit=True)

    def _update(self, text: str) -> None:
        try:
            self._sparql.update(text)
        except urllib.error.HTTPError as error:
            raise StoreError(f"{self.update_url}: update refused ({error.code}): {_http_body(error)}") from error
        except urllib.error.URLError as error:
            raise StoreError(f"{self.update_url}: server unreachable: {error.reason}") from error

    def graphs(self) -> list[URIRef]:
        rows = self._query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", {}, None, None)
        return sorted(row.g for row in rows)

    def _query(self, text, bindings, defaults, named) -> Result:
        # SPARQLStore cannot send several default-graph-uri, so the Protocol request is ours.
        if bindings:
            text = inject_values(text, bindings)
        form = [("query", text)]
        form += [("default-graph-uri", str(u)) for u in defaults or []]
        form += [("named-graph-uri", str(u)) for u in named or []]
        request = urllib.request.Request(
            self.query_url, data=urllib.parse.urlencode(form).encode(),
            headers={"Accept": "application/sparql-results+json, application/n-triples;q=0.9",
                     "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body = response.read()
                content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        except urllib.error.HTTPError as error:
            raise QueryError(f"SPARQL query failed ({error.code}): {_http_body(error)}") from error
        except urllib.error.URLError as error:
            raise StoreError(f"{self.query_url}: server unreachable: {error.reason}") from error
        if content_type in ("application/n-triples", "text/plain", "text/turtle"):
            result = Result("CONSTRUCT")
            result.graph = Graph().parse(data=body, format="nt" if content_type != "text/turtle" else "turtle")
            return result
        return Result.parse(source=io.BytesIO(body), content_type=content_type)

    def close(self) -> None:
        self._sparql.close()


# --- helpers -----------------------------------------------------------------------
def remote_endpoints(url: str) -> tuple[str, str]:
    """(query, update) endpoint URLs of a SPARQL server given by URL.

    >>> remote_endpoints("http://127.0.0.1:7878")
    ('http://127.0.0.1:7878/query', 'http://127.0.0.1:7878/update')
    >>> remote_endpoints("http://h/ds/sparql")
    ('http://h/ds/sparql', 'http://h/ds/update')
    """
    url = url.rstrip("/")
    for tail in ("/query", "/sparql"):
        if url.endswith(tail):
            return url, url[: -len(tail)] + "/update"
    return url + "/query", url + "/update"


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


def _where_brace(text: str) -> int | None:
    """Offset of the `{` opening the query's WHERE group: the first top-level group, or the
    second after a CONSTRUCT template. Strings, IRIs and comments are skipped."""
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
        return braces[1] if template and len(braces) > 1 else None
    return braces[0] if braces else None


def _insert_data(iri: URIRef, triples: list) -> str:
    if not triples:
        return "INSERT DATA { }"
    body = "\n".join(f"{sparql_term(s)} {sparql_term(p)} {sparql_term(o)} ." for s, p, o in triples)
    return f"INSERT DATA {{ GRAPH <{iri}> {{\n{body}\n}} }}"


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


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _http_body(error: urllib.error.HTTPError) -> str:
    try:
        return _one_line(Exception(error.read().decode("utf-8", "replace")))[:300]
    except Exception:  # the body may be gone already
        return error.reason

