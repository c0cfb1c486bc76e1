"""kg/formats.py: every result format round-trips through rdflib's own parser; TSV by the spec;
content negotiation by name, media type and Accept header."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.query import Result

from kg import formats

VARS = ["s", "label", "n", "missing"]
ROWS = [
    (URIRef("https://w3id.org/healthpolicy-kg/id/actor/ars"), Literal("agence régionale de santé", lang="fr"),
     Literal(3), None),
    (URIRef("http://example.org/x"), Literal('tab\there, "quotes", new\nline and back\\slash'),
     Literal("2.5", datatype=URIRef("http://www.w3.org/2001/XMLSchema#decimal")), None),
    (BNode("b0"), Literal("plain"), None, None),
]
RESULT_FORMATS = [f for f in formats.FORMATS if "select" in f.kinds and f.negotiable]
GRAPH_FORMATS = formats.formats_for("graph")


def _parse(fmt, data: bytes) -> Result:
    return formats.parse_results(data, fmt)


@pytest.mark.parametrize("fmt", [f for f in RESULT_FORMATS if f.name != "csv"], ids=lambda f: f.name)
def test_select_round_trips(fmt):
    data = formats.write_results(fmt, VARS, ROWS)
    result = _parse(fmt, data)
    assert [str(v) for v in result.vars] == VARS
    got = [tuple(r.asdict().get(v) for v in VARS) for r in result]
    assert got == [tuple(t for t in row) for row in ROWS]


def test_csv_round_trips_as_plain_strings():
    # SPARQL CSV drops datatypes and languages by design: values come back as plain strings.
    fmt = formats.find("select", "csv")
    data = formats.write_results(fmt, VARS, ROWS)
    assert data.splitlines()[0] == b"s,label,n,missing"
    result = _parse(fmt, data)
    assert [str(r.asdict().get("label")) for r in result] == [str(row[1]) for row in ROWS]


@pytest.mark.parametrize("fmt", [f for f in RESULT_FORMATS if "ask" in f.kinds], ids=lambda f: f.name)
@pytest.mark.parametrize("answer", [True, False])
def test_ask_round_trips(fmt, answer):
    result = _parse(fmt, formats.write_results(fmt, [], [], boolean=answer))
    assert result.type == "ASK" and result.askAnswer is answer


def test_tsv_follows_the_spec():
    data = formats.write_results(formats.find("select", "tsv"), VARS, ROWS).decode("utf-8")
    lines = data.split("\n")
    assert lines[0] == "?s\t?label\t?n\t?missing"
    assert lines[1] == ('<https://w3id.org/healthpolicy-kg/id/actor/ars>\t"agence régionale de santé"@fr\t'
                        '"3"^^<http://www.w3.org/2001/XMLSchema#integer>\t')
    # tabs and new lines inside a literal are escaped: one result per line, columns intact
    assert lines[2].count("\t") == 3 and "\\t" in lines[2] and "\\n" in lines[2]
    assert lines[3] == '_:b0\t"plain"\t\t'
    assert data.endswith("\n") and len(lines) == 5


# rdflib's TSV reader splits lines like str.splitlines (on \x0b, \x1c-\x1e, \x85, \u2028...), which
# the TSV spec does not ask writers to escape: those characters are left out here.
_SPLITLINES = "\x00\x0b\x1c\x1d\x1e\x85\u2028\u2029"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=_SPLITLINES),
                        max_size=30), min_size=1, max_size=5))
def test_tsv_and_json_round_trip_any_text(values):
    rows = [(Literal(v), URIRef("http://example.org/" + str(i))) for i, v in enumerate(values)]
    for name in ("tsv", "json"):
        fmt = formats.find("select", name)
        result = _parse(fmt, formats.write_results(fmt, ["v", "i"], rows))
        assert [(r.v, r.i) for r in result] == rows


def test_truncation_note_in_json_and_xml():
    note = "truncated: only the first 2 results are returned"
    payload = json.loads(formats.write_results(formats.find("select", "json"), VARS, ROWS[:2], note=note))
    assert payload["comment"] == note and len(payload["results"]["bindings"]) == 2
    xml = formats.write_results(formats.find("select", "xml"), VARS, ROWS[:2], note=note)
    assert f"<!-- {note} -->".encode() in xml
    assert len(list(_parse(formats.find("select", "xml"), xml))) == 2  # still valid SPARQL XML


@pytest.mark.parametrize("fmt", GRAPH_FORMATS, ids=lambda f: f.name)
def test_graph_formats_round_trip(fmt):
    graph = Graph()
    graph.add((URIRef("http://example.org/s"), URIRef("http://example.org/p"), Literal("é", lang="fr")))
    graph.add((URIRef("http://example.org/s"), URIRef("http://example.org/q"), Literal(2)))
    data = formats.write_graph(fmt, graph, note="truncated: test")
    back = Graph().parse(data=data, format={"ttl": "turtle", "nt": "nt", "rdfxml": "xml", "jsonld": "json-ld"}[fmt.name])
    assert isomorphic(graph, back)


@pytest.mark.parametrize("kind, accept, name, expected", [
    ("select", None, None, "json"),
    ("select", "*/*", None, "json"),
    ("select", "text/csv", None, "csv"),
    ("select", "text/tab-separated-values", None, "tsv"),
    ("select", "application/sparql-results+xml, application/sparql-results+json;q=0.5", None, "xml"),
    ("select", "application/json", None, "json"),
    ("select", "text/turtle", None, "json"),          # nothing fits: the default, not a 406
    ("select", "text/csv", "tsv", "tsv"),              # an explicit format wins over Accept
    ("select", None, "text/csv", "csv"),
    ("ask", "text/csv, application/sparql-results+xml;q=0.1", None, "xml"),
    ("graph", None, None, "ttl"),
    ("graph", "application/n-triples", None, "nt"),
    ("graph", "application/rdf+xml", None, "rdfxml"),
    ("graph", "application/ld+json", None, "jsonld"),
    ("graph", None, "xml", "rdfxml"),
    ("graph", None, "json", "jsonld"),
    ("select", "text/plain", None, "json"),            # the terminal table is never negotiated
    ("select", None, "table", "table"),
])
def test_negotiate(kind, accept, name, expected):
    assert formats.negotiate(kind, accept, name).name == expected


@pytest.mark.parametrize("kind, name", [("ask", "csv"), ("select", "ttl"), ("graph", "csv"), ("select", "yaml")])
def test_unavailable_format_is_named(kind, name):
    with pytest.raises(formats.NoAcceptableFormat, match=f"format '{name}' is not available for {kind.upper()}"):
        formats.negotiate(kind, None, name)


def test_every_format_has_a_distinct_name_and_known_kinds():
    names = [f.name for f in formats.FORMATS]
    assert len(names) == len(set(names))
    for fmt in formats.FORMATS:
        assert set(fmt.kinds) <= {"select", "ask", "graph"}
        assert "/" in fmt.mime and fmt.content_type.endswith("charset=utf-8")


@pytest.mark.parametrize("module", ["kg.formats", "kg.sparql_exec", "kg.queries"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module))
    assert tried > 0 and failures == 0


ACCEPT_HEADERS = [
    "", "*/*", "text/csv", "text/*", "text/*;q=0.5, text/csv;q=0.4", "application/json;q=0",
    "application/sparql-results+json, application/json;q=0.9, */*;q=0.1",
    "text/turtle;q=0.8, application/n-triples;q=0.9, application/ld+json",
    "text/csv; charset=utf-8", "text/csv;charset=utf-8, text/tab-separated-values;q=0.7",
    "application/xml;q=1.5, text/csv", "text/csv;q=abc, application/json", "*/csv, text/csv;q=0.2",
    'text/csv;foo="a,b";q=0.5, application/json;q=0.4', "TEXT/CSV", " , ,text/csv", "text",
    "application/sparql-results+xml;q=0.5, application/rdf+xml", "image/png", "text/html,application/xhtml+xml,"
    "application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", "text/csv;q=0.5;level=1, text/csv;q=0.3",
]


@pytest.mark.parametrize("accept", ACCEPT_HEADERS)
@pytest.mark.parametrize("kind", ["select", "ask", "graph"])
def test_accept_negotiation_matches_werkzeug(kind, accept):
    """kg parses Accept itself (no web library below the web); werkzeug's reading is the reference."""
    from werkzeug.datastructures import MIMEAccept
    from werkzeug.http import parse_accept_header

    offers = sorted({f.mime for f in formats.formats_for(kind)}
                    | {a for f in formats.formats_for(kind) for a in f.aliases if "/" in a})
    assert formats.best_match(accept, offers) == parse_accept_header(accept, MIMEAccept).best_match(offers)
