"""Consistency check of the model and its vocabularies under HermiT (owlready2 `sync_reasoner`).

    python -m ontology.reason                 # hpo.owl + every ontology/vocab/*.ttl, communes included
    python -m ontology.reason --no-communes   # the same without the communes (faster)
    python -m ontology.reason extra.ttl       # also load more RDF files (e.g. to try an edit)

HermiT runs in Java (Debian default-jre-headless, installed by `make sysdeps`). When the
ontology is inconsistent, HermiT does not say why; `disjoint_clashes` then names the
individuals typed with two disjoint classes and `data_value_clashes` the literals outside a
data property's range or doubling a functional one, the usual causes.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import owlready2
from owlready2 import OwlReadyInconsistentOntologyError, World, sync_reasoner
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from ontology.namespaces import HPO

ONTOLOGY_DIR = Path(__file__).resolve().parent
OWL_PATH = ONTOLOGY_DIR / "hpo.owl"
VOCAB_DIR = ONTOLOGY_DIR / "vocab"


class ReasonerUnavailable(RuntimeError):
    """Java is missing: the reasoner cannot run."""


@dataclass
class ReasonerReport:
    consistent: bool
    seconds: float
    triples: int
    sources: list[str]
    clashes: list[str] = field(default_factory=list)
    message: str = ""

    def summary(self) -> str:
        state = "consistent" if self.consistent else "INCONSISTENT"
        lines = [f"{state} under HermiT: {self.triples} triples from {len(self.sources)} sources "
                 f"in {self.seconds:.1f} s"]
        lines += [f"  {clash}" for clash in self.clashes]
        if not self.consistent and not self.clashes:
            lines.append(f"  {self.message}")
        return "\n".join(lines)


def vocabulary_graph(vocab_dir: Path = VOCAB_DIR, include_communes: bool = True) -> Graph:
    """All vocabularies in one graph; without the communes when asked (they are most of it)."""
    graph = Graph()
    for path in sorted(vocab_dir.glob("*.ttl")):
        try:
            graph.parse(path, format="turtle")
        except Exception as exc:  # rdflib raises parser-specific types
            raise ValueError(f"{path}: cannot parse vocabulary: {exc}") from exc
    if not include_communes:
        for commune in list(graph.subjects(RDF.type, HPO.Commune)):
            graph.remove((commune, None, None))
    return graph


def check_consistency(
    extra: Graph | None = None,
    vocab_dir: Path = VOCAB_DIR,
    include_communes: bool = True,
    owl_path: Path = OWL_PATH,
) -> ReasonerReport:
    """Load the model, the vocabularies and `extra` into a fresh owlready2 world and run HermiT."""
    if shutil.which(owlready2.JAVA_EXE) is None:
        raise ReasonerUnavailable(f"'{owlready2.JAVA_EXE}' not found: install Java (make sysdeps)")
    data = vocabulary_graph(vocab_dir, include_communes)
    if extra is not None:
        data += extra
    sources = [owl_path.name] + [p.name for p in sorted(vocab_dir.glob("*.ttl"))] + (["extra"] if extra else [])
    start = time.perf_counter()
    world = World()
    try:
        world.get_ontology(owl_path.as_uri()).load()
        with tempfile.TemporaryDirectory() as tmp:
            # owlready2 reads RDF/XML and N-Triples, not Turtle
            nt = Path(tmp) / "vocabularies.nt"
            data.serialize(nt, format="nt", encoding="utf-8")
            vocab = world.get_ontology(nt.as_uri()).load()
        try:
            with vocab:
                sync_reasoner(world, infer_property_values=False, debug=0)
            consistent, message = True, ""
        except OwlReadyInconsistentOntologyError as exc:
            consistent, message = False, str(exc).strip() or "HermiT reports the ontology inconsistent"
    finally:
        world.close()
    seconds = time.perf_counter() - start
    model = Graph().parse(owl_path, format="xml")
    model.bind("hpo", HPO._NS)
    clashes = [] if consistent else disjoint_clashes(model, data) + data_value_clashes(model, data)
    return ReasonerReport(consistent, seconds, len(model) + len(data), sources, clashes, message)


def disjoint_clashes(model: Graph, data: Graph) -> list[str]:
    """Individuals of `data` whose asserted classes (with superclasses) include two disjoint ones."""
    parents: dict[URIRef, set[URIRef]] = {}
    for child, parent in model.subject_objects(RDFS.subClassOf):
        if isinstance(child, URIRef) and isinstance(parent, URIRef):
            parents.setdefault(child, set()).add(parent)

    def ancestors(cls: URIRef) -> set[URIRef]:
        seen, todo = {cls}, [cls]
        while todo:
            for parent in parents.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    disjoint = {frozenset(pair) for pair in model.subject_objects(OWL.disjointWith)}
    clashes = []
    for individual in sorted(set(data.subjects(RDF.type, None))):
        classes = set()
        for cls in data.objects(individual, RDF.type):
            if isinstance(cls, URIRef):
                classes |= ancestors(cls)
        for pair in sorted(disjoint, key=sorted):
            if pair <= classes:
                a, b = sorted(pair)
                clashes.append(f"<{individual}> is both {model.qname(a)} and {model.qname(b)}, "
                               f"which are disjoint")
    return clashes


# Integer subtypes that rdflib may write for an xsd:integer range.
_INTEGER_TYPES = {XSD.integer, XSD.int, XSD.long, XSD.short, XSD.nonNegativeInteger, XSD.positiveInteger}


def data_value_clashes(model: Graph, data: Graph) -> list[str]:
    """Literals outside a data property's range (e.g. xsd:double for an xsd:decimal range: disjoint
    value spaces in OWL 2), and functional data properties with two values."""
    clashes = []
    functional = set(model.subjects(RDF.type, OWL.FunctionalProperty))
    for prop in sorted(set(model.subjects(RDF.type, OWL.DatatypeProperty))):
        expected = model.value(prop, RDFS.range)
        values: dict = {}
        for subject, value in data.subject_objects(prop):
            values.setdefault(subject, set()).add(value)
            if not isinstance(value, Literal) or expected is None:
                continue
            actual = value.datatype or (RDF.langString if value.language else XSD.string)
            if actual != expected and not (expected == XSD.integer and actual in _INTEGER_TYPES):
                clashes.append(f"<{subject}> {model.qname(prop)} {value.n3()}: expected {model.qname(expected)}")
        if prop in functional:
            clashes += [f"<{subject}> has {len(found)} values of functional {model.qname(prop)}"
                        for subject, found in sorted(values.items()) if len(found) > 1]
    return clashes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ontology.reason", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="more RDF files to load")
    parser.add_argument("--no-communes", action="store_true", help="leave the communes out")
    parser.add_argument("--vocab-dir", type=Path, default=VOCAB_DIR, help="folder of *.ttl vocabularies")
    args = parser.parse_args(argv)
    extra = None
    if args.files:
        extra = Graph()
        for path in args.files:
            try:
                extra.parse(path)
            except Exception as exc:  # rdflib raises parser-specific types
                print(f"error: {path}: cannot parse: {exc}", file=sys.stderr)
                return 2
    try:
        report = check_consistency(extra, vocab_dir=args.vocab_dir, include_communes=not args.no_communes)
    except (ReasonerUnavailable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0 if report.consistent else 1


if __name__ == "__main__":
    sys.exit(main())
