"""Validate a graph against ontology/shapes.ttl with pyshacl.

    >>> from rdflib import Graph
    >>> validate(Graph()).conforms
    True

Ingest calls `validate(document_graph)` on each document; `python -m ontology.shapes FILE...`
validates RDF files (Turtle, N-Triples...) and exits 1 when one does not conform.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH

SHAPES_PATH = Path(__file__).with_name("shapes.ttl")


@dataclass(frozen=True)
class Violation:
    """One failed constraint: the offending node, the property path, what is wrong."""

    focus: str
    path: str | None
    message: str
    value: str | None = None

    def __str__(self) -> str:
        where = f"<{self.focus}>" + (f" {self.path}" if self.path else "")
        value = f" (value: {self.value})" if self.value is not None else ""
        return f"{where}: {self.message}{value}"


@dataclass(frozen=True)
class ValidationResult:
    conforms: bool
    violations: tuple[Violation, ...] = ()

    @property
    def text(self) -> str:
        """One line per violation, sorted by node; empty when the graph conforms."""
        return "\n".join(str(v) for v in self.violations)

    def focus_nodes(self) -> set[str]:
        return {v.focus for v in self.violations}


@lru_cache(maxsize=1)
def shapes_graph() -> Graph:
    """The parsed shapes, once per process (pyshacl does not modify it)."""
    return Graph().parse(SHAPES_PATH, format="turtle")


def validate(graph: Graph) -> ValidationResult:
    """Check `graph` (no inference: classes must be asserted) against the shapes."""
    conforms, report, _ = shacl_validate(
        graph, shacl_graph=shapes_graph(), inference="none", abort_on_first=False, allow_warnings=False
    )
    if conforms:
        return ValidationResult(True)
    names = graph.namespace_manager
    violations = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        path = report.value(result, SH.resultPath)
        value = report.value(result, SH.value)
        violations.append(Violation(
            focus=str(report.value(result, SH.focusNode)),
            path=names.normalizeUri(path) if isinstance(path, URIRef) else (str(path) if path else None),
            message=str(report.value(result, SH.resultMessage) or "constraint violated"),
            value=None if value is None else str(value),
        ))
    # one line per problem: a value may fail several constraints of one property shape
    unique = sorted(set(violations), key=lambda v: (v.focus, v.path or "", v.message, v.value or ""))
    return ValidationResult(False, tuple(unique))


def main(argv: list[str] | None = None) -> int:
    paths = argv if argv is not None else sys.argv[1:]
    if not paths:
        print("usage: python -m ontology.shapes FILE...", file=sys.stderr)
        return 2
    failed = 0
    for name in paths:
        try:
            graph = Graph().parse(name)
        except Exception as exc:  # rdflib raises many parser-specific types
            print(f"{name}: cannot parse: {exc}", file=sys.stderr)
            return 2
        result = validate(graph)
        print(f"{name}: {'conforms' if result.conforms else 'does not conform'}")
        if not result.conforms:
            failed += 1
            print(result.text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
