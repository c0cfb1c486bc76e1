"""`hpkg ingest`: pages -> documents -> mentions -> one validated named graph per page -> store.

Each page is written with one atomic `replace_graph`, only after its graph passes the SHACL
shapes: a page that fails (unreadable, extraction error, shape violation) is skipped with the
reason and leaves the store as it was for that page; the other pages go through. An
interrupted run (even kill -9) leaves every page either fully written or as it was before.

Acknowledgement: once a page's transaction is committed, `stored <file> (<n> triples)` is
written to stderr (stdout keeps the summary); a page so acknowledged survives a kill of the
process. A full disk stops the run with one StoreError line naming the data dir: the pages
acknowledged so far stay, the others are as they were.
"""
from __future__ import annotations

import errno
import hashlib
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS
from tqdm import tqdm

from ingest import iris
from ingest.errors import IngestError
from ingest.mentions import extract_mentions
from ingest.model import Document
from ingest.pipeline import expand_paths, iter_documents
from ingest.to_rdf import document_graph, fold_title, section_table
from kg.queries import run_named
from kg.store import Store, StoreError, open_store, to_rdflib
from ontology.namespaces import HPID, HPO
from ontology.shapes import validate
from ontology.vocab import VOCAB_DIR
from pipeline.prefetch import PassagePrefetch

ONTOLOGY_GRAPH = HPID["graph/ontology"]
ONTOLOGY_FILE = Path(__file__).resolve().parent.parent / "ontology" / "hpo.ttl"
MAX_VIOLATIONS_SHOWN = 3


@dataclass
class IngestReport:
    """What one ingest did: counts, time, and every page skipped with its reason."""

    documents: int = 0
    sections: int = 0
    mentions: Counter = field(default_factory=Counter)  # by type
    triples: int = 0  # written by this run (pages + ontology)
    seconds: float = 0.0
    skipped: list[IngestError] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)  # pages removed: no longer among the inputs
    # "<file>: <what>": stored, with a problem (scanned PDF pages, a section left untyped)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Several lines: the counts, then each skipped file and why.

        >>> print(IngestReport(2, 5, Counter(actor=3), 120, 1.5, [IngestError("x.bin", "not text")]).summary())
        ingested 2 documents, 5 sections, 3 mentions (actor 3), 120 triples in 1.5 s
        skipped 1 file:
          x.bin: not text
        """
        by_type = ", ".join(f"{kind} {n}" for kind, n in sorted(self.mentions.items()))
        lines = [
            f"ingested {self.documents} documents, {self.sections} sections, "
            f"{sum(self.mentions.values())} mentions ({by_type or 'none'}), "
            f"{self.triples} triples in {self.seconds:.1f} s"
        ]
        if self.pruned:
            lines.append(f"removed {len(self.pruned)} page graph(s) no longer in the input: {', '.join(self.pruned)}")
        if self.warnings:
            lines.append(f"{len(self.warnings)} warning{'s' if len(self.warnings) > 1 else ''}:")
            lines.extend(f"  {warning}" for warning in self.warnings)
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} file{'s' if len(self.skipped) > 1 else ''}:")
            lines.extend(f"  {error}" for error in self.skipped)
        return "\n".join(lines)


def ingest_paths(paths, settings: dict, build_index: bool = True, prune: bool = False,
                 on_stored=None, prefetch: bool = True) -> IngestReport:
    """Ingest files and folders into the store of `settings`, then (re)build the search index.

    With `prune`, the pages stored earlier but absent from these inputs are removed (a skipped
    page is not absent: its old graph stays), so the graph mirrors the corpus folder.
    `on_stored(doc, triples)` is called after each page is committed (default: a `stored`
    line on stderr). StoreError (one line, naming the data dir) when the disk is full.
    With `build_index` and `prefetch`, each stored page's passages are embedded on a background
    thread while the next pages are processed (pipeline/prefetch.py); the index is the same.
    """
    started = time.perf_counter()
    report = IngestReport()
    on_stored = on_stored or _acknowledge
    documents: dict[str, Document] = {}
    files = expand_paths(paths)
    reading = tqdm(iter_documents(files, max_bytes=int(settings["max_file_mb"] * 2**20)), total=len(files),
                   desc="read", unit="file", file=sys.stderr, disable=None)
    for result in reading:
        if isinstance(result, IngestError):
            report.skipped.append(result)
        elif result.doc in documents:  # one graph per name: the second would overwrite the first
            report.skipped.append(IngestError(result.path, f"same name as {documents[result.doc].path} "
                                                           f"(graph <{iris.graph_iri(result.doc)}>); rename one"))
        else:
            documents[result.doc] = result
            report.warnings.extend(result.warnings)
    with open_store(settings["data_dir"], backend=settings["store"]) as store:
        _mark_index_stale(settings)  # before the first write: a kill from here on leaves it stale
        report.triples += ensure_ontology(store)
        known = stored_sections(store)
        for doc in documents.values():  # cross-references may point to any page of this run
            known.update(section_table(doc))
        progress = tqdm(list(documents.values()), desc="ingest", unit="page", file=sys.stderr, disable=None)
        prefetcher = PassagePrefetch(settings["embedding_model"]) if build_index and prefetch and documents else None
        try:
            vectors = _ingest_pages(store, settings, progress, known, report, on_stored, prefetcher)
        finally:
            if prefetcher is not None:
                prefetcher.close()
        if prune:
            present = set(documents) | {Path(error.path).stem for error in report.skipped}
            report.pruned = prune_pages(store, present)
        if build_index:
            from kg.index import ensure_index  # heavy (model, FAISS): only when asked

            try:
                ensure_index(store, settings, known_vectors=vectors)
            except OSError as error:  # a full disk while writing it: the old index is kept
                raise StoreError(f"{settings['data_dir']}: cannot write the search index: "
                                 f"{error.strerror or error} (the graph is stored; the previous "
                                 "index, if any, is kept and marked stale)") from error
    report.seconds = time.perf_counter() - started
    return report


def _ingest_pages(store, settings, progress, known, report, on_stored, prefetcher) -> dict | None:
    """Write each page (see `ingest_paths`); the prefetched passage vectors, if any."""
    for doc in progress:
        progress.set_postfix_str(doc.doc)
        try:
            written = ingest_document(store, doc, known)
        except IngestError as error:
            if _disk_full(error):
                raise StoreError(f"{settings['data_dir']}: no space left on device; stopped at {doc.path} "
                                 f"after storing {report.documents} page(s) (every page is either fully "
                                 "stored or as it was)") from error
            report.skipped.append(error)
            continue
        report.documents += 1
        report.sections += written["sections"]
        report.mentions.update(written["mentions"])
        report.triples += written["triples"]
        report.warnings.extend(f"{doc.path}: {warning}" for warning in written["warnings"])
        on_stored(doc, written["triples"])
        if prefetcher is not None:
            prefetcher.add(iris.graph_iri(doc.doc), written["graph"])
    return prefetcher.vectors() if prefetcher is not None else None


def _acknowledge(doc: Document, triples: int) -> None:
    """One stderr line per committed page: what an interrupted run did store."""
    tqdm.write(f"stored {doc.path} ({triples} triples)", file=sys.stderr)
    sys.stderr.flush()


def _mark_index_stale(settings: dict) -> None:
    """Tell the search index the store is changing (cheap; no FAISS import)."""
    from kg.index import mark_stale

    try:
        mark_stale(settings)
    except OSError as error:
        raise StoreError(f"{settings['data_dir']}: cannot write {error.filename or 'the stale marker'}: "
                         f"{error.strerror or error}") from error


def _disk_full(error: BaseException) -> bool:
    """True when `error` (or what caused it) is a full disk: ENOSPC, or RocksDB saying so."""
    while error is not None:
        if getattr(error, "errno", None) == errno.ENOSPC or "No space left on device" in str(error):
            return True
        error = error.__cause__
    return False


def prune_pages(store: Store, present: set[str]) -> list[str]:
    """Remove the graphs of stored pages whose name is not in `present`; their names, sorted.
    Only graphs holding an hpo:Document are pages: RDF added by `hpkg load` is never touched."""
    rows = run_named(store, "build_page_graphs")
    prefix = str(iris.graph_iri(""))
    removed = []
    for row in rows:
        graph = str(row.g)
        name = graph[len(prefix):] if graph.startswith(prefix) else None
        if name and name not in present:
            store.remove_graph(graph)
            removed.append(name)
    return sorted(removed)


def ingest_document(store: Store, doc: Document, known: dict | None = None) -> dict:
    """Extract, build, validate and write one page; IngestError (store untouched) when it fails."""
    warnings: list[str] = []
    try:
        mentions = extract_mentions(doc)
        graph = document_graph(doc, mentions, known, warnings)
    except Exception as error:  # any bug or bad input in one page must not stop the others
        raise IngestError(doc.path, f"extraction failed: {type(error).__name__}: {error}") from error
    check_graph(doc.path, graph)
    try:
        triples = store.replace_graph(iris.graph_iri(doc.doc), graph)
    except Exception as error:  # the store refused: the old graph of this page is still there
        raise IngestError(doc.path, f"store refused the graph: {error}") from error
    return {"sections": len(doc.sections), "mentions": Counter(m.type for m in mentions), "triples": triples,
            "warnings": warnings, "graph": graph}


def check_graph(path: str, graph: Graph) -> None:
    """Raise IngestError naming the first violating nodes when `graph` fails the SHACL shapes."""
    result = validate(graph)
    if result.conforms:
        return
    shown = [f"<{v.focus}> {v.path or ''}: {v.message}" + (f" ({v.value})" if v.value else "")
             for v in result.violations[:MAX_VIOLATIONS_SHOWN]]
    more = len(result.violations) - len(shown)
    raise IngestError(path, "graph fails the SHACL shapes: " + "; ".join(shown)
                      + (f"; and {more} more" if more > 0 else ""))


def ontology_files() -> list[Path]:
    return [ONTOLOGY_FILE, *sorted(VOCAB_DIR.glob("*.ttl"))]


def ontology_graph() -> Graph:
    """The OWL model and the SKOS vocabularies, stamped with the hash of their files."""
    graph = Graph()
    digest = hashlib.sha256()
    for path in ontology_files():
        data = path.read_bytes()
        digest.update(data)
        try:  # pyoxigraph's parser: several times faster than rdflib's on these files
            for quad in ox.parse(data, format=ox.RdfFormat.TURTLE):
                graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
        except SyntaxError as error:
            raise IngestError(path, f"cannot parse Turtle: {error}") from error
    graph.add((ONTOLOGY_GRAPH, DCTERMS.hasVersion, Literal(digest.hexdigest())))
    return graph


def ensure_ontology(store: Store) -> int:
    """Write hpid:graph/ontology unless the store already holds these very files; triples written."""
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in ontology_files())).hexdigest()
    current = store.query("ASK { GRAPH ?g { ?g ?p ?v } }", bindings={
        "g": ONTOLOGY_GRAPH, "p": DCTERMS.hasVersion, "v": Literal(digest)})
    if current.askAnswer:
        return 0
    return store.replace_graph(ONTOLOGY_GRAPH, ontology_graph())


def stored_sections(store: Store) -> dict[tuple[str, str], URIRef]:
    """Cross-reference targets already in the store (pages not re-ingested in this run)."""
    table: dict[tuple[str, str], URIRef] = {}
    # constant IRIs, not bindings: Virtuoso 7.2 fails on a VALUES-bound predicate in OPTIONAL
    rows = store.query(
        f"SELECT ?section ?number ?title WHERE {{ ?section a <{HPO.Section}> ; <http://purl.org/dc/terms/title> ?title "
        f"OPTIONAL {{ ?section <{HPO.number}> ?number }} }}"
    )
    for row in rows:
        container = str(row.section).split("/section/", 1)[-1].split("/")[1:2]
        if row.number is not None and container:
            table[("number", f"{container[0]}/{row.number}")] = row.section
        table.setdefault(("title", fold_title(str(row.title))), row.section)
    return table
