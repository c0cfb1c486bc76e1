"""The 15 named analyst queries on embedded Oxigraph vs rdflib's in-memory store, side by side.

Both stores get the same N-Quads through the same `Store.load_file`; each query then runs with
the parameters of its `# example:` header (or one found in the data) in a forked child per
store, so that a query slower than --timeout is reported as "> N s" and the run always ends.

    .venv/bin/python benchmarks/analyst_queries.py [--data-dir DIR] [--triples 1000000] [--repeat 3] [--timeout 60]

--data-dir: an ingested data directory (graph only is enough); without it the bundled corpus
is ingested (graph only) into a temporary folder first. --triples 0: the corpus as ingested;
N: a synthetic graph of about N triples that scales the corpus (see `synthetic_nquads`).
--quick: only a 50k-triple synthetic graph (the ontology, vocabularies and corpus inside), one run per query (smoke test).
--compare-load: only the load of the synthetic graph: the bulk path `Store.load_file` now takes
into an empty graph (parts on every core), today's one transaction, and the one-stream bulk path
of 3918823 (same quads: count and sorted-N-Quads hash).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.queries import analyst_queries, bind_params  # noqa: E402
from kg.store import open_store  # noqa: E402
from ontology.namespaces import HPID  # noqa: E402

ID = str(HPID)
ONTOLOGY = f"<{ID}graph/ontology>"
# INSEE codes of the regions (2016 map) and plan periods the synthetic plans are spread over
REGIONS = ("01", "02", "03", "04", "06", "11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94")
PERIODS = ("2012-2016", "2018-2022", "2018-2028", "2023-2028")
CONCEPT = re.compile(r"<(" + re.escape(ID) + r"(?:actor|tool|population|programme)/[^>]+)>")
COLUMNS = "| query | params | rows | oxigraph ms | rdflib ms | rdflib / oxigraph | same rows |"


def corpus_nquads(data_dir: Path | None) -> bytes:
    """The ingested corpus as N-Quads: from `data_dir`, else ingested now (graph only)."""
    if data_dir is None:
        from pipeline.build import ingest_paths
        from search_api.settings import load_settings

        data_dir = Path(tempfile.mkdtemp(prefix="hpkg-bench-"))
        report = ingest_paths([ROOT / "corpus"], load_settings({"data_dir": str(data_dir)}), build_index=False)
        print(f"_{report.summary().splitlines()[0]}_\n", flush=True)
    with open_store(data_dir) as store:
        return store.export("nq")


def synthetic_nquads(corpus: bytes, triples: int, seed: int = 42) -> bytes:
    """About `triples` quads shaped like the ingested corpus: the ontology and vocabularies once,
    then the corpus's page graphs as they are, then copies of them, each copy a plan of its own
    (region x period x variant: own plan, scheme, section, document and mention IRIs), with
    about half of its concept links (actors, tools, populations, programmes) moved to another
    concept of the same vocabulary, so that concepts have uneven counts as in real data.
    Deterministic for a seed."""
    lines = [line for line in corpus.decode("utf-8").splitlines() if line.strip()]
    ontology = [line for line in lines if line.endswith(f"{ONTOLOGY} .")]
    pages = [line for line in lines if not line.endswith(f"{ONTOLOGY} .")]
    docs = sorted(set(re.findall(re.escape(ID) + r"graph/([^>/]+)>", "\n".join(pages))))
    vocab: dict[str, list[str]] = {}
    for iri in sorted(set(CONCEPT.findall("\n".join(ontology)))):
        vocab.setdefault(iri[len(ID):].split("/")[0], []).append(iri)
    plan = re.search(re.escape(ID) + r"plan/([^/>]+/[^/>]+)>", "\n".join(pages)).group(1)  # "93/projet-...-2012-2016"
    doc_names = re.compile("|".join(map(re.escape, docs)))
    rng = random.Random(seed)
    # the corpus itself first, unchanged (the queries' example IRIs stay valid), however large
    # the vocabularies grow
    out = list(ontology) + pages
    copy = 1
    while len(out) < triples and pages:
        region, period = REGIONS[copy % len(REGIONS)], PERIODS[(copy // len(REGIONS)) % len(PERIODS)]
        new_plan = f"{region}/projet-regional-de-sante-{period}-v{copy // (len(REGIONS) * len(PERIODS))}"
        moved = {}
        for iris in vocab.values():
            for iri in iris:
                moved[iri] = rng.choice(iris) if rng.random() < 0.5 else iri
        # per line: plan path, then document names, then concept links
        for line in pages:
            line = line.replace(f"/{plan}", f"/{new_plan}")
            line = doc_names.sub(lambda m: f"c{copy}-{m.group(0)}", line)
            line = CONCEPT.sub(lambda m: f"<{moved.get(m.group(1), m.group(1))}>", line)
            out.append(line)
        copy += 1
    return ("\n".join(out[:max(triples, len(ontology) + len(pages))]) + "\n").encode("utf-8")


def query_params(store) -> dict[str, dict]:
    """Parameters per query: the header's example, else a value taken from the data."""
    params = {}
    for query in analyst_queries():
        values = dict(query.examples)
        for param in query.params:
            if param.name not in values:
                values[param.name] = _sample_value(store, query.name, param.name)
        params[query.name] = {k: v for k, v in values.items() if v is not None}
    return params


def _sample_value(store, query: str, param: str) -> str | None:
    """A value that gives rows: the most connected section / first scheme in the data."""
    probes = {
        "section": "SELECT ?v WHERE { ?v <https://w3id.org/healthpolicy-kg/ontology#concernsTerritory> ?t } "
                   "GROUP BY ?v ORDER BY DESC(COUNT(?t)) ?v LIMIT 1",
        "scheme": "SELECT ?v WHERE { ?v a <https://w3id.org/healthpolicy-kg/ontology#Scheme> } ORDER BY ?v LIMIT 1",
    }
    if param not in probes:
        return None
    rows = list(store.query(probes[param]))
    return str(rows[0][0]) if rows else None


def _child(backend, folder, name, values, repeat, pipe, text=None):
    """Run one query `repeat` times, sending each duration (then the rows) as it goes; `text`
    replaces the named query's own text (today's version of it, for --baseline-queries)."""
    from kg.queries import describe, load_query

    store = MEMORY if backend == "memory" else open_store(folder)
    terms = bind_params(describe(name), values)
    for round_ in range(repeat):
        started = time.perf_counter()
        result = store.query(text or load_query(name), bindings=terms)
        rows = [tuple("" if v is None else str(v) for v in row) for row in result]
        pipe.send(("time", time.perf_counter() - started))
        if round_ == 0:
            pipe.send(("rows", sorted(rows)))
    pipe.send(("done", None))


MEMORY = None  # the loaded rdflib store, inherited by forked children


def run_query(backend, folder, name, values, repeat, timeout, text=None):
    """(median seconds or None on timeout, rows or None); the child is killed past `timeout`."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(backend, folder, name, values, repeat, child, text))
    process.start()
    child.close()
    times, rows, deadline = [], None, time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not parent.poll(left):
            break
        try:
            kind, value = parent.recv()
        except EOFError:  # the child died (error printed on its stderr)
            break
        if kind == "time":
            times.append(value)
        elif kind == "rows":
            rows = value
        else:
            break
    if process.is_alive():
        process.kill()
    process.join()
    return (statistics.median(times) if times else None), rows


BASELINE_COLUMNS = "| query | params | rows | oxigraph ms | today's text ms | x today | same rows as today |"


def bench_baseline(nquads: bytes, label: str, repeat: int, timeout: float, baseline: Path,
                   only: list[str] | None = None) -> None:
    """Oxigraph only: each named query as it is now against today's text of it (the .rq files
    of `baseline`, e.g. a worktree of the last release), same store, same parameters, in turn."""
    with tempfile.TemporaryDirectory(prefix="hpkg-bench-") as folder:
        path = Path(folder) / "bench.nq"
        path.write_bytes(nquads)
        store = open_store(Path(folder) / "oxigraph")
        started = time.perf_counter()
        store.load_file(path, HPID["graph/bench"])
        loaded, quads = time.perf_counter() - started, len(store)
        params = query_params(store)
        store.close()
        print(f"### {label}: {quads:,} triples (Oxigraph; loaded in {loaded:.1f} s)\n")
        print(f"median of {repeat} runs per query, each in a forked child; timeout {timeout:g} s\n")
        print(BASELINE_COLUMNS)
        print("|---|---|---:|---:|---:|---:|---|")
        worst = 0.0
        for query in analyst_queries():
            if only and query.name not in only:
                continue
            values = params[query.name]
            old_path = baseline / f"{query.name}.rq"
            old_text = old_path.read_text(encoding="utf-8") if old_path.is_file() else None
            new_s, new_rows = run_query("oxigraph", Path(folder) / "oxigraph", query.name, values, repeat, timeout)
            old_s, old_rows = (run_query("oxigraph", Path(folder) / "oxigraph", query.name, values, repeat, timeout,
                                         text=old_text) if old_text else (None, None))
            worst = max(worst, new_s if new_s is not None else float("inf"))
            shown = ", ".join(f"{k}={_short(v)}" for k, v in values.items()) or "-"
            ratio = f"{old_s / new_s:.1f}x" if old_s and new_s else "-"
            same = "-" if new_rows is None or old_rows is None else ("yes" if new_rows == old_rows else "no")
            print(f"| {query.name} | {shown} | {len(new_rows) if new_rows is not None else '-'} | "
                  f"{_ms(new_s, timeout)} | {_ms(old_s, timeout) if old_text else 'new'} | {ratio} | {same} |", flush=True)
        print(f"\nslowest named query now: {worst * 1000:,.0f} ms\n", flush=True)


def bench(nquads: bytes, label: str, repeat: int, timeout: float, only: list[str] | None = None) -> None:
    global MEMORY
    with tempfile.TemporaryDirectory(prefix="hpkg-bench-") as folder:
        path = Path(folder) / "bench.nq"
        path.write_bytes(nquads)
        loads = {}
        for backend in ("oxigraph", "memory"):
            store = open_store(Path(folder) / "oxigraph" if backend == "oxigraph" else None, backend=backend)
            started = time.perf_counter()
            store.load_file(path, HPID["graph/bench"])
            loads[backend] = (time.perf_counter() - started, len(store))
            if backend == "oxigraph":
                params = query_params(store)
                store.close()  # the children open it: the embedded store is single-process
            else:
                MEMORY = store
        quads = loads["oxigraph"][1]
        print(f"### {label}: {quads:,} triples\n")
        print(f"load (`Store.load_file`, N-Quads): oxigraph {loads['oxigraph'][0]:.1f} s, rdflib memory "
              f"{loads['memory'][0]:.1f} s ({loads['memory'][0] / loads['oxigraph'][0]:.1f}x); "
              f"median of {repeat} runs per query, timeout {timeout:g} s per query and store\n", flush=True)
        print(COLUMNS)
        print("|---|---|---:|---:|---:|---:|---|")
        ratios = []
        for query in analyst_queries():
            if only and query.name not in only:
                continue
            values = params[query.name]
            ox_s, ox_rows = run_query("oxigraph", Path(folder) / "oxigraph", query.name, values, repeat, timeout)
            mem_s, mem_rows = run_query("memory", None, query.name, values, repeat, timeout)
            shown = ", ".join(f"{k}={_short(v)}" for k, v in values.items()) or "-"
            ratio = f"{mem_s / ox_s:.1f}x" if ox_s and mem_s else (f"> {timeout / ox_s:.0f}x" if ox_s else "-")
            if ox_s and mem_s:
                ratios.append(mem_s / ox_s)
            same = "-" if ox_rows is None or mem_rows is None else ("yes" if ox_rows == mem_rows else
                                                                  f"no ({len(mem_rows)} rows)")
            print(f"| {query.name} | {shown} | {len(ox_rows) if ox_rows is not None else '-'} | {_ms(ox_s, timeout)} | "
                  f"{_ms(mem_s, timeout)} | {ratio} | {same} |", flush=True)
        MEMORY = None
        if ratios:
            print(f"\ngeometric mean of rdflib / oxigraph over the {len(ratios)} queries both finished: "
                  f"{statistics.geometric_mean(ratios):.1f}x\n", flush=True)


def legacy_load_file(store, path: Path, graph_iri) -> int:
    """`OxigraphStore.load_file` as it was before the bulk path (d6a1688): the whole file
    parsed into a list, then one transaction. Kept here to measure the bulk path against it."""
    import pyoxigraph as ox

    iri = ox.NamedNode(str(graph_iri))
    quads = [ox.Quad(q.subject, q.predicate, q.object, iri) for q in ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS)]
    store._ox.extend(quads)
    return len(quads)


def stream_bulk_load_file(store, path: Path, graph_iri) -> int:
    """The bulk path of `OxigraphStore.load_file` at 3918823: every quad of the file streamed
    into one `bulk_extend` (one batch, written on one core). Kept to measure the parts against it."""
    import pyoxigraph as ox

    iri = ox.NamedNode(str(graph_iri))
    count = 0

    def quads():
        nonlocal count
        for quad in ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS):
            count += 1
            yield ox.Quad(quad.subject, quad.predicate, quad.object, iri)

    store._ox.bulk_extend(quads())
    return count


def compare_load(nquads: bytes, label: str) -> None:
    """The same N-Quads into fresh embedded stores: `Store.load_file` now (the graph is empty:
    the bulk loader fed in parts), today's one transaction, the one-stream bulk path of
    3918823; wall and CPU time, quads, and a hash of each store's sorted N-Quads."""
    import hashlib

    with tempfile.TemporaryDirectory(prefix="hpkg-load-bench-") as folder:
        path = Path(folder) / "bench.nq"
        path.write_bytes(nquads)
        print(f"### Load: {label}\n")
        print("| path | seconds | CPU s | cores busy | quads | sha256 of sorted N-Quads | x today | x one stream |")
        print("|---|---:|---:|---:|---:|---|---:|---:|")
        rows = []
        paths = {"`Store.load_file`: bulk loader in parts": lambda store: store.load_file(path, HPID["graph/bench"]),
                 "today: one transaction (`extend`)": lambda store: legacy_load_file(store, path, HPID["graph/bench"]),
                 "3918823: bulk loader, one stream": lambda store: stream_bulk_load_file(store, path, HPID["graph/bench"])}
        order = list(paths) + [next(iter(paths))]  # now first and last: order effects show
        for number, name in enumerate(order):
            store = open_store(Path(folder) / f"store{number}")
            started, cpu = time.perf_counter(), time.process_time()
            paths[name](store)
            store._ox.flush()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            lines = sorted(line for line in store.export("nq").decode("utf-8").splitlines() if line.strip())
            digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]
            rows.append((name + (" (again)" if number == len(order) - 1 else ""), wall, cpu, len(lines), digest))
            store.close()
            shutil.rmtree(Path(folder) / f"store{number}", ignore_errors=True)
        today = next(row[1] for row in rows if row[0].startswith("today"))
        stream = next(row[1] for row in rows if row[0].startswith("3918823"))
        for name, wall, cpu, quads, digest in rows:
            print(f"| {name} | {wall:.1f} | {cpu:.1f} | {cpu / wall:.2f} | {quads:,} | {digest} | "
                  f"{today / wall:.1f} | {stream / wall:.2f} |", flush=True)
        print()


def _ms(seconds, timeout) -> str:
    return f"> {timeout * 1000:,.0f}" if seconds is None else f"{seconds * 1000:,.1f}"


def _short(value: str) -> str:
    return value.replace(ID, "hpid:")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="an ingested data directory (default: ingest corpus/ now)")
    parser.add_argument("--triples", type=int, default=1_000_000, help="synthetic graph size; 0: corpus only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per query and store")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quick", action="store_true", help="50k synthetic triples only, 1 run per query")
    parser.add_argument("--query", action="append", metavar="NAME", help="run only this named query (repeatable)")
    parser.add_argument("--baseline-queries", type=Path, metavar="DIR",
                        help="Oxigraph only: each query against today's text of it in DIR (e.g. "
                             "../wt-base/kg/queries), side by side, instead of against rdflib")
    parser.add_argument("--compare-load", action="store_true",
                        help="only the load: today's transaction against the bulk path, same quads")
    args = parser.parse_args(argv)
    if args.quick:
        args.triples, args.repeat, args.timeout = 50_000, 1, 30.0
    print(f"_{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}_\n", flush=True)
    corpus = corpus_nquads(args.data_dir)
    if args.baseline_queries and not args.quick:
        bench_baseline(corpus, "Corpus as ingested", args.repeat, args.timeout, args.baseline_queries, args.query)
    elif not args.quick and not args.compare_load:
        bench(corpus, "Corpus as ingested", args.repeat, args.timeout, args.query)
    if args.triples:
        started = time.perf_counter()
        data = synthetic_nquads(corpus, args.triples, args.seed)
        print(f"_synthetic graph generated in {time.perf_counter() - started:.1f} s (seed {args.seed})_\n")
        if args.compare_load:
            compare_load(data, f"synthetic, {args.triples:,} lines")
            return 0
        if args.baseline_queries:
            bench_baseline(data, "Synthetic", args.repeat, args.timeout, args.baseline_queries, args.query)
            return 0
        bench(data, "Synthetic", args.repeat, args.timeout, args.query)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
