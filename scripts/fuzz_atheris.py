"""Coverage-guided fuzzing with atheris, for long runs outside the test suite.

Targets (the same contracts as tests/test_hostile_fuzz.py):
  parser  bytes -> a page file -> parse_file -> mentions -> RDF: a Document or IngestError only
  sparql  bytes -> a query text -> POST /sparql on an in-process app over tests/data/sparql:
          200/400/403/406/413/415/503 with a message, never 500

Run (pip install -e '.[fuzz]' first):
  .venv/bin/python scripts/fuzz_atheris.py parser -atheris_runs=100000
  .venv/bin/python scripts/fuzz_atheris.py sparql -max_total_time=600 fuzz-corpus/sparql
Any libFuzzer option is passed through; a crash writes `crash-<sha1>` with the input.
The sparql target seeds itself from kg/queries/*.rq when the corpus folder is empty.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

try:
    import atheris
except ImportError:  # pragma: no cover - an optional tool
    sys.exit("atheris is not installed: pip install -e '.[fuzz]'")

with atheris.instrument_imports():
    from ingest.errors import IngestError
    from ingest.mentions import extract_mentions
    from ingest.pipeline import parse_file
    from ingest.to_rdf import document_graph
    from kg import sparql_exec  # noqa: F401  (instrumented: the sparql target's parser checks)

WORK = Path(tempfile.mkdtemp(prefix="hpkg-fuzz-"))
SUFFIXES = (".txt", ".html", ".htm")
ANSWERS = {200, 400, 403, 405, 406, 413, 415, 503}


def fuzz_parser(data: bytes) -> None:
    if not data:
        return
    path = WORK / ("page" + SUFFIXES[data[0] % len(SUFFIXES)])
    path.write_bytes(data[1:])
    try:
        doc = parse_file(path, manifest={}, max_bytes=256 * 1024)
    except IngestError:
        return
    document_graph(doc, extract_mentions(doc))


_CLIENT = None


def fuzz_sparql(data: bytes) -> None:
    global _CLIENT
    if _CLIENT is None:
        from tests.sparql_support import make_app

        _CLIENT = make_app(WORK / "data", sparql_timeout_s=2.0).test_client()
    text = data.decode("utf-8", errors="replace")
    response = _CLIENT.post("/sparql", data={"query": text})
    if response.status_code not in ANSWERS or not response.data.strip():
        raise AssertionError(f"/sparql answered {response.status_code}: {response.data[:300]!r}")


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("parser", "sparql"):
        sys.exit(__doc__)
    target = sys.argv.pop(1)
    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if target == "sparql" and corpus and not any(Path(corpus[0]).glob("*")):
        Path(corpus[0]).mkdir(parents=True, exist_ok=True)
        for query in (ROOT / "kg" / "queries").glob("*.rq"):
            (Path(corpus[0]) / query.name).write_bytes(query.read_bytes())
    atheris.Setup(sys.argv, fuzz_parser if target == "parser" else fuzz_sparql)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
