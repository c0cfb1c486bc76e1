"""The W3C SPARQL 1.1 Protocol test suite, read from ../shared/w3c/sparql11-protocol/manifest.ttl.

Every test of the manifest becomes one parametrized case (id = the manifest's local name), run
twice: through the app's test client, and over real HTTP with the manifest's exact bytes.
Query and bad_* tests must pass as written; the endpoint is read-only, so update_* tests must be
answered 403 (the README of the suite allows it). The app's store is used only by this module and
holds the dataN.nt files in their named graphs.
"""
from __future__ import annotations

import http.client
import io
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS
from rdflib.query import Result

SUITE = Path(__file__).resolve().parent.parent.parent / "shared" / "w3c" / "sparql11-protocol"
MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")

RESULT_TYPES = {  # media type -> rdflib result parser
    "application/sparql-results+json": "json", "application/sparql-results+xml": "xml",
    "text/csv": "csv", "text/tab-separated-values": "tsv",
}
RDF_TYPES = {"text/turtle": "turtle", "application/n-triples": "nt", "application/rdf+xml": "xml",
             "application/ld+json": "json-ld"}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: set[int]            # allowed status classes: 2, 3, 4...
    format: str | None            # "boolean", "tabular", "RDF"
    boolean: bool | None


@dataclass
class Case:
    name: str
    label: str
    graphs: dict[str, Path] = field(default_factory=dict)  # graph IRI -> data file
    requests: list[Request] = field(default_factory=list)


def _list(graph: Graph, node) -> list:
    return list(Collection(graph, node)) if node is not None else []


def read_manifest() -> list[Case]:
    graph = Graph().parse(SUITE / "manifest.ttl", format="turtle")
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    cases = []
    for entry in _list(graph, graph.value(manifest, MF.entries)):
        case = Case(name=str(entry).rsplit("#", 1)[-1], label=str(graph.value(entry, MF.name)))
        for data in graph.objects(entry, UT.graphData):
            case.graphs[str(graph.value(data, RDFS.label))] = SUITE / Path(str(graph.value(data, UT.graph))).name
        action = graph.value(entry, MF.action)
        for req in _list(graph, graph.value(action, HT.requests)):
            headers = {str(graph.value(h, HT.fieldName)): str(graph.value(h, HT.fieldValue))
                       for h in _list(graph, graph.value(req, HT.headers))}
            body = graph.value(req, HT.body)
            data = None
            if body is not None:
                encoding = str(graph.value(body, CNT.characterEncoding) or "UTF-8")
                data = str(graph.value(body, CNT.chars)).encode(encoding)
            resp = graph.value(req, HT.resp)
            statuses = {int(str(s).rsplit("StatusCode", 1)[-1][0]) for s in graph.objects(resp, MF.expectedStatus)}
            expected_bool = graph.value(resp, MF.expectedBoolean)
            case.requests.append(Request(
                method=str(graph.value(req, HT.methodName)),
                path=str(graph.value(req, HT.absolutePath)).replace("/sparql/", "/sparql", 1),
                headers=headers, body=data, statuses=statuses,
                format=str(graph.value(resp, MF.expectedFormat) or "") or None,
                boolean=None if expected_bool is None else expected_bool.toPython(),
            ))
        cases.append(case)
    return cases


CASES = read_manifest()


def test_manifest_was_read_whole():
    # 13 query tests, 7 update tests, 14 bad_* tests in the W3C manifest.
    names = [c.name for c in CASES]
    assert len(names) == 34 and len(set(names)) == 34
    assert sum(n.startswith("query_") for n in names) == 13
    assert sum(n.startswith("bad_") for n in names) == 14
    assert sum(n.startswith("update_") for n in names) == 7
    assert all(c.requests for c in CASES)


@pytest.fixture(scope="module")
def w3c_app(tmp_path_factory):
    from search_api import create_app

    data_dir = tmp_path_factory.mktemp("w3c")
    app = create_app({"data_dir": str(data_dir), "store": "oxigraph", "sparql_timeout_s": 20.0})
    yield app
    from search_api.resources import get_store

    with app.app_context():
        get_store().close()


def _load_graphs(app, case: Case) -> None:
    from search_api.resources import get_store

    with app.app_context():
        store = get_store()
        for iri, path in case.graphs.items():
            if URIRef(iri) not in store.graphs():
                store.load_file(path, iri)


@dataclass
class Reply:
    status_code: int
    mimetype: str
    data: bytes


@pytest.fixture(scope="module")
def w3c_server(w3c_app):
    from tests.sparql_support import LiveServer

    with LiveServer(w3c_app) as live:
        yield live


def _send_test_client(app, request: Request) -> Reply:
    response = app.test_client().open(request.path, method=request.method, headers=request.headers,
                                      data=request.body)
    return Reply(response.status_code, response.mimetype, response.data)


def _send_http(server, request: Request) -> Reply:
    """The request as the manifest writes it, over a real socket (no header added but Host and
    Content-Length)."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(request.method, request.path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        mime = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return Reply(response.status, mime, response.read())
    finally:
        connection.close()


def _check_format(request: Request, response: Reply) -> None:
    mime = response.mimetype
    if request.format in ("boolean", "tabular"):
        assert mime in RESULT_TYPES, f"result format {mime!r}"
        result = Result.parse(io.BytesIO(response.data), format=RESULT_TYPES[mime])
        if request.format == "boolean":
            assert result.type == "ASK"
            if request.boolean is not None:
                assert result.askAnswer is request.boolean
        else:
            assert result.type == "SELECT"
    elif request.format == "RDF":
        assert mime in RDF_TYPES, f"RDF format {mime!r}"
        Graph().parse(data=response.data, format=RDF_TYPES[mime])


@pytest.mark.parametrize("transport", ["client", "http"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_w3c_protocol(request, w3c_app, case: Case, transport: str):
    _load_graphs(w3c_app, case)
    if transport == "http":
        server = request.getfixturevalue("w3c_server")
        send = lambda req: _send_http(server, req)  # noqa: E731
    else:
        send = lambda req: _send_test_client(w3c_app, req)  # noqa: E731
    for step in case.requests:
        response = send(step)
        if case.name.startswith("update_"):
            # Read-only endpoint: the first request (the update) is refused, nothing else runs.
            assert response.status_code == 403, response.data
            assert b"read-only" in response.data
            return
        assert response.status_code // 100 in step.statuses, (
            f"{case.label}: got {response.status_code}: {response.data[:300]!r}")
        if response.status_code >= 400:
            assert response.data.strip(), "an error must say what is wrong"
        _check_format(step, response)
