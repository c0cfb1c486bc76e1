"""Named SPARQL queries: one `.rq` file each in kg/queries/, parameters bound, never pasted.

Analyst queries (documented in docs/queries.md) open with a header comment:

    # title: Orientations involving an actor
    # Free text describing what the query answers, on as many lines as needed.
    # param: actor iri  The actor concept, e.g. hpid:actor/ars
    # example: actor=hpid:actor/ars

A parameter is bound by the store (rdflib initBindings in memory, elsewhere a VALUES block of
escaped terms, `kg.store.inject_values`); when it is not
given the variable stays free and the query answers for every value. Files prefixed `search_`,
`ui_` and `link_` are internal queries of other parts, without that header.

>>> query = describe("orientations_by_actor")
>>> query.title, [p.name for p in query.params]
('Orientations involving an actor', ['actor'])
>>> bind_params(query, {"actor": "hpid:actor/ars"})["actor"]
rdflib.term.URIRef('https://w3id.org/healthpolicy-kg/id/actor/ars')
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rdflib import Literal, URIRef

from kg.store import PREFIXES

QUERY_DIR = Path(__file__).parent / "queries"
PARAM_TYPES = ("iri", "string", "int")
_IRI = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>"{}|^`\\]*$')
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Param:
    name: str
    type: str   # one of PARAM_TYPES
    help: str


@dataclass(frozen=True)
class NamedQuery:
    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    examples: dict = field(default_factory=dict)  # parameter -> sample value for the docs
    text: str = ""

    @property
    def body(self) -> str:
        """The query without its header comment."""
        lines = self.text.splitlines()
        while lines and lines[0].startswith("#"):
            lines.pop(0)
        return "\n".join(lines).strip() + "\n"


def query_names() -> list[str]:
    """Names of the named queries, sorted."""
    return sorted(p.stem for p in QUERY_DIR.glob("*.rq"))


@lru_cache(maxsize=None)
def load_query(name: str) -> str:
    """The text of kg/queries/NAME.rq; KeyError naming the query when there is none."""
    path = QUERY_DIR / f"{name}.rq"
    if not _NAME.match(name) or not path.is_file():
        raise KeyError(f"no named query {name!r} (known: {', '.join(query_names())})")
    return path.read_text(encoding="utf-8")


def run_named(store, name: str, **params):
    """Run a named query with `params` bound as IRIs (URIRef) or literals."""
    bindings = {k: v if isinstance(v, (URIRef, Literal)) else Literal(v) for k, v in params.items()}
    return store.query(load_query(name), bindings=bindings)


@lru_cache(maxsize=None)
def describe(name: str) -> NamedQuery:
    """The header of kg/queries/NAME.rq: title, description, parameters, examples."""
    text = load_query(name)
    title, description, params, examples = "", [], [], {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        content = line[1:].strip()
        key, _, rest = content.partition(":")
        if key == "title":
            title = rest.strip()
        elif key == "param":
            pname, ptype, *help_ = rest.split(None, 2) + ["", ""]
            if not pname or ptype not in PARAM_TYPES:
                raise ValueError(f"kg/queries/{name}.rq: bad header line {line!r}: expected "
                                 f"'# param: NAME TYPE  help' with TYPE one of {', '.join(PARAM_TYPES)}")
            params.append(Param(pname, ptype, help_[0].strip()))
        elif key == "example":
            pname, _, value = rest.strip().partition("=")
            examples[pname.strip()] = value.strip()
        else:
            description.append(content)
    return NamedQuery(name, title, " ".join(d for d in description if d).strip(), tuple(params),
                      examples, text)


def analyst_queries() -> list[NamedQuery]:
    """The documented queries for analysts: those whose header has a `title:`."""
    return [q for q in map(describe, query_names()) if q.title]


def expand_iri(value: str) -> str:
    """`hpid:actor/ars` -> the full IRI; a full IRI is returned as is.

    >>> expand_iri("hpo:Section")
    'https://w3id.org/healthpolicy-kg/ontology#Section'
    """
    prefix, sep, local = value.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        return str(PREFIXES[prefix]) + local
    return value


def bind_params(query: NamedQuery, values: dict[str, str]) -> dict:
    """Typed RDF terms for `values` (strings from the command line), checked one by one.

    Raises ValueError naming the query and parameter at fault.
    """
    declared = {p.name: p for p in query.params}
    terms = {}
    for name, raw in values.items():
        param = declared.get(name)
        if param is None and declared:
            raise ValueError(f"query {query.name}: unknown parameter {name!r} "
                             f"(parameters: {', '.join(declared)})")
        if not _NAME.match(name):
            raise ValueError(f"query {query.name}: invalid parameter name {name!r}")
        kind = param.type if param else ("iri" if _IRI.match(expand_iri(raw)) and ":" in raw else "string")
        if kind == "iri":
            iri = expand_iri(raw.strip().removeprefix("<").removesuffix(">"))
            if not _IRI.match(iri):
                raise ValueError(f"query {query.name}: parameter {name}: {raw!r} is not an IRI "
                                 "(give a full IRI or hpid:..., hpo:...)")
            terms[name] = URIRef(iri)
        elif kind == "int":
            try:
                terms[name] = Literal(int(raw))
            except ValueError:
                raise ValueError(f"query {query.name}: parameter {name}: {raw!r} is not an integer") from None
        else:
            terms[name] = Literal(raw)
    return terms
