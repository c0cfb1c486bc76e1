"""Search API: GET /api/search?q=...&k=...&actor=IRI... -> the DESIGN.md JSON contract.

Facet filters (scheme, population, actor, tool, territory, programme) take concept IRIs and
may repeat; every hit must carry all of them. Facet counts and per-hit explanations come as
extra keys ("facets", "filters", "explanation") beside the contract keys.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ontology.errors import BadInput
from kg.search import FACETS, validate_filters, validate_k, validate_query
from search_api.page_cache import kept_search
from search_api.resources import get_encoder, get_index, get_store

bp = Blueprint("search", __name__)


@bp.get("/api/search")
def api_search():
    try:
        query = validate_query(request.args.get("q"))
        k = validate_k(request.args.get("k", "10"))
        filters = validate_filters({f: request.args.getlist(f) for f in FACETS if request.args.getlist(f)})
    except ValueError as error:
        raise BadInput(str(error)) from error
    return jsonify(kept_search(get_store(), current_app.config["HPKG"], query, k=k, filters=filters,
                               index=get_index(), encoder=get_encoder()))
