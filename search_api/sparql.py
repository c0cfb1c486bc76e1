"""SPARQL 1.1 Protocol endpoint at /sparql: read-only, time- and row-limited, CORS-enabled.

The view only reads the protocol request (where the query is, which dataset, which format) and
hands it to `kg.sparql_exec`, which checks, runs and serializes the query in a killable worker.
Errors are plain text for SPARQL clients, `{ok, status, error}` JSON for clients that prefer
JSON and the French error page for browsers (search_api/handlers.py).
"""
from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF
from werkzeug.exceptions import HTTPException

from kg import formats
from kg.sparql_exec import SparqlError, answer_query_limited
from search_api.errors import HpkgError
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


class ProtocolError(HpkgError):
    """A malformed protocol request; `headers` go on the error response (e.g. Allow)."""

    def __init__(self, message: str, status: int = 400, headers: dict | None = None):
        super().__init__(message, status)
        self.headers = headers or {}


@bp.route("/sparql", methods=["GET", "POST", "OPTIONS", "PUT", "DELETE", "PATCH"])
def endpoint():
    if request.method == "OPTIONS":
        return _preflight()
    if request.method not in ("GET", "POST"):
        raise ProtocolError(f"method {request.method} is not allowed on /sparql: use GET or POST",
                            405, {"Allow": ALLOWED})
    text, params = _read_protocol_request()
    if text is None:
        if request.method == "POST":
            raise ProtocolError("missing 'query' parameter")
        return _service_description_or_page()
    settings = current_app.config["HPKG"]
    answer = answer_query_limited(
        get_store(), text,
        timeout_s=float(settings["sparql_timeout_s"]),
        allow_network=str(settings["store"]).startswith(("http://", "https://")),
        accept=request.headers.get("Accept"),
        fmt=params.get("format"),
        default_graph_uris=params["default-graph-uri"],
        named_graph_uris=params["named-graph-uri"],
        max_rows=int(settings["sparql_max_rows"]),
    )
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
            raise ProtocolError(f"missing Content-Type: POST the query as {FORM_TYPE} (query=...) "
                                f"or as {QUERY_TYPE}", 415)
        if mimetype == UPDATE_TYPE:
            raise ProtocolError(_READ_ONLY, 403)
        if mimetype not in (FORM_TYPE, QUERY_TYPE):
            raise ProtocolError(f"unsupported Content-Type {mimetype!r}: use {FORM_TYPE} or {QUERY_TYPE}", 415)
        if charset and charset.strip().lower() not in ("utf-8", "utf8"):
            raise ProtocolError(f"unsupported charset {charset!r}: send the query in UTF-8", 415)
        if mimetype == QUERY_TYPE:
            if "query" in args:
                raise ProtocolError("more than one query: the body holds the query, "
                                    "so the URL must not have a 'query' parameter")
            try:
                text = request.get_data(cache=False).decode("utf-8")
            except UnicodeDecodeError as error:
                raise ProtocolError(f"the request body is not valid UTF-8 (byte {error.start})", 400) from None
        else:
            fields.append(request.form)
    if any("update" in f for f in fields):
        raise ProtocolError(_READ_ONLY, 403)
    if text is None:
        queries = [q for f in fields for q in f.getlist("query")]
        if len(queries) > 1:
            raise ProtocolError(f"more than one 'query' parameter ({len(queries)}): send exactly one")
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
                raise ProtocolError(f"{name}: {value!r} is not an absolute IRI")
    return text, params


def _service_description_or_page():
    """GET /sparql without a query: the query page for browsers, else the service description."""
    # Only a client naming text/html (a browser) gets the page; `*/*` (curl, tools) gets RDF.
    accept = request.accept_mimetypes
    html = max((q for mime, q in accept if mime == "text/html"), default=0)
    rdf = max((accept[f.mime] for f in formats.formats_for("graph")), default=0)
    if html and html >= rdf:
        return render_template("sparql.html", endpoint=request.base_url)
    try:
        fmt = formats.negotiate("graph", request.headers.get("Accept"), request.args.get("format"))
    except formats.FormatError as error:
        raise ProtocolError(str(error), 406) from None
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


# ---------------------------------------------------------------- errors
def error_response(status: int, message: str, headers: dict | None = None):
    """Plain text for SPARQL clients, handlers.py JSON for JSON clients, French page for browsers."""
    best = request.accept_mimetypes.best_match(
        ["text/plain", "application/json", "application/sparql-results+json", "text/html"])
    if best == "text/html":
        from search_api.handlers import render_error

        response, _ = render_error(status, message)
        response = current_app.make_response((response, status))
    elif best in ("application/json", "application/sparql-results+json"):
        response = jsonify({"ok": False, "status": status, "error": message})
        response.status_code = status
    else:
        response = Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    response.headers.update(headers or {})
    return response


@bp.errorhandler(SparqlError)
def _sparql_error(error: SparqlError):
    return error_response(error.status, error.message)


@bp.errorhandler(ProtocolError)
def _protocol_error(error: ProtocolError):
    return error_response(error.status, error.message, error.headers)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    # 413 (body over max_body_kb) and the like, raised while reading the request.
    message = error.description or error.name
    if error.code == 413:
        limit = current_app.config["HPKG"]["max_body_kb"]
        message = f"request body too large: the limit is {limit} KB"
    return error_response(error.code or 500, message)
