"""Search on a tiny hand-built store (the RDF shape of docs/architecture.md): passages,
index reuse and rebuild, e5 prefixes, expansion, cut-off, facets, filters, explanations."""
from __future__ import annotations

import json

import numpy as np
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, SKOS, XSD

from kg.embeddings import E5Small, get_embedder, model_id, strip_e5_prefix
from kg.index import ensure_index, load_index, make_faiss
from kg.lexical import Synonyms, analyze, fold, tokenize
from kg.passages import read_passages, split_text
from kg.search import search_store
from kg.store import open_store
from ontology.namespaces import HPID, HPO
from search_api.settings import load_settings

PLAN = HPID["plan/prs-test"]
SROMS = HPID["scheme/prs-test/sroms"]
SEC = "https://w3id.org/healthpolicy-kg/id/section/prs-test/"
EHPAD = HPID["actor/ehpad"]
SSIAD = HPID["actor/ssiad"]
ARS = HPID["actor/ars"]
CONVERGENCE = HPID["tool/convergence-tarifaire"]
AGED = HPID["population/personnes-agees"]

LONG = "\n\n".join([
    "Les établissements hébergeant des personnes âgées dépendantes qui bénéficient d'une ressource "
    "supérieure au plafond observeront une convergence de leur dotation soins sur la durée du schéma. " * 2,
    "Cette politique de convergence tarifaire permettra une équité de traitement dans la répartition "
    "de la ressource régionale de médicalisation entre les établissements de la région. " * 2,
    "Une démarche similaire pourra être envisagée pour les personnes en situation de handicap à partir "
    "d'une batterie d'indicateurs de coûts par type d'activité, mise en place par la CNSA. " * 2,
])


def _section(g, doc, key, title, parent, text="", number=None, items=(), concepts=()):
    iri = URIRef(SEC + key)
    g.add((iri, RDF.type, HPO.Section))
    g.add((iri, DCTERMS.title, Literal(title, lang="fr")))
    g.add((iri, HPO.inDocument, HPID["doc/" + doc]))
    g.add((iri, HPO.partOf, parent))
    if number:
        g.add((iri, HPO.number, Literal(number)))
    if text:
        g.add((iri, HPO.text, Literal(text, lang="fr")))
    for n, item in enumerate(items, start=1):
        node = URIRef(f"{iri}/item/{n}")
        g.add((iri, HPO.hasItem, node))
        g.add((node, RDF.type, HPO.Item))
        g.add((node, HPO.position, Literal(n, datatype=XSD.integer)))
        g.add((node, HPO.text, Literal(item, lang="fr")))
    for prop, concept in concepts:
        g.add((iri, prop, concept))
    return iri


def tiny_graphs(convergence_text: str = LONG) -> dict[URIRef, Graph]:
    """Two documents of a toy plan, and the vocabulary graph with the concepts' labels."""
    sroms = Graph()
    sroms.add((PLAN, RDF.type, HPO.Plan))
    sroms.add((PLAN, DCTERMS.title, Literal("Projet régional de santé test")))
    sroms.add((SROMS, RDF.type, HPO.Scheme))
    sroms.add((SROMS, HPO.partOf, PLAN))
    sroms.add((SROMS, DCTERMS.title, Literal("Schéma régional d'organisation médico-sociale")))
    sroms.add((HPID["doc/900_sroms"], HPO.inScheme, SROMS))
    top = _section(sroms, "900_sroms", "2", "Orientations régionales", SROMS, number="2")
    _section(sroms, "900_sroms", "2.1", "Optimiser l'allocation des ressources", top, convergence_text,
             number="2.1", concepts=[(HPO.involvesActor, EHPAD), (HPO.usesTool, CONVERGENCE),
                                     (HPO.targetsPopulation, AGED)])
    _section(sroms, "900_sroms", "2.2", "Coordonner les soins infirmiers au domicile", top,
             "Les services de soins infirmiers à domicile travaillent avec les infirmiers libéraux "
             "pour le maintien à domicile des personnes âgées.",
             number="2.2", items=["organiser des réunions de concertation", "partager une messagerie sécurisée"],
             concepts=[(HPO.involvesActor, SSIAD), (HPO.targetsPopulation, AGED)])
    other = Graph()
    other.add((HPID["doc/901_proximite"], RDF.type, HPO.Document))
    # another page names section 2.1 (as a breadcrumb ancestor): the hit's doc must stay 900_sroms
    naming = Graph()
    _section(naming, "899_index", "2.1", "Optimiser l'allocation des ressources", top, number="2.1")
    _section(other, "901_proximite", "commission", "Commission de coordination pour l'offre de soins de proximité",
             PLAN, "La commission propose un guichet unique pour l'installation des professionnels de santé "
             "et soutient les maisons de santé pluridisciplinaires.", concepts=[(HPO.involvesActor, ARS)])
    vocab = Graph()
    for concept, pref, alts in [
        (EHPAD, "établissement d'hébergement pour personnes âgées dépendantes", ["EHPAD", "maison de retraite médicalisée"]),
        (SSIAD, "service de soins infirmiers à domicile", ["SSIAD"]),
        (ARS, "agence régionale de santé", ["ARS"]),
        (CONVERGENCE, "convergence tarifaire", []),
        (AGED, "personnes âgées", []),
    ]:
        vocab.add((concept, RDF.type, SKOS.Concept))
        vocab.add((concept, SKOS.prefLabel, Literal(pref, lang="fr")))
        for alt in alts:
            vocab.add((concept, SKOS.altLabel, Literal(alt, lang="fr")))
    return {HPID["graph/900_sroms"]: sroms, HPID["graph/901_proximite"]: other, HPID["graph/899_index"]: naming,
            HPID["graph/ontology"]: vocab}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A memory store with the toy plan, settings on a fresh data dir, and its index."""
    settings = load_settings({"data_dir": str(tmp_path_factory.mktemp("tiny")), "store": "memory"})
    store = open_store(None, backend="memory")
    for iri, graph in tiny_graphs().items():
        store.replace_graph(iri, graph)
    index = ensure_index(store, settings)
    yield store, settings, index
    store.close()


def test_split_text_packs_paragraphs_and_items_and_cuts_long_ones():
    assert split_text("Un.\n\nDeux.", ["trois"]) == ["Un.\nDeux.\n• trois"]
    pieces = split_text(LONG, max_chars=400)
    assert len(pieces) >= 3 and all(len(p) <= 450 for p in pieces)
    assert split_text("", []) == []


def test_passages_carry_section_context(tiny):
    store, _, _ = tiny
    passages, sections = read_passages(store)
    by_key = {}
    for p in passages:
        by_key.setdefault(p.key, []).append(p)
    assert set(by_key) == {"2.1", "2.2", "Commission de coordination pour l'offre de soins de proximité"}
    assert "2" not in sections  # a heading without text gives no passage
    first = by_key["2.1"][0]
    assert first.section == SEC + "2.1" and first.doc == "900_sroms"
    assert first.breadcrumb == ("Projet régional de santé test", "Schéma régional d'organisation médico-sociale",
                                "2 Orientations régionales")
    assert first.context.startswith("2 Orientations régionales > 2.1 Optimiser")
    assert len(by_key["2.1"]) >= 2  # the long section is split
    assert "• partager une messagerie sécurisée" in by_key["2.2"][0].text
    assert sections[SEC + "2.1"].scheme == str(SROMS)
    assert {e["type"] for e in sections[SEC + "2.1"].entities} == {"actor", "tool", "population"}


def test_french_analysis_folds_accents_and_stems():
    assert tokenize("Médicalisées") == tokenize("médicalisés") == tokenize("médicalisation")
    assert tokenize("SANTÉ des âgées") == tokenize("sante des agees") == ["sant", "age"]
    assert tokenize("l’offre de soins") == tokenize("l'offre des soins") == ["offre", "soin"]
    assert fold("ÉTABLISSEMENTS") == "etablissements"
    assert [w for w, _ in analyze("Les EHPAD et le SSIAD")] == ["EHPAD", "SSIAD"]


def test_synonyms_match_acronym_and_expansion_both_ways():
    syn = Synonyms({"ehpad": ["EHPAD", "établissement d'hébergement pour personnes âgées dépendantes"]})
    assert syn.match("les Ehpad du Var") == {"ehpad": "EHPAD"}
    matched = syn.match("établissements d'hébergement pour personnes âgées dépendantes")
    assert syn.expansion(matched) == ["EHPAD"]
    assert syn.match("recette de cuisine") == {}


def test_e5_prefixes_added_once_never_twice():
    onnx_engine = get_embedder("e5-small")
    text = "coordination des infirmiers libéraux"
    np.testing.assert_array_equal(onnx_engine.embed_queries(["query: " + text]), onnx_engine.embed_queries([text]))
    np.testing.assert_array_equal(onnx_engine.embed_passages(["passage: " + text]), onnx_engine.embed_passages([text]))
    e5 = get_embedder("e5-small-c")
    assert isinstance(e5, E5Small)
    engine = e5.engine
    text = "coordination des infirmiers libéraux"
    # the C engine prepends "query: " itself: a prefixed text would carry it twice
    assert engine.token_count("query: " + text, True) > engine.token_count(text, True)
    ours = e5.embed_queries([text])[0]
    assert np.allclose(ours, engine.query(text), atol=1e-6)  # we add nothing
    assert np.allclose(e5.embed_queries(["query: " + text])[0], ours, atol=1e-6)  # nor keep a user's
    assert not np.allclose(engine.query("query: " + text), ours, atol=1e-3)  # doubling would differ
    assert np.allclose(e5.embed_passages(["passage: " + text])[0], engine.passage(text), atol=1e-6)
    assert not np.allclose(e5.embed_passages([text])[0], ours, atol=1e-3)  # query != passage side
    assert strip_e5_prefix("passage: x") == "x"
    assert abs(np.linalg.norm(ours) - 1) < 1e-4


def test_flat_index_is_exact_cosine():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scores, ids = make_faiss(vectors, "flat").search(vectors[:1], 3)
    assert ids[0][0] == 0 and abs(scores[0][0] - 1) < 1e-5
    expected = np.argsort(-(vectors @ vectors[0]))[:3]
    assert list(ids[0]) == list(expected)
    with pytest.raises(ValueError, match="faiss index kind"):
        make_faiss(vectors, "ivf")


def test_index_reused_when_corpus_and_model_unchanged(tiny):
    store, settings, index = tiny
    folder = index.folder
    stamp = (folder / "vectors.faiss").stat().st_mtime_ns
    again = ensure_index(store, settings)
    assert not again.rebuilt
    assert (folder / "vectors.faiss").stat().st_mtime_ns == stamp
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"] == model_id("e5-small") and manifest["passages"] == len(index.passages)
    assert load_index(settings).manifest["corpus_hash"] == manifest["corpus_hash"]


def test_index_rebuilt_when_corpus_changes(tmp_path):
    settings = load_settings({"data_dir": str(tmp_path), "store": "memory"})
    with open_store(None, backend="memory") as store:
        for iri, graph in tiny_graphs().items():
            store.replace_graph(iri, graph)
        first = ensure_index(store, settings)
        assert first.rebuilt
        store.replace_graph(HPID["graph/900_sroms"], tiny_graphs("Un texte nouveau sur la tarification.")[HPID["graph/900_sroms"]])
        second = ensure_index(store, settings)
        assert second.rebuilt
        assert second.manifest["corpus_hash"] != first.manifest["corpus_hash"]
        assert not ensure_index(store, settings).rebuilt
        graph = tiny_graphs("Un texte nouveau sur la tarification.")[HPID["graph/900_sroms"]]
        graph.add((URIRef(SEC + "2.2"), HPO.involvesActor, ARS))  # concepts change, passages do not
        store.replace_graph(HPID["graph/900_sroms"], graph)
        third = ensure_index(store, settings)
        assert not third.rebuilt and third.manifest["corpus_hash"] == second.manifest["corpus_hash"]
        assert str(ARS) in {e["iri"] for e in third.sections[SEC + "2.2"].entities}
        (second.folder / "vectors.faiss").unlink()  # a damaged index is rebuilt, not trusted
        assert ensure_index(store, settings).rebuilt


@pytest.mark.slow
def test_index_rebuilt_when_model_changes(tmp_path):
    settings = load_settings({"data_dir": str(tmp_path), "store": "memory"})
    with open_store(None, backend="memory") as store:
        for iri, graph in tiny_graphs().items():
            store.replace_graph(iri, graph)
        e5 = ensure_index(store, settings)
        minilm = ensure_index(store, {**settings, "embedding_model": "minilm"})
        assert minilm.rebuilt and minilm.manifest["model"] == model_id("minilm") != e5.manifest["model"]
        assert minilm.manifest["corpus_hash"] == e5.manifest["corpus_hash"]
        assert minilm.manifest["dim"] == 384
        assert not ensure_index(store, {**settings, "embedding_model": "minilm"}).rebuilt
        assert ensure_index(store, settings).rebuilt  # back to e5: rebuilt again


def test_search_ranks_the_answer_first_with_context(tiny):
    store, settings, index = tiny
    result = search_store(store, settings, "convergence tarifaire des établissements", k=5, index=index)
    top = result["hits"][0]
    assert (top["doc"], top["section"], top["rank"]) == ("900_sroms", "2.1", 1)
    assert top["breadcrumb"][-1] == "2 Orientations régionales"
    assert {"type": "tool", "label": "convergence tarifaire", "iri": str(CONVERGENCE)} in top["entities"]
    sections = [h["iri"] for h in result["hits"]]
    assert len(sections) == len(set(sections))  # one hit per section


def test_paraphrase_found_through_altlabel_expansion(tiny):
    store, settings, index = tiny
    result = search_store(store, settings, "maisons de retraite médicalisées", index=index)
    top = result["hits"][0]
    assert top["section"] == "2.1"
    concepts = top["explanation"]["matched_concepts"]
    assert [c["iri"] for c in concepts] == [str(EHPAD)]


@pytest.mark.parametrize("query", ["xqzw blorf", "recette de la tarte aux pommes"])
def test_nonsense_query_returns_no_hits(tiny, query):
    store, settings, index = tiny
    assert search_store(store, settings, query, index=index)["hits"] == []


def test_explanation_names_terms_and_contributions(tiny):
    store, settings, index = tiny
    hit = search_store(store, settings, "SSIAD et infirmiers libéraux", index=index)["hits"][0]
    assert hit["section"] == "2.2"
    explanation = hit["explanation"]
    assert {"infirmiers", "libéraux"} <= set(explanation["matched_terms"])
    assert "service de soins infirmiers à domicile" in explanation["expanded_terms"]
    assert [c["label"] for c in explanation["matched_concepts"]] == ["service de soins infirmiers à domicile"]
    assert explanation["dense"]["rank"] >= 1 and explanation["lexical"]["rank"] >= 1
    assert explanation["dense"]["contribution"] > 0 and explanation["lexical"]["contribution"] > 0
    assert hit["score"] == pytest.approx(explanation["dense"]["contribution"] + explanation["lexical"]["contribution"], abs=1e-5)


def test_facets_count_sections_and_filters_restrict_hits(tiny):
    store, settings, index = tiny
    result = search_store(store, settings, "personnes âgées et soins à domicile", index=index)
    assert {h["section"] for h in result["hits"]} >= {"2.1", "2.2"}
    population = {f["iri"]: f["count"] for f in result["facets"]["population"]}
    assert population[str(AGED)] == 2
    actor = {f["iri"]: f for f in result["facets"]["actor"]}
    assert actor[str(SSIAD)]["count"] == 1 and actor[str(SSIAD)]["label"] == "service de soins infirmiers à domicile"
    assert result["facets"]["scheme"][0] == {"iri": str(SROMS), "label": "Schéma régional d'organisation médico-sociale",
                                             "count": sum(h["doc"] == "900_sroms" for h in result["hits"])}
    only = search_store(store, settings, "personnes âgées et soins à domicile", filters={"actor": str(SSIAD)}, index=index)
    assert [h["section"] for h in only["hits"]] == ["2.2"]
    assert only["filters"] == {"actor": [str(SSIAD)]}
    assert {f["iri"] for f in only["facets"]["actor"]} == {str(SSIAD)}
    scheme = search_store(store, settings, "personnes âgées et soins à domicile", filters={"scheme": [str(SROMS)]}, index=index)
    assert {h["doc"] for h in scheme["hits"]} == {"900_sroms"}


@pytest.mark.parametrize("kwargs, field", [
    ({"query": "  "}, "q"), ({"query": "x" * 501}, "q"), ({"query": "EHPAD", "k": 0}, "k"),
    ({"query": "EHPAD", "k": "abc"}, "k"), ({"query": "EHPAD", "filters": {"actor": "ehpad"}}, "actor"),
    ({"query": "EHPAD", "filters": {"colour": "http://x"}}, "colour"),
])
def test_bad_arguments_name_the_field(tiny, kwargs, field):
    store, settings, index = tiny
    with pytest.raises(ValueError, match=f"^{field}: "):
        search_store(store, settings, index=index, **kwargs)


def test_faiss_kind_is_a_setting_and_switching_it_rebuilds(tmp_path):
    import faiss

    settings = load_settings({"data_dir": str(tmp_path), "store": "memory", "faiss_index": "hnsw"})
    with open_store(None, backend="memory") as store:
        for iri, graph in tiny_graphs().items():
            store.replace_graph(iri, graph)
        hnsw = ensure_index(store, settings)
        assert hnsw.manifest["faiss"] == "hnsw" and isinstance(hnsw.vectors, faiss.IndexHNSWFlat)
        assert not ensure_index(store, settings).rebuilt
        flat = ensure_index(store, {**settings, "faiss_index": "flat"})
        assert flat.rebuilt and isinstance(flat.vectors, faiss.IndexFlatIP)


def test_lexical_side_counts_less_when_the_plan_lacks_the_query_words(tiny):
    """A paraphrase whose words the plan does not use gets half the lexical weight; a query
    whose words are all in its best passage gets all of it (kg.search._lexical_trust)."""
    from kg.search import LEXICAL_TRUST_MIN, _lexical_trust, rank_sections
    from kg.lexical import analyze

    _, _, index = tiny
    kept, _ = rank_sections(index, "convergence tarifaire")

    def stems(text):
        return {stem for _, stem in analyze(text)}

    assert _lexical_trust(index, kept, stems("convergence tarifaire")) == 1.0
    assert _lexical_trust(index, kept, stems("convergence zorglub")) == LEXICAL_TRUST_MIN + (1 - LEXICAL_TRUST_MIN) / 2
