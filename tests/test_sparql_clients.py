"""Real clients against /sparql over real HTTP on 127.0.0.1: SPARQLWrapper, rdflib's SPARQLStore
and pandas reading the CSV and TSV answers, as analysts would use them."""
from __future__ import annotations

import io
from urllib.parse import urlencode

import pandas as pd
import pytest
import requests
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, POST, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from tests.sparql_support import HPID, LiveServer, close_app, make_app

ACTORS = f"""PREFIX hpo: <https://w3id.org/healthpolicy-kg/ontology#>
SELECT ?section ?actor WHERE {{ ?section hpo:involvesActor ?actor }} ORDER BY ?section ?actor"""


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("clients"))
    with LiveServer(app) as live:
        yield live.url + "/sparql"
    close_app(app)


@pytest.mark.parametrize("method", ["GET", POST])
def test_sparqlwrapper_select_json(endpoint, method):
    client = SPARQLWrapper(endpoint)
    client.setMethod(method)
    client.setQuery(ACTORS)
    client.setReturnFormat(JSON)
    payload = client.query().convert()
    assert payload["head"]["vars"] == ["section", "actor"]
    pairs = [(b["section"]["value"].rsplit("/", 1)[-1], b["actor"]["value"].rsplit("/", 1)[-1])
             for b in payload["results"]["bindings"]]
    assert pairs == [("1.1", "ars"), ("1.1", "ssiad"), ("1.2", "ars")]


def test_sparqlwrapper_construct_turtle(endpoint):
    client = SPARQLWrapper(endpoint)
    client.setQuery("CONSTRUCT { ?a skos:prefLabel ?l } WHERE { ?s hpo:involvesActor ?a . ?a skos:prefLabel ?l }")
    client.setReturnFormat(TURTLE)
    data = client.query().convert()
    graph = Graph().parse(data=data, format="turtle")
    assert len(graph) == 2
    assert graph.value(URIRef(HPID + "actor/ssiad"), SKOS.prefLabel) == Literal(
        "service de soins infirmiers à domicile", lang="fr")


def test_sparqlwrapper_sees_a_syntax_error_as_bad_query(endpoint):
    client = SPARQLWrapper(endpoint)
    client.setQuery("SELECT * WHERE { ?s ?p }")
    client.setReturnFormat(JSON)
    with pytest.raises(QueryBadFormed, match="syntax error at line 1"):
        client.query()


def test_rdflib_sparqlstore(endpoint):
    store = SPARQLStore(endpoint, returnFormat="json")
    graph = Graph(store=store)
    labels = {str(row.label) for row in graph.query(
        "SELECT ?label WHERE { ?c skos:inScheme <https://w3id.org/healthpolicy-kg/id/vocab/actors> ; "
        "skos:prefLabel ?label }")}
    assert labels == {"agence régionale de santé", "service de soins infirmiers à domicile"}
    # triple patterns go through the endpoint as well
    assert (URIRef(HPID + "actor/ars"), SKOS.altLabel, Literal("ARS", lang="fr")) in graph
    ask = graph.query("ASK { ?s a <https://w3id.org/healthpolicy-kg/ontology#Project> }")
    assert ask.askAnswer is True
    store.close()


def test_pandas_reads_csv(endpoint):
    query = ("SELECT ?number ?title (COUNT(?actor) AS ?actors) WHERE { ?s a hpo:Section ; hpo:number ?number ; "
             "dcterms:title ?title OPTIONAL { ?s hpo:involvesActor ?actor } } GROUP BY ?number ?title ORDER BY ?number")
    frame = pd.read_csv(endpoint + "?" + urlencode({"query": query, "format": "csv"}), dtype={"number": str})
    assert list(frame.columns) == ["number", "title", "actors"]
    assert frame["number"].tolist() == ["1", "1.1", "1.2"]
    assert frame["actors"].tolist() == [0, 2, 1]
    assert frame.loc[1, "title"] == "Coordonner les acteurs du domicile"


def test_pandas_reads_tsv_by_accept(endpoint):
    response = requests.get(endpoint, params={"query": ACTORS}, headers={"Accept": "text/tab-separated-values"},
                            timeout=10)
    frame = pd.read_csv(io.StringIO(response.text), sep="\t")
    assert list(frame.columns) == ["?section", "?actor"]
    assert frame["?actor"].tolist() == [f"<{HPID}actor/ars>", f"<{HPID}actor/ssiad>", f"<{HPID}actor/ars>"]


def test_sparqlwrapper_csv(endpoint):
    client = SPARQLWrapper(endpoint)
    client.setQuery(ACTORS)
    client.setReturnFormat(CSV)
    frame = pd.read_csv(io.BytesIO(client.query().convert()))
    assert len(frame) == 3 and set(frame["actor"]) == {HPID + "actor/ars", HPID + "actor/ssiad"}
