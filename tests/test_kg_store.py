"""One suite, three backends: embedded Oxigraph, rdflib memory, and a real Oxigraph server."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import XSD

from kg.store import QueryError, StoreError, inject_values, open_store
from search_api.serving import free_port

EX = "http://example.org/"
G1, G2 = URIRef(EX + "graph/1"), URIRef(EX + "graph/2")


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory):
    """A real SPARQL 1.1 server (the `oxigraph` CLI) on 127.0.0.1, for the whole session."""
    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    port = free_port()
    location = tmp_path_factory.mktemp("oxigraph-server")
    log = location / "server.log"  # a file, not a pipe: a full pipe would block the server
    process = subprocess.Popen(
        [binary, "serve", "--location", str(location / "db"), "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
        stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(url + "/query?query=ASK%7B%7D", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"oxigraph serve did not start: {log.read_text(errors='replace')[:500]}")
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(params=["oxigraph", "memory", "remote"])
def store(request, tmp_path):
    if request.param == "remote":
        store = open_store(None, backend=request.getfixturevalue("oxigraph_server"))
        store._update("DROP ALL")  # a clean server for each test
    else:
        store = open_store(tmp_path, backend=request.param)
    with store:
        yield store


def graph_of(*triples) -> Graph:
    graph = Graph()
    for s, p, o in triples:
        graph.add((URIRef(EX + s), URIRef(EX + p), o if isinstance(o, (Literal, URIRef)) else URIRef(EX + o)))
    return graph


def test_replace_graph_writes_named_graph_seen_in_union(store):
    store.replace_graph(G1, graph_of(("a", "p", Literal("un", lang="fr"))))
    store.replace_graph(str(G2), graph_of(("b", "p", Literal(2))))
    assert store.graphs() == [G1, G2]
    assert len(store) == 2
    rows = store.query("SELECT ?s ?o WHERE { ?s ?p ?o } ORDER BY ?s")
    assert [(r.s, r.o) for r in rows] == [(URIRef(EX + "a"), Literal("un", lang="fr")),
                                          (URIRef(EX + "b"), Literal(2))]
    assert [r.o.toPython() for r in rows][1] == 2


def test_replace_graph_replaces_only_that_graph(store):
    store.replace_graph(G1, graph_of(("a", "p", "old1"), ("a", "p", "old2")))
    store.replace_graph(G2, graph_of(("b", "p", "kept")))
    store.replace_graph(G1, graph_of(("a", "p", "new")))
    rows = store.query("SELECT ?g ?o WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g")
    assert [(r.g, r.o) for r in rows] == [(G1, URIRef(EX + "new")), (G2, URIRef(EX + "kept"))]


class _FailingGraph(Graph):
    """A graph whose iteration breaks half way, as a crashing producer would."""

    def __iter__(self):
        yield from list(super().__iter__())[:1]
        raise RuntimeError("producer crashed")


@pytest.mark.parametrize("bad", ["crash", "invalid-iri"])
def test_failed_replace_leaves_old_graph(store, bad):
    old = graph_of(("a", "p", "old"), ("a", "q", Literal("x")))
    store.replace_graph(G1, old)
    if bad == "crash":
        new = _FailingGraph()
        new += graph_of(("a", "p", "n1"), ("a", "p", "n2"))
        error = RuntimeError
    else:
        new = graph_of(("a", "p", "n1"))
        new.add((URIRef(EX + "a"), URIRef(EX + "p"), URIRef("http://x/a b> } ; DROP ALL ; #")))
        error = StoreError
    with pytest.raises(error):
        store.replace_graph(G1, new)
    exported = Graph().parse(data=store.export("ttl"), format="turtle")
    assert isomorphic(exported, old)


def test_remove_graph(store):
    store.replace_graph(G1, graph_of(("a", "p", "b")))
    store.replace_graph(G2, graph_of(("c", "p", "d")))
    store.remove_graph(G1)
    store.remove_graph(EX + "graph/never-there")
    assert store.graphs() == [G2]
    assert len(store) == 1


def test_bindings_are_bound_not_pasted(store):
    store.replace_graph(G1, graph_of(("a", "label", Literal("alpha")), ("b", "label", Literal("beta"))))
    query = "SELECT ?s WHERE { ?s <http://example.org/label> ?label }"
    assert [r.s for r in store.query(query, bindings={"label": Literal("beta")})] == [URIRef(EX + "b")]
    for attack in (Literal('beta" } } ; DROP ALL ; SELECT * WHERE { ?s ?p "x'),
                   Literal('\n\\"""" } } ; DROP ALL ; #')):  # long-string quoting broke rdflib's n3()
        assert list(store.query(query, bindings={"label": attack})) == []
    assert len(store) == 2
    with pytest.raises(QueryError):
        store.query(query, bindings={"label } ; DROP ALL": Literal("x")})
    with pytest.raises(QueryError):
        store.query(query, bindings={"s": URIRef("http://x/> } ; DROP ALL ; <y")})


def test_bindings_apply_before_group_by(store):
    store.replace_graph(G1, graph_of(("a", "p", "x"), ("a", "p", "y"), ("b", "p", "z")))
    query = """PREFIX ex: <http://example.org/>  # a comment with { a brace
        SELECT (COUNT(?o) AS ?n) WHERE { ?s ex:p ?o } GROUP BY ?s"""
    rows = list(store.query(query, bindings={"s": URIRef(EX + "a")}))
    assert [int(r.n) for r in rows] == [2]


def test_default_and_named_graph_uris(store):
    store.replace_graph(G1, graph_of(("a", "p", "b")))
    store.replace_graph(G2, graph_of(("c", "p", "d")))
    rows = store.query("SELECT ?s WHERE { ?s ?p ?o }", default_graph_uris=[G2])
    assert [r.s for r in rows] == [URIRef(EX + "c")]
    rows = store.query("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", named_graph_uris=[G1])
    assert [r.g for r in rows] == [G1]


def test_ask_construct_and_errors(store):
    store.replace_graph(G1, graph_of(("a", "p", "b")))
    assert store.query("ASK { ?s <http://example.org/p> ?o }").askAnswer is True
    assert store.query("ASK { ?s <http://example.org/q> ?o }").askAnswer is False
    built = store.query("CONSTRUCT { ?o ?p ?s } WHERE { ?s ?p ?o }").graph
    assert isomorphic(built, graph_of(("b", "p", "a")))
    with pytest.raises(QueryError, match="SPARQL query failed"):
        store.query("SELECT ?s WHERE { ?s ?p ")


def test_result_serializes_as_sparql_json(store):
    store.replace_graph(G1, graph_of(("a", "p", Literal("é", lang="fr"))))
    payload = json.loads(store.query("SELECT ?s ?o WHERE { ?s ?p ?o }").serialize(format="json"))
    assert payload["head"]["vars"] == ["s", "o"]
    assert payload["results"]["bindings"] == [{
        "s": {"type": "uri", "value": EX + "a"},
        "o": {"type": "literal", "value": "é", "xml:lang": "fr"}}]


RDF_FILES = {
    "ttl": '@prefix ex: <http://example.org/> . ex:a ex:p "un"@fr ; ex:q 3 .',
    "nt": '<http://example.org/a> <http://example.org/p> "un"@fr .\n'
          '<http://example.org/a> <http://example.org/q> "3"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    "nq": '<http://example.org/a> <http://example.org/p> "un"@fr <http://example.org/other> .\n'
          '<http://example.org/a> <http://example.org/q> "3"^^<http://www.w3.org/2001/XMLSchema#integer> .\n',
    "jsonld": '{"@id": "http://example.org/a", "http://example.org/p": {"@value": "un", "@language": "fr"},'
              ' "http://example.org/q": 3}',
    "rdf": '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">'
           '<rdf:Description rdf:about="http://example.org/a"><ex:p xml:lang="fr">un</ex:p>'
           '<ex:q rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">3</ex:q></rdf:Description></rdf:RDF>',
}


@pytest.mark.parametrize("ext", sorted(RDF_FILES))
def test_load_file_into_named_graph(store, tmp_path, ext):
    path = tmp_path / f"external.{ext}"
    path.write_text(RDF_FILES[ext], encoding="utf-8")
    assert store.load_file(path, G2) == 2
    assert store.graphs() == [G2]
    expected = graph_of(("a", "p", Literal("un", lang="fr")), ("a", "q", Literal(3)))
    assert isomorphic(Graph().parse(data=store.export("ttl"), format="turtle"), expected)


def test_load_bad_file_names_it_and_writes_nothing(store, tmp_path):
    store.replace_graph(G2, graph_of(("a", "p", "b")))
    path = tmp_path / "broken.ttl"
    path.write_text("@prefix ex: <http://example.org/> . ex:a ex:p ex:b . ex:c ex:p ", encoding="utf-8")
    with pytest.raises(StoreError, match="broken.ttl"):
        store.load_file(path, G2)
    with pytest.raises(StoreError, match="unknown RDF format"):
        store.load_file(tmp_path / "data.csv", G2)
    assert len(store) == 1


PARSE_FORMAT = {"ttl": "turtle", "xml": "xml", "nq": "nquads", "jsonld": "json-ld"}


def assert_round_trip(store, graphs: dict[URIRef, Graph], fmt: str) -> None:
    data = store.export(fmt)
    if fmt in ("ttl", "xml"):
        union = Graph()
        for graph in graphs.values():
            union += graph
        assert isomorphic(Graph().parse(data=data, format=PARSE_FORMAT[fmt]), union)
        return
    dataset = Dataset()
    dataset.parse(data=data, format=PARSE_FORMAT[fmt])
    got = {g.identifier: g for g in dataset.graphs() if len(g)}
    assert set(got) == {iri for iri, graph in graphs.items() if len(graph)}
    for iri, graph in graphs.items():
        if len(graph):
            assert isomorphic(got[iri], graph), iri


@pytest.mark.parametrize("fmt", ["ttl", "nq", "jsonld", "xml"])
def test_export_round_trip(store, fmt):
    graphs = {
        G1: graph_of(("a", "p", Literal("l'été « ici »\n", lang="fr")), ("a", "q", Literal(1.5)),
                     ("a", "r", "b")),
        G2: graph_of(("b", "p", Literal('quote " and \\ backslash')), ("b", "q", Literal(7)),
                     ("b", "r", Literal('\n\\"'))),  # found by hypothesis: n3() wrote it unparsable
    }
    graphs[G2].add((BNode("g2b"), URIRef(EX + "p"), Literal("blank")))
    for iri, graph in graphs.items():
        store.replace_graph(iri, graph)
    assert_round_trip(store, graphs, fmt)


def test_unknown_export_format(store):
    with pytest.raises(StoreError, match="unknown export format 'csv'"):
        store.export("csv")


_TEXT = st.text(alphabet="abcxyz éàç'\"\\\n«»{}#<>", max_size=12)
# Language tags in lower case: Oxigraph normalises them so (RDF 1.1 compares them caseless).
_OBJECTS = st.one_of(
    st.sampled_from([URIRef(EX + n) for n in "abcd"]),
    _TEXT.map(Literal),
    st.tuples(_TEXT, st.sampled_from(["fr", "en", "fr-ca"])).map(lambda t: Literal(t[0], lang=t[1])),
    st.integers(-10**6, 10**6).map(Literal),
    st.booleans().map(Literal),
    st.dates().map(Literal),
)
_TRIPLES = st.lists(
    st.tuples(st.sampled_from("abcd_"), st.sampled_from(["p", "q", "r"]), _OBJECTS), max_size=8)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(_TRIPLES, min_size=1, max_size=3), fmt=st.sampled_from(["ttl", "nq", "jsonld", "xml"]))
def test_export_round_trip_random_graphs(store, data, fmt):
    for iri in store.graphs():
        store.remove_graph(iri)
    graphs = {}
    for i, triples in enumerate(data):
        graph = Graph()
        for s, p, o in triples:
            # blank node labels are per graph: the store keeps graphs' blank nodes apart
            subject = BNode(f"g{i}") if s == "_" else URIRef(EX + s)
            graph.add((subject, URIRef(EX + p), o))
        graphs[URIRef(f"{EX}graph/{i}")] = graph
        store.replace_graph(URIRef(f"{EX}graph/{i}"), graph)
    assert_round_trip(store, graphs, fmt)


def test_oxigraph_persists_and_reports_a_locked_store(tmp_path):
    with open_store(tmp_path, backend="oxigraph") as store:
        store.replace_graph(G1, graph_of(("a", "p", "b")))
        with pytest.raises(StoreError, match="another hpkg process"):
            open_store(tmp_path, backend="oxigraph")
    with open_store(tmp_path, backend="oxigraph") as store:
        assert store.graphs() == [G1]
    assert (tmp_path / "store").is_dir()


def test_unknown_backend():
    with pytest.raises(StoreError, match="unknown store backend 'sqlite'"):
        open_store("data", backend="sqlite")


@pytest.mark.parametrize("query, expected", [
    ('CONSTRUCT { ?s <http://e/p> "{" } WHERE { ?s ?p ?o }', "WHERE { VALUES"),
    ("BASE <http://e/> PREFIX ask: <http://e/x#> # CONSTRUCT { comment\nCONSTRUCT WHERE { ?s ask:p ?o }", "\nVALUES"),
    ('PREFIX e: <http://e/> SELECT ?s WHERE { { SELECT ?s { ?s e:p """}""" } } }', "WHERE { VALUES"),
    ("ASK { ?s ?p ?o FILTER(?o < 3) }", "ASK { VALUES"),
], ids=["construct-template", "construct-where-after-comment", "subquery-and-long-string", "ask"])
def test_inject_values_finds_the_where_group(query, expected):
    bound = inject_values(query, {"o": Literal(1)})
    assert expected + ' (?o) { ("1"^^<http://www.w3.org/2001/XMLSchema#integer>) }' in bound
    Graph().query(bound)  # still valid SPARQL


def test_memory_store_queries_from_many_threads_all_answer():
    """rdflib's parser is not thread-safe: the memory store parses under kg.store's lock, so
    distinct queries from 8 threads at once all answer (without it, pyparsing TypeErrors)."""
    from concurrent.futures import ThreadPoolExecutor

    from rdflib import Graph, Literal, URIRef

    graph = Graph()
    for i in range(5):
        graph.add((URIRef(f"http://example.org/s{i}"), URIRef("http://example.org/p"), Literal(i)))
    with open_store(None, backend="memory") as store:
        store.replace_graph("http://example.org/g", graph)
        texts = [f"SELECT ?s WHERE {{ ?s <http://example.org/p> ?o FILTER(?o < {n}) }} LIMIT {n + 100}"
                 for n in range(60)]
        with ThreadPoolExecutor(8) as pool:
            counts = list(pool.map(lambda text: len(list(store.query(text))), texts))
    assert counts == [min(n, 5) for n in range(60)]


# ---------------------------------------------------------------- bulk load (#14)
def _sorted_nquads_hash(store) -> tuple[int, str]:
    import hashlib

    lines = sorted(line for line in store.export("nq").decode("utf-8").splitlines() if line.strip())
    return len(lines), hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


@pytest.mark.parametrize("part_quads", [None, 700])  # one part; 9 parts on 2 threads
def test_bulk_load_into_empty_graph_equals_transactional_load(tmp_path, monkeypatch, part_quads):
    """An empty graph takes the bulk loader, a non-empty one a transaction: same quads, also
    when the file is loaded in parts side by side (blank nodes shared by parts stay one node)."""
    import kg.bulk_load

    monkeypatch.setattr(kg.bulk_load, "PART_QUADS", part_quads or kg.bulk_load.PART_QUADS)
    monkeypatch.setenv("HPKG_LOAD_THREADS", "2")
    lines = [f'<{EX}s{i}> <{EX}p{i % 7}> "valeur {i}"@fr <{EX}ignored> .' for i in range(3000)]
    lines += [f"<{EX}s{i}> <{EX}q> <{EX}o{i % 11}> ." for i in range(3000)]  # no graph: default
    lines += [f'_:b{i % 5} <{EX}r> "{i}"^^<{XSD.integer}> <{EX}g{i}> .' for i in range(0, 6000, 97)]
    lines += [f"<{EX}s{i}> <{EX}r> _:b{i % 5} ." for i in range(0, 6000, 89)]
    lines.append(lines[0])  # a duplicate quad is stored once either way
    path = tmp_path / "big.nq"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seed = graph_of(("s0", "q", "o0"))  # a triple the file also holds
    with open_store(tmp_path / "bulk") as bulk, open_store(tmp_path / "tx") as tx:
        tx.replace_graph(G2, seed)  # not empty: the transactional path
        assert bulk.load_file(path, G2) == tx.load_file(path, G2) == len(lines)
        assert _sorted_nquads_hash(bulk) == _sorted_nquads_hash(tx)
        assert len(bulk) == len(lines) - 1 and bulk.graphs() == [G2]
        blanks = bulk.query("SELECT (COUNT(DISTINCT ?b) AS ?n) WHERE { ?b ?p ?o FILTER isBlank(?b) }")
        assert int(list(blanks)[0].n) == 5


def test_bulk_load_in_parts_equals_one_transaction_for_turtle(tmp_path, monkeypatch):
    """Turtle (prefixes, generated blank nodes) cut into parts after parsing: same quads."""
    import kg.bulk_load

    monkeypatch.setattr(kg.bulk_load, "PART_QUADS", 50)
    body = "\n".join(f'ex:s{i} ex:p "é {i}"@fr ; ex:q [ ex:v {i} ] .' for i in range(400))
    path = tmp_path / "big.ttl"
    path.write_text(f"@prefix ex: <{EX}> .\n{body}\n", encoding="utf-8")
    with open_store(tmp_path / "bulk") as bulk, open_store(tmp_path / "tx") as tx:
        tx.replace_graph(G2, graph_of(("s0", "p", Literal("é 0", lang="fr"))))  # the transactional path
        assert bulk.load_file(path, G2) == tx.load_file(path, G2) == 1200
        assert len(bulk) == len(tx) == 1200
        # blank node labels differ between two parses: compare the graphs up to them
        assert isomorphic(Graph().parse(data=bulk.export("ttl"), format="turtle"),
                          Graph().parse(data=tx.export("ttl"), format="turtle"))


@pytest.mark.parametrize("part_quads", [None, 300])  # the error after 6 parts were handed over
def test_bulk_load_of_bad_file_leaves_the_empty_graph_empty(tmp_path, monkeypatch, part_quads):
    import kg.bulk_load

    monkeypatch.setattr(kg.bulk_load, "PART_QUADS", part_quads or kg.bulk_load.PART_QUADS)
    good = "\n".join(f"<{EX}s{i}> <{EX}p> <{EX}o> ." for i in range(2000))
    path = tmp_path / "broken.nt"
    path.write_text(good + "\n<http://example.org/x> <oops", encoding="utf-8")
    with open_store(tmp_path) as store:
        store.replace_graph(G1, graph_of(("a", "p", "b")))
        with pytest.raises(StoreError, match="broken.nt"):
            store.load_file(path, G2)  # streamed into the bulk loader, then dropped
        assert store.graphs() == [G1] and len(store) == 1
