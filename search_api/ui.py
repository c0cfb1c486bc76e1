"""Web UI pages (French): home, search results, plan browser, orientation and entity pages.

Each view parses the request, calls one `kg` function and renders a template, or the same data
as JSON when the client asks for it (`Accept: application/json` or a `.json` suffix).
"""
from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import default_exceptions

from kg.browse import entity_page, orientation_page, overview, plan_tree
from ontology.errors import BadInput, NotFound
from kg.index import IndexUnavailable
from kg.queries import describe, query_names
from ontology import entity_types
from search_api import ui_search as results
from search_api.graph_svg import neighbourhood_svg
from search_api.handlers import wants_json
from search_api.page_cache import cached_page
from search_api.resources import get_encoder, get_index, get_store

bp = Blueprint("ui", __name__, static_folder="static", static_url_path="/static")

HPID = "https://w3id.org/healthpolicy-kg/id/"
# An absolute IRI as the store accepts it (kg.store: RFC 3987 IRIREF characters, a scheme).
_VALID_IRI = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>"{}|^`\\]*')
KIND_LABELS = {  # entity type -> (singular, plural) in French
    **{t.name: (t.label, t.plural) for t in entity_types.TABLE},
    "scheme": ("Schéma", "Schémas"),
    "doc": ("Page source", "Pages sources"),
    "section": ("Orientation", "Orientations"),
}
PER_PAGE = 10
MAX_RESULTS = 100


def _page(template: str, data: dict, **extra):
    """The page as HTML, or `data` as JSON when the client asks for JSON."""
    if wants_json():
        return jsonify(data)
    return render_template(template, data=data, **extra)


def _strip_json(path: str) -> str:
    return path[: -len(".json")] if path.endswith(".json") else path


# -- pages ----------------------------------------------------------------------------------

# The HTML route comes last (nearest the function): it is registered first, so url_for picks it.
@bp.get("/index.json")
@bp.get("/")
@cached_page()
def home():
    return _page("home.html", {"overview": overview(get_store()),
                               "search": url_for("ui.search_page"), "plan": url_for("ui.plan")})


@bp.get("/search.json")
@bp.get("/search")
def search_page():
    query = request.args.get("q", "").strip()
    page = _page_number(request.args.get("page", "1"))
    filters = results.parse_filters(request.args)
    data = {"query": query, "page": page, "per_page": PER_PAGE, "filters": filters}
    if query:
        data.update(results.run_search(get_store(), current_app.config["HPKG"], query, filters, index=get_index(),
                                       encoder=get_encoder(), page=page, per_page=PER_PAGE, max_results=MAX_RESULTS))
    return _page("search.html", data, facet_url=_facet_url, page_url=_page_url)


@bp.get("/plan.json")
@bp.get("/plan")
@cached_page()
def plan():
    return _page("plan.html", {"tree": plan_tree(get_store())})


@bp.get("/orientation.json")
@bp.get("/orientation")
@bp.get("/orientation/<path:path>")
@cached_page(uses_index=True)
def orientation(path: str | None = None):
    iri = _iri_from(path, "section/")
    data = orientation_page(get_store(), iri)
    if data is None:
        raise NotFound(f"Aucune orientation ne correspond à l'identifiant {iri}.")
    try:
        index = get_index()
    except IndexUnavailable:  # the page still shows; only "related by meaning" is left empty
        index = None
    data["similar"] = results.similar_sections(get_store(), current_app.config["HPKG"], data, index,
                                               encoder=get_encoder())
    return _page("orientation.html", data)


@bp.get("/entite.json")
@bp.get("/entite")
@bp.get("/entite/<path:path>")
@cached_page()
def entity(path: str | None = None):
    iri = _iri_from(path, "")
    data = entity_page(get_store(), iri)
    if data is None:
        raise NotFound(f"Aucune entité ne correspond à l'identifiant {iri}.")
    svg = neighbourhood_svg(data["graph"], link=_node_url)
    return _page("entity.html", data, svg=Markup(svg))


# -- request parsing and URLs ---------------------------------------------------------------

def _page_number(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3) or not 1 <= int(raw) <= MAX_RESULTS // PER_PAGE:
        raise BadInput(f"Paramètre « page » invalide : {raw!r} (un nombre entre 1 et "
                         f"{MAX_RESULTS // PER_PAGE} est attendu).")
    return int(raw)


def _iri_from(path: str | None, prefix: str) -> str:
    """The IRI a page is about: `?iri=` when given, else HPID + prefix + the URL path."""
    iri = request.args.get("iri")
    if not iri:
        if not path:
            raise BadInput("Paramètre « iri » manquant : indiquez l'identifiant de la page voulue.")
        iri = HPID + prefix + _strip_json(path)
    if not _VALID_IRI.fullmatch(iri):  # the store refuses it anyway: say why, rather than a 500
        shown = iri if len(iri) <= 200 else iri[:200] + "…"
        raise BadInput(f"Identifiant invalide : {shown!r} n'est pas une IRI absolue (espaces, "
                         "caractères de contrôle et < > \" { } | ^ ` \\ y sont interdits).")
    return iri


def section_url(iri: str) -> str:
    prefix = HPID + "section/"
    if iri.startswith(prefix):
        return url_for("ui.orientation", path=iri[len(prefix):])
    return url_for("ui.orientation", iri=iri)


def entity_url(iri: str) -> str:
    if iri.startswith(HPID):
        return url_for("ui.entity", path=iri[len(HPID):])
    return url_for("ui.entity", iri=iri)


def project_url(iri: str) -> str | None:
    """The project's page when the project pages are installed (links blueprint), else None."""
    prefix = HPID + "project/"
    if iri.startswith(prefix) and "links.project_page" in current_app.view_functions:
        return url_for("links.project_page", project_id=iri[len(prefix):])
    return None


def plan_anchor(iri: str) -> str:
    """The id of a node of the plan tree (used as `#anchor`)."""
    return "n-" + "".join(c if c.isalnum() else "-" for c in iri.removeprefix(HPID))


def node_url(iri: str, kind: str | None) -> str:
    """Where a breadcrumb or graph node leads: a section page, the plan tree, or an entity page."""
    if kind == "section":
        return section_url(iri)
    if kind in ("plan", "scheme", "other"):
        return url_for("ui.plan") + "#" + plan_anchor(iri)
    return entity_url(iri)


def _node_url(node: dict) -> str:
    return node_url(node["id"], "section" if node["group"] == "section" else node.get("type"))


def _facet_url(facet: str, value: str, on: bool) -> str:
    """The search URL with filter (facet, value) switched on or off, back to page 1."""
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    pair = (facet, value)
    pairs = [p for p in pairs if p != pair] + ([pair] if on else [])
    return url_for("ui.search_page") + "?" + urlencode(pairs)


def _page_url(page: int) -> str:
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "page"] + [("page", str(page))]
    return url_for("ui.search_page") + "?" + urlencode(pairs)


@bp.app_context_processor
def _template_helpers():
    def named_queries():
        """Every named query; those documented for analysts (a `title:` header) first."""
        queries = [{"name": q.name, "title": q.title, "query": q.text, "analyst": bool(q.title)}
                   for q in map(describe, query_names())]
        return sorted(queries, key=lambda q: (not q["analyst"], q["name"]))

    def stock_http_message(status: int, message: str) -> bool:
        """True when `message` is werkzeug's English default text, which the French page hides."""
        exception = default_exceptions.get(status)
        return exception is not None and message == exception.description

    return {"stock_http_message": stock_http_message, "section_url": section_url, "project_url": project_url,
            "has_endpoint": lambda name: name in current_app.view_functions, "entity_url": entity_url, "node_url": node_url,
            "plan_anchor": plan_anchor, "kind_labels": KIND_LABELS, "named_queries": named_queries}
