"""Embedded Oxigraph vs rdflib's memory store on ~100k triples: load time and one analytic query.

The corpus graph (from --data-dir, else ingested into a temporary folder) is replicated with
renamed instance IRIs until it holds --triples triples, loaded into both backends through the
same kg.store API, then a join + FILTER + GROUP BY query runs --repeat times on each.

    .venv/bin/python benchmarks/store_query.py [--data-dir data] [--triples 100000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kg.store import open_store  # noqa: E402
from ontology.namespaces import HPID  # noqa: E402

QUERY = """
PREFIX hpo: <https://w3id.org/healthpolicy-kg/ontology#>
SELECT ?type (COUNT(DISTINCT ?section) AS ?sections) (COUNT(?mention) AS ?mentions) WHERE {
  ?mention a hpo:Mention ; hpo:mentionType ?type ; hpo:inSection ?section ; hpo:confidence ?confidence .
  ?section hpo:level ?level ; hpo:inDocument ?doc .
  ?doc hpo:inPlan ?plan .
  FILTER (?confidence >= 0.7 && ?level >= 2)
}
GROUP BY ?type
ORDER BY ?type
"""


def corpus_nquads(data_dir: Path | None) -> bytes:
    """The corpus graph as N-Quads: from an existing store, else ingested now (graph only)."""
    if data_dir is None:
        from kg.build import ingest_paths
        from search_api.settings import load_settings

        data_dir = Path(tempfile.mkdtemp(prefix="hpkg-bench-"))
        root = Path(__file__).resolve().parent.parent
        report = ingest_paths([root / "corpus"], load_settings({"data_dir": str(data_dir)}), build_index=False)
        print(report.summary(), file=sys.stderr)
    with open_store(data_dir) as store:
        return store.export("nq")


def replicate(nquads: bytes, triples: int) -> tuple[bytes, int]:
    """Copies of the document graphs (instance IRIs renamed per copy) up to `triples` lines."""
    lines = [line for line in nquads.decode("utf-8").splitlines() if line.strip()]
    base = str(HPID)
    out, copy = list(lines), 1
    while len(out) < triples:
        prefix = f"{base}copy{copy}/"
        out.extend(line.replace(base, prefix) for line in lines if f"<{base}graph/ontology>" not in line)
        copy += 1
    return ("\n".join(out[:triples]) + "\n").encode("utf-8"), min(len(out), triples)


def timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="an ingested data directory (default: ingest corpus/ now)")
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    data, count = replicate(corpus_nquads(args.data_dir), args.triples)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.nq"
        path.write_bytes(data)
        figures = {}
        for backend in ("oxigraph", "memory"):
            with open_store(Path(folder) / backend, backend=backend) as store:
                started = time.perf_counter()
                store.load_file(path, HPID["graph/bench"])
                load = time.perf_counter() - started
                query, result = timed(lambda: [tuple(map(str, row)) for row in store.query(QUERY)], args.repeat)
                figures[backend] = (load, query, result)
                print(f"{backend:<9} {len(store):>7} quads  load {load:6.2f} s  query median {query * 1000:8.1f} ms")
    if figures["oxigraph"][2] != figures["memory"][2]:
        print("results differ between backends!", file=sys.stderr)
        return 1
    print(f"query: rdflib memory / oxigraph = {figures['memory'][1] / figures['oxigraph'][1]:.1f}x "
          f"({len(figures['oxigraph'][2])} rows, {count} triples)")
    print(f"load:  rdflib memory / oxigraph = {figures['memory'][0] / figures['oxigraph'][0]:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
