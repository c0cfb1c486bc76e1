"""The search index: passage embeddings in FAISS plus BM25, saved in {data_dir}/index/.

`manifest.json` records the corpus hash (of the passages) and the model id; the vectors and
BM25 are rebuilt when, and only when, either changes. Section info (entities, scheme, used by
facets) and the expansion labels are cheap: they are rewritten whenever they change, without
re-embedding anything.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kg.embeddings import get_embedder, model_id
from kg.lexical import LexicalIndex, Synonyms, vocabulary_labels
from kg.passages import Passage, SectionInfo, corpus_hash, read_passages

FORMAT = 1  # bump when the files' layout changes: old indexes are then rebuilt
FAISS_KINDS = ("flat", "hnsw")


@dataclass
class SearchIndex:
    """Everything a query needs, loaded in memory."""

    folder: Path
    manifest: dict
    passages: list[Passage]
    sections: dict[str, SectionInfo]
    vectors: object  # faiss.Index
    lexical: LexicalIndex
    synonyms: Synonyms
    model: str  # the embedding_model setting the vectors come from
    rebuilt: bool = False  # True when this call embedded the passages


def index_dir(settings: dict) -> Path:
    return Path(settings["data_dir"]) / "index"


def make_faiss(vectors: np.ndarray, kind: str = "flat"):
    """An exact (flat) or HNSW inner-product index over L2-normalised `vectors`.

    The vectors are unit length, so inner product = cosine similarity: IndexFlatIP is an
    exact cosine search. HNSW trades a little recall for sub-linear search on large corpora.
    """
    import faiss

    if kind not in FAISS_KINDS:
        raise ValueError(f"faiss index kind {kind!r}: expected one of {', '.join(FAISS_KINDS)}")
    dim = vectors.shape[1]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def ensure_index(store, settings: dict, kind: str | None = None) -> SearchIndex:
    """Build the index of the store's passages, or reuse the saved one when the corpus hash,
    the model id and the FAISS kind (`kind`, else the `faiss_index` setting) are unchanged.
    Called by kg.build after an ingest.
    """
    kind = kind or settings.get("faiss_index", "flat")
    passages, sections = read_passages(store)
    synonyms = Synonyms(vocabulary_labels(store))
    folder = index_dir(settings)
    name = settings["embedding_model"]
    wanted = {"format": FORMAT, "corpus_hash": corpus_hash(passages), "model": model_id(name), "faiss": kind}
    manifest = _read_manifest(folder)
    meta = _meta_json(sections, synonyms)
    if manifest and all(manifest.get(key) == value for key, value in wanted.items()):
        if manifest.get("meta_hash") != _sha(meta):
            (folder / "sections.json").write_text(meta, encoding="utf-8")
            manifest["meta_hash"] = _sha(meta)
            _write_json(folder / "manifest.json", manifest)
        try:
            return load_index(settings)
        except (OSError, ValueError, KeyError, RuntimeError):  # files missing or damaged: rebuild
            pass
    return build_index(passages, sections, synonyms, settings, kind=kind, wanted=wanted)


def build_index(passages, sections, synonyms, settings, kind="flat", wanted=None) -> SearchIndex:
    """Embed the passages, build FAISS and BM25, and save them (swapped in atomically)."""
    import faiss

    folder = index_dir(settings)
    name = settings["embedding_model"]
    embedder = get_embedder(name)
    started = time.perf_counter()
    vectors = embedder.embed_passages([p.context for p in passages])
    embed_seconds = time.perf_counter() - started
    faiss_index = make_faiss(vectors.reshape(len(passages), embedder.dim), kind)
    lexical = LexicalIndex.build([p.context for p in passages])
    meta = _meta_json(sections, synonyms)
    manifest = dict(wanted or {"format": FORMAT, "corpus_hash": corpus_hash(passages), "model": model_id(name), "faiss": kind})
    manifest.update({
        "embedding_model": name, "dim": embedder.dim, "passages": len(passages),
        "sections": len(sections), "meta_hash": _sha(meta),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "embed_seconds": round(embed_seconds, 3),
    })
    tmp = folder.with_name(f"index.tmp{time.time_ns()}")
    tmp.mkdir(parents=True)
    with open(tmp / "passages.jsonl", "w", encoding="utf-8") as out:
        for passage in passages:
            out.write(json.dumps(asdict(passage), ensure_ascii=False) + "\n")
    (tmp / "sections.json").write_text(meta, encoding="utf-8")
    faiss.write_index(faiss_index, str(tmp / "vectors.faiss"))
    lexical.save(tmp / "bm25")
    _write_json(tmp / "manifest.json", manifest)  # last: a folder without it is incomplete
    old = folder.with_name(f"index.old{time.time_ns()}")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return SearchIndex(folder, manifest, passages, sections, faiss_index, lexical, synonyms, name, rebuilt=True)


def load_index(settings: dict) -> SearchIndex:
    """The saved index (FileNotFoundError when there is none), cached while its files stay."""
    folder = index_dir(settings)
    stamps = [(folder / name).stat() for name in ("manifest.json", "sections.json", "vectors.faiss")]
    return _load(str(folder), *((s.st_mtime_ns, s.st_size) for s in stamps))


@lru_cache(maxsize=4)  # keyed by folder and file stamps: a rebuilt index is loaded afresh
def _load(folder: str, *_stamps) -> SearchIndex:
    import faiss

    path = Path(folder)
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    with open(path / "passages.jsonl", encoding="utf-8") as lines:
        passages = [Passage(**{**row, "breadcrumb": tuple(row["breadcrumb"])}) for row in map(json.loads, lines)]
    meta = json.loads((path / "sections.json").read_text(encoding="utf-8"))
    sections = {row["iri"]: SectionInfo(**row) for row in meta["sections"]}
    return SearchIndex(
        path, manifest, passages, sections, faiss.read_index(str(path / "vectors.faiss")),
        LexicalIndex.load(path / "bm25"), Synonyms(meta["synonyms"]), manifest["embedding_model"],
    )


def open_index(store, settings: dict) -> SearchIndex:
    """The index to query: the saved one when it was built with the configured model, else
    (none yet, or another model) built now from the store."""
    try:
        index = load_index(settings)
    except FileNotFoundError:
        return ensure_index(store, settings)
    if (index.manifest.get("model") != model_id(settings["embedding_model"])
            or index.manifest.get("faiss") != settings.get("faiss_index", "flat")):
        return ensure_index(store, settings)
    return index


def _meta_json(sections: dict[str, SectionInfo], synonyms: Synonyms) -> str:
    return json.dumps(
        {"sections": [asdict(s) for s in sections.values()], "synonyms": synonyms.concepts},
        ensure_ascii=False, sort_keys=True,
    )


def _read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
