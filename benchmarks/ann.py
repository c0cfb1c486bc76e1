"""Exact vs approximate FAISS search at 10k / 100k / 1M passages: build time, memory, latency, recall@10.

Indexes: IndexFlatIP (exact, the default `faiss_index=flat`), HNSW exactly as kg.index.make_faiss
builds it (`faiss_index=hnsw`: M=32, efConstruction=80) and IVF-Flat (nlist = 4 sqrt(n)), over
384-dim unit vectors (e5-small's dimension). Two data sets per size:
- "e5-like": real e5-small embeddings of the corpus passages (read from an ingested index) give
  the shape: topic centres are the corpus mean plus random mixes of the real residuals plus
  noise, passages are sampled around the centres (calibrated so that the mean pairwise cosine,
  printed next to the real one, is close: e5 vectors all sit in a narrow cone);
- "uniform": uniform random unit vectors, the worst case for ANN (every distance alike).
Queries are held out (drawn the same way, never added); for "e5-like" the 24 real dev queries
embedded by e5-small are also measured. Latency: one query at a time (batch size 1), one FAISS
thread, after a warm-up; recall@10 against the exact index.

    .venv/bin/python benchmarks/ann.py [--data-dir DIR] [--sizes 10000,100000,1000000] [--queries 200]

--hnsw-budget S: at sizes above 100k, HNSW is built only if the build rate measured at 100k
predicts under S seconds (default 900); otherwise with efConstruction 40, or skipped, as printed.
--uniform-max N: the uniform control only up to N vectors (default 100k). --ivf-factor F:
nlist = F sqrt(n) (default 4). --quick: 2k vectors.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.index import make_faiss  # noqa: E402

DIM = 384
COLUMNS = "| vectors | data | index | setting | build s | memory MB | p50 ms | p95 ms | recall@10 |"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def unit(vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True), dtype=np.float32)


def real_vectors(data_dir: Path | None) -> np.ndarray:
    """The e5 passage vectors of an ingested corpus (its saved flat index), else ingest now."""
    import faiss

    if data_dir is None:
        from pipeline.build import ingest_paths
        from search_api.settings import load_settings

        data_dir = Path(tempfile.mkdtemp(prefix="hpkg-ann-"))
        ingest_paths([ROOT / "corpus"], load_settings({"data_dir": str(data_dir)}))
    index = faiss.read_index(str(data_dir / "index" / "vectors.faiss"))
    return index.reconstruct_n(0, index.ntotal)


class E5Like:
    """Vectors shaped like the corpus's real e5 embeddings (see the module docstring)."""

    def __init__(self, real: np.ndarray, n: int, seed: int = 42):
        self.mean = real.mean(axis=0)
        self.residuals = real - self.mean
        rng = np.random.default_rng(seed)
        topics = max(20, n // 50)  # about 50 passages per topic
        weights = rng.normal(size=(topics, len(real))) / math.sqrt(len(real))
        self.centres = (self.mean + weights @ self.residuals
                        + rng.normal(scale=0.15 / math.sqrt(DIM), size=(topics, DIM))).astype(np.float32)

    def sample(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = np.empty((n, DIM), dtype=np.float32)
        for start in range(0, n, 100_000):  # chunks: bounded temporary memory at 1M
            size = min(100_000, n - start)
            picked = self.centres[rng.integers(0, len(self.centres), size=size)]
            out[start:start + size] = unit(picked + rng.normal(scale=0.15 / math.sqrt(DIM), size=(size, DIM)))
        return out


def uniform(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        out[start:start + size] = unit(rng.normal(size=(size, DIM)).astype(np.float32))
    return out


def mean_pairwise(vectors: np.ndarray, sample: int = 500) -> float:
    part = vectors[:sample]
    sims = part @ part.T
    return float(sims[np.triu_indices(len(part), 1)].mean())


def latency(index, queries: np.ndarray) -> tuple[float, float, np.ndarray]:
    """p50, p95 (ms) of single-query searches, and the top-10 ids of each query."""
    index.search(queries[:5], 10)  # warm-up
    times, ids = [], []
    for query in queries:
        started = time.perf_counter()
        _, found = index.search(query[None, :], 10)
        times.append((time.perf_counter() - started) * 1000)
        ids.append(found[0])
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], np.array(ids)


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact)]))


def ivf(vectors: np.ndarray, factor: float = 4.0):
    """IVF-Flat, inner product, nlist = factor x sqrt(n), k-means (10 iterations) on at most
    64 x nlist vectors."""
    import faiss

    n = len(vectors)
    nlist = max(1, int(factor * math.sqrt(n)))
    index = faiss.index_factory(DIM, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = 10
    index.cp.min_points_per_centroid = 1  # small sizes: no warning, the clustering is still fine
    sample = vectors[np.random.default_rng(0).permutation(n)[:min(n, 64 * nlist)]]
    index.train(sample)
    index.add(vectors)
    return index, nlist


class Runner:
    def __init__(self, args, real: np.ndarray, real_queries: np.ndarray | None):
        self.args, self.real, self.real_queries = args, real, real_queries
        self.hnsw_rate = None  # vectors/s of the HNSW build at the largest size <= 100k
        self.notes: list[str] = []

    def row(self, n, data, kind, setting, build, memory, p50, p95, rec) -> None:
        build_s = "" if build is None else f"{build:.1f}"
        memory_s = "" if memory is None else f"{memory:,.0f}"
        print(f"| {n:,} | {data} | {kind} | {setting} | {build_s} | {memory_s} | {p50:.2f} | {p95:.2f} | "
              f"{'-' if rec is None else f'{rec:.3f}'} |", flush=True)

    def run(self, n: int, data: str) -> None:
        import faiss

        seed = self.args.seed
        if data == "e5-like":
            shape = E5Like(self.real, n, seed)
            vectors, queries = shape.sample(n, seed + 1), shape.sample(self.args.queries, seed + 2)
            sets = {"held-out": queries}
            if self.real_queries is not None:
                sets["e5 dev queries"] = self.real_queries
            self.notes.append(f"{n:,} e5-like vectors: mean pairwise cosine {mean_pairwise(vectors):.3f} "
                              f"(real corpus passages: {mean_pairwise(self.real):.3f})")
        else:
            vectors, sets = uniform(n, seed + 1), {"held-out": uniform(self.args.queries, seed + 2)}
        faiss.omp_set_num_threads(self.args.build_threads)
        before = rss_mb()
        started = time.perf_counter()
        flat = make_faiss(vectors, "flat")
        build, memory = time.perf_counter() - started, rss_mb() - before
        faiss.omp_set_num_threads(1)
        exact = {}
        for name, queries in sets.items():
            p50, p95, exact[name] = latency(flat, queries)
            self.row(n, f"{data}, {name}", "flat (exact)", "-", build, memory, p50, p95, None)
            build = memory = None
        # HNSW, as kg.index.make_faiss builds it (M=32, efConstruction=80)
        ef_construction = 80
        if n > 100_000 and not self.hnsw_rate:
            ef_construction = None
            self.notes.append(f"HNSW at {n:,} ({data}) skipped: no build rate at <= 100k in this run")
        elif n > 100_000:
            predicted = n / self.hnsw_rate * math.log(n) / math.log(100_000)
            if predicted > self.args.hnsw_budget:
                ef_construction = 40
                if predicted / 2 > self.args.hnsw_budget:
                    self.notes.append(f"HNSW at {n:,} ({data}) skipped: build predicted at {predicted:.0f} s "
                                      f"with efConstruction 80 from the 100k rate ({self.hnsw_rate:.0f} vectors/s)")
                    ef_construction = None
                else:
                    self.notes.append(f"HNSW at {n:,} ({data}) built with efConstruction 40: {predicted:.0f} s "
                                      f"predicted with 80 from the 100k rate ({self.hnsw_rate:.0f} vectors/s)")
        if ef_construction:
            faiss.omp_set_num_threads(self.args.build_threads)
            before = rss_mb()
            started = time.perf_counter()
            if ef_construction == 80:
                hnsw = make_faiss(vectors, "hnsw")
            else:
                hnsw = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
                hnsw.hnsw.efConstruction = ef_construction
                hnsw.add(vectors)
            build, memory = time.perf_counter() - started, rss_mb() - before
            if n <= 100_000:
                self.hnsw_rate = n / build
            faiss.omp_set_num_threads(1)
            for ef in self.args.ef:
                hnsw.hnsw.efSearch = ef
                for name, queries in sets.items():
                    p50, p95, found = latency(hnsw, queries)
                    self.row(n, f"{data}, {name}", f"HNSW M=32 efC={ef_construction}", f"efSearch {ef}",
                             build, memory, p50, p95, recall(found, exact[name]))
                    build = memory = None
            del hnsw
        faiss.omp_set_num_threads(self.args.build_threads)
        before = rss_mb()
        started = time.perf_counter()
        index, nlist = ivf(vectors, self.args.ivf_factor)
        build, memory = time.perf_counter() - started, rss_mb() - before
        faiss.omp_set_num_threads(1)
        for nprobe in self.args.nprobe:
            index.nprobe = nprobe
            for name, queries in sets.items():
                p50, p95, found = latency(index, queries)
                self.row(n, f"{data}, {name}", f"IVF-Flat nlist={nlist}", f"nprobe {nprobe}",
                         build, memory, p50, p95, recall(found, exact[name]))
                build = memory = None
        del index, flat, vectors


def embed_dev_queries(path: Path, limit: int | None = None) -> np.ndarray | None:
    if not path.is_file():
        return None
    from kg.embeddings import get_embedder

    queries = [json.loads(line)["query"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return get_embedder("e5-small").embed_queries(queries[:limit])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="an ingested data directory with its index")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", default="16,32,64,128,256")
    parser.add_argument("--nprobe", default="1,4,16,64")
    parser.add_argument("--hnsw-budget", type=float, default=900.0)
    parser.add_argument("--ivf-factor", type=float, default=4.0, help="IVF nlist = factor x sqrt(n)")
    parser.add_argument("--uniform-max", type=int, default=100_000)
    parser.add_argument("--build-threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dev-queries", type=Path, default=ROOT.parent / "shared" / "eval" / "dev" / "search.jsonl")
    parser.add_argument("--quick", action="store_true", help="2k vectors, 20 queries (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.queries, args.ef, args.nprobe = "2000", 20, "16,128", "1,8"
    args.ef = [int(x) for x in args.ef.split(",")]
    args.nprobe = [int(x) for x in args.nprobe.split(",")]
    print(f"_{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; build with {args.build_threads} FAISS "
          f"threads, queries one at a time on 1 thread_\n", flush=True)
    real = real_vectors(args.data_dir)
    real_queries = embed_dev_queries(args.dev_queries, 5 if args.quick else None)
    runner = Runner(args, real, real_queries)
    print(COLUMNS)
    print("|---:|---|---|---|---:|---:|---:|---:|---:|")
    for n in sorted(int(x) for x in args.sizes.split(",")):
        for data in ("e5-like", "uniform"):
            if data == "uniform" and n > args.uniform_max:
                runner.notes.append(f"uniform control not run at {n:,} (--uniform-max {args.uniform_max:,})")
                continue
            runner.run(n, data)
    for note in runner.notes:
        print(f"\n- {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
