"""SPARQL 1.1 Protocol endpoint at /sparql: read-only, time- and row-limited, CORS-enabled.

The view only reads the protocol request (where the query is, which dataset, which format) and
hands it to `kg.sparql_exec`, which checks, runs and serializes the query in a killable worker.
Errors are plain text for SPARQL clients, the JSON error shape for clients that prefer JSON and
the French error page for browsers, all rendered by search_api/handlers.py.
"""
from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, render_template, request
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF

from kg import formats
from ontology.errors import BadInput, Forbidden, MethodNotAllowed, UnsupportedMediaType
from kg.sparql_exec import answer_query_limited
from search_api.page_cache import kept_sparql_answer
from search_api.resources import get_store

bp = Blueprint("sparql", __name__)

QUERY_TYPE = "application/sparql-query"
UPDATE_TYPE = "application/sparql-update"
FORM_TYPE = "application/x-www-form-urlencoded"
ALLOWED = "GET, POST, OPTIONS"
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
W3C_FORMATS = Namespace("http://www.w3.org/ns/formats/")
SD_FORMATS = {  # kg.formats name -> W3C format IRI (sd:resultFormat)
    "json": "SPARQL_Results_JSON", "xml": "SPARQL_Results_XML", "csv": "SPARQL_Results_CSV",
    "tsv": "SPARQL_Results_TSV", "ttl": "Turtle", "nt": "N-Triples", "rdfxml": "RDF_XML",
    "jsonld": "JSON-LD",
}
_IRI = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>"{}|^`\\]*\Z')  # \Z: `$` would let a final newline through
_READ_ONLY = "updates are not allowed: this endpoint is read-only"


@bp.route("/sparql", methods=["GET", "POST", "OPTIONS", "PUT", "DELETE", "PATCH"])
def endpoint():
    if request.method == "OPTIONS":
        return _preflight()
    if request.method not in ("GET", "POST"):
        raise MethodNotAllowed(f"method {request.method} is not allowed on /sparql: use GET or POST", ALLOWED)
    text, params = _read_protocol_request()
    if text is None:
        if request.method == "POST":
            raise BadInput("missing 'query' parameter")
        return _service_description_or_page()
    settings = current_app.config["HPKG"]
    options = {"accept": request.headers.get("Accept"), "fmt": params.get("format"),
               "default_graph_uris": params["default-graph-uri"], "named_graph_uris": params["named-graph-uri"],
               "max_rows": int(settings["sparql_max_rows"])}
    answer = kept_sparql_answer(text, options, lambda: answer_query_limited(
        get_store(), text,
        timeout_s=float(settings["sparql_timeout_s"]),
        allow_network=str(settings["store"]).startswith(("http://", "https://")),
        **options,
    ))
    response = Response(answer.body, status=200, content_type=answer.content_type)
    response.headers.update(answer.headers)
    response.headers["X-SPARQL-Max-Rows"] = str(answer.max_rows or "")
    response.headers["Vary"] = "Accept"
    return response


def _read_protocol_request() -> tuple[str | None, dict]:
    """(query text or None, {format, default-graph-uri, named-graph-uri}) of a GET or POST."""
    args = request.args
    fields = [args]
    text = None
    if request.method == "POST":
        mimetype = request.mimetype  # lower case, parameters stripped
        charset = request.mimetype_params.get("charset")
        if not mimetype:
            raise UnsupportedMediaType(f"missing Content-Type: POST the query as {FORM_TYPE} (query=...) "
                                       f"or as {QUERY_TYPE}")
        if mimetype == UPDATE_TYPE:
            raise Forbidden(_READ_ONLY)
        if mimetype not in (FORM_TYPE, QUERY_TYPE):
            raise UnsupportedMediaType(f"unsupported Content-Type {mimetype!r}: use {FORM_TYPE} or {QUERY_TYPE}")
        if charset and charset.strip().lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"unsupported charset {charset!r}: send the query in UTF-8")
        if mimetype == QUERY_TYPE:
            if "query" in args:
                raise BadInput("more than one query: the body holds the query, "
                               "so the URL must not have a 'query' parameter")
            try:
                text = request.get_data(cache=False).decode("utf-8")
            except UnicodeDecodeError as error:
                raise BadInput(f"the request body is not valid UTF-8 (byte {error.start})") from None
        else:
            fields.append(request.form)
    if any("update" in f for f in fields):
        raise Forbidden(_READ_ONLY)
    if text is None:
        queries = [q for f in fields for q in f.getlist("query")]
        if len(queries) > 1:
            raise BadInput(f"more than one 'query' parameter ({len(queries)}): send exactly one")
        text = queries[0] if queries else None
    params = {"format": None}
    for name in ("format", "output"):  # `output` is what Fuseki and Virtuoso call it
        values = [v for f in fields for v in f.getlist(name) if v]
        if values:
            params["format"] = values[0]
    for name in ("default-graph-uri", "named-graph-uri"):
        params[name] = [v for f in fields for v in f.getlist(name)]
        for value in params[name]:
            if not _IRI.match(value):
                raise BadInput(f"{name}: {value!r} is not an absolute IRI")
    return text, params


def _service_description_or_page():
    """GET /sparql without a query: the query page for browsers, else the service description."""
    # Only a client naming text/html (a browser) gets the page; `*/*` (curl, tools) gets RDF.
    accept = request.accept_mimetypes
    html = max((q for mime, q in accept if mime == "text/html"), default=0)
    rdf = max((accept[f.mime] for f in formats.formats_for("graph")), default=0)
    if html and html >= rdf:
        return render_template("sparql.html", endpoint=request.base_url)
    fmt = formats.negotiate("graph", request.headers.get("Accept"), request.args.get("format"))
    body = formats.write_graph(fmt, service_description(request.base_url))
    response = Response(body, content_type=fmt.content_type)
    response.headers["Vary"] = "Accept"
    return response


def service_description(endpoint: str) -> Graph:
    """The sd:Service of this endpoint: languages, result formats, features, named graphs."""
    graph = Graph()
    graph.bind("sd", SD)
    graph.bind("formats", W3C_FORMATS)
    service = BNode("service")
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    for fmt in (f for f in formats.FORMATS if f.negotiable):
        graph.add((service, SD.resultFormat, W3C_FORMATS[SD_FORMATS[fmt.name]]))
    dataset = BNode("dataset")
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    default = BNode("default")
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    for iri in get_store().graphs():
        named = BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(iri)))
    graph.add((service, URIRef("http://www.w3.org/2000/01/rdf-schema#comment"),
                Literal("Read-only SPARQL 1.1 endpoint of healthpolicy-kg; the default graph is "
                        "the union of the named graphs. SERVICE and updates are refused.", lang="en")))
    return graph


def _preflight():
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = ALLOWED
    response.headers["Access-Control-Allow-Headers"] = (
        request.headers.get("Access-Control-Request-Headers") or "Accept, Content-Type")
    response.headers["Access-Control-Max-Age"] = "86400"
    response.headers["Allow"] = ALLOWED
    return response


@bp.after_request
def _cors(response: Response) -> Response:
    # Browser tools on other origins (YASGUI) may query; nothing here depends on cookies.
    if request.path == "/sparql":
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "X-SPARQL-Truncated, X-SPARQL-Max-Rows"
    return response
