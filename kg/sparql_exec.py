"""Safe execution of untrusted SPARQL queries: read-only, no network, time- and row-limited.

- `inspect_query` parses with rdflib's SPARQL grammar before anything runs: a syntax error is
  reported with its line and column; an update, a SERVICE clause (which Oxigraph would follow
  over HTTP) or LOAD is refused.
- The dataset is always explicit: a protocol dataset (default-graph-uri / named-graph-uri)
  overrides FROM / FROM NAMED, and FROM IRIs become the names of local graphs, so no engine ever
  dereferences them (rdflib would fetch them from the web by default).
- `answer_query_limited` runs the query in a forked child process that is killed when the time
  limit passes: neither rdflib nor pyoxigraph can cancel a running query, a process can be
  stopped. The fork sees the parent's open store as it is now (no stale snapshot), and other
  requests keep being served by the parent meanwhile.
"""
from __future__ import annotations

import itertools
import os
import pickle
import re
import signal
import sys
import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing.connection import Pipe
from typing import Any, Mapping

import rdflib.plugins.sparql as rdflib_sparql
from pyparsing import ParseBaseException, ParseResults
from rdflib import Graph
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from kg import formats
from ontology.errors import BadInput, Failed, Forbidden, HpkgError, NoAcceptableFormat, Timeout
from kg.store import PREFIXES, RDFLIB_PARSER, QueryError, StoreError
from ontology.namespaces import HPID

# Relative IRIs in a query resolve against the instance namespace (`<section/...>` is an hpid:
# IRI), and the project's usual prefixes are predeclared; a query may redeclare them. The prelude
# has no line break, so line numbers of errors stay those of the user's text.
QUERY_BASE = str(HPID)
PRELUDE = f"BASE <{QUERY_BASE}> " + "".join(f"PREFIX {p}: <{ns}> " for p, ns in PREFIXES.items())


# How much more memory (address space) a query worker may take than the server it forks from.
WORKER_EXTRA_MEMORY = 2 * 1024**3


@dataclass(frozen=True)
class QueryInfo:
    form: str                    # SELECT, ASK, CONSTRUCT or DESCRIBE
    from_graphs: tuple[str, ...]   # FROM IRIs, resolved
    from_named: tuple[str, ...]    # FROM NAMED IRIs, resolved
    open_ended: bool = False     # no LIMIT, OFFSET nor trailing VALUES: a LIMIT may be appended

    @property
    def kind(self) -> str:
        return formats.FORMS[self.form]


@dataclass
class Answer:
    form: str
    format: str                  # short name of kg.formats.Format
    content_type: str
    body: bytes
    count: int                   # rows (SELECT), triples (graph), 1 (ASK)
    truncated: bool = False
    max_rows: int | None = None
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def _walk(node: Any):
    yield node
    if isinstance(node, CompValue):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, (list, tuple, ParseResults)):
        for value in node:
            yield from _walk(value)


# Strings, IRIs and comments, skipped when looking for a keyword in the query text.
_OPAQUE = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
                     r'|<[^<>"{}|^`\\\x00-\x20]*>|#[^\n]*')
_NO_SERVICE = "SERVICE is not allowed on this endpoint: federated queries would reach the network"
_SERVICE_WORD = re.compile(r"(?<![\w:?$.-])SERVICE(?![\w:.-])", re.I)


def mentions_service(text: str) -> bool:
    """True when the keyword SERVICE appears outside strings, IRIs and comments: a second check,
    independent of rdflib's grammar, so that a parser disagreement cannot let SERVICE through.

    >>> mentions_service('SELECT * { ?s <http://x/SERVICE> "SERVICE" } # SERVICE')
    False
    >>> mentions_service('SELECT * { service <http://x/> { } }')
    True
    """
    return bool(_SERVICE_WORD.search(_OPAQUE.sub(" ", text)))


def inspect_query(text: str) -> QueryInfo:
    """Parse `text` as a SPARQL 1.1 query; refuse updates and SERVICE; resolve FROM IRIs.

    >>> inspect_query("PREFIX ex: <http://ex/> ASK FROM ex:g { }").from_graphs
    ('http://ex/g',)
    >>> try:
    ...     inspect_query("SELECT * { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")
    ... except Forbidden as error:
    ...     print(type(error).__name__, error)
    Forbidden SERVICE is not allowed on this endpoint: federated queries would reach the network
    """
    if len(text or "") <= CACHED_QUERY_CHARS:
        return _inspect_cached(text)
    return _inspect(text)


# rdflib's parser takes 30-100 ms a query, and answer_query_limited parses in the server and
# again in the forked worker: a text seen before (a named query, a refreshed page) is parsed once
# per server process, and the fork inherits the entry. Errors are not cached; long texts are not
# kept (memory). Measured in docs/benchmarks.md (Load).
CACHED_QUERY_CHARS = 8192


@lru_cache(maxsize=256)
def _inspect_cached(text: str) -> QueryInfo:
    return _inspect(text)


def _inspect(text: str) -> QueryInfo:
    with RDFLIB_PARSER:  # rdflib's parser is not thread-safe (kg.store)
        return _inspect_unlocked(text)


def _inspect_unlocked(text: str) -> QueryInfo:
    if not text or not text.strip():
        raise BadInput("the query is empty")
    try:
        parsed = parseQuery(PRELUDE + text)
    except RecursionError:  # pyparsing recurses per nesting level: ~100 nested groups
        raise BadInput("the query is nested too deeply for the parser "
                               "(groups, brackets or parentheses): flatten it") from None
    except ParseBaseException as error:
        if mentions_service(text):  # rdflib cannot parse SERVICE after an IRI holding '#'
            raise Forbidden(_NO_SERVICE) from None
        if _is_update(PRELUDE + text):
            raise Forbidden(
                "updates (INSERT, DELETE, LOAD, CLEAR, DROP...) are not allowed: this endpoint is read-only"
            ) from None
        column = error.col - len(PRELUDE) if error.lineno == 1 else error.col
        raise BadInput(f"syntax error at line {error.lineno}, column {column}, "
                               f"{_near(text, error.lineno, column)}: {error.msg}") from None
    found = any(isinstance(n, CompValue) and n.name == "ServiceGraphPattern" for n in _walk(parsed))
    if found or mentions_service(text):
        raise Forbidden(_NO_SERVICE)
    try:
        algebra = translateQuery(parsed).algebra
    except RecursionError:
        raise BadInput("the query is nested too deeply: flatten it") from None
    except Exception as error:  # rdflib raises plain Exceptions for semantic errors
        raise BadInput(f"invalid query: {error}") from None
    form = algebra.name.replace("Query", "").upper()
    clauses = algebra.get("datasetClause") or []
    query = parsed[1]
    return QueryInfo(
        form=form,
        open_ended="limitoffset" not in query and ("valuesClause" not in query or query["valuesClause"] is None),
        # CompValue.get() answers the key itself when missing: test membership instead.
        from_graphs=tuple(str(c["default"]) for c in clauses if "default" in c),
        from_named=tuple(str(c["named"]) for c in clauses if "named" in c),
    )


def _near(text: str, line: int, column: int) -> str:
    """A few characters of `text` at (line, column), to show where the parser stopped."""
    lines = text.split("\n")
    fragment = lines[line - 1][max(column - 1, 0):][:25].strip() if 0 < line <= len(lines) else ""
    return f"near '{fragment}'" if fragment else "at the end of the line"


def _is_update(text: str) -> bool:
    try:
        parseUpdate(text)
    except ParseBaseException:
        return False
    return True


# Names no graph: stands for the empty half of a dataset given only by its other half.
NO_GRAPH = "urn:x-hpkg:no-graph"


def dataset_for(info: QueryInfo, default_graph_uris=None, named_graph_uris=None):
    """(default graphs, named graphs) to query: the protocol dataset when given (it overrides
    FROM / FROM NAMED), else the query's own FROM clauses, else (None, None): the whole store.
    As in SPARQL, a dataset given by named graphs only has an empty default graph, and one
    given by default graphs only has no named graph.

    >>> info = inspect_query("SELECT * FROM NAMED <http://ex/g> { GRAPH ?g { ?s ?p ?o } }")
    >>> dataset_for(info)
    (['urn:x-hpkg:no-graph'], ['http://ex/g'])
    >>> dataset_for(info, default_graph_uris=["http://ex/d"])
    (['http://ex/d'], ['urn:x-hpkg:no-graph'])
    """
    default, named = list(default_graph_uris or []), list(named_graph_uris or [])
    if not (default or named):
        default, named = list(info.from_graphs), list(info.from_named)
    if not (default or named):
        return None, None
    return default or [NO_GRAPH], named or [NO_GRAPH]


def _note(max_rows: int) -> str:
    return f"truncated: only the first {max_rows} results are returned (row cap of this endpoint)"


def answer_query(store, text: str, *, accept: str | None = None, fmt: str | None = None,
                 default_graph_uris=None, named_graph_uris=None,
                 bindings: Mapping[str, Any] | None = None, max_rows: int | None = None) -> Answer:
    """Check, run and serialize one query in this process (no time limit: see
    `answer_query_limited`). `fmt` is a format name or media type, `accept` an Accept header."""
    rdflib_sparql.SPARQL_LOAD_GRAPHS = False  # FROM never fetches from the web
    started = time.perf_counter()
    info = inspect_query(text)
    chosen = formats.negotiate(info.kind, accept, fmt)  # NoAcceptableFormat if none fits
    default, named = dataset_for(info, default_graph_uris, named_graph_uris)
    run = PRELUDE + text
    if max_rows and max_rows > 0 and info.form == "SELECT" and info.open_ended:
        # One row past the cap tells truncation apart; the engine stops there instead of
        # computing (and the store materializing) every solution.
        run += f"\nLIMIT {int(max_rows) + 1}"
    try:
        result = store.query(run, bindings=dict(bindings or {}),
                             default_graph_uris=default, named_graph_uris=named)
        answer = _serialize(result, info, chosen, max_rows)
    except (SyntaxError, QueryError) as error:  # the engine's own parser disagreed with rdflib's
        raise BadInput(f"the query engine refused the query: {error}") from None
    except HpkgError as error:
        if not isinstance(error, StoreError):  # refused by us (format, limits): as it is
            raise
        raise Failed(f"query failed: {type(error).__name__}: {error}") from None
    except Exception as error:
        raise Failed(f"query failed: {type(error).__name__}: {error}") from None
    answer.seconds = round(time.perf_counter() - started, 4)
    return answer


def _serialize(result, info: QueryInfo, chosen: formats.Format, max_rows: int | None) -> Answer:
    cap = max_rows if max_rows and max_rows > 0 else None
    truncated = False
    if result.type == "ASK":
        body = formats.write_results(chosen, [], [], boolean=bool(result.askAnswer))
        count = 1
    elif result.type == "SELECT":
        vars_ = [str(v) for v in result.vars]
        rows = [tuple(row) for row in itertools.islice(iter(result), cap + 1 if cap else None)]
        if cap and len(rows) > cap:
            rows, truncated = rows[:cap], True
        body = formats.write_results(chosen, vars_, rows, note=_note(cap) if truncated else None)
        count = len(rows)
    else:  # CONSTRUCT, DESCRIBE
        graph = result.graph
        if cap and len(graph) > cap:
            kept = Graph()
            for triple in itertools.islice(graph, cap):
                kept.add(triple)
            graph, truncated = kept, True
        for prefix, namespace in PREFIXES.items():  # hpid:, hpo:... rather than ns1:, ns2:
            graph.bind(prefix, namespace, replace=True)
        body = formats.write_graph(chosen, graph, note=_note(cap) if truncated else None)
        count = len(graph)
    headers = {}
    if truncated:
        headers["X-SPARQL-Truncated"] = f"true; max-rows={cap}"
    return Answer(info.form, chosen.name, chosen.content_type, body, count, truncated, cap, headers=headers)


def _block_network(event: str, args) -> None:
    # Audit hook of the query worker: no Python-level connection may leave it.
    if event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
        raise PermissionError(f"network access is disabled in SPARQL query workers ({event})")


PARSE_IN_SERVER_CHARS = 2048


def answer_query_limited(store, text: str, *, timeout_s: float, allow_network: bool = False,
                         **kwargs) -> Answer:
    """`answer_query` in a forked child killed after `timeout_s` seconds (Timeout).

    `allow_network` is for a store that is itself a remote SPARQL server; otherwise the child
    blocks every Python socket connection as a second line of defence.
    """
    if not hasattr(os, "fork"):  # pragma: no cover - POSIX only
        return answer_query(store, text, **kwargs)
    # Parse here first: a bad query is answered without forking, and the parser's one-time
    # set-up (about 0.2 s) is paid once by this process instead of by every worker. Not a long
    # text: rdflib's parser can take seconds per KB (a long IN list), so that one is parsed in
    # the worker, under the time limit, and never holds a server thread.
    if len(text or "") <= PARSE_IN_SERVER_CHARS:
        inspect_query(text)
    reader, writer = Pipe(duplex=False)
    with warnings.catch_warnings():
        # Python >= 3.12 warns when a threaded process forks. The worker only reads the store,
        # serializes and writes to its pipe; should it ever block on a lock another thread held
        # at fork time, the time limit kills it: the server itself never waits on it.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the worker
        try:
            reader.close()
            _in_worker(allow_network)
            try:
                payload = ("ok", answer_query(store, text, **kwargs))
            except HpkgError as error:
                payload = ("error", type(error).__name__, error.message)
            except BaseException as error:  # anything else becomes a 500 with its message
                payload = ("error", "Failed", f"query failed: {type(error).__name__}: {error}")
            writer.send_bytes(pickle.dumps(payload))
        finally:
            os._exit(0)  # no atexit handlers, no store close: the parent owns the store
    writer.close()
    started = time.monotonic()
    try:
        if not reader.poll(timeout_s):
            raise Timeout(
                f"the query was stopped after {timeout_s:g} s (time limit of this endpoint); "
                "narrow it down or add a LIMIT"
            )
        try:
            payload = pickle.loads(reader.recv_bytes())
        except EOFError:
            raise Failed("the query worker stopped without an answer (out of memory?)") from None
    finally:
        reader.close()
        _reap(pid)
    if payload[0] == "ok":
        answer = payload[1]
        answer.seconds = round(time.monotonic() - started, 4)
        return answer
    _, name, message = payload
    raise _ERRORS.get(name, Failed)(message)


def _in_worker(allow_network: bool) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _cap_memory(WORKER_EXTRA_MEMORY)
    if not allow_network:
        sys.addaudithook(_block_network)


def _cap_memory(extra: int) -> None:
    """Let the worker grow by `extra` bytes of address space at most: a query that builds a huge
    intermediate result dies alone (answered 500) instead of pushing the host out of memory."""
    try:
        import resource

        with open("/proc/self/status", encoding="ascii") as status:
            size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
        limit = size_kb * 1024 + extra
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, StopIteration, ValueError):
        pass  # not Linux: the time limit still applies


def _reap(pid: int) -> None:
    """Kill the worker if it still runs and collect it (no zombie left behind)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


# The worker sends an error's class name and message; the server raises the same class again.
_ERRORS = {cls.__name__: cls for cls in (BadInput, Forbidden, Timeout, Failed, NoAcceptableFormat,
                                         HpkgError)}
