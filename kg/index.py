"""The search index: passage embeddings in FAISS plus BM25, saved in {data_dir}/index/.

`manifest.json` records the corpus hash (of the passages) and the model id; the vectors and
BM25 are rebuilt when, and only when, either changes. Section info (entities, scheme, used by
facets) and the expansion labels are cheap: they are rewritten whenever they change, without
re-embedding anything.

Integrity: the manifest lists every index file with its size and sha256, and is written last
(a new index is written in a temporary folder, fsynced, then swapped in by renames; a lone
rewritten file goes through a temporary file and os.replace). Loading checks every size on
each call and every hash when the files are (re)loaded; a missing, truncated or altered file,
an unreadable manifest or one of an older FORMAT is logged as a warning naming the file, and
the index is rebuilt from the store. `{data_dir}/index.stale`, written by an ingest before
its first page, says the store changed after the index was built: the next `ensure_index` or
`open_index` compares the corpus hash (rebuilding when it changed) and removes it.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kg.calibration import CachedQueries, Calibration, calibrate, load_query_vectors, save_query_vectors
from kg.embeddings import get_embedder, model_id
from ontology.errors import Unavailable
from kg.lexical import LexicalIndex, Synonyms, vocabulary_labels
from kg.passages import Passage, SectionInfo, corpus_hash, read_passages

FORMAT = 3  # bump when the files' layout changes: old indexes are then rebuilt (2: file checksums, 3: calibration)
FAISS_KINDS = ("flat", "hnsw")
STALE_MARKER = "index.stale"  # in the data dir: the store changed after the index was built
BUILD_LOCK = "index.lock"  # in the data dir: one process builds at a time
log = logging.getLogger(__name__)


class IndexUnusable(FileNotFoundError):
    """The saved index cannot be trusted (a file missing, truncated or altered, a manifest
    unreadable or of another FORMAT); the message names the file. A FileNotFoundError, so
    callers that rebuild a missing index rebuild a damaged one too."""


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
    calibration: Calibration | None = None  # the no-answer decision (kg.calibration); None: always answer


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
        index.hnsw.efSearch = 256  # recall@10 0.97 on real queries at 100k (0.94 at 128), ~0.5 ms: docs/benchmarks.md
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def ensure_index(store, settings: dict, kind: str | None = None, rebuild: bool = False,
                 known_vectors: dict | None = None) -> SearchIndex:
    """Build the index of the store's passages, or reuse the saved one when the corpus hash,
    the model id and the FAISS kind (`kind`, else the `faiss_index` setting) are unchanged and
    its files pass their checksums (never with `rebuild`: the caller found them damaged).
    Called by pipeline.build after an ingest (with the passage vectors it embedded while
    writing the pages, `known_vectors`: reused, see `build_index`); clears the stale marker.
    """
    kind = kind or settings.get("faiss_index", "flat")
    folder = index_dir(settings)
    with _build_lock(settings):
        stale = _stale_stamp(settings)  # taken before reading: a later ingest keeps its marker
        passages, sections = read_passages(store)
        synonyms = Synonyms(vocabulary_labels(store))
        name = settings["embedding_model"]
        wanted = {"format": FORMAT, "corpus_hash": corpus_hash(passages), "model": model_id(name), "faiss": kind}
        manifest = None if rebuild else _read_manifest(folder)
        index = None
        if manifest and all(manifest.get(key) == value for key, value in wanted.items()):
            meta = _meta_json(sections, synonyms)
            try:
                if manifest.get("meta_hash") != _sha(meta):
                    _rewrite_meta(folder, manifest, meta)
                index = load_index(settings)
            except FileNotFoundError as error:  # IndexUnusable included: damaged files are rebuilt
                log.warning("search index %s; rebuilding it", error)
        elif manifest:
            changed = [key for key, value in wanted.items() if manifest.get(key) != value]
            log.info("search index: %s changed; rebuilding it", ", ".join(changed))
        if index is None:
            index = build_index(passages, sections, synonyms, settings, kind=kind, wanted=wanted,
                                known_vectors=known_vectors)
        _clear_stale(settings, stale)
        return index


def build_index(passages, sections, synonyms, settings, kind="flat", wanted=None,
                known_vectors: dict | None = None) -> SearchIndex:
    """Embed the passages, build FAISS and BM25, and save them (swapped in atomically).
    `known_vectors` (passage context -> vector of this model, e.g. embedded by the ingest while
    it wrote the pages) are reused like the saved index's; the titles' query vectors of the
    calibration are reused from the saved index too (`title_vectors.npz`)."""
    import faiss

    folder = index_dir(settings)
    name = settings["embedding_model"]
    embedder = get_embedder(name)
    started = time.perf_counter()
    saved = _saved_index(settings)  # what the last build embedded, reused by text
    known = {**_saved_vectors(saved, name), **(known_vectors or {})}
    vectors, reused = _embed_reusing(embedder, [p.context for p in passages], known)
    queries = CachedQueries(embedder.embed_queries, load_query_vectors(saved.folder, model_id(name)) if saved else {})
    calibration = calibrate(vectors, [p.title for p in passages], queries)
    embed_seconds = time.perf_counter() - started
    faiss_index = make_faiss(vectors, kind)
    lexical = LexicalIndex.build([p.context for p in passages])
    meta = _meta_json(sections, synonyms)
    manifest = dict(wanted or {"format": FORMAT, "corpus_hash": corpus_hash(passages), "model": model_id(name), "faiss": kind})
    manifest.update({
        "embedding_model": name, "dim": embedder.dim, "passages": len(passages),
        "sections": len(sections), "meta_hash": _sha(meta),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "embed_seconds": round(embed_seconds, 3), "reused_vectors": reused,
        "reused_title_vectors": len(queries.seen) - queries.embedded,
    })
    _remove_leftovers(folder)
    tmp = folder.with_name(f"index.tmp{time.time_ns()}")
    tmp.mkdir(parents=True)
    try:
        with open(tmp / "passages.jsonl", "w", encoding="utf-8") as out:
            for passage in passages:
                out.write(json.dumps(asdict(passage), ensure_ascii=False) + "\n")
        (tmp / "sections.json").write_text(meta, encoding="utf-8")
        faiss.write_index(faiss_index, str(tmp / "vectors.faiss"))
        lexical.save(tmp / "bm25")
        calibration.save(tmp)
        save_query_vectors(tmp, model_id(name), queries.seen)
        manifest["files"] = {rel: _file_entry(tmp / rel, sync=True) for rel in _index_files(tmp)}
        _write_json(tmp / "manifest.json", manifest)  # last: a folder without it is incomplete
        _fsync_dir(tmp)
    except BaseException:  # a full disk, a kill signal turned exception: no half-written folder stays
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = folder.with_name(f"index.old{time.time_ns()}")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)  # killed between the two renames: no index, rebuilt on next use
    _fsync_dir(folder.parent)
    shutil.rmtree(old, ignore_errors=True)
    return SearchIndex(folder, manifest, passages, sections, faiss_index, lexical, synonyms, name, rebuilt=True,
                       calibration=calibration)


def _embed_reusing(embedder, texts: list[str], known: dict[str, np.ndarray]) -> tuple[np.ndarray, int]:
    """Vectors of `texts`, reusing `known` (text -> vector of this model: the saved index's, and
    those the ingest embedded while writing the pages; embedding is deterministic, whatever the
    batch): a re-ingest after a few pages changed embeds those pages only. Returns the vectors
    and how many were reused."""
    todo = sorted({t for t in texts if t not in known})
    fresh = embedder.embed_passages(todo).reshape(len(todo), embedder.dim) if todo else None
    rows = {t: fresh[i] for i, t in enumerate(todo)}
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for i, text in enumerate(texts):
        vectors[i] = rows[text] if text in rows else known[text]
    return vectors, sum(1 for t in texts if t not in rows)


def _saved_index(settings: dict) -> SearchIndex | None:
    """The saved index when its files pass their checksums, else None (nothing from a missing
    or damaged index is trusted)."""
    try:
        return load_index(settings)
    except FileNotFoundError:  # IndexUnusable included
        return None


def _saved_vectors(saved: SearchIndex | None, name: str) -> dict[str, np.ndarray]:
    """The saved index's vectors by passage context; empty without one, or when it was built
    with another model."""
    if saved is None or saved.manifest.get("model") != model_id(name) or saved.vectors.ntotal != len(saved.passages):
        return {}
    matrix = saved.vectors.reconstruct_n(0, saved.vectors.ntotal)
    return {p.context: matrix[i] for i, p in enumerate(saved.passages)}


def load_index(settings: dict) -> SearchIndex:
    """The saved index, cached while its files stay. FileNotFoundError when there is none;
    IndexUnusable (a FileNotFoundError) naming the file when it is damaged or of another FORMAT.

    Each call reads the manifest and checks every file's size (cheap); the sha256 of every
    file is checked when the files are (re)loaded, i.e. on first use in a process and after
    any file changed.
    """
    folder = index_dir(settings)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no search index")
    text = _manifest_text(folder)
    manifest = _parse_manifest(folder, text)
    stamps = []
    for rel, entry in sorted(manifest["files"].items()):
        path = folder / rel
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise IndexUnusable(f"{path}: missing (listed in manifest.json)") from None
        if stat.st_size != entry["size"]:
            raise IndexUnusable(f"{path}: {stat.st_size} bytes, manifest.json says {entry['size']} "
                                "(truncated or rewritten)")
        stamps.append((rel, stat.st_mtime_ns, stat.st_size))
    return _load(str(folder), text, tuple(stamps))


@lru_cache(maxsize=4)  # keyed by folder, manifest and file stamps: a rebuilt index is loaded afresh
def _load(folder: str, manifest_text: str, _stamps) -> SearchIndex:
    import faiss

    path = Path(folder)
    manifest = json.loads(manifest_text)
    for rel, entry in sorted(manifest["files"].items()):
        if _file_entry(path / rel)["sha256"] != entry["sha256"]:
            raise IndexUnusable(f"{path / rel}: sha256 differs from manifest.json (file altered or corrupted)")
    try:
        with open(path / "passages.jsonl", encoding="utf-8") as lines:
            passages = [Passage(**{**row, "breadcrumb": tuple(row["breadcrumb"])}) for row in map(json.loads, lines)]
        meta = json.loads((path / "sections.json").read_text(encoding="utf-8"))
        sections = {row["iri"]: SectionInfo(**row) for row in meta["sections"]}
        vectors = faiss.read_index(str(path / "vectors.faiss"))
        lexical = LexicalIndex.load(path / "bm25")
        calibration = Calibration.load(path)
    except (ValueError, KeyError, TypeError, RuntimeError, OSError) as error:  # checksums match, content does not
        raise IndexUnusable(f"{path}: cannot load the index ({type(error).__name__}: {error})") from error
    return SearchIndex(path, manifest, passages, sections, vectors, lexical, Synonyms(meta["synonyms"]),
                       manifest["embedding_model"], calibration=calibration)


def open_index(store, settings: dict) -> SearchIndex:
    """The index to query: the saved one when it was built with the configured model and the
    store has not changed since (no stale marker), else (none yet, damaged, stale, another
    model) the one `ensure_index` builds or validates now from the store."""
    if marked_stale(settings):
        log.info("search index: the store changed since it was built (%s); checking it",
                 Path(settings["data_dir"]) / STALE_MARKER)
        return ensure_index(store, settings)
    try:
        index = load_index(settings)
    except IndexUnusable as error:
        log.warning("search index %s; rebuilding it", error)
        return ensure_index(store, settings, rebuild=True)
    except FileNotFoundError:
        return ensure_index(store, settings)
    if not _built_for(index, settings):
        return ensure_index(store, settings)
    return index


def _built_for(index: SearchIndex, settings: dict) -> bool:
    """True when `index` was built with the configured embedding model and FAISS kind."""
    return (index.manifest.get("model") == model_id(settings["embedding_model"])
            and index.manifest.get("faiss") == settings.get("faiss_index", "flat"))


class IndexUnavailable(Unavailable):
    """No usable search index to serve, and none served before in this app."""


def serve_index(settings: dict, last: SearchIndex | None = None) -> tuple[SearchIndex, bool]:
    """The index a request may use, and whether it is stale; never builds one.

    The saved index when it loads and was built with the configured model and FAISS kind;
    otherwise (missing, damaged, another model) `last`, the one this app served before. Stale
    means the store changed since the index was built (an ingest is running or ran) or `last`
    is served. IndexUnavailable when there is nothing to serve: the index is built by `hpkg
    ingest` and at `hpkg serve` start-up, never inside a request.
    """
    stale = marked_stale(settings)
    try:
        index = load_index(settings)
        if not _built_for(index, settings):
            raise IndexUnusable(f"{index.folder}: built with another model or FAISS kind")
    except FileNotFoundError as error:  # IndexUnusable included
        if last is None:
            raise IndexUnavailable(f"search index unavailable ({error}); run `hpkg ingest`, or restart "
                                   "`hpkg serve`, which builds it") from error
        return last, True
    return index, stale


def mark_stale(settings: dict) -> None:
    """Record that the store is about to change: the index must be checked before it is
    trusted again (pipeline.build calls this before writing the first page)."""
    data_dir = Path(settings["data_dir"])
    data_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(data_dir / STALE_MARKER, time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()).encode())


def marked_stale(settings: dict) -> bool:
    """True when an ingest marked the store changed since the index was built (`mark_stale`)."""
    return _stale_stamp(settings) is not None


def _stale_stamp(settings: dict) -> int | None:
    try:
        return (Path(settings["data_dir"]) / STALE_MARKER).stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _clear_stale(settings: dict, stamp: int | None) -> None:
    """Remove the marker seen before the index was checked, not one written since."""
    if stamp is not None and _stale_stamp(settings) == stamp:
        (Path(settings["data_dir"]) / STALE_MARKER).unlink(missing_ok=True)


@contextmanager
def _build_lock(settings: dict):
    """One builder at a time across processes (workers of one server, an ingest beside it)."""
    data_dir = Path(settings["data_dir"])
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(data_dir / BUILD_LOCK, "a")
    except OSError:  # a read-only data dir: nobody can build there, reusing needs no lock
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(folder: Path) -> None:
    """Folders of builds killed half-way (index.tmp*, index.old*); called under the build lock."""
    for path in folder.parent.glob("index.tmp*"):
        shutil.rmtree(path, ignore_errors=True)
    for path in folder.parent.glob("index.old*"):
        shutil.rmtree(path, ignore_errors=True)


def _meta_json(sections: dict[str, SectionInfo], synonyms: Synonyms) -> str:
    return json.dumps(
        {"sections": [asdict(s) for s in sections.values()], "synonyms": synonyms.concepts},
        ensure_ascii=False, sort_keys=True,
    )


def _manifest_text(folder: Path) -> str:
    try:
        return (folder / "manifest.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise IndexUnusable(f"{folder / 'manifest.json'}: missing") from None
    except (UnicodeDecodeError, OSError) as error:
        raise IndexUnusable(f"{folder / 'manifest.json'}: unreadable ({error})") from error


def _parse_manifest(folder: Path, text: str) -> dict:
    """The manifest when it is valid JSON of this FORMAT listing its files, else IndexUnusable."""
    path = folder / "manifest.json"
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as error:
        raise IndexUnusable(f"{path}: not valid JSON ({error})") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise IndexUnusable(f"{path}: index format {found!r}, this version reads {FORMAT}")
    files = manifest.get("files")
    if (not isinstance(files, dict) or not files
            or not all(isinstance(e, dict) and {"size", "sha256"} <= set(e) for e in files.values())):
        raise IndexUnusable(f"{path}: no valid file checksums")
    return manifest


def _read_manifest(folder: Path) -> dict | None:
    """The valid manifest, or None (with a warning naming the file when one is there but unusable)."""
    if not folder.is_dir():
        return None
    try:
        return _parse_manifest(folder, _manifest_text(folder))
    except IndexUnusable as error:
        log.warning("search index %s; rebuilding it", error)
        return None


def _rewrite_meta(folder: Path, manifest: dict, meta: str) -> None:
    """Replace sections.json (facets, synonyms) alone: file first, then the manifest naming it."""
    _atomic_write(folder / "sections.json", meta.encode("utf-8"))
    manifest["meta_hash"] = _sha(meta)
    manifest["files"]["sections.json"] = _file_entry(folder / "sections.json")
    _write_json(folder / "manifest.json", manifest)


def _index_files(folder: Path) -> list[str]:
    """Every file of an index folder but the manifest, as sorted relative POSIX paths."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.name != "manifest.json")


def _file_entry(path: Path, sync: bool = False) -> dict:
    """{"size", "sha256"} of a file, read in chunks; with `sync`, fsynced first."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        if sync:
            os.fsync(handle.fileno())
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def _write_json(path: Path, payload: dict) -> None:
    _atomic_write(path, json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, then os.replace: a reader (or a
    crash) sees the old file or the new one, never half of it; a full disk leaves the old one."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make renames in `folder` durable (a directory entry is data too)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
