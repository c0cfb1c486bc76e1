"""Fuzzing with hypothesis (bounded: each test well under 20 s).

(a) The whole ingest path of one file, beyond tests/test_ingest_properties.py (which fuzzes the
parser on decoded text): real files of arbitrary bytes, of pages in several encodings with a
charset declaration that may lie, and of hostile HTML, through `parse_file`, then mention
extraction and the RDF of the page: a Document (and its triples) or an IngestError, nothing else.
(b) The SPARQL endpoint: random text, mutated named queries (kg/queries/*.rq), random formats,
Accept and Content-Type headers, GET or POST: always one of 200/400/403/406/413/415/503 with a
message, within the time limit, and no worker process left behind.
For longer runs: scripts/fuzz_atheris.py (docs/architecture.md, "Hostile input").
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.errors import IngestError
from tests.sparql_support import child_pids, close_app, make_app

EXAMPLES = int(os.environ.get("HPKG_HYPOTHESIS_EXAMPLES", "150"))
BOUNDED = settings(max_examples=max(10, EXAMPLES // 3), deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
QUERIES = sorted((Path(__file__).resolve().parent.parent / "kg" / "queries").glob("*.rq"))
TIMEOUT_S = 2.0
ANSWERS = {200, 400, 403, 406, 413, 415, 503}


# ---------------------------------------------------------------- (a) ingest of one file
def ingest_one(path: Path) -> None:
    """parse_file -> mentions -> RDF; only IngestError may escape."""
    from ingest.mentions import extract_mentions
    from ingest.pipeline import parse_file
    from ingest.to_rdf import document_graph

    try:
        doc = parse_file(path, manifest={}, max_bytes=64 * 1024)
    except IngestError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)
        return
    mentions = extract_mentions(doc)
    for mention in mentions:
        assert 0 <= mention.start < mention.end <= len(doc.text)
    graph = document_graph(doc, mentions)
    assert len(graph) > 0


HOSTILE_HTML = st.sampled_from([
    "<script>alert(1)</script>", "<!--", "-->", "<![CDATA[", "]]>", "<?xml version='1.0'?>", "<!DOCTYPE x [",
    "<h1>", "</h1>", "<h2>2.1 Titre</h2>", "<p>", "</p>", "<li>", "<table><tr><td>", "</td></tr></table>",
    "&", "&amp;", "&#0;", "&#x110000;", "&#xD800;", "&nbsp;", "&bogus;", "<nav class='breadcrumb'>",
    "<div" + " a=b" * 200 + ">", "<" * 50, ">" * 50, "<b>" * 300, "</b>" * 300, "\x00", "\ufeff", "\u202e",
    "<meta charset='utf-16'>", "<meta http-equiv='Content-Type' content='text/html; charset=koi8-r'>",
    "<style>p{}</style>", "<svg onload=alert(1)>", "\r", "\r\n", "\t", "Objectif 1 : Agir", "Action 1.1",
])
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-32", "koi8-r"])


@BOUNDED
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".txt", ".html", ".htm"]))
def test_arbitrary_bytes_as_a_file(tmp_path, data, suffix):
    path = tmp_path / f"page{suffix}"
    path.write_bytes(data)
    ingest_one(path)


@BOUNDED
@given(parts=st.lists(st.one_of(HOSTILE_HTML, st.text(max_size=30)), max_size=25), encoding=ENCODINGS,
       declared=st.sampled_from(["", "utf-8", "iso-8859-1", "windows-1252", "utf-16", "x-unknown"]))
def test_hostile_html_in_any_encoding(tmp_path, parts, encoding, declared):
    head = f'<head><meta charset="{declared}"></head>' if declared else ""
    html = f"<!DOCTYPE html><html>{head}<body>{''.join(parts)}</body></html>"
    path = tmp_path / "page.html"
    path.write_bytes(html.encode(encoding, errors="replace"))
    ingest_one(path)


@BOUNDED
@given(lines=st.lists(st.text(max_size=60), max_size=20), encoding=ENCODINGS)
def test_text_pages_in_any_encoding(tmp_path, lines, encoding):
    path = tmp_path / "page.txt"
    path.write_bytes("\n".join(["Titre", "1. Partie", *lines]).encode(encoding, errors="replace"))
    ingest_one(path)


# ---------------------------------------------------------------- (b) the SPARQL endpoint
@pytest.fixture(scope="module")
def sparql_client(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("hostile-fuzz"), sparql_timeout_s=TIMEOUT_S, max_body_kb=64)
    yield app.test_client()
    close_app(app)


BREAKERS = ["}", "{", '"', "'", "<", ">", "#", "\\", "\x00", '"""', " ; DROP ALL ", "\n", "?", "(", ")", ".",
            "SERVICE <http://127.0.0.1:9/> { }", "LOAD <http://127.0.0.1:9/>", " UNION ", " LIMIT ", "\ufeff",
            "FROM <http://127.0.0.1:9/g> ", " GRAPH ?g ", " OPTIONAL ", " FILTER(", "\u0301", "*"]


@st.composite
def mutated_queries(draw):
    text = list(draw(st.sampled_from(QUERIES)).read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(0, len(text) - 1)))
        action = draw(st.sampled_from(["delete", "insert", "replace"]))
        if action == "delete":
            del text[at:at + draw(st.integers(1, 30))]
        elif action == "insert":
            text.insert(at, draw(st.one_of(st.sampled_from(BREAKERS), st.text(max_size=5))))
        elif text:
            text[at] = draw(st.characters(blacklist_categories=("Cs",)))
    return "".join(text)


QUERY_TEXT = st.one_of(mutated_queries(), st.text(max_size=200), st.sampled_from(["", " ", "ASK {}", "SELECT"]))
ACCEPT = st.one_of(st.none(), st.sampled_from([
    "*/*", "text/csv", "text/tab-separated-values", "application/sparql-results+json", "application/sparql-results+xml",
    "text/turtle", "text/html", "image/png", "application/json;q=0", "text/*;q=abc", "", ",,,", "a/b;q=0.5, */*;q=0.1"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40))
CONTENT_TYPE = st.one_of(st.sampled_from([
    "application/x-www-form-urlencoded", "application/sparql-query", "application/sparql-update", "text/plain",
    "application/sparql-query; charset=latin-1", "multipart/form-data", "application/json", ""]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30))
FORMAT = st.one_of(st.none(), st.sampled_from(["json", "csv", "tsv", "xml", "ttl", "nt", "jsonld", "html", "x", ""]))


@settings(BOUNDED, max_examples=max(10, EXAMPLES // 2))
@given(query=QUERY_TEXT, method=st.sampled_from(["GET", "POST", "POST-body"]), accept=ACCEPT,
       content_type=CONTENT_TYPE, fmt=FORMAT,
       extra=st.dictionaries(st.sampled_from(["default-graph-uri", "named-graph-uri", "update", "output", "query"]),
                             st.text(max_size=20), max_size=2))
def test_sparql_endpoint_answers_everything_with_a_status_and_message(sparql_client, query, method, accept,
                                                                       content_type, fmt, extra):
    before = set(child_pids())
    headers = {} if accept is None else {"Accept": accept}
    params = {**extra, "query": query} if method != "POST-body" else dict(extra)
    if fmt is not None:
        params["format"] = fmt
    started = time.monotonic()
    if method == "GET":
        response = sparql_client.get("/sparql", query_string=params, headers=headers)
    elif method == "POST":
        response = sparql_client.post("/sparql", data=params, headers=headers)
    else:
        response = sparql_client.post("/sparql", query_string=params, data=query.encode("utf-8"),
                                      headers={**headers, "Content-Type": content_type})
    seconds = time.monotonic() - started
    assert response.status_code in ANSWERS | {405}, (response.status_code, response.data[:300])
    assert seconds < TIMEOUT_S + 5
    if response.status_code != 200:
        assert response.get_data(as_text=True).strip(), response.status_code
    assert set(child_pids()) - before == set(), "a query worker was left running"
