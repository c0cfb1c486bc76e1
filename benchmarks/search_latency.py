"""End-to-end search latency (all of `search_store`) and memory, at corpus scale and on a
synthetic corpus of --passages passages (clustered random unit vectors in FAISS + a BM25
corpus of random corpus words), with the query embedding timed apart.

FAISS alone (exact vs HNSW vs IVF: build time, latency, recall@10 at 10k-1M) is measured by
benchmarks/ann.py; ingest and passage-embedding throughput by benchmarks/ingest_throughput.py.

    .venv/bin/python benchmarks/search_latency.py [--data-dir DIR] [--passages 100000] [--rounds 5]

--data-dir: an ingested data directory (graph + index); without it the corpus is ingested
into a temporary folder first. Figures are printed as Markdown for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import kg.search as search  # noqa: E402
from kg.index import SearchIndex, load_index, make_faiss  # noqa: E402
from kg.lexical import LexicalIndex, analyze  # noqa: E402
from kg.passages import Passage, SectionInfo  # noqa: E402
from evaluation.search import read_gold  # noqa: E402
from search_api.settings import load_settings  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms (n={len(ms)})"


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def clustered_vectors(rng, n: int, dim: int, topics: int = 2000) -> np.ndarray:
    """Unit vectors around `topics` random centres (cosine to their centre about 0.8): real
    passage embeddings are topical, unlike uniform random vectors. Centres come from a fixed
    seed, so that queries drawn with another `rng` fall in the same topics."""
    centres = unit(np.random.default_rng(42).normal(size=(topics, dim)).astype(np.float32))
    noise = rng.normal(scale=0.75 / np.sqrt(dim), size=(n, dim)).astype(np.float32)
    return np.ascontiguousarray(unit(centres[rng.integers(0, topics, size=n)] + noise), dtype=np.float32)


def ingested_settings(data_dir: Path | None) -> dict:
    if data_dir is not None:
        return load_settings({"data_dir": str(data_dir)})
    from pipeline.build import ingest_paths

    settings = load_settings({"data_dir": tempfile.mkdtemp(prefix="hpkg-search-bench-")})
    print(ingest_paths([ROOT / "corpus"], settings).summary(), file=sys.stderr)
    return settings


def time_queries(index: SearchIndex, settings: dict, queries: list[str], vectors, rounds: int):
    """Warm latency of search_store with the query vector given (embedding excluded)."""
    for query, vector in zip(queries, vectors):  # warm-up round
        search.search_store(None, settings, query, k=10, index=index, vector=vector)
    samples, cpu = [], []
    for _ in range(rounds):
        for query, vector in zip(queries, vectors):
            started, started_cpu = time.perf_counter(), time.process_time()
            search.search_store(None, settings, query, k=10, index=index, vector=vector)
            samples.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    return samples, cpu


def corpus_scale(settings: dict, queries: list[str], rounds: int):
    index = load_index(settings)
    print(f"## Corpus scale: {len(index.passages)} passages, {len(index.sections)} sections, "
          f"model {index.manifest['model']}\n")
    print(f"- index build (at ingest): embedding {index.manifest['passages']} passages took "
          f"{index.manifest['embed_seconds']:.1f} s")
    from kg.embeddings import get_embedder

    embedder = get_embedder(index.model)
    embedder.embed_queries([queries[0]])  # load the model
    embed, embed_cpu, vectors = [], [], {}
    for _ in range(rounds):  # the embedder itself: search_store's query-vector cache bypassed
        for query in queries:
            started, started_cpu = time.perf_counter(), time.process_time()
            vectors[query] = embedder.embed_queries([query])
            embed.append(time.perf_counter() - started)
            embed_cpu.append(time.process_time() - started_cpu)
    vectors = [vectors[q] for q in queries]
    rest, rest_cpu = time_queries(index, settings, queries, vectors, rounds)
    total = [e + r for e, r in zip(embed, rest)]
    print(f"- query embedding alone: {percentiles(embed)}; CPU time {percentiles(embed_cpu)}")
    print(f"- search without embedding (BM25 + FAISS + fusion + facets + explanations): {percentiles(rest)}; "
          f"CPU time {percentiles(rest_cpu)}")
    print(f"- end to end, new query (embedding + search): {percentiles(total)}")
    cached, cached_cpu = time_queries(index, settings, queries, [None] * len(queries), rounds)
    print(f"- end to end, repeated query (page or facet change: query vector cached): {percentiles(cached)}; "
          f"CPU time {percentiles(cached_cpu)}")
    texts = [p.context for p in index.passages]
    started, started_cpu = time.perf_counter(), time.process_time()
    get_embedder(index.model).embed_passages(texts)
    seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    print(f"- passage embedding throughput (now): {len(texts) / seconds:.1f} passages/s wall clock, "
          f"{len(texts) / cpu:.1f} passages per CPU second")
    print(f"- resident memory: {rss_mb():.0f} MB\n")
    return index, vectors


def synthetic(index: SearchIndex, settings: dict, queries: list[str], vectors, n: int, rounds: int):
    print(f"## Synthetic corpus: {n} passages (clustered unit vectors, random corpus words)\n")
    rng = np.random.default_rng(42)
    words = [w for p in index.passages for w, _ in analyze(p.text)]
    pick = random.Random(42)
    started = time.perf_counter()
    texts = [" ".join(pick.choices(words, k=60)) for _ in range(n)]
    per_section = 5
    sections = {}
    passages = []
    for i in range(0, n, per_section):
        iri = f"https://w3id.org/healthpolicy-kg/id/section/bench/{i // per_section}"
        sections[iri] = SectionInfo(iri, "bench", str(i // per_section), f"Section {i // per_section}", ["Plan", "Schéma"])
        passages.extend(Passage(iri, "bench", str(i // per_section), f"Section {i // per_section}", ("Plan", "Schéma"), t)
                        for t in texts[i:i + per_section])
    print(f"- synthetic texts: {time.perf_counter() - started:.1f} s; memory {rss_mb():.0f} MB")
    dim = vectors[0].shape[-1]
    data = clustered_vectors(rng, n, dim)
    started, started_cpu = time.perf_counter(), time.process_time()
    lexical = LexicalIndex.build(texts)
    bm25_s, bm25_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    print(f"- BM25 build: {bm25_s:.1f} s, CPU {bm25_cpu:.1f} s ({n / bm25_s:,.0f} passages/s); memory {rss_mb():.0f} MB")
    started = time.perf_counter()
    flat = make_faiss(data, "flat")
    print(f"- FAISS flat build: {time.perf_counter() - started:.2f} s")
    started, started_cpu = time.perf_counter(), time.process_time()
    hnsw = make_faiss(data, "hnsw")
    hnsw_s, hnsw_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    print(f"- FAISS HNSW build (M=32, efConstruction=80): {hnsw_s:.1f} s, CPU {hnsw_cpu:.1f} s "
          f"({n / hnsw_s:,.0f} vectors/s); "
          f"memory {rss_mb():.0f} MB")
    hnsw.hnsw.efSearch = 128
    # an index built in memory has no calibration, so every query is answered: the worst
    # case, full pages of hits for every query
    search.LEXICAL_MIN = 0.0
    for kind, vectors_index in (("flat", flat), ("hnsw", hnsw)):
        big = SearchIndex(Path(tempfile.gettempdir()), {}, passages, sections, vectors_index, lexical,
                          index.synonyms, index.model)
        samples, cpu = time_queries(big, settings, queries, vectors, rounds)
        print(f"- search without embedding, FAISS {kind}: {percentiles(samples)}; CPU time {percentiles(cpu)}")
    print(f"- resident memory: {rss_mb():.0f} MB (peak {peak_mb():.0f} MB)\n")


def machine() -> str:
    import os

    return f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=Path, default=ROOT.parent / "shared" / "eval" / "dev" / "search.jsonl")
    args = parser.parse_args()
    print(f"_{machine()}_\n")
    settings = ingested_settings(args.data_dir)
    queries = [row["query"] for row in read_gold(args.queries)]
    index, vectors = corpus_scale(settings, queries, args.rounds)
    if args.passages:
        synthetic(index, settings, queries, vectors, args.passages, args.rounds)


if __name__ == "__main__":
    main()
