"""One table of SPARQL result and RDF graph formats: names, media types, writers.

Content negotiation is a lookup in `FORMATS` (by `format` name, alias or media type, then by the
Accept header), never an if/elif ladder. Result writers take plain data (variables + rows, or a
boolean), so a row-capped answer can be written without building an rdflib Result. rdflib has no
TSV result writer: `write_tsv` follows https://www.w3.org/TR/sparql11-results-csv-tsv/.

>>> find("select", "text/tab-separated-values").name
'tsv'
>>> find("graph", "xml").mime
'application/rdf+xml'
>>> negotiate("ask", "text/csv, application/sparql-results+xml;q=0.5").name
'xml'
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import XSD
from rdflib.query import Result

from ontology.errors import NoAcceptableFormat
from ontology.namespaces import BASE

Row = Sequence["URIRef | Literal | BNode | None"]

# Query forms and the kind of answer each gives.
FORMS = {"SELECT": "select", "ASK": "ask", "CONSTRUCT": "graph", "DESCRIBE": "graph"}


@dataclass(frozen=True)
class Format:
    name: str                 # short name used by `format=` and `hpkg sparql --format`
    mime: str                 # media type of the answer
    kinds: tuple[str, ...]    # "select", "ask", "graph"
    aliases: tuple[str, ...]  # other names and media types that select this format
    writer: Callable          # (vars, rows, boolean, note) -> bytes, or (graph, note) -> bytes
    negotiable: bool = True   # chosen by an Accept header (False: only when named)

    @property
    def content_type(self) -> str:
        return f"{self.mime}; charset=utf-8"


# ---------------------------------------------------------------- result writers
def _term_json(term) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    out = {"type": "literal", "value": str(term)}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype is not None:
        out["datatype"] = str(term.datatype)
    return out


def write_json(vars_: Sequence[str], rows: Iterable[Row], boolean: bool | None, note: str | None) -> bytes:
    """SPARQL 1.1 JSON results; a truncation `note` goes in a top-level "comment" member,
    which standard clients ignore."""
    if boolean is not None:
        payload = {"head": {}, "boolean": boolean}
    else:
        bindings = [
            {v: _term_json(t) for v, t in zip(vars_, row) if t is not None} for row in rows
        ]
        payload = {"head": {"vars": list(vars_)}, "results": {"bindings": bindings}}
    if note:
        payload["comment"] = note
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _rdflib_result(vars_: Sequence[str], rows: Iterable[Row], boolean: bool | None) -> Result:
    if boolean is not None:
        result = Result("ASK")
        result.askAnswer = boolean
        return result
    result = Result("SELECT")
    result.vars = [Variable(v) for v in vars_]
    result.bindings = [
        {Variable(v): t for v, t in zip(vars_, row) if t is not None} for row in rows
    ]
    return result


def _xml_comment(data: bytes, note: str | None) -> bytes:
    """Put `note` as an XML comment right after the XML declaration."""
    if not note:
        return data
    comment = f"<!-- {note.replace('--', '- -')} -->".encode("utf-8")
    if data.startswith(b"<?xml"):
        end = data.index(b"?>") + 2
        return data[:end] + b"\n" + comment + data[end:]
    return comment + b"\n" + data


def write_xml(vars_, rows, boolean, note) -> bytes:
    data = _rdflib_result(vars_, rows, boolean).serialize(format="xml", encoding="utf-8")
    return _xml_comment(data, note)


def write_csv(vars_, rows, boolean, note) -> bytes:
    # CSV has no comment syntax: truncation is stated in the HTTP header only.
    return _rdflib_result(vars_, rows, None).serialize(format="csv", encoding="utf-8")


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
                              "\f": "\\f", "\b": "\\b"})


def tsv_term(term) -> str:
    """One RDF term in the Turtle-like syntax of SPARQL TSV results ('' when unbound).

    >>> tsv_term(Literal('a "b"\\tc', lang="fr"))
    '"a \\\\"b\\\\"\\\\tc"@fr'
    >>> tsv_term(URIRef("http://example.org/x"))
    '<http://example.org/x>'
    """
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    text = '"' + str(term).translate(_TSV_ESCAPES) + '"'
    if term.language:
        return f"{text}@{term.language}"
    if term.datatype is not None and term.datatype != XSD.string:
        return f"{text}^^<{term.datatype}>"
    return text


def write_tsv(vars_, rows, boolean, note) -> bytes:
    lines = ["\t".join(f"?{v}" for v in vars_)]
    lines += ["\t".join(tsv_term(t) for t in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


# ---------------------------------------------------------------- graph writers
def _graph_writer(rdflib_format: str, comment: str | None) -> Callable[[Graph, str | None], bytes]:
    """A writer with rdflib's serializer; `comment` is the format's line-comment marker."""

    def write(graph: Graph, note: str | None) -> bytes:
        data = graph.serialize(format=rdflib_format, encoding="utf-8")
        if not note:
            return data
        if comment == "xml":
            return _xml_comment(data, note)
        if comment:
            return f"{comment} {note}\n".encode("utf-8") + data
        return data

    return write


FORMATS: tuple[Format, ...] = (
    # Order matters: the first format of a kind is its default and wins on "Accept: */*".
    Format("json", "application/sparql-results+json", ("select", "ask"),
           ("application/json", "srj"), write_json),
    Format("xml", "application/sparql-results+xml", ("select", "ask"),
           ("application/xml", "text/xml", "srx"), write_xml),
    Format("csv", "text/csv", ("select",), (), write_csv),
    Format("tsv", "text/tab-separated-values", ("select",), ("tab",), write_tsv),
    Format("table", "text/plain", ("select", "ask"), ("txt",),
           lambda v, r, b, n: to_table(v, list(r), b, n).encode("utf-8"), negotiable=False),
    Format("ttl", "text/turtle", ("graph",), ("turtle", "application/x-turtle"),
           _graph_writer("turtle", "#")),
    Format("nt", "application/n-triples", ("graph",), ("ntriples", "n-triples", "text/plain"),
           _graph_writer("nt", "#")),
    Format("rdfxml", "application/rdf+xml", ("graph",), ("xml", "rdf", "application/xml", "text/xml"),
           _graph_writer("xml", "xml")),
    Format("jsonld", "application/ld+json", ("graph",), ("json-ld", "json", "application/json"),
           _graph_writer("json-ld", None)),
)


def formats_for(kind: str) -> list[Format]:
    """The formats that can carry an answer of `kind` ("select", "ask" or "graph")."""
    if kind not in ("select", "ask", "graph"):
        raise ValueError(f"unknown answer kind {kind!r}")
    return [f for f in FORMATS if kind in f.kinds]


def find(kind: str, name: str) -> Format:
    """The format of `kind` named `name` (short name, alias or media type); NoAcceptableFormat if none."""
    wanted = name.strip().lower().split(";")[0].strip()
    for fmt in formats_for(kind):
        if wanted == fmt.name or wanted == fmt.mime or wanted in fmt.aliases:
            return fmt
    known = ", ".join(f.name for f in formats_for(kind))
    raise NoAcceptableFormat(f"format {name!r} is not available for {kind.upper()} answers (use one of: {known})")


def negotiate(kind: str, accept: str | None = None, name: str | None = None) -> Format:
    """The format to answer with: the `name` asked for, else the best match of the Accept
    header, else the default of `kind` (clients with an odd Accept still get an answer)."""
    if name:
        return find(kind, name)
    candidates = [f for f in formats_for(kind) if f.negotiable]
    if accept:
        by_mime: dict[str, Format] = {}
        for fmt in candidates:
            by_mime.setdefault(fmt.mime, fmt)
            for alias in fmt.aliases:
                if "/" in alias:
                    by_mime.setdefault(alias, fmt)
        best = best_match(accept, list(by_mime))
        if best:
            return by_mime[best]
    return candidates[0]


_Q_VALUE = re.compile(r"-?\d+(\.\d+)?", re.ASCII)


def _split(text: str, separator: str) -> list[str]:
    """`text` cut at `separator` outside double quotes, pieces stripped, empty ones dropped."""
    pieces, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return [piece.strip() for piece in pieces if piece.strip()]


def parse_accept(header: str | None) -> list[tuple[tuple[str, ...], float]]:
    """An Accept header (RFC 9110) as (type, subtype, params...) with its quality, most specific
    and preferred first; items with an invalid `q` are left out (as werkzeug does).

    >>> parse_accept("text/*;q=0.5, text/csv")
    [(('text', 'csv'), 1.0), (('text', '*'), 0.5)]
    """
    items = []
    for item in _split(header or "", ","):
        pieces = _split(item, ";")
        if not pieces or "=" in pieces[0]:
            continue
        params, quality = [], 1.0
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            key, value = key.strip().lower(), value.strip()
            if len(value) > 1 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if key == "q":
                if not _Q_VALUE.fullmatch(value.strip(" \t")) or not 0 <= float(value) <= 1:
                    break
                quality = float(value)
            elif key:
                params.append(f"{key}={value}".lower())
        else:
            kind, _, subtype = pieces[0].lower().partition("/")
            items.append(((kind.strip(), subtype.strip(), *params) if _ else (kind,), quality))
    return sorted(items, key=lambda item: (tuple(part != "*" for part in item[0]), item[1]), reverse=True)


def _matches(offer: str, accepted: tuple[str, ...]) -> bool:
    if len(accepted) < 2 or (accepted[0] == "*" and accepted[1] != "*"):
        return False
    kind, subtype = offer.lower().split("/", 1)
    if accepted[:2] == ("*", "*"):
        return True
    return accepted[0] == kind and (accepted[1] == "*" or (accepted[1] == subtype and len(accepted) == 2))


def best_match(accept: str | None, offers: list[str]) -> str | None:
    """The offered media type the client prefers: highest quality, then most specific match,
    then first offered; None when none is acceptable.

    >>> best_match("application/xml;q=0.5, */*;q=0.1", ["text/csv", "application/xml"])
    'application/xml'
    """
    items = parse_accept(accept)
    best, best_quality, best_specificity = None, -1.0, (-1,)
    for offer in offers:
        match = next(((accepted, q) for accepted, q in items if _matches(offer, accepted)), None)
        if match is None:
            continue
        accepted, quality = match
        specificity = tuple(part != "*" for part in accepted)
        if quality <= 0 or quality < best_quality:
            continue
        if quality > best_quality or specificity > best_specificity:
            best, best_quality, best_specificity = offer, quality, specificity
    return best


def write_results(fmt: Format, vars_: Sequence[str], rows: Iterable[Row], boolean: bool | None = None,
                  note: str | None = None) -> bytes:
    """SELECT rows (tuples aligned with `vars_`, None when unbound) or an ASK boolean."""
    return fmt.writer(list(vars_), rows, boolean, note)


def write_graph(fmt: Format, graph: Graph, note: str | None = None) -> bytes:
    return fmt.writer(graph, note)


def to_table(vars_: Sequence[str], rows: Sequence[Row], boolean: bool | None = None,
             note: str | None = None) -> str:
    """A plain-text table for the terminal (`hpkg sparql --format table`).

    >>> print(to_table(["x"], [(Literal("a"),), (None,)]), end="")
    x
    -
    a
    <BLANKLINE>
    (2 rows)
    """
    if boolean is not None:
        return f"{'true' if boolean else 'false'}\n"
    cells = [[_short(t) for t in row] for row in rows]
    widths = [max([len(v)] + [len(r[i]) for r in cells]) for i, v in enumerate(vars_)]
    widths = [min(w, 60) for w in widths]
    line = lambda values: "  ".join(v[:w].ljust(w) for v, w in zip(values, widths)).rstrip()
    out = [line(list(vars_)), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})" + (f" {note}" if note else ""))
    return "\n".join(out) + "\n"


def _short(term) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        text = str(term)
        return "hpid:" + text[len(BASE) + 3:] if text.startswith(BASE + "id/") else text
    return str(term).replace("\n", " ")


def parse_results(data: bytes, fmt: Format) -> Result:
    """Read back an answer written in `fmt` with rdflib's own parsers (used by round-trip tests)."""
    if fmt.name not in ("json", "xml", "csv", "tsv"):
        raise NoAcceptableFormat(f"rdflib has no result parser for {fmt.name!r}")
    return Result.parse(io.BytesIO(data), format=fmt.name)
