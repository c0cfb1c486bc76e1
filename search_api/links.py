"""Projects and their links to policy axes: French pages and a JSON API (blueprint "links").

Reading is public. Writing needs a logged-in editor or admin and the session's CSRF token
(`search_api.auth.login_required`). Edits carry the version the editor read (form field, JSON
`version` or `If-Match`); a stale one gets 409 with a French message, never a silent overwrite.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, g, jsonify, redirect, render_template, request, url_for

from ontology.errors import BadInput, Conflict, NotFound
from kg.linking import load_candidates
from kg.projects import CSV_COLUMNS, LINK_STATUSES, PROJECT_STATUSES, Projects
from kg.search import search_store
from pipeline.link import suggest
from search_api.auth import login_required
from search_api.handlers import status_of
from search_api.resources import get_encoder, get_index, get_store

bp = Blueprint("links", __name__)


def _settings() -> dict:
    return current_app.config["HPKG"]


def _projects() -> Projects:
    return Projects(get_store())


@bp.app_context_processor
def _template_globals():
    return {"statuses": PROJECT_STATUSES}


# --- suggestions ---------------------------------------------------------------------------------

def _suggest(text: str, k: int | None = None, territories=(), populations=()) -> dict:
    k = k or _settings()["link_suggestions"]
    return suggest(get_store(), _settings(), text, k=k, territories=territories, populations=populations,
                   index=get_index(), encoder=get_encoder())


def _k_param(value) -> int:
    try:
        k = int(value or 0) or _settings()["link_suggestions"]
    except (TypeError, ValueError, OverflowError):  # JSON 1e400 is inf
        raise BadInput("k : un nombre entier est attendu") from None
    if not 1 <= k <= 50:
        raise BadInput("k : entre 1 et 50")
    return k


@bp.route("/api/link", methods=["GET", "POST"])
def api_link():
    """Suggestions for a free text: GET ?q=…&k=…, or POST {"text": …, "k": …} (reads only)."""
    if request.method == "POST":
        body = request.get_json(silent=True)
        body = body if isinstance(body, dict) else request.form  # JSON list or string: no text
        text, k = body.get("text") or body.get("q") or "", body.get("k")
    else:
        text, k = request.args.get("q", ""), request.args.get("k")
    if not str(text).strip():
        raise BadInput("q : décrivez le projet en quelques phrases")
    return jsonify(_suggest(str(text), _k_param(k)))


def _project_text(project) -> str:
    return f"{project.title}. {project.description}"


def _store_suggestions(project) -> int:
    result = _suggest(_project_text(project), territories=project.territories, populations=project.populations)
    return _projects().save_suggestions(project.id, result["suggestions"])


# --- JSON API over projects ------------------------------------------------------------------

def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("corps de la requête : un objet JSON est attendu")
    return body


def _with_etag(payload: dict, version: int):
    response = jsonify(payload)
    response.headers["ETag"] = f'"{version}"'
    return response


@bp.get("/api/projects")
def api_projects():
    return jsonify({"projects": [p.to_json() for p in _projects().list()]})


@bp.post("/api/projects")
@login_required
def api_project_create():
    project = _projects().create(_json_body(), g.user.name)
    _store_suggestions(project)
    project = _projects().get(project.id)
    response = _with_etag(project.to_json(), project.version)
    response.status_code = 201
    response.headers["Location"] = url_for("links.api_project", project_id=project.id)
    return response


@bp.get("/api/projects/<project_id>")
def api_project(project_id: str):
    project = _projects().get(project_id)
    return _with_etag(project.to_json(), project.version)


@bp.route("/api/projects/<project_id>", methods=["PUT", "PATCH"])
@login_required
def api_project_update(project_id: str):
    body = _json_body()
    version = body.pop("version", None) or request.headers.get("If-Match", "").strip('W/"') or None
    project = _projects().update(project_id, body, version, g.user.name)
    _store_suggestions(project)  # the text may have changed: so may the suggestions
    project = _projects().get(project_id)
    return _with_etag(project.to_json(), project.version)


@bp.post("/api/projects/<project_id>/suggestions")
@login_required
def api_project_suggest(project_id: str):
    count = _store_suggestions(_projects().get(project_id))
    project = _projects().get(project_id)
    return jsonify({"stored": count, "alignments": [a.to_json() for a in project.alignments]})


@bp.post("/api/projects/<project_id>/links")
@login_required
def api_project_link(project_id: str):
    """{"section": IRI or "doc § key", "status": confirmed|rejected, "version"?: n}."""
    body = _json_body()
    alignment = _projects().decide(project_id, str(body.get("section", "")), str(body.get("status", "")),
                                   g.user.name, version=body.get("version"),
                                   reasons=body.get("reasons") if isinstance(body.get("reasons"), list) else None)
    return jsonify(alignment.to_json())


@bp.post("/api/projects/import")
@login_required
def api_import():
    upload = request.files.get("file")
    text = upload.read().decode("utf-8-sig", "replace") if upload else request.get_data(as_text=True)
    created = _projects().import_csv(text, g.user.name)
    return jsonify({"ok": True, "imported": len(created), "projects": [p.id for p in created]}), 201


_EXPORTS = {"csv": "text/csv; charset=utf-8", "links.csv": "text/csv; charset=utf-8",
            "ttl": "text/turtle; charset=utf-8", "jsonld": "application/ld+json"}


@bp.get("/projets/export.<fmt>")
@bp.get("/api/projects/export.<fmt>")
def export(fmt: str):
    if fmt not in _EXPORTS:
        raise NotFound(f"format d'export inconnu : {fmt} (csv, links.csv, ttl, jsonld)")
    projects = _projects()
    if fmt == "csv":
        body = projects.export_csv()
    elif fmt == "links.csv":
        body = projects.export_links_csv()
    else:
        body = projects.export_rdf(fmt)
    name = "projets-liens.csv" if fmt == "links.csv" else f"projets.{fmt}"
    return Response(body, mimetype=_EXPORTS[fmt].split(";")[0], headers={
        "Content-Type": _EXPORTS[fmt], "Content-Disposition": f'attachment; filename="{name}"'})


def _section_info(iri: str) -> dict:
    for candidate in load_candidates(get_store(), min_text=0):
        if candidate.iri == iri:
            return {"iri": iri, "doc": candidate.doc, "section": candidate.key, "title": candidate.title,
                    "text": candidate.text}
    raise NotFound(f"Orientation introuvable : {iri}")


@bp.get("/api/axis")
def api_axis():
    iri = request.args.get("iri", "")
    section = _section_info(iri)
    return jsonify({"section": section, "projects": _projects().axis_projects(iri)})


@bp.get("/api/coverage")
def api_coverage():
    return jsonify(_projects().coverage())


# --- French pages ----------------------------------------------------------------------------

def _sections() -> dict:
    """Every section by IRI, to show a project's links with their number and title."""
    return {c.iri: c for c in load_candidates(get_store(), min_text=0)}


@bp.get("/projets")
def project_list():
    return render_template("projects.html", projects=_projects().list())


@bp.route("/projets/nouveau", methods=["GET", "POST"])
@login_required
def project_new():
    form, errors = {}, []
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            project = _projects().create(form, g.user.name)
            _store_suggestions(project)
            flash("Projet enregistré ; voici les orientations suggérées.")
            return redirect(url_for("links.project_page", project_id=project.id))
        except BadInput as error:
            errors = error.errors
    return render_template("projects_form.html", form=form, errors=errors, project=None), 400 if errors else 200


@bp.get("/projets/<project_id>")
def project_page(project_id: str):
    project = _projects().get(project_id)
    query = request.args.get("q", "").strip()
    found = None
    if query:
        try:
            found = search_store(get_store(), _settings(), query, k=8, index=get_index(),
                                 encoder=get_encoder())["hits"]
        except ValueError as error:  # an over-long query: say so on the page
            raise BadInput(f"Recherche : {error}") from error
    return render_template("projects_detail.html", project=project, sections=_sections(), query=query,
                           found=found, link_statuses=LINK_STATUSES, project_statuses=PROJECT_STATUSES)


@bp.route("/projets/<project_id>/modifier", methods=["GET", "POST"])
@login_required
def project_edit(project_id: str):
    project = _projects().get(project_id)
    form = {"title": project.title, "description": project.description, "promoter": project.promoter,
            "territories": "; ".join(t.rsplit("/", 1)[-1] for t in project.territories),
            "populations": "; ".join(p.rsplit("/", 1)[-1] for p in project.populations),
            "status": project.status, "version": project.version}
    errors, status = [], 200
    if request.method == "POST":
        form = request.form.to_dict()
        try:
            _store_suggestions(_projects().update(project_id, form, form.get("version"), g.user.name))
            flash("Modifications enregistrées ; suggestions mises à jour.")
            return redirect(url_for("links.project_page", project_id=project_id))
        except (BadInput, Conflict) as error:
            errors, status = error.errors, status_of(error)
            if isinstance(error, Conflict):
                form["version"] = form.get("version")  # keep the stale version: the user must reload
    return render_template("projects_form.html", form=form, errors=errors, project=project), status


@bp.post("/projets/<project_id>/liens")
@login_required
def project_link(project_id: str):
    """A decision from the project page: confirm / reject a suggestion, or add a section."""
    status = request.form.get("status", "")
    reasons = None
    if request.form.get("manual"):
        reasons = [f"ajouté à la main par {g.user.name}"]
    _projects().decide(project_id, request.form.get("section", ""), status, g.user.name,
                       version=request.form.get("version"), reasons=reasons)
    flash("Lien confirmé." if status == "confirmed" else "Lien rejeté." if status == "rejected" else "Lien enregistré.")
    return redirect(url_for("links.project_page", project_id=project_id))


@bp.post("/projets/<project_id>/suggestions")
@login_required
def project_suggest(project_id: str):
    count = _store_suggestions(_projects().get(project_id))
    flash(f"{count} suggestion(s) mise(s) à jour.")
    return redirect(url_for("links.project_page", project_id=project_id))


@bp.route("/projets/import", methods=["GET", "POST"])
@login_required
def project_import():
    errors, created, status = [], None, 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors, status = ["fichier : choisissez un fichier CSV"], 400
        else:
            try:
                created = _projects().import_csv(upload.read().decode("utf-8-sig", "replace"), g.user.name)
            except BadInput as error:
                errors, status = error.errors, status_of(error)
    return render_template("projects_import.html", errors=errors, created=created, columns=CSV_COLUMNS), status


@bp.get("/axe")
def axis_page():
    iri = request.args.get("iri", "")
    section = _section_info(iri)
    return render_template("projects_axis.html", section=section, projects=_projects().axis_projects(iri))


@bp.get("/couverture")
def coverage():
    data = _projects().coverage()
    top = max([s["projects"] for s in data["sections"]] + [t["projects"] for t in data["territories"]] + [1])
    return render_template("coverage.html", coverage=data, top=top)
