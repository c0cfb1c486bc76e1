"""kg.projects and kg.users on real stores (Oxigraph on disk, rdflib memory) with a small plan."""
from __future__ import annotations

import csv
import io

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF

from ontology.errors import BadInput, Conflict, NotFound
from kg.projects import GRAPH, Projects, parse_territory
from kg.store import open_store
from kg.users import UserStore
from ontology.namespaces import HPID, HPO

DOC = "900_test"
SECTIONS = {
    "2.8.2": ("Promouvoir un modèle organisationnel performant",
              "Coopérations territoriales entre établissements : GCSMS, conventions, mutualisation des moyens."),
    "2.8.3": ("Accompagner les démarches d'amélioration de la performance",
              "Fiabilisation des systèmes d'information, évaluation interne et externe des établissements."),
    "Optimiser l’offre médico-sociale": ("Optimiser l’offre médico-sociale",
                                         "Coordonner les infirmières libérales et les SSIAD au domicile des personnes âgées."),
}


def section_iri(key: str) -> URIRef:
    from kg.projects import slugify

    return HPID[f"section/test/{DOC}/{slugify(key)}"]


def plan_graph() -> Graph:
    """Three sections of one document, shaped as docs/architecture.md says ingest writes them."""
    graph = Graph()
    doc = HPID[f"doc/{DOC}"]
    graph.add((doc, RDF.type, HPO.Document))
    for key, (title, text) in SECTIONS.items():
        iri = section_iri(key)
        graph.add((iri, RDF.type, HPO.Section))
        graph.add((iri, DCTERMS.title, Literal(title, lang="fr")))
        if key[0].isdigit():
            graph.add((iri, HPO.number, Literal(key)))
        graph.add((iri, HPO.inDocument, doc))
        graph.add((iri, HPO.level, Literal(3)))
        graph.add((iri, HPO.text, Literal(f"{title}\n\n{text}", lang="fr")))
    graph.add((section_iri("Optimiser l’offre médico-sociale"), HPO.involvesActor, HPID["actor/ssiad"]))
    return graph


@pytest.fixture(params=["oxigraph", "memory"])
def projects(request, tmp_path):
    with open_store(tmp_path, backend=request.param) as store:
        store.replace_graph(HPID[f"graph/{DOC}"], plan_graph())
        yield Projects(store)


def test_create_read_attribution(projects):
    project = projects.create({"title": "  Maison de santé   d'Apt ", "description": "MSP",
                               "promoter": "Association X", "territories": "84; commune-84003",
                               "populations": "personnes-agees"}, "alice")
    assert project.title == "Maison de santé d'Apt"
    assert project.id.startswith("maison-de-sante-d-apt-")
    assert project.territories == [str(HPID["territory/commune-84003"]), str(HPID["territory/departement-84"])]
    assert (project.version, project.creator, project.modifier) == (1, "alice", "alice")
    graph = projects._graph()
    iri = URIRef(project.iri)
    assert (iri, RDF.type, HPO.Project) in graph
    assert graph.value(iri, PROV.wasAttributedTo) == HPID["user/alice"]
    assert graph.value(iri, PROV.generatedAtTime) is not None
    assert [p.id for p in projects.list()] == [project.id]


def test_update_bumps_version_and_detects_conflict(projects):
    project = projects.create({"title": "Plateforme de répit"}, "alice")
    updated = projects.update(project.id, {"description": "accueil de jour"}, project.version, "bob")
    assert (updated.version, updated.modifier, updated.creator) == (2, "bob", "alice")
    assert updated.title == "Plateforme de répit"  # fields not sent keep their value
    with pytest.raises(Conflict, match="modifié par bob.*version 2, vous aviez la version 1"):
        projects.update(project.id, {"title": "écrasé"}, project.version, "carol")
    assert projects.get(project.id).title == "Plateforme de répit"


def test_validation_names_each_field(projects):
    with pytest.raises(BadInput) as caught:
        projects.create({"title": "", "territories": "1X", "status": "fini"}, "alice")
    messages = " | ".join(caught.value.errors)
    assert "titre : obligatoire" in messages
    assert "« 1X » n'est pas un code INSEE" in messages
    assert "statut : « fini » inconnu" in messages
    assert projects.list() == []


def test_decisions_are_attributed_and_versioned(projects):
    project = projects.create({"title": "GCSMS de trois EHPAD"}, "alice")
    projects.save_suggestions(project.id, [
        {"iri": str(section_iri("2.8.2")), "score": 0.9, "reasons": ["mentionne GCSMS"]},
        {"iri": str(section_iri("2.8.3")), "score": 0.4, "reasons": []}])
    suggested = projects.get(project.id).alignment(str(section_iri("2.8.2")))
    assert (suggested.status, suggested.who, suggested.version) == ("suggested", "linker", 1)
    confirmed = projects.decide(project.id, f"{DOC} § 2.8.2", "confirmed", "bob", version=1)
    assert (confirmed.status, confirmed.who, confirmed.score, confirmed.reasons) == ("confirmed", "bob", 0.9, ["mentionne GCSMS"])
    with pytest.raises(Conflict):
        projects.decide(project.id, str(section_iri("2.8.2")), "rejected", "carol", version=1)
    # a new suggestion run leaves the human decision alone
    projects.save_suggestions(project.id, [{"iri": str(section_iri("2.8.2")), "score": 0.1, "reasons": []}])
    assert projects.get(project.id).alignment(str(section_iri("2.8.2"))).status == "confirmed"
    # typographic apostrophe and spacing do not matter in a section key
    added = projects.decide(project.id, f"{DOC} § Optimiser l'offre  médico-sociale", "confirmed", "bob")
    assert added.section == str(section_iri("Optimiser l’offre médico-sociale"))
    axis = projects.axis_projects(str(section_iri("2.8.2")))
    assert [(a["id"], a["status"], a["who"]) for a in axis] == [(project.id, "confirmed", "bob")]
    with pytest.raises(BadInput, match="n'existe pas"):
        projects.decide(project.id, f"{DOC} § 9.9", "confirmed", "bob")
    with pytest.raises(NotFound):
        projects.decide("inconnu", str(section_iri("2.8.2")), "confirmed", "bob")


def test_coverage_counts_confirmed_projects(projects):
    project = projects.create({"title": "MSP", "territories": "13"}, "alice")
    projects.decide(project.id, str(section_iri("2.8.3")), "confirmed", "alice")
    projects.decide(project.id, str(section_iri("2.8.2")), "rejected", "alice")
    coverage = projects.coverage()
    counts = {s["section"]: s["projects"] for s in coverage["sections"]}
    assert counts["2.8.3"] == 1 and counts["2.8.2"] == 0
    assert {s["section"] for s in coverage["uncovered"]} == {"2.8.2", "Optimiser l’offre médico-sociale"}
    assert [(t["code"], t["projects"]) for t in coverage["territories"]] == [("13", 1)]


def test_csv_import_all_or_nothing_with_line_numbers(projects):
    bad = ("title,description,territories,populations,status,sections\n"
           "MSP du Val,texte,13,,draft,900_test § 2.8.2\n"
           ",sans titre,13,,draft,\n"
           "Répit,texte,99999X,,draft,900_test § 7.7\n")
    with pytest.raises(BadInput) as caught:
        projects.import_csv(bad, "alice")
    errors = caught.value.errors
    assert errors[0] == "ligne 3 : titre : obligatoire"
    assert any(e.startswith("ligne 4 : territoires") for e in errors)
    assert any(e.startswith("ligne 4 : sections : « 900_test § 7.7 »") for e in errors)
    assert not any(e.startswith("ligne 2") for e in errors)
    assert projects.list() == []  # nothing imported from a file with errors

    good = bad.splitlines()[:2]
    created = projects.import_csv("\n".join(good) + "\n", "alice")
    assert [p.title for p in created] == ["MSP du Val"]
    assert [(a.section, a.status, a.who) for a in created[0].alignments] == [(str(section_iri("2.8.2")), "confirmed", "alice")]
    with pytest.raises(BadInput, match="colonnes inconnues : budget"):
        projects.import_csv("title,budget\nX,3\n", "alice")


def test_export_round_trips(projects):
    project = projects.create({"title": "Équipe mobile <script>", "territories": "2A"}, "alice")
    projects.decide(project.id, str(section_iri("2.8.3")), "confirmed", "alice")
    rows = list(csv.DictReader(io.StringIO(projects.export_csv())))
    assert rows[0]["title"] == "Équipe mobile <script>" and rows[0]["territories"] == "2A"
    assert rows[0]["sections"] == f"{DOC} § 2.8.3"
    links = list(csv.DictReader(io.StringIO(projects.export_links_csv())))
    assert (links[0]["status"], links[0]["who"]) == ("confirmed", "alice")
    stored = projects._graph()
    for fmt, parser in (("ttl", "turtle"), ("jsonld", "json-ld")):
        parsed = Graph().parse(data=projects.export_rdf(fmt), format=parser)
        assert len(parsed) == len(stored) and (URIRef(project.iri), RDF.type, HPO.Project) in parsed
    # the CSV export imports back
    again = projects.import_csv(projects.export_csv(), "bob")
    assert [p.title for p in again] == ["Équipe mobile <script>"]


def test_projects_live_in_their_named_graph(projects):
    projects.create({"title": "X"}, "alice")
    assert GRAPH in projects.store.graphs()


@pytest.mark.parametrize("value, expected", [
    ("13", "departement-13"), ("2a", "departement-2A"), ("971", "departement-971"),
    ("13055", "commune-13055"), ("region-93", "region-93"),
    (str(HPID["territory/departement-06"]), "departement-06")])
def test_parse_territory(value, expected):
    assert parse_territory(value) == HPID[f"territory/{expected}"]


@pytest.mark.parametrize("value", ["", "1", "region-2A", "Marseille", "commune-1305"])
def test_parse_territory_rejects(value):
    with pytest.raises(ValueError, match="code INSEE"):
        parse_territory(value)


def test_users(tmp_path):
    users = UserStore(tmp_path)
    users.add("alice", "un mot de passe", role="admin")
    stored = (tmp_path / "users.sqlite").read_bytes()
    assert b"un mot de passe" not in stored and b"scrypt$" in stored
    assert users.authenticate("alice", "un mot de passe").role == "admin"
    assert users.authenticate("alice", "Un mot de passe") is None
    assert users.authenticate("nobody", "un mot de passe") is None
    with pytest.raises(BadInput, match="already exists"):
        users.add("alice", "autre mot de passe")
    with pytest.raises(BadInput, match="role"):
        users.add("bob", "un mot de passe", role="root")
    with pytest.raises(BadInput, match="password"):
        users.add("bob", "court")
    users.add("alice", "nouveau mot de passe", role="editor", replace=True)
    assert users.authenticate("alice", "nouveau mot de passe").role == "editor"


def test_concurrent_writes_lose_nothing(tmp_path):
    """Threads of one server writing at once: every acknowledged write is in the graph."""
    from concurrent.futures import ThreadPoolExecutor

    with open_store(tmp_path, backend="oxigraph") as store:
        store.replace_graph(HPID[f"graph/{DOC}"], plan_graph())
        projects = Projects(store)
        with ThreadPoolExecutor(max_workers=8) as pool:
            created = list(pool.map(lambda n: projects.create({"title": f"Projet {n}"}, "alice"), range(12)))
        project = created[0]
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda key: projects.decide(project.id, str(section_iri(key)), "confirmed", "bob"), SECTIONS))
        assert sorted(p.title for p in projects.list()) == sorted(f"Projet {n}" for n in range(12))
        assert len(projects.get(project.id).alignments) == 3


def test_cli_user_add(tmp_path):
    from click.testing import CliRunner

    from search_api.cli import main

    runner = CliRunner()
    args = ["user", "add", "carol", "--role", "admin", "--password-stdin", "--data-dir", str(tmp_path)]
    result = runner.invoke(main, args, input="un long mot de passe\n")
    assert result.exit_code == 0, result.output
    assert UserStore(tmp_path).authenticate("carol", "un long mot de passe").role == "admin"
    again = runner.invoke(main, args, input="un long mot de passe\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(main, ["user", "add", "dan", "--password-stdin", "--data-dir", str(tmp_path)], input="court\n")
    assert short.exit_code == 1 and "password: must have at least 8 characters" in short.output
    assert runner.invoke(main, ["user", "add", "dan", "--role", "root", "--data-dir", str(tmp_path)]).exit_code == 2


def test_new_suggestions_replace_old_ones_only(projects):
    project = projects.create({"title": "X"}, "alice")
    a, b, c = (str(section_iri(k)) for k in SECTIONS)
    projects.save_suggestions(project.id, [{"iri": a, "score": 0.5}, {"iri": b, "score": 0.4}])
    projects.decide(project.id, b, "rejected", "alice")
    projects.save_suggestions(project.id, [{"iri": c, "score": 0.7}, {"iri": b, "score": 0.9}])
    assert {(x.section, x.status) for x in projects.get(project.id).alignments} == {(b, "rejected"), (c, "suggested")}
