"""Search as the web UI shows it: one page of hits with highlighted passages, facets, totals,
and "related by meaning" sections for an orientation page. Wraps `kg.search.search_store`."""
from __future__ import annotations

import re

from markupsafe import Markup, escape

from ontology.errors import BadInput
from kg.lexical import tokenize
from kg.search import FACETS, MAX_K, search_store, section_vector
from search_api.page_cache import kept_search

CHIP_TYPES = ("actor", "tool", "territory", "population")
FACET_ORDER = ("scheme", "actor", "tool", "territory", "population", "programme")
_WORD = re.compile(r"[\w’'-]+")


def parse_filters(args) -> dict[str, list[str]]:
    """Facet filters from the query string: `?actor=IRI&territory=IRI` (repeatable)."""
    return {facet: args.getlist(facet) for facet in FACET_ORDER if args.getlist(facet)}


def run_search(store, settings: dict, query: str, filters: dict, *, index, encoder, page: int,
               per_page: int, max_results: int) -> dict:
    """One page of hits (passages highlighted), the facets with counts, and the total."""
    unknown = [f for f in filters if f not in FACETS]
    if unknown:
        raise BadInput(f"Filtre « {unknown[0]} » non pris en charge par la recherche.")
    try:
        answer = kept_search(store, settings, query, k=min(max_results, MAX_K), filters=filters, index=index,
                             encoder=encoder)
    except ValueError as error:
        raise BadInput(f"Recherche impossible : {error}") from error
    hits = [dict(hit) for hit in answer["hits"]]  # a kept answer is shared: the page adds to copies
    for hit in hits:
        explanation = hit.get("explanation") or {}
        terms = [query, *explanation.get("matched_terms", []), *explanation.get("expanded_terms", [])]
        hit["snippet_html"] = highlight(hit["snippet"], terms)
        hit["chips"], hit["more_entities"] = chips(hit["entities"])
    first = (page - 1) * per_page
    facets = answer.get("facets", {})
    return {
        "took_ms": answer["took_ms"],
        "total": len(hits),
        "pages": max(1, -(-len(hits) // per_page)),
        "hits": hits[first:first + per_page],
        "facets": {f: facets[f] for f in FACET_ORDER if facets.get(f)},
        "filters": answer.get("filters", filters),
        "filter_labels": _filter_labels(facets, filters),
    }


def chips(entities: list[dict], per_type: int = 3) -> tuple[list[dict], int]:
    """The entities a hit shows as chips (a few actors, tools, territories, populations, in that
    order) and how many others its orientation page lists.

    >>> shown, more = chips([{"type": "actor", "label": str(i), "iri": str(i)} for i in range(5)])
    >>> [e["label"] for e in shown], more
    (['0', '1', '2'], 2)
    """
    shown = [e for kind in CHIP_TYPES for e in [x for x in entities if x["type"] == kind][:per_type]]
    return shown, len(entities) - len(shown)


def highlight(text: str, terms: list[str]) -> Markup:
    """`text` escaped, with the words sharing a stem with `terms` wrapped in <mark>.

    >>> str(highlight("Les infirmiers libéraux <et> les SSIAD", ["infirmier"]))
    'Les <mark>infirmiers</mark> libéraux &lt;et&gt; les SSIAD'
    """
    stems = set(tokenize(" ".join(terms)))
    out, cursor = [], 0
    for match in _WORD.finditer(text):
        word_stems = tokenize(match.group())
        if word_stems and set(word_stems) <= stems:
            out.append(escape(text[cursor:match.start()]))
            out.append(Markup("<mark>%s</mark>") % match.group())
            cursor = match.end()
    out.append(escape(text[cursor:]))
    return Markup("").join(out)


def _filter_labels(facets: dict, filters: dict) -> list[dict]:
    """The active filters with their labels (from the facets when known) for the "remove" chips."""
    labels = {(f, v["iri"]): v["label"] for f, values in facets.items() for v in values}
    return [{"facet": f, "iri": iri, "label": labels.get((f, iri), iri.rsplit("/", 1)[-1])}
            for f, iris in filters.items() for iri in iris]


def similar_sections(store, settings: dict, page: dict, index, limit: int = 5, encoder=None) -> list[dict]:
    """Sections close in meaning to an orientation (its title and opening as the query),
    itself excluded; empty when there is no search index (`index` None). A section without
    passages of its own (a heading over its sub-sections) has no stored vector: its text is
    embedded through `encoder`, the app's cache of query vectors."""
    query = " ".join(f"{page['title']} {page['text'][:300]}".split())[:480]
    if not query or index is None:
        return []
    # the section's stored vectors, not a new embedding of its text: no model run per page
    vector = section_vector(index, page["iri"])
    answer = search_store(store, settings, query, k=limit + 1, index=index, vector=vector, encoder=encoder)
    return [{"iri": h["iri"], "title": h["title"], "section": h["section"], "doc": h["doc"],
             "score": h["score"]}
            for h in answer["hits"] if h["iri"] != page["iri"]][:limit]
