"""Read-side queries for the web UI: plan tree, orientation pages, entity pages, neighbourhoods.

Each public function runs named queries (`kg/queries/ui_*.rq`, IRIs bound, never pasted) on a
store whose `query()` returns an rdflib Result, and returns plain dicts and lists ready for a
template or for JSON.
"""
from __future__ import annotations

from typing import Any

from rdflib import URIRef

from kg.passages import page_range
from kg.queries import run_named
from ontology.entity_types import ENTITY_TYPES
from ontology.namespaces import HPID
from ontology.textkeys import fold

ENTITY_KINDS = ENTITY_TYPES


def _py(value) -> Any:
    """An rdflib term as a plain Python value (None stays None)."""
    if value is None:
        return None
    if isinstance(value, URIRef):
        return str(value)
    python = value.toPython()
    return python if isinstance(python, (int, float, str)) else str(value)


def _rows(store, name: str, **params) -> list[dict[str, Any]]:
    result = run_named(store, name, **params)
    names = [str(v) for v in result.vars]
    return [{n: _py(row[i]) for i, n in enumerate(names)} for row in result]


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def entity_kind(iri: str) -> str | None:
    """The entity type named by a concept IRI (`hpid:actor/...`, `hpid:candidate/actor/...`).

    >>> entity_kind("https://w3id.org/healthpolicy-kg/id/actor/ssiad")
    'actor'
    >>> entity_kind("https://w3id.org/healthpolicy-kg/id/candidate/tool/cpom")
    'tool'
    >>> entity_kind("https://example.org/x") is None
    True
    """
    if not iri.startswith(str(HPID)):
        return None
    parts = iri[len(str(HPID)):].split("/")
    if parts[0] == "candidate" and len(parts) > 2:
        parts = parts[1:]
    return parts[0] if parts[0] in ENTITY_KINDS else None


def doc_name(doc_iri: str | None) -> str | None:
    """The corpus file name (without extension) of a document IRI `hpid:doc/{doc}`."""
    prefix = str(HPID["doc/"])
    if doc_iri and doc_iri.startswith(prefix):
        return doc_iri[len(prefix):]
    return doc_iri


def display_title(number: str | None, title: str | None) -> str:
    """`3.1.5 Améliorer ...`, or whichever part exists.

    >>> display_title("3.1", "Personnes âgées")
    '3.1 Personnes âgées'
    >>> display_title(None, "Région")
    'Région'
    """
    if number and title and not title.startswith(number):
        return f"{number} {title}"
    return title or number or ""


# -- plan tree ------------------------------------------------------------------------------

def plan_tree(store) -> list[dict]:
    """Plans -> schemes -> sections as nested dicts, each with `sections` (sections beneath,
    itself included) and `mentions` (mentions in its subtree) counts. Siblings are ordered by
    position, then number, then title; nodes whose parent is unknown hang at the top."""
    rows = _rows(store, "ui_plan_nodes")
    nodes = {
        r["node"]: {
            "iri": r["node"], "kind": r["kind"], "number": r["number"], "title": r["title"] or "",
            "label": display_title(r["number"], r["title"]), "level": _int(r["level"], 0),
            "position": _int(r["position"], 0), "own_mentions": _int(r["mentions"]),
            "parent": r["parent"], "children": [],
        }
        for r in rows
    }
    roots = []
    for node in nodes.values():
        parent = nodes.get(node["parent"])
        if parent is not None and parent is not node:
            parent["children"].append(node)
        else:
            roots.append(node)

    def finish(node: dict, seen: frozenset) -> None:
        node["children"] = [c for c in node["children"] if c["iri"] not in seen]
        node["children"].sort(key=_sibling_key)
        for child in node["children"]:
            finish(child, seen | {node["iri"]})
        node["sections"] = (node["kind"] == "section") + sum(c["sections"] for c in node["children"])
        node["mentions"] = node["own_mentions"] + sum(c["mentions"] for c in node["children"])
        del node["own_mentions"], node["parent"]

    roots.sort(key=lambda n: (("plan", "scheme", "section").index(n["kind"]), _sibling_key(n)))
    for root in roots:
        finish(root, frozenset())
    return roots


def _natural(text: str | None) -> tuple:
    """Sort key that orders `3.2` before `3.10`."""
    parts = []
    for chunk in (text or "").replace("-", ".").split("."):
        parts.append((0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk))
    return tuple(parts)


def _sibling_key(node: dict) -> tuple:
    return (node["position"], _natural(node["number"]), node["title"])


# -- orientation page -----------------------------------------------------------------------

def orientation_page(store, iri: str, *, related_limit: int = 8) -> dict | None:
    """Everything the orientation page shows about section `iri`, or None when it is not a
    section: fields, document and source, breadcrumb, items, children, text split into
    segments with mentions marked, entities by type, related sections, linked projects."""
    section = URIRef(iri)
    found = _rows(store, "ui_section", section=section)
    if not found or all(v is None for v in found[0].values()):
        return None
    row = found[0]
    text = row["text"] or ""
    mentions = [
        {"iri": m["mention"], "type": m["type"], "surface": m["surface"], "start": _int(m["start"], -1),
         "end": _int(m["end"], -1), "concept": m["concept"], "label": m["label"] or m["surface"],
         "method": m["method"]}
        for m in _rows(store, "ui_section_mentions", section=section)
    ]
    segments, mapping = mark_mentions(text, mentions)
    related = [
        {"iri": r["other"], "title": display_title(r["number"], r["title"]), "shared": _int(r["shared"]),
         "labels": sorted({x for x in (r["labels"] or "").split("|") if x})}
        for r in _rows(store, "ui_related_sections", section=section)[:related_limit]
    ]
    return {
        "iri": iri,
        "number": row["number"],
        "title": row["title"] or "",
        "label": display_title(row["number"], row["title"]),
        "level": _int(row["level"], 0),
        "text": text,
        "page": page_range(row["pageStart"], row["pageEnd"]),
        "document": {
            "iri": row["doc"], "doc": doc_name(row["doc"]), "title": row["docTitle"],
            "source": row["source"], "pages": row["pages"], "site": row["site"],
            "issued": row["issued"],
        },
        "breadcrumb": breadcrumb(store, iri),
        "items": [{"position": _int(i["position"]), "text": i["text"] or ""}
                  for i in _rows(store, "ui_section_items", section=section)],
        "children": [{"iri": c["child"], "title": display_title(c["number"], c["title"])}
                     for c in sorted(_rows(store, "ui_section_children", section=section),
                                     key=lambda c: (_int(c["position"]), _natural(c["number"])))],
        "segments": segments,
        "highlight_method": mapping,
        "mentions": mentions,
        "entities": entities_by_type(mentions),
        "related": related,
        "projects": [{"iri": p["project"], "title": p["title"] or p["project"], "status": p["status"],
                      "score": p["score"]}
                     for p in _rows(store, "ui_section_projects", section=section)],
    }


def breadcrumb(store, iri: str) -> list[dict]:
    """The ancestors of a section from the top (plan) down to its parent: iri, kind, label."""
    rows = _rows(store, "ui_ancestors", section=URIRef(iri))
    parent_of = {r["child"]: r for r in rows}
    chain, current, seen = [], iri, {iri}
    while current in parent_of:
        row = parent_of[current]
        if row["parent"] in seen:
            break  # a cycle in hpo:partOf: stop rather than loop
        chain.append({"iri": row["parent"], "kind": row["kind"],
                      "label": display_title(row["number"], row["title"])})
        seen.add(row["parent"])
        current = row["parent"]
    return list(reversed(chain))


def entities_by_type(mentions: list[dict]) -> dict[str, list[dict]]:
    """Distinct concepts of a list of mentions, grouped by type, most mentioned first.

    >>> entities_by_type([{"type": "actor", "concept": "c1", "label": "SSIAD"},
    ...                   {"type": "actor", "concept": "c1", "label": "SSIAD"}])
    {'actor': [{'iri': 'c1', 'label': 'SSIAD', 'count': 2}]}
    """
    grouped: dict[str, dict[str, dict]] = {}
    for m in mentions:
        if not m.get("concept") or not m.get("type"):
            continue
        entry = grouped.setdefault(m["type"], {}).setdefault(
            m["concept"], {"iri": m["concept"], "label": m["label"], "count": 0})
        entry["count"] += 1
    order = {k: i for i, k in enumerate(ENTITY_KINDS)}
    return {
        kind: sorted(by_iri.values(), key=lambda e: (-e["count"], fold(e["label"] or "")))
        for kind, by_iri in sorted(grouped.items(), key=lambda kv: order.get(kv[0], 99))
    }


def mark_mentions(text: str, mentions: list[dict]) -> tuple[list[dict], str]:
    """Split a section's text into segments, each `{"text"}` or `{"text", "mention"}`.

    Mention offsets index the whole document text, and the section text starts at an offset
    the graph does not store, so it is recovered: the shift that makes every mention's
    offsets point at its surface text. When no single shift fits, mentions are placed by
    searching their surface text in order instead. Returns (segments, how): how is "offsets",
    "surface", or "none" when no mention falls in the text.

    >>> segs, how = mark_mentions("Les SSIAD et les EHPAD", [
    ...     {"start": 104, "end": 109, "surface": "SSIAD", "type": "actor"},
    ...     {"start": 117, "end": 122, "surface": "EHPAD", "type": "actor"}])
    >>> how, [s["text"] for s in segs]
    ('offsets', ['Les ', 'SSIAD', ' et les ', 'EHPAD'])
    """
    usable = [m for m in mentions if m.get("surface") and m.get("start", -1) >= 0]
    spans = _spans_by_offset(text, usable)
    method = "offsets"
    if spans is None:
        spans, method = _spans_by_surface(text, usable), "surface"
    if not spans:
        method = "none"  # nothing to mark: no mention, or all outside this text (a heading)
    segments, cursor = [], 0
    for start, end, mention in spans:
        if start < cursor:
            continue  # overlapping mention: keep the first (longest) one
        if start > cursor:
            segments.append({"text": text[cursor:start]})
        segments.append({"text": text[start:end], "mention": mention})
        cursor = end
    if cursor < len(text) or not segments:
        segments.append({"text": text[cursor:]})
    return segments, method


def _spans_by_offset(text: str, mentions: list[dict]) -> list[tuple] | None:
    if not mentions:
        return []
    first = min(mentions, key=lambda m: m["start"])
    candidates, at = [], text.find(first["surface"])
    while at >= 0:
        candidates.append(first["start"] - at)
        at = text.find(first["surface"], at + 1)
    for shift in candidates:
        spans = [(m["start"] - shift, m["end"] - shift, m) for m in mentions]
        if all(0 <= s <= e <= len(text) and text[s:e] == m["surface"] for s, e, m in spans):
            return sorted(spans, key=lambda s: (s[0], -(s[1] - s[0])))
    return None


def _spans_by_surface(text: str, mentions: list[dict]) -> list[tuple]:
    spans, used = [], set()
    for m in sorted(mentions, key=lambda m: m["start"]):
        at = text.find(m["surface"])
        while at >= 0 and (at, m["surface"]) in used:
            at = text.find(m["surface"], at + 1)
        if at >= 0:
            used.add((at, m["surface"]))
            spans.append((at, at + len(m["surface"]), m))
    return sorted(spans, key=lambda s: (s[0], -(s[1] - s[0])))


# -- entity page ----------------------------------------------------------------------------

_CONCEPT_FIELDS = {
    "http://www.w3.org/2004/02/skos/core#prefLabel": "pref_labels",
    "http://www.w3.org/2004/02/skos/core#altLabel": "alt_labels",
    "http://www.w3.org/2004/02/skos/core#definition": "definitions",
    "http://www.w3.org/2004/02/skos/core#broader": "broader",
    "http://www.w3.org/2004/02/skos/core#narrower": "narrower",
    "http://www.w3.org/2004/02/skos/core#inScheme": "schemes",
    "http://www.w3.org/2004/02/skos/core#exactMatch": "exact_matches",
    "http://www.w3.org/2004/02/skos/core#closeMatch": "exact_matches",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type": "types",
}
_LINKS = ("broader", "narrower", "schemes", "exact_matches", "types")


def entity_page(store, iri: str, *, neighbour_limit: int = 12) -> dict | None:
    """Labels, definition, broader/narrower, every section mentioning concept `iri`, and its
    neighbourhood (sections and co-mentioned concepts). None when the graph knows nothing of it."""
    concept = URIRef(iri)
    fields: dict[str, list] = {name: [] for name in set(_CONCEPT_FIELDS.values())}
    for r in _rows(store, "ui_concept", concept=concept):
        name = _CONCEPT_FIELDS[r["p"]]
        value = {"iri": r["o"], "label": r["olabel"] or r["o"]} if name in _LINKS else r["o"]
        if value not in fields[name]:
            fields[name].append(value)
    sections = [
        {"iri": s["section"], "title": display_title(s["number"], s["title"]), "doc": doc_name(s["doc"]),
         "mentions": _int(s["mentions"]),
         "surfaces": sorted({x for x in (s["surfaces"] or "").split("|") if x}, key=fold)}
        for s in _rows(store, "ui_concept_sections", concept=concept)
    ]
    if not any(fields.values()) and not sections:
        return None
    neighbours = [
        {"iri": n["other"], "label": n["label"] or n["other"].rsplit("/", 1)[-1],
         "type": n["type"] or entity_kind(n["other"]), "shared": _int(n["shared"]),
         "sections": sorted((n["sections"] or "").split())}
        for n in _rows(store, "ui_concept_neighbours", concept=concept)
    ]
    label = (sorted(fields["pref_labels"], key=len) or [iri.rsplit("/", 1)[-1]])[0]
    return {
        "iri": iri,
        "kind": entity_kind(iri),
        "candidate": "/candidate/" in iri,
        "label": label,
        **{k: sorted(v, key=lambda x: fold(x["label"] if isinstance(x, dict) else str(x)))
           for k, v in fields.items()},
        "sections": sections,
        "neighbours": neighbours,
        "graph": neighbourhood(iri, label, entity_kind(iri), sections, neighbours, neighbour_limit),
    }


def neighbourhood(iri: str, label: str, kind: str | None, sections: list[dict],
                  neighbours: list[dict], limit: int = 12) -> dict:
    """The picture's nodes and edges: the concept, the sections mentioning it, and the concepts
    most often co-mentioned, each linked to the sections they share with it (at most `limit`
    of each, most connected first)."""
    shown_sections = sorted(sections, key=lambda s: -s["mentions"])[:limit]
    section_iris = {s["iri"] for s in shown_sections}
    nodes = [{"id": iri, "label": label, "group": "center", "type": kind}]
    nodes += [{"id": s["iri"], "label": s["title"], "group": "section", "type": "section"}
              for s in shown_sections]
    edges = [{"source": iri, "target": s["iri"]} for s in shown_sections]
    for n in neighbours[:limit]:
        shared = [s for s in n["sections"] if s in section_iris]
        if not shared:
            continue
        nodes.append({"id": n["iri"], "label": n["label"], "group": "concept", "type": n["type"]})
        edges += [{"source": s, "target": n["iri"]} for s in shared]
    return {"nodes": nodes, "edges": edges}


# -- overview -------------------------------------------------------------------------------

def overview(store) -> dict[str, int]:
    """Counts for the home page: documents, sections, mentions, concepts."""
    rows = _rows(store, "ui_overview")
    row = rows[0] if rows else {}
    return {k: _int(row.get(k)) for k in ("documents", "sections", "mentions", "concepts")}
