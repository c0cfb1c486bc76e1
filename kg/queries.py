"""Named SPARQL queries: one `.rq` file each in kg/queries/, parameters bound, never pasted."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD

from ontology.namespaces import HPID, HPO

QUERY_DIR = Path(__file__).parent / "queries"
PREFIXES = {
    "hpo": HPO._NS, "hpid": HPID, "skos": SKOS, "dcterms": DCTERMS, "prov": PROV,
    "rdf": RDF, "rdfs": RDFS, "xsd": XSD,
}


def query_names() -> list[str]:
    """Names of the named queries, sorted."""
    return sorted(p.stem for p in QUERY_DIR.glob("*.rq"))


@lru_cache(maxsize=None)
def load_query(name: str) -> str:
    """The text of kg/queries/NAME.rq; KeyError naming the query when there is none."""
    path = QUERY_DIR / f"{name}.rq"
    if not path.is_file():
        raise KeyError(f"no named query {name!r} (known: {', '.join(query_names())})")
    return path.read_text(encoding="utf-8")


def run_named(store, name: str, **params):
    """Run a named query with `params` bound as IRIs (URIRef) or literals."""
    bindings = {k: v if isinstance(v, (URIRef, Literal)) else Literal(v) for k, v in params.items()}
    return store.query(load_query(name), bindings=bindings)
