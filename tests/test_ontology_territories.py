"""The territories vocabulary: counts against the Etalab source, INSEE links, hierarchy, labels."""
from __future__ import annotations

import json

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from ontology import territories
from ontology.namespaces import HPID, HPO, INSEE_GEO
from ontology.shapes import validate

PACA_DEPARTEMENTS = {"04": "Alpes-de-Haute-Provence", "05": "Hautes-Alpes", "06": "Alpes-Maritimes",
                     "13": "Bouches-du-Rhône", "83": "Var", "84": "Vaucluse"}


@pytest.fixture(scope="module")
def graph(repo_root) -> Graph:
    return Graph().parse(repo_root / "ontology" / "vocab" / "territories.ttl", format="turtle")


@pytest.fixture(scope="module")
def source(repo_root) -> dict:
    data = territories.load_data()
    data["meta"] = json.loads((repo_root / "ontology" / "data" / "source.json").read_text())
    return data


def test_source_is_recorded(source):
    assert source["meta"] == {"package": "@etalab/decoupage-administratif", "version": "6.0.0"}


def test_region_counts(graph, source):
    regions = set(graph.subjects(RDF.type, HPO.Region))
    former = {r for r in regions if str(r).startswith(str(HPID["territory/ancienne-region-"]))}
    assert len(regions - former) == len(source["regions"]) == 18
    zones = [r["zone"] for r in source["regions"]]
    assert zones.count("metro") == 13 and zones.count("drom") == 5


def test_the_regions_merged_in_2016_are_narrower_than_the_region_they_joined(graph):
    alsace = HPID["territory/ancienne-region-42"]
    assert (alsace, SKOS.broader, HPID["territory/region-44"]) in graph
    assert len(set(graph.subjects(SKOS.broader, HPID["territory/region-75"])) & {
        HPID[f"territory/ancienne-region-{code}"] for code in ("72", "74", "54")}) == 3


def test_departement_and_commune_counts(graph, source):
    assert len(set(graph.subjects(RDF.type, HPO.Departement))) == len(source["departements"]) == 101
    communes = set(graph.subjects(RDF.type, HPO.Commune))
    assert len(communes) == len(source["communes"]) == 946 + 2066  # all of PACA, towns of 5,000+ elsewhere
    assert all(str(c).startswith(str(HPID["territory/commune-"])) for c in communes)


def test_paca_region_links_to_insee(graph):
    paca = territories.territory_iri("region", "93")
    assert paca == HPID["territory/region-93"]
    assert (paca, SKOS.exactMatch, URIRef("http://id.insee.fr/geo/region/93")) in graph
    assert (paca, HPO.inseeCode, Literal("93")) in graph
    assert graph.value(paca, SKOS.prefLabel) == Literal("Provence-Alpes-Côte d'Azur", lang="fr")
    alt = {str(label) for label in graph.objects(paca, SKOS.altLabel)}
    assert {"PACA", "région PACA", "région Provence-Alpes-Côte d'Azur"} <= alt


@pytest.mark.parametrize("code", sorted(PACA_DEPARTEMENTS))
def test_paca_departements(graph, code):
    iri = HPID[f"territory/departement-{code}"]
    assert (iri, RDF.type, SKOS.Concept) in graph and (iri, RDF.type, HPO.Departement) in graph
    assert (iri, SKOS.exactMatch, INSEE_GEO[f"departement/{code}"]) in graph
    assert graph.value(iri, SKOS.prefLabel) == Literal(PACA_DEPARTEMENTS[code], lang="fr")
    assert graph.value(iri, SKOS.broader) == HPID["territory/region-93"]
    assert graph.value(iri, HPO.inseeCode) == Literal(code)


def test_departement_alt_labels_use_the_insee_article(graph):
    alt = {str(x) for x in graph.objects(HPID["territory/departement-05"], SKOS.altLabel)}
    assert "département des Hautes-Alpes" in alt
    alt = {str(x) for x in graph.objects(HPID["territory/departement-83"], SKOS.altLabel)}
    assert "département du Var" in alt


def test_marseille_chain_commune_departement_region(graph):
    marseille = HPID["territory/commune-13055"]
    assert graph.value(marseille, SKOS.prefLabel) == Literal("Marseille", lang="fr")
    assert (marseille, SKOS.exactMatch, INSEE_GEO["commune/13055"]) in graph
    ancestors = list(graph.transitive_objects(marseille, SKOS.broader))
    assert ancestors == [marseille, HPID["territory/departement-13"], HPID["territory/region-93"]]


def test_every_commune_is_under_its_departement(graph, source):
    departements = {d["code"] for d in source["departements"]}
    for row in source["communes"]:
        assert row["departement"] in departements, row
        assert graph.value(HPID[f"territory/commune-{row['code']}"], SKOS.broader) == \
            HPID[f"territory/departement-{row['departement']}"]
    paca = sum(1 for row in source["communes"] if row["region"] == "93")
    assert paca == 946  # every PACA commune, whatever its size


def test_overseas_and_corsica_codes(graph):
    assert (HPID["territory/departement-2A"], HPO.inseeCode, Literal("2A")) in graph
    assert (HPID["territory/departement-971"], SKOS.broader, HPID["territory/region-01"]) in graph


def test_overseas_collectivities_are_territories_of_their_own_class(graph, source):
    collectivities = set(graph.subjects(RDF.type, HPO.OverseasCollectivity))
    assert len(collectivities) == len(source["collectivities"]) == 8
    saint_martin = HPID["territory/collectivite-978"]
    assert (saint_martin, SKOS.prefLabel, Literal("Saint-Martin", lang="fr")) in graph
    assert (saint_martin, SKOS.exactMatch, INSEE_GEO["collectiviteDOutreMer/978"]) in graph
    assert not collectivities & set(graph.subjects(RDF.type, HPO.Departement))


@pytest.mark.parametrize("slug, label, alt", [
    ("territoire-de-premier-recours", "territoire de premier recours", "territoires de premier recours"),
    ("zone-prioritaire", "zone prioritaire", "territoires prioritaires"),
    ("zone-prioritaire", "zone prioritaire", "zones prioritaires"),
    ("territoire-de-projet", "territoire de projet", "territoires de projet"),
    ("bassin-de-vie", "bassin de vie", "bassins de vie"),
    ("quartier-prioritaire", "quartier prioritaire de la politique de la ville", "QPV"),
    ("zone-de-revitalisation-rurale", "zone de revitalisation rurale", "ZRR"),
    ("zone-de-montagne", "zone de montagne", "zone montagne"),
    ("zone-rurale", "zone rurale", "zones rurales"),
])
def test_territory_kinds(graph, slug, label, alt):
    iri = HPID[f"territory/{slug}"]
    assert (iri, RDF.type, HPO.TerritoryKind) in graph and (iri, RDF.type, SKOS.Concept) in graph
    assert graph.value(iri, SKOS.prefLabel) == Literal(label, lang="fr")
    assert Literal(alt, lang="fr") in set(graph.objects(iri, SKOS.altLabel))
    assert graph.value(iri, SKOS.inScheme) == HPID["vocab/territories"]


def test_vocabulary_conforms_to_the_shapes(graph):
    result = validate(graph)
    assert result.conforms, result.text


def test_scheme_top_concepts(graph):
    scheme = HPID["vocab/territories"]
    assert (scheme, RDF.type, SKOS.ConceptScheme) in graph
    tops = set(graph.objects(scheme, SKOS.hasTopConcept))
    assert HPID["territory/region-93"] in tops and HPID["territory/zone-rurale"] in tops
    assert HPID["territory/departement-13"] not in tops


def test_bad_source_row_is_reported(source):
    data = {**source, "communes": [{"code": "99999", "nom": "Nulle-part", "departement": "00", "region": "93",
                                    "typeLiaison": 0}]}
    with pytest.raises(ValueError, match="99999 names unknown département '00'"):
        territories.build_graph(data)


def test_extract_keeps_the_subset(tmp_path):
    package = tmp_path / "package"
    (package / "data").mkdir(parents=True)
    (package / "package.json").write_text('{"name": "@etalab/decoupage-administratif", "version": "9.9.9"}')
    rows = {
        "regions.json": [{"code": "93", "nom": "PACA", "typeLiaison": 0, "zone": "metro", "chefLieu": "13055"},
                         {"code": "975", "nom": "SPM", "typeLiaison": 0, "zone": "com", "chefLieu": "97502"}],
        "departements.json": [{"code": "13", "nom": "BdR", "typeLiaison": 4, "zone": "metro", "region": "93",
                               "chefLieu": "13055"}],
        "communes.json": [
            {"code": "13055", "nom": "Marseille", "typeLiaison": 0, "departement": "13", "region": "93",
             "type": "commune-actuelle", "population": 870000},
            {"code": "13201", "nom": "Marseille 1er", "typeLiaison": 0, "departement": "13", "region": "93",
             "type": "arrondissement-municipal"},
            {"code": "01001", "nom": "Ailleurs", "typeLiaison": 0, "departement": "01", "region": "84",
             "type": "commune-actuelle", "zone": "metro", "population": 800},
            {"code": "01053", "nom": "Bourg-en-Bresse", "typeLiaison": 0, "departement": "01", "region": "84",
             "type": "commune-actuelle", "zone": "metro", "population": 41000},
        ],
    }
    for name, content in rows.items():
        (package / "data" / name).write_text(json.dumps(content), encoding="utf-8")
    out = tmp_path / "out"
    counts = territories.extract(package, out)
    assert counts == {"regions": 1, "departements": 1, "communes-93": 1, "communes-5k": 1, "communes-small": 1,
                      "collectivites-outre-mer": 1}
    assert [c["nom"] for c in json.loads((out / "collectivites-outre-mer.json").read_text())] == ["SPM"]
    assert [c["nom"] for c in json.loads((out / "communes-5k.json").read_text())] == ["Bourg-en-Bresse"]
    assert json.loads((out / "communes-small.json").read_text()) == [
        {"code": "01001", "departement": "01", "nom": "Ailleurs", "region": "84"}]
    communes = json.loads((out / "communes-93.json").read_text())
    assert communes == [{"code": "13055", "departement": "13", "nom": "Marseille", "population": 870000, "region": "93",
                         "typeLiaison": 0}]
    assert json.loads((out / "source.json").read_text())["version"] == "9.9.9"


def test_label_clashes_are_exactly_the_documented_homonyms(graph, repo_root):
    from ontology.vocab import fold

    holders: dict[str, set[str]] = {}
    for concept in set(graph.subjects(RDF.type, SKOS.Concept)):
        for label in (*graph.objects(concept, SKOS.prefLabel), *graph.objects(concept, SKOS.altLabel)):
            holders.setdefault(fold(str(label)), set()).add(str(concept).rsplit("/", 1)[1])
    clashes = {key: tuple(sorted(iris)) for key, iris in holders.items() if len(iris) > 1}
    assert clashes == {fold(name): iris for name, iris in territories.HOMONYMS.items()}
    docs = (repo_root / "docs" / "ontology.md").read_text(encoding="utf-8")
    for name in territories.HOMONYMS:
        assert name.split()[-1] in docs, name
