"""/sparql through the app's test client: the protocol, formats, datasets, errors, limits, CORS
and the service description, on a store holding tests/data/sparql/ (plan + projects graphs)."""
from __future__ import annotations

import io
import json
import time
from urllib.parse import quote

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF
from rdflib.query import Result

from tests.sparql_support import HPID, PLAN_GRAPH, PROJECTS_GRAPH, close_app, make_app

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
TITLES = "SELECT ?title WHERE { ?s a hpo:Section ; dcterms:title ?title } ORDER BY ?title"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("sparql"), sparql_max_rows=50)
    yield app
    close_app(app)


@pytest.fixture()
def client(app):
    return app.test_client()


def _get(client, query: str, **kwargs):
    return client.get("/sparql?query=" + quote(query), **kwargs)


def _titles(response) -> list[str]:
    payload = json.loads(response.data)
    return [b["title"]["value"] for b in payload["results"]["bindings"]]


# ---------------------------------------------------------------- the three ways to send a query
def test_get_post_form_and_post_direct_give_the_same_answer(client):
    expected = ["Coordonner les acteurs du domicile", "Développer l'accueil de jour", "Prévenir la perte d'autonomie"]
    by_get = _get(client, TITLES)
    by_form = client.post("/sparql", data={"query": TITLES})
    by_body = client.post("/sparql", data=TITLES.encode("utf-8"), content_type="application/sparql-query")
    for response in (by_get, by_form, by_body):
        assert response.status_code == 200, response.data
        assert response.mimetype == "application/sparql-results+json"
        assert _titles(response) == expected


def test_utf8_charset_is_accepted(client):
    response = client.post("/sparql", data=TITLES.encode("utf-8"),
                           content_type="application/sparql-query; charset=UTF-8")
    assert response.status_code == 200 and len(_titles(response)) == 3


# ---------------------------------------------------------------- formats
@pytest.mark.parametrize("accept, mime, parser", [
    ("application/sparql-results+json", "application/sparql-results+json", "json"),
    ("application/sparql-results+xml", "application/sparql-results+xml", "xml"),
    ("text/csv", "text/csv", "csv"),
    ("text/tab-separated-values", "text/tab-separated-values", "tsv"),
], ids=["json", "xml", "csv", "tsv"])
def test_select_formats_by_accept(client, accept, mime, parser):
    response = _get(client, TITLES, headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == mime
    result = Result.parse(io.BytesIO(response.data), format=parser)
    assert sorted(str(r.title) for r in result)[0] == "Coordonner les acteurs du domicile"
    assert len(list(result)) == 3


@pytest.mark.parametrize("name, mime", [("json", "application/sparql-results+json"),
                                        ("xml", "application/sparql-results+xml"),
                                        ("csv", "text/csv"), ("tsv", "text/tab-separated-values")])
def test_select_formats_by_parameter_win_over_accept(client, name, mime):
    response = client.get(f"/sparql?format={name}&query=" + quote(TITLES), headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == mime


def test_ask_in_json_and_xml(client):
    query = f"ASK {{ <{HPID}section/prs-test/sroms/1.1> hpo:involvesActor <actor/ssiad> }}"
    assert json.loads(_get(client, query).data) == {"head": {}, "boolean": True}
    xml = _get(client, query, headers={"Accept": "application/sparql-results+xml"})
    assert Result.parse(io.BytesIO(xml.data), format="xml").askAnswer is True


@pytest.mark.parametrize("accept, mime, parser", [
    ("text/turtle", "text/turtle", "turtle"),
    ("application/n-triples", "application/n-triples", "nt"),
    ("application/rdf+xml", "application/rdf+xml", "xml"),
    ("application/ld+json", "application/ld+json", "json-ld"),
], ids=["turtle", "ntriples", "rdfxml", "jsonld"])
def test_construct_and_describe_formats(client, accept, mime, parser):
    construct = "CONSTRUCT { ?s skos:prefLabel ?l } WHERE { ?s skos:inScheme <vocab/actors> ; skos:prefLabel ?l }"
    response = _get(client, construct, headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == mime
    graph = Graph().parse(data=response.data, format=parser)
    assert (URIRef(HPID + "actor/ars"), URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"),
            Literal("agence régionale de santé", lang="fr")) in graph
    assert len(graph) == 2
    described = Graph().parse(data=_get(client, "DESCRIBE <actor/ars>", headers={"Accept": accept}).data,
                              format=parser)
    assert (URIRef(HPID + "actor/ars"), RDF.type, URIRef("https://w3id.org/healthpolicy-kg/ontology#Authority")) in described


def test_wrong_format_for_the_query_form_is_406_naming_the_choices(client):
    response = client.get("/sparql?format=csv&query=" + quote("ASK {}"))
    assert response.status_code == 406
    assert response.data.decode() == "format 'csv' is not available for ASK answers (use one of: json, xml, table)\n"


# ---------------------------------------------------------------- datasets
def test_default_graph_is_the_union_of_named_graphs(client):
    query = "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { { ?s a hpo:Section } UNION { ?s a hpo:Alignment } }"
    payload = json.loads(_get(client, query).data)
    assert payload["results"]["bindings"][0]["n"]["value"] == "5"


def test_protocol_dataset_overrides_from(client):
    query = f"SELECT (COUNT(*) AS ?n) FROM <{PLAN_GRAPH}> WHERE {{ ?a a hpo:Alignment }}"
    from_clause = json.loads(_get(client, query).data)["results"]["bindings"][0]["n"]["value"]
    assert from_clause == "0"  # the plan graph has no alignment
    overridden = client.get("/sparql?query=" + quote(query) + "&default-graph-uri=" + quote(PROJECTS_GRAPH))
    assert json.loads(overridden.data)["results"]["bindings"][0]["n"]["value"] == "2"


def test_named_graph_uri_limits_graph_clauses(client):
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
    everything = [b["g"]["value"] for b in json.loads(_get(client, query).data)["results"]["bindings"]]
    assert everything == [PROJECTS_GRAPH, PLAN_GRAPH]
    only = client.get("/sparql?query=" + quote(query) + "&named-graph-uri=" + quote(PLAN_GRAPH))
    assert [b["g"]["value"] for b in json.loads(only.data)["results"]["bindings"]] == [PLAN_GRAPH]


def test_a_dataset_given_by_one_half_leaves_the_other_empty(client):
    ask = "ASK { ?s ?p ?o }"
    named_only = client.get("/sparql?query=" + quote(ask) + "&named-graph-uri=" + quote(PLAN_GRAPH))
    assert json.loads(named_only.data)["boolean"] is False  # empty default graph
    graphs = "ASK { GRAPH ?g { ?s ?p ?o } }"
    default_only = client.get("/sparql?query=" + quote(graphs) + "&default-graph-uri=" + quote(PLAN_GRAPH))
    assert json.loads(default_only.data)["boolean"] is False  # no named graph
    from_named = _get(client, f"ASK FROM NAMED <{PLAN_GRAPH}> {{ ?s ?p ?o }}")
    assert json.loads(from_named.data)["boolean"] is False


def test_predeclared_prefixes_and_relative_iris(client):
    query = "SELECT ?label WHERE { <actor/ssiad> skos:prefLabel ?label }"
    payload = json.loads(_get(client, query).data)
    assert payload["results"]["bindings"][0]["label"]["value"] == "service de soins infirmiers à domicile"


# ---------------------------------------------------------------- errors
def test_syntax_error_names_line_and_column(client):
    response = _get(client, "SELECT * WHERE {\n  ?s ?p ?o .\n  FILTER(?o = ) }")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert response.data.decode() == "syntax error at line 3, column 3, near 'FILTER(?o = ) }': Expected SelectQuery\n"


def test_error_shape_is_json_for_json_clients(client):
    response = _get(client, "ASK {", headers={"Accept": "application/json"})
    assert response.status_code == 400
    message = "syntax error at line 1, column 6, at the end of the line: Expected AskQuery"
    assert response.get_json() == {"ok": False, "status": 400, "error": message, "errors": [message]}


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_with_allow(client, method):
    response = client.open("/sparql?query=ASK%7B%7D", method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST, OPTIONS"
    assert f"method {method} is not allowed" in response.data.decode()


@pytest.mark.parametrize("kwargs, status, message", [
    ({"data": b"ASK {}"}, 415, "missing Content-Type"),
    ({"data": b"ASK {}", "content_type": "text/plain"}, 415, "unsupported Content-Type 'text/plain'"),
    ({"data": "ASK {}".encode("utf-16"), "content_type": "application/sparql-query; charset=UTF-16"},
     415, "unsupported charset 'UTF-16'"),
    ({"data": b"ASK { \xff }", "content_type": "application/sparql-query"}, 400, "not valid UTF-8"),
    ({"data": b"DROP ALL", "content_type": "application/sparql-update"}, 403, "read-only"),
    ({"data": {"update": "DROP ALL"}}, 403, "read-only"),
    ({"data": {"query": "INSERT DATA { <a:b> <a:c> <a:d> }"}}, 403, "read-only"),
    ({"data": {"query": "LOAD <http://example.org/data.ttl>"}}, 403, "read-only"),
    ({"data": {"format": "json"}}, 400, "missing 'query' parameter"),
], ids=["no-type", "text-plain", "utf16", "bad-utf8", "update-type", "update-form", "insert-as-query",
        "load", "no-query"])
def test_bad_posts(client, kwargs, status, message):
    response = client.post("/sparql", **kwargs)
    assert response.status_code == status, response.data
    assert message in response.data.decode()


def test_more_than_one_query_parameter(client):
    response = client.get("/sparql?query=ASK%7B%7D&query=ASK%7B%7D")
    assert response.status_code == 400
    assert response.data.decode() == "more than one 'query' parameter (2): send exactly one\n"
    both = client.post("/sparql?query=ASK%7B%7D", data=b"ASK {}", content_type="application/sparql-query")
    assert both.status_code == 400 and "must not have a 'query' parameter" in both.data.decode()


def test_bad_graph_iri_is_named(client):
    response = client.get("/sparql?query=ASK%7B%7D&default-graph-uri=not%20an%20iri")
    assert response.status_code == 400
    assert response.data.decode() == "default-graph-uri: 'not an iri' is not an absolute IRI\n"


def test_update_is_refused_and_the_store_unchanged(client):
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    before = json.loads(_get(client, count).data)["results"]["bindings"][0]["n"]["value"]
    response = client.get("/sparql?update=" + quote("CLEAR ALL"))
    assert response.status_code == 403
    response = client.post("/sparql", data=b"CLEAR ALL", content_type="application/sparql-update")
    assert response.status_code == 403
    after = json.loads(_get(client, count).data)["results"]["bindings"][0]["n"]["value"]
    assert before == after and int(before) > 90


@pytest.mark.parametrize("query", [
    "SELECT * { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "PREFIX ex: <http://example.org/ns#> SELECT * { ?s ?p ?o OPTIONAL { SERVICE SILENT ?where { ?s ex:p ?x } } }",
    "ASK { FILTER EXISTS { service <http://127.0.0.1:9/sparql> { } } }",
], ids=["plain", "after-hash-iri", "nested"])
def test_service_is_refused(client, query):
    response = _get(client, query)
    assert response.status_code == 403
    assert response.data.decode() == ("SERVICE is not allowed on this endpoint: "
                                      "federated queries would reach the network\n")


# ---------------------------------------------------------------- limits
def test_row_cap_states_the_truncation(tmp_path):
    app = make_app(tmp_path, sparql_max_rows=3)
    try:
        client = app.test_client()
        response = _get(client, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
        payload = json.loads(response.data)
        assert len(payload["results"]["bindings"]) == 3
        assert response.headers["X-SPARQL-Truncated"] == "true; max-rows=3"
        assert payload["comment"].startswith("truncated: only the first 3 results")
        xml = _get(client, "SELECT ?s WHERE { ?s ?p ?o }", headers={"Accept": "application/sparql-results+xml"})
        assert b"<!-- truncated: only the first 3 results" in xml.data
        graph = _get(client, "CONSTRUCT WHERE { ?s ?p ?o }")
        assert graph.headers["X-SPARQL-Truncated"] == "true; max-rows=3"
        assert len(Graph().parse(data=graph.data, format="turtle")) == 3
        # 10^8 solutions: the cap stops the engine after 4 rows instead of running to the time limit
        started = time.monotonic()
        huge = _get(client, "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }")
        assert huge.status_code == 200 and len(json.loads(huge.data)["results"]["bindings"]) == 3
        assert huge.headers["X-SPARQL-Truncated"] == "true; max-rows=3"
        assert time.monotonic() - started < 5
        # a LIMIT of the query's own is kept, and still capped
        limited = _get(client, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 5")
        assert len(json.loads(limited.data)["results"]["bindings"]) == 3
        small = _get(client, "SELECT ?s WHERE { ?s a hpo:Plan }")
        assert "X-SPARQL-Truncated" not in small.headers and "comment" not in json.loads(small.data)
    finally:
        close_app(app)


def test_body_size_limit_is_413(tmp_path):
    app = make_app(tmp_path, max_body_kb=1)
    try:
        query = "ASK {}" + " " * 2048
        response = app.test_client().post("/sparql", data=query.encode(), content_type="application/sparql-query")
        assert response.status_code == 413
        assert response.data.decode() == "request body too large: the limit is 1 KB\n"
    finally:
        close_app(app)


# ---------------------------------------------------------------- CORS, service description, page
def test_cors_on_answers_and_errors(client):
    for response in (_get(client, "ASK {}", headers={"Origin": "http://yasgui.example"}),
                     _get(client, "ASK {", headers={"Origin": "http://yasgui.example"}),
                     client.post("/sparql", data={"query": "ASK {}"}, headers={"Origin": "http://yasgui.example"})):
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_preflight(client):
    response = client.options("/sparql", headers={
        "Origin": "http://yasgui.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST", "OPTIONS"}
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()


@pytest.mark.parametrize("accept, parser", [("text/turtle", "turtle"), ("application/rdf+xml", "xml"),
                                            ("application/ld+json", "json-ld")])
def test_service_description(client, accept, parser):
    response = client.get("/sparql", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == accept
    graph = Graph().parse(data=response.data, format=parser)
    service = graph.value(predicate=RDF.type, object=SD.Service)
    assert service is not None
    assert graph.value(service, SD.endpoint) == URIRef("http://localhost/sparql")
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    formats = {str(f).rsplit("/", 1)[-1] for f in graph.objects(service, SD.resultFormat)}
    assert {"SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
            "Turtle", "N-Triples", "RDF_XML", "JSON-LD"} <= formats
    names = {str(n) for n in graph.objects(None, SD.name)}
    assert names == {PLAN_GRAPH, PROJECTS_GRAPH}


def test_service_description_in_a_named_format(client):
    assert client.get("/sparql?format=nt").mimetype == "application/n-triples"
    response = client.get("/sparql?format=csv")
    assert response.status_code == 406 and "not available for GRAPH answers" in response.data.decode()


@pytest.mark.parametrize("accept", [None, "*/*"])
def test_tools_without_a_preference_get_the_service_description(client, accept):
    response = client.get("/sparql", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    assert b"sd:Service" in response.data


def test_browser_gets_the_query_page(client):
    response = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    # the page itself belongs to the web UI (template sparql.html); it names the endpoint
    assert "http://localhost/sparql" in response.data.decode()
