"""Projects and their alignments with policy axes, kept in the named graph hpid:graph/projects.

A person decides, the tool only suggests: every project and every link decision carries who made
it and when (PROV-O), and a version number so that two editors never silently overwrite each
other (a stale version raises `ontology.errors.Conflict`, shown as HTTP 409).

Writes read the projects graph, change it in memory and put it back with `Store.replace_graph`
(atomic, durable once it returns), under one lock so that concurrent requests of one server
serialise. Bad input raises `ontology.errors.BadInput` (`errors`: one message per field or CSV
line), an unknown project `NotFound`. Their messages are shown to users as they are, hence in French.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, XSD

from ontology.errors import BadInput, Conflict, NotFound
from kg.queries import run_named
from ontology.namespaces import HPID, HPO
from ontology.textkeys import normalize_for_matching

GRAPH = HPID["graph/projects"]
LINKER = HPID["agent/linker"]  # the software agent that makes suggestions
PROJECT_STATUSES = {
    "draft": "brouillon",
    "submitted": "déposé",
    "review": "en instruction",
    "approved": "retenu",
    "declined": "non retenu",
}
LINK_STATUSES = {"suggested": "suggéré", "confirmed": "confirmé", "rejected": "rejeté"}
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
CSV_COLUMNS = ("title", "description", "promoter", "territories", "populations", "status", "sections")
# Written by the export for reference, ignored by the import (a new project gets new ones).
CSV_INFO_COLUMNS = ("id", "version", "created", "creator", "modified", "modifier")

PROJECTS_LOCK = "projects"  # kg.store lock name of the projects graph's writes
LOCK_TIMEOUT_S = 30.0


@dataclass
class Alignment:
    iri: str
    section: str
    status: str
    score: float | None = None
    reasons: list[str] = field(default_factory=list)
    who: str | None = None
    when: str | None = None
    version: int = 1

    def to_json(self) -> dict:
        return {"iri": self.iri, "section": self.section, "status": self.status, "score": self.score,
                "reasons": self.reasons, "who": self.who, "when": self.when, "version": self.version}


@dataclass
class Project:
    iri: str
    title: str
    description: str = ""
    promoter: str = ""
    territories: list[str] = field(default_factory=list)
    populations: list[str] = field(default_factory=list)
    status: str = "draft"
    version: int = 1
    created: str | None = None
    creator: str | None = None
    modified: str | None = None
    modifier: str | None = None
    alignments: list[Alignment] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.iri.rsplit("/", 1)[-1]

    def alignment(self, section: str) -> Alignment | None:
        return next((a for a in self.alignments if a.section == section), None)

    def to_json(self) -> dict:
        return {
            "iri": self.iri, "id": self.id, "title": self.title, "description": self.description,
            "promoter": self.promoter, "territories": self.territories,
            "populations": self.populations, "status": self.status, "version": self.version,
            "created": self.created, "creator": self.creator, "modified": self.modified,
            "modifier": self.modifier, "alignments": [a.to_json() for a in self.alignments],
        }


# --- identifiers and small parsers -------------------------------------------------------------

def slugify(text: str, limit: int = 40) -> str:
    """ASCII slug of a title.

    >>> slugify("Maison de santé d'Apt")
    'maison-de-sante-d-apt'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "projet"


def user_iri(name: str) -> URIRef:
    return HPID[f"user/{name}"]


def user_name(iri) -> str | None:
    if iri is None:
        return None
    text = str(iri)
    return text.rsplit("/", 1)[-1] if text.startswith((str(HPID["user/"]), str(HPID["agent/"]))) else text


def alignment_iri(project_iri: str, section_iri: str) -> URIRef:
    """One alignment per (project, section): its IRI derives from both."""
    digest = hashlib.sha1(section_iri.encode("utf-8")).hexdigest()[:12]
    return URIRef(f"{project_iri}/alignment/{digest}")


_TERRITORY_PREFIX = str(HPID["territory/"])


def parse_territory(value: str) -> URIRef:
    """A territory concept IRI from an INSEE code, a `kind-code` slug or an IRI.

    Two or three characters are a département (13, 2A, 971), five digits a commune;
    a région needs its prefix (region-93) since its codes overlap départements'.

    >>> str(parse_territory("13"))
    'https://w3id.org/healthpolicy-kg/id/territory/departement-13'
    >>> str(parse_territory("commune-13055"))
    'https://w3id.org/healthpolicy-kg/id/territory/commune-13055'
    """
    value = value.strip()
    if value.startswith(_TERRITORY_PREFIX):
        value = value[len(_TERRITORY_PREFIX):]
    match = re.fullmatch(r"(region|departement|commune)-([0-9AB]{2,5})", value, re.I)
    if match:
        kind, code = match.group(1).lower(), match.group(2).upper()
        ok = {"region": r"\d{2}", "departement": r"\d{2}|2[AB]|97\d", "commune": r"(\d{2}|2[AB])\d{3}"}
        if re.fullmatch(ok[kind], code):
            return HPID[f"territory/{kind}-{code}"]
    elif re.fullmatch(r"\d{2}|2[AB]|97\d", value, re.I):
        return HPID[f"territory/departement-{value.upper()}"]
    elif re.fullmatch(r"(\d{2}|2[AB])\d{3}", value, re.I):
        return HPID[f"territory/commune-{value.upper()}"]
    raise ValueError(f"« {value} » n'est pas un code INSEE de territoire (ex. 13, 2A, 13055, region-93)")


def territory_code(iri: str) -> str:
    """The INSEE code at the end of a territory IRI (`departement-13` -> `13`)."""
    return iri.rsplit("-", 1)[-1]


def split_list(value) -> list[str]:
    """A list field given as a list or as text separated by ; , or new lines."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = re.split(r"[;,\n]", str(value))
    return [item.strip() for item in items if item and item.strip()]


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- the store-backed repository --------------------------------------------------------------

class Projects:
    """Projects and alignments of one store.

    `store` follows kg/store.py (query, replace_graph). Population labels and section keys are
    resolved against what the store holds.
    """

    def __init__(self, store):
        self.store = store

    # reading
    def _graph(self) -> Graph:
        graph = Graph()
        for triple in run_named(self.store, "link_project_graph", g=GRAPH):
            graph.add(triple)
        return graph

    def list(self) -> list[Project]:
        graph = self._graph()
        projects = [_read_project(graph, p) for p in graph.subjects(RDF.type, HPO.Project)]
        return sorted(projects, key=lambda p: (p.modified or "", p.iri), reverse=True)

    def get(self, project: str) -> Project:
        graph = self._graph()
        iri = self.project_iri(project)
        if (iri, RDF.type, HPO.Project) not in graph:
            raise NotFound(f"Projet introuvable : {project}")
        return _read_project(graph, iri)

    @staticmethod
    def project_iri(project: str) -> URIRef:
        return URIRef(project) if project.startswith("http") else HPID[f"project/{project}"]

    # validation
    def population_index(self) -> dict[str, URIRef]:
        """Lower-cased label or slug -> population concept of the vocabulary."""
        index: dict[str, URIRef] = {}
        for row in run_named(self.store, "link_concept_labels", kind=HPO.Population):
            concept = URIRef(row.concept)
            index[str(row.label).strip().lower()] = concept
            index[str(concept).rsplit("/", 1)[-1].lower()] = concept
            index[str(concept).lower()] = concept
        return index

    def section_index(self) -> dict[str, str]:
        """Section IRI, `doc#key` and `doc § key` -> section IRI, for every known section."""
        index: dict[str, str] = {}
        for row in run_named(self.store, "link_sections"):
            iri = str(row.section)
            doc = str(row.doc).rsplit("/", 1)[-1]
            key = normalise_key(str(row.number) if row.number else str(row.title))
            index[iri] = iri
            index[f"{doc}#{key}"] = iri
            index[f"{doc} § {key}"] = iri
        return index

    def clean(self, data: dict, vocabulary: dict | None = None) -> tuple[dict, list[str]]:
        """Validated project fields and a list of French error messages (empty when valid)."""
        errors: list[str] = []
        title = " ".join(str(data.get("title") or "").split())
        description = str(data.get("description") or "").strip()
        promoter = " ".join(str(data.get("promoter") or "").split())
        status = str(data.get("status") or "draft").strip()
        if not title:
            errors.append("titre : obligatoire")
        elif len(title) > MAX_TITLE:
            errors.append(f"titre : {len(title)} caractères, {MAX_TITLE} au plus")
        if len(description) > MAX_DESCRIPTION:
            errors.append(f"description : {len(description)} caractères, {MAX_DESCRIPTION} au plus")
        if status not in PROJECT_STATUSES:
            errors.append(f"statut : « {status} » inconnu (valeurs : {', '.join(PROJECT_STATUSES)})")
        territories = []
        for value in split_list(data.get("territories")):
            try:
                territories.append(str(parse_territory(value)))
            except ValueError as error:
                errors.append(f"territoires : {error}")
        populations = []
        known = self.population_index() if vocabulary is None else vocabulary
        for value in split_list(data.get("populations")):
            concept = known.get(value.lower())
            if concept is None and not known:  # no vocabulary loaded: trust a slug or IRI
                slug = value.removeprefix(str(HPID["population/"]))
                if re.fullmatch(r"[a-z0-9-]+", slug):
                    concept = HPID[f"population/{slug}"]
            if concept is None:
                errors.append(f"populations : « {value} » ne figure pas dans le vocabulaire des populations")
            else:
                populations.append(str(concept))
        clean = {"title": title, "description": description, "promoter": promoter, "status": status,
                 "territories": sorted(set(territories)), "populations": sorted(set(populations))}
        return clean, errors

    # writing
    def _write(self, change) -> object:
        """Run `change(graph)` on the projects graph and store the result atomically.

        The read-change-write holds the store's "projects" lock: across threads, gunicorn
        workers and app instances sharing one SPARQL server, no write is lost between the read
        and the replace (tests/test_store_lock.py)."""
        with self.store.lock(PROJECTS_LOCK, timeout=LOCK_TIMEOUT_S):
            graph = self._graph()
            result = change(graph)
            self.store.replace_graph(GRAPH, graph)
            return result

    def create(self, data: dict, user: str) -> Project:
        clean, errors = self.clean(data)
        if errors:
            raise BadInput("Le projet n'a pas été enregistré : " + " ; ".join(errors), errors)

        def change(graph: Graph) -> URIRef:
            iri = HPID[f"project/{slugify(clean['title'])}-{uuid.uuid4().hex[:8]}"]
            _add_project(graph, iri, clean, user, _now(), version=1)
            return iri

        return self.get(str(self._write(change)))

    def update(self, project: str, data: dict, version, user: str) -> Project:
        """Change a project's fields (those absent from `data` keep their value); `version`
        must be the one the editor read, else `Conflict`."""
        current = self.get(project)
        merged = {"title": current.title, "description": current.description, "promoter": current.promoter,
                  "territories": current.territories, "populations": current.populations,
                  "status": current.status}
        merged.update({k: v for k, v in data.items() if k in merged and v is not None})
        clean, errors = self.clean(merged)
        if errors:
            raise BadInput("Le projet n'a pas été enregistré : " + " ; ".join(errors), errors)
        iri = self.project_iri(project)

        def change(graph: Graph) -> None:
            current = _check_version(graph, iri, version)
            created = graph.value(iri, DCTERMS.created)
            creator = graph.value(iri, DCTERMS.creator)
            for triple in list(graph.triples((iri, None, None))):
                graph.remove(triple)
            _add_project(graph, iri, clean, user, _now(), version=current + 1)
            # creation stays as it was; modification is the new attribution
            if created is not None:
                graph.set((iri, DCTERMS.created, created))
            if creator is not None:
                graph.set((iri, DCTERMS.creator, creator))

        self._write(change)
        return self.get(str(iri))

    def decide(self, project: str, section: str, status: str, user: str, score=None,
               reasons: list[str] | None = None, version=None) -> Alignment:
        """Record a link decision (confirmed / rejected / suggested) of `user` on one section.

        `version` is the alignment version the user saw (None when it had none yet); a stale one
        raises `Conflict`. Confirming or rejecting keeps the suggestion's score and reasons.
        """
        if status not in LINK_STATUSES:
            raise BadInput(f"statut du lien : « {status} » inconnu (valeurs : {', '.join(LINK_STATUSES)})")
        section_iri = self.section_index().get(normalise_ref(section))
        if section_iri is None:
            raise BadInput(f"section : « {section} » n'existe pas dans le graphe")
        iri = self.project_iri(project)
        version = _read_version(version)

        def change(graph: Graph) -> Alignment:
            if (iri, RDF.type, HPO.Project) not in graph:
                raise NotFound(f"Projet introuvable : {project}")
            link = alignment_iri(str(iri), section_iri)
            current = graph.value(link, HPO.version)
            if version is not None and current is not None and version != int(current):
                who = user_name(graph.value(link, PROV.wasAttributedTo))
                raise Conflict(f"Ce lien a été modifié par {who} depuis que vous l'avez affiché "
                               f"(version {current}, vous aviez la version {version}). "
                               "Rechargez la page pour voir sa décision.")
            old_score = graph.value(link, HPO.score)
            old_reasons = [str(r) for r in graph.objects(link, HPO.reason)]
            graph.remove((link, None, None))
            when = _now()
            graph.add((link, RDF.type, HPO.Alignment))
            graph.add((link, RDF.type, PROV.Entity))
            graph.add((link, HPO.alignedProject, iri))
            graph.add((link, HPO.alignedSection, URIRef(section_iri)))
            graph.add((link, HPO.status, Literal(status)))
            new_score = score if score is not None else old_score
            if new_score is not None:
                graph.add((link, HPO.score, Literal(round(float(new_score), 4), datatype=XSD.decimal)))
            for reason in reasons if reasons is not None else old_reasons:
                graph.add((link, HPO.reason, Literal(reason, lang="fr")))
            agent = LINKER if status == "suggested" else user_iri(user)
            _add_agent(graph, agent)
            graph.add((link, PROV.wasAttributedTo, agent))
            graph.add((link, PROV.generatedAtTime, Literal(when, datatype=XSD.dateTime)))
            graph.add((link, HPO.version, Literal(int(current or 0) + 1)))
            return _read_alignment(graph, link)

        return self._write(change)

    def save_suggestions(self, project: str, suggestions: list[dict]) -> int:
        """Store suggestions as `suggested` alignments, replacing the previous ones (machine
        output) and leaving human decisions untouched."""
        iri = self.project_iri(project)

        def change(graph: Graph) -> int:
            if (iri, RDF.type, HPO.Project) not in graph:
                raise NotFound(f"Projet introuvable : {project}")
            wanted = {str(alignment_iri(str(iri), s["iri"])) for s in suggestions}
            for link in list(graph.subjects(HPO.alignedProject, iri)):
                if graph.value(link, HPO.status) == Literal("suggested") and str(link) not in wanted:
                    graph.remove((link, None, None))
            count = 0
            for suggestion in suggestions:
                link = alignment_iri(str(iri), suggestion["iri"])
                if graph.value(link, HPO.status) not in (None, Literal("suggested")):
                    continue
                version = int(graph.value(link, HPO.version) or 0)
                graph.remove((link, None, None))
                graph.add((link, RDF.type, HPO.Alignment))
                graph.add((link, RDF.type, PROV.Entity))
                graph.add((link, HPO.alignedProject, iri))
                graph.add((link, HPO.alignedSection, URIRef(suggestion["iri"])))
                graph.add((link, HPO.status, Literal("suggested")))
                graph.add((link, HPO.score, Literal(round(float(suggestion["score"]), 4), datatype=XSD.decimal)))
                for reason in suggestion.get("reasons", []):
                    graph.add((link, HPO.reason, Literal(reason, lang="fr")))
                _add_agent(graph, LINKER)
                graph.add((link, PROV.wasAttributedTo, LINKER))
                graph.add((link, PROV.generatedAtTime, Literal(_now(), datatype=XSD.dateTime)))
                graph.add((link, HPO.version, Literal(version + 1)))
                count += 1
            return count

        return self._write(change)

    # export and import
    def export_rdf(self, fmt: str) -> bytes:
        """The projects graph as Turtle (`ttl`) or JSON-LD (`jsonld`)."""
        formats = {"ttl": "turtle", "turtle": "turtle", "jsonld": "json-ld", "json-ld": "json-ld"}
        if fmt not in formats:
            raise BadInput(f"format : « {fmt} » inconnu (ttl ou jsonld)")
        graph = self._graph()
        for prefix, namespace in (("hpo", HPO._NS), ("hpid", HPID), ("prov", PROV), ("dcterms", DCTERMS)):
            graph.bind(prefix, namespace)
        return graph.serialize(format=formats[fmt], encoding="utf-8")

    def export_csv(self) -> str:
        """One row per project; `sections` lists its confirmed sections as `doc § key`."""
        refs = self._section_refs()
        out = io.StringIO()
        writer = _SafeWriter(out)
        writer.writerow(CSV_INFO_COLUMNS[:1] + CSV_COLUMNS + CSV_INFO_COLUMNS[1:])
        for p in self.list():
            confirmed = [refs.get(a.section, a.section) for a in p.alignments if a.status == "confirmed"]
            writer.writerow((p.id, p.title, p.description, p.promoter,
                             "; ".join(territory_code(t) for t in p.territories),
                             "; ".join(t.rsplit("/", 1)[-1] for t in p.populations),
                             p.status, "; ".join(confirmed), p.version, p.created, p.creator,
                             p.modified, p.modifier))
        return out.getvalue()

    def export_links_csv(self) -> str:
        """One row per alignment: project, section, status, score, who, when, reasons."""
        refs = self._section_refs()
        out = io.StringIO()
        writer = _SafeWriter(out)
        writer.writerow(("project", "project_title", "section_iri", "section", "status", "score",
                         "who", "when", "reasons"))
        for p in self.list():
            for a in p.alignments:
                writer.writerow((p.id, p.title, a.section, refs.get(a.section, ""), a.status, a.score,
                                 a.who, a.when, " | ".join(a.reasons)))
        return out.getvalue()

    def _section_refs(self) -> dict[str, str]:
        return {iri: ref for ref, iri in self.section_index().items() if " § " in ref}

    def import_csv(self, text: str, user: str) -> list[Project]:
        """Create one project per CSV line, all or nothing.

        Every line is checked first; any error raises `BadInput` listing each as
        `ligne N : …` (N = line number in the file, header = 1) and nothing is stored.
        """
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in ("title",) if c not in header]
        unknown = [c for c in header if c not in CSV_COLUMNS + CSV_INFO_COLUMNS]
        if missing or unknown:
            problems = ([f"colonne obligatoire absente : {', '.join(missing)}"] if missing else []) + (
                [f"colonnes inconnues : {', '.join(unknown)} (attendues : {', '.join(CSV_COLUMNS)})"] if unknown else [])
            raise BadInput("ligne 1 : " + " ; ".join(problems), [f"ligne 1 : {p}" for p in problems])
        populations = self.population_index()
        sections = self.section_index()
        rows, errors = [], []
        for row in reader:
            line = reader.line_num
            if None in row:
                errors.append(f"ligne {line} : trop de colonnes")
                continue
            data = {k.strip(): unquote_cell(v or "") for k, v in row.items() if k}
            if not any(v.strip() for v in data.values()):
                continue
            clean, problems = self.clean({k: v for k, v in data.items() if k in CSV_COLUMNS}, populations)
            refs = []
            for ref in split_list(data.get("sections", "").replace(",", ";")) if data.get("sections") else []:
                iri = sections.get(normalise_ref(ref))
                if iri is None:
                    problems.append(f"sections : « {ref} » n'existe pas dans le graphe")
                refs.append(iri)
            errors.extend(f"ligne {line} : {p}" for p in problems)
            rows.append((clean, refs))
        if not rows and not errors:
            errors.append("ligne 2 : le fichier ne contient aucun projet")
        if errors:
            raise BadInput(f"Import refusé, rien n'a été importé ({len(errors)} erreur(s)) : "
                               + " ; ".join(errors), errors)

        def change(graph: Graph) -> list[URIRef]:
            created, when = [], _now()
            for clean, refs in rows:
                iri = HPID[f"project/{slugify(clean['title'])}-{uuid.uuid4().hex[:8]}"]
                _add_project(graph, iri, clean, user, when, version=1)
                for section_iri in refs:
                    link = alignment_iri(str(iri), section_iri)
                    graph.add((link, RDF.type, HPO.Alignment))
                    graph.add((link, RDF.type, PROV.Entity))
                    graph.add((link, HPO.alignedProject, iri))
                    graph.add((link, HPO.alignedSection, URIRef(section_iri)))
                    graph.add((link, HPO.status, Literal("confirmed")))
                    graph.add((link, HPO.reason, Literal("importé d'un fichier CSV", lang="fr")))
                    graph.add((link, PROV.wasAttributedTo, user_iri(user)))
                    graph.add((link, PROV.generatedAtTime, Literal(when, datatype=XSD.dateTime)))
                    graph.add((link, HPO.version, Literal(1)))
                created.append(iri)
            return created

        return [self.get(str(iri)) for iri in self._write(change)]

    # pages
    def axis_projects(self, section_iri: str) -> list[dict]:
        rows = run_named(self.store, "link_axis_projects", section=URIRef(section_iri))
        return [{"project": str(r.project), "id": str(r.project).rsplit("/", 1)[-1], "title": str(r.title),
                 "promoter": str(r.promoter) if r.promoter else "", "status": str(r.status),
                 "score": float(r.score) if r.score is not None else None,
                 "who": user_name(r.who), "when": str(r.when) if r.when else None} for r in rows]

    def coverage(self) -> dict:
        sections = [{"iri": str(r.section), "doc": str(r.doc).rsplit("/", 1)[-1],
                     "section": str(r.number) if r.number else str(r.title), "title": str(r.title),
                     "projects": int(r.projects)} for r in run_named(self.store, "link_coverage")]
        territories = [{"iri": str(r.territory), "code": territory_code(str(r.territory)),
                        "label": str(r.label) if r.label else territory_code(str(r.territory)),
                        "projects": int(r.projects)} for r in run_named(self.store, "link_territory_coverage")]
        return {"sections": sections, "territories": territories,
                "uncovered": [s for s in sections if s["projects"] == 0]}


# A cell starting with one of these is run as a formula by spreadsheets (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def quote_cell(value):
    """A CSV cell a spreadsheet will not run: text opening like a formula gets a leading `'`
    (OWASP's advice); `unquote_cell` takes it off again on import, so export/import round-trips.

    >>> quote_cell("=cmd|' /C calc'!A0"), quote_cell("- un item"), quote_cell(3), quote_cell("ok")
    ("'=cmd|' /C calc'!A0", "'- un item", 3, 'ok')
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def unquote_cell(value: str) -> str:
    """The text of a cell written by `quote_cell`.

    >>> unquote_cell("'=1+1"), unquote_cell("'ok")
    ('=1+1', "'ok")
    """
    if value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


class _SafeWriter:
    """csv.writer whose text cells go through `quote_cell`."""

    def __init__(self, out):
        self._writer = csv.writer(out)

    def writerow(self, row) -> None:
        self._writer.writerow([quote_cell(v) for v in row])


def normalise_key(text: str) -> str:
    """Section keys compared across typographic apostrophes, dots and spacing.

    >>> normalise_key("Optimiser l’offre  médico-sociale") == normalise_key("Optimiser l'offre médico-sociale")
    True
    >>> normalise_key("2.8.2.")
    '2.8.2'
    """
    return normalize_for_matching(text).rstrip(".")


def normalise_ref(ref: str) -> str:
    ref = ref.strip()
    if ref.startswith("http"):
        return ref
    for sep in (" § ", "§", "#"):
        if sep in ref:
            doc, key = ref.split(sep, 1)
            return f"{doc.strip()}#{normalise_key(key)}"
    return ref


def _read_version(value) -> int | None:
    """The version an editor saw: None when absent, else a whole number (BadInput if not).

    >>> _read_version(" 3 "), _read_version("")
    (3, None)
    """
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise BadInput(f"version : « {str(value)[:40]} » n'est pas un nombre entier")
    return int(text)


def _check_version(graph: Graph, iri: URIRef, expected) -> int:
    if (iri, RDF.type, HPO.Project) not in graph:
        raise NotFound(f"Projet introuvable : {iri.rsplit('/', 1)[-1]}")
    current = int(graph.value(iri, HPO.version) or 1)
    try:
        expected = int(expected)
    except (TypeError, ValueError):
        raise BadInput("version : obligatoire pour modifier un projet (nombre entier)") from None
    if expected != current:
        who = user_name(graph.value(iri, PROV.wasAttributedTo))
        when = graph.value(iri, DCTERMS.modified)
        raise Conflict(f"Conflit : ce projet a été modifié par {who} le {when} depuis que vous l'avez "
                       f"ouvert (version {current}, vous aviez la version {expected}). Vos changements "
                       "n'ont pas été enregistrés ; rechargez le projet et refaites-les.")
    return current


def _add_agent(graph: Graph, agent: URIRef) -> None:
    if agent == LINKER:
        graph.add((agent, RDF.type, PROV.SoftwareAgent))
        graph.set((agent, RDFS.label, Literal("healthpolicy-kg : suggestion automatique", lang="fr")))
    else:
        graph.add((agent, RDF.type, PROV.Agent))
        graph.set((agent, RDFS.label, Literal(user_name(agent))))


def _add_project(graph: Graph, iri: URIRef, clean: dict, user: str, when: str, version: int) -> None:
    agent = user_iri(user)
    _add_agent(graph, agent)
    stamp = Literal(when, datatype=XSD.dateTime)
    graph.add((iri, RDF.type, HPO.Project))
    graph.add((iri, RDF.type, PROV.Entity))
    graph.add((iri, DCTERMS.title, Literal(clean["title"], lang="fr")))
    if clean["description"]:
        graph.add((iri, DCTERMS.description, Literal(clean["description"], lang="fr")))
    if clean["promoter"]:
        graph.add((iri, HPO.promoter, Literal(clean["promoter"])))
    for territory in clean["territories"]:
        graph.add((iri, HPO.concernsTerritory, URIRef(territory)))
    for population in clean["populations"]:
        graph.add((iri, HPO.targetsPopulation, URIRef(population)))
    graph.add((iri, HPO.status, Literal(clean["status"])))
    graph.add((iri, HPO.version, Literal(version)))
    graph.add((iri, DCTERMS.created, stamp))
    graph.add((iri, DCTERMS.creator, agent))
    graph.add((iri, DCTERMS.modified, stamp))
    graph.add((iri, PROV.wasAttributedTo, agent))
    graph.add((iri, PROV.generatedAtTime, stamp))


def _text(graph: Graph, subject, predicate) -> str:
    value = graph.value(subject, predicate)
    return str(value) if value is not None else ""


def _read_alignment(graph: Graph, link) -> Alignment:
    score = graph.value(link, HPO.score)
    return Alignment(
        iri=str(link), section=str(graph.value(link, HPO.alignedSection)),
        status=_text(graph, link, HPO.status), score=float(score) if score is not None else None,
        reasons=sorted(str(r) for r in graph.objects(link, HPO.reason)),
        who=user_name(graph.value(link, PROV.wasAttributedTo)),
        when=_text(graph, link, PROV.generatedAtTime) or None,
        version=int(graph.value(link, HPO.version) or 1))


def _read_project(graph: Graph, iri) -> Project:
    alignments = [_read_alignment(graph, link) for link in graph.subjects(HPO.alignedProject, iri)]
    order = {"confirmed": 0, "suggested": 1, "rejected": 2}
    alignments.sort(key=lambda a: (order.get(a.status, 3), -(a.score or 0), a.section))
    return Project(
        iri=str(iri), title=_text(graph, iri, DCTERMS.title),
        description=_text(graph, iri, DCTERMS.description), promoter=_text(graph, iri, HPO.promoter),
        territories=sorted(str(t) for t in graph.objects(iri, HPO.concernsTerritory)),
        populations=sorted(str(p) for p in graph.objects(iri, HPO.targetsPopulation)),
        status=_text(graph, iri, HPO.status) or "draft", version=int(graph.value(iri, HPO.version) or 1),
        created=_text(graph, iri, DCTERMS.created) or None,
        creator=user_name(graph.value(iri, DCTERMS.creator)),
        modified=_text(graph, iri, DCTERMS.modified) or None,
        modifier=user_name(graph.value(iri, PROV.wasAttributedTo)), alignments=alignments)
