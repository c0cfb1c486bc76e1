"""Entity extraction: offsets, inflection, acronyms, longest match, patterns, NER, candidates."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from ingest.mentions import extract_mentions
from ingest.model import ENTITY_TYPES, Document, Section
from ontology.namespaces import HPID


def page(text: str, doc: str = "test") -> Document:
    """A one-section Document over `text`, as the parser would give for a page with no headings."""
    return Document(doc=doc, path=f"{doc}.txt", title=doc, text=text, sections=[Section(None, doc, 1, None, 0, len(text))])


def found(text: str) -> list[tuple[str, str, str, str]]:
    """(type, surface, concept tail, method) of each mention of `text`."""
    return [(m.type, m.text, (m.concept or "").rsplit("/id/", 1)[-1], m.method) for m in extract_mentions(page(text))]


@pytest.fixture(scope="module")
def corpus_mentions(corpus_dir):
    from ingest.pipeline import parse_file

    result = {}
    for path in sorted(corpus_dir.glob("*.txt")):
        document = parse_file(path)
        result[document.doc] = (document, extract_mentions(document))
    return result


def test_offsets_are_exact_sorted_and_only_nest(corpus_mentions):
    """Two mentions are disjoint, or a known concept lies inside a longer mention of another
    type or inside a candidate; they never straddle."""
    for document, mentions in corpus_mentions.values():
        assert mentions, document.doc
        assert [(m.start, m.end) for m in mentions] == sorted((m.start, m.end) for m in mentions)
        for a, b in zip(mentions, mentions[1:]):
            if b.start < a.end:
                outer, inner = (a, b) if a.end - a.start > b.end - b.start else (b, a)
                assert outer.start <= inner.start and inner.end <= outer.end, (a.text, b.text)
                assert inner.method == "vocabulary" and outer.type != "programme", (a, b)
                assert outer.candidate or outer.type != inner.type, (a, b)
        for m in mentions:
            assert document.text[m.start:m.end] == m.text
            assert m.type in ENTITY_TYPES and m.method in {"vocabulary", "pattern", "acronym", "ner"}
            assert m.concept and m.label and 0 < m.confidence <= 1


def test_mentions_are_attributed_to_their_section(corpus_mentions):
    document, mentions = corpus_mentions["004_d9216070b0b5bf36"]
    cnsa = next(m for m in mentions if m.text == "CNSA")
    assert cnsa.section == "2.8.1"
    gcs = next(m for m in mentions if m.text == "GCS")
    assert gcs.section == "2.8.2"
    for m in mentions:
        if m.section is not None:
            section = document.section(m.section)
            assert section.from_breadcrumb or section.start <= m.start < section.end


def test_breadcrumb_line_is_read(corpus_mentions):
    _, mentions = corpus_mentions["000_d922552c98e187fc"]
    texts = {(m.type, m.text) for m in mentions}
    assert ("programme", "Projet régional de santé 2012-2016") in texts
    assert ("programme", "Schéma Régional d’Organisation Médico-Sociale") in texts


def test_site_navigation_crumbs_before_the_plan_are_not_entities(corpus_mentions):
    """`Accueil > Région > ARS > Projet régional…`: « Région » and « ARS » there are menu entries."""
    document, mentions = corpus_mentions["000_d922552c98e187fc"]
    plan_at = document.text.index("Projet régional de santé 2012-2016")
    assert document.text[:plan_at] == "Accueil > Région > ARS > "
    assert [m.text for m in mentions if m.start < plan_at] == []
    # The same words in the body are still found.
    body = extract_mentions(page("L’ARS et la région financent les SSIAD."))
    assert {(m.type, m.text) for m in body} >= {("actor", "ARS"), ("territory", "région")}


def test_plural_and_gender_variants_reach_one_concept():
    mentions = found("Les infirmières libérales, les infirmiers libéraux et un infirmier libéral se coordonnent.")
    assert [c for _, _, c, _ in mentions] == ["actor/infirmier-liberal"] * 3


def test_accent_case_and_apostrophe_tolerant():
    mentions = found("Les ETABLISSEMENTS D'HEBERGEMENT POUR PERSONNES AGEES DEPENDANTES et le schéma régional d’organisation médico-sociale.")
    assert ("actor", "ETABLISSEMENTS D'HEBERGEMENT POUR PERSONNES AGEES DEPENDANTES", "actor/ehpad", "vocabulary") in mentions
    assert ("programme", "schéma régional d’organisation médico-sociale", "programme/sroms", "vocabulary") in mentions


def test_acronym_with_and_without_its_expansion():
    mentions = found("L'hospitalisation à domicile (HAD) se développe ; la HAD intervient en EHPAD.")
    assert mentions[0] == ("tool", "hospitalisation à domicile (HAD)", "tool/had", "vocabulary")
    assert ("tool", "HAD", "tool/had", "vocabulary") in mentions
    assert ("actor", "EHPAD", "actor/ehpad", "vocabulary") in mentions


def test_short_acronyms_are_case_sensitive():
    assert [c for _, _, c, _ in found("Le CH et l'ARS signent.")] == ["actor/ch", "actor/ars"]
    assert found("Les ch de la forêt et les ars anciens.") == []


def test_longest_match_wins():
    mentions = found("Les maisons de santé pluridisciplinaires accueillent.")
    assert mentions == [("actor", "maisons de santé pluridisciplinaires", "actor/msp", "vocabulary")]


def test_named_programme_patterns():
    mentions = found('La loi « Hôpital, patients, santé et territoires » et le plan national de lutte contre la douleur.')
    assert mentions[0][:3] == ("programme", "loi « Hôpital, patients, santé et territoires »", "programme/loi-hpst")
    assert mentions[1][0:2] == ("programme", "plan national de lutte contre la douleur")
    assert mentions[1][2].startswith("candidate/programme/") and mentions[1][3] == "pattern"


def test_generic_plan_words_are_not_programmes():
    assert not [m for m in found("Voir le plan du site. Les plans nationaux sont en cours.") if m[0] == "programme"]


def test_acronym_definition_becomes_a_flagged_candidate_and_its_later_uses_follow():
    text = ("Le dispositif régional d'orientation des parcours (DROP) réunit les acteurs. "
            "Le DROP oriente les situations complexes.")
    mentions = extract_mentions(page(text))
    definition, use = [m for m in mentions if "DROP" in m.text]
    assert definition.text == "dispositif régional d'orientation des parcours (DROP)"
    assert definition.type == "tool" and definition.candidate and definition.method == "acronym"
    assert definition.concept == str(HPID["candidate/tool/dispositif-regional-d-orientation-des-parcours"])
    assert use.text == "DROP" and use.concept == definition.concept and use.candidate


def test_a_known_concept_nests_in_a_longer_mention_of_another_type():
    mentions = extract_mentions(page("Les travailleurs d'ESAT vieillissants ont besoin d'un accompagnement."))
    by_text = {m.text: m for m in mentions}
    assert "ESAT" in by_text and by_text["ESAT"].type == "actor"
    outer = next(m for m in mentions if m.start < by_text["ESAT"].start and m.end >= by_text["ESAT"].end)
    assert outer.type == "population" and "travailleurs" in outer.text


@pytest.mark.parametrize("text, mention, kind", [
    ("Le projet crée une équipe mobile de prévention des chutes dans chaque territoire.", "équipe mobile de prévention des chutes", "actor"),
    ("Deux unités d'hébergement spécialisées seront ouvertes.", "unités d'hébergement spécialisées", "actor"),
    ("Une plateforme de télésanté est installée.", "plateforme de télésanté", "tool"),
    ("La télédermatologie relie les EHPAD aux dermatologues.", "télédermatologie", "tool"),
    ("Une charte départementale encadre les pratiques.", "charte départementale", "tool"),
    ("Une charte « fête responsable » sera proposée.", "charte « fête responsable »", "tool"),
])
def test_unknown_services_are_candidates_typed_by_their_head(text, mention, kind):
    found = [m for m in extract_mentions(page(text)) if m.text == mention]
    assert found and found[0].type == kind and found[0].candidate, [m.text for m in extract_mentions(page(text))]


def test_every_service_head_says_what_its_names_are():
    from ingest.mentions import HEAD_TYPES, SERVICE_HEADS

    assert SERVICE_HEADS <= set().union(*HEAD_TYPES.values())  # else its names get no type


@pytest.mark.parametrize("text", ["Le siège est au centre de la ville.", "Le service de l'État instruit le dossier.",
                                  "Un numéro de téléphone unique est ouvert."])
def test_generic_heads_make_no_service_name(text):
    assert not [m for m in extract_mentions(page(text)) if m.method == "pattern"]


def test_known_concepts_are_not_candidates(corpus_mentions):
    for _, mentions in corpus_mentions.values():
        for m in mentions:
            assert m.candidate == m.concept.startswith(str(HPID["candidate/"]))
            if m.method == "vocabulary":
                assert not m.candidate


def test_ner_alone_keeps_nothing():
    # spaCy tags people and places here; no vocabulary, pattern or head noun backs them
    text = "Jean Dupont a rencontré Marie Curie à Lyon avec d'autres personnes."
    assert [m for m in extract_mentions(page(text)) if m.method == "ner"] == []


def test_body_names_are_typed_by_their_head_not_by_spacy():
    mentions = found("Elle réunit la Fédération de l'hospitalisation publique et les services à la personne.")
    assert mentions[0][:2] == ("actor", "Fédération de l'hospitalisation publique")
    assert not [m for m in mentions if m[0] == "territory"]


def test_body_names_stop_at_the_verb():
    mentions = found("L'Observatoire régional de la santé montre une démographie contrastée.")
    assert mentions[0] == ("actor", "Observatoire régional de la santé", "actor/ors", "vocabulary")


def test_documented_ambiguity_is_resolved_by_context(corpus_mentions):
    _, mentions_000 = corpus_mentions["000_d922552c98e187fc"]
    _, mentions_004 = corpus_mentions["004_d9216070b0b5bf36"]
    gcs_000 = next(m for m in mentions_000 if m.text == "groupements de coopération sanitaire")
    gcs_004 = next(m for m in mentions_004 if m.text == "GCS")
    assert (gcs_000.type, gcs_004.type) == ("actor", "tool")


def test_territories_from_the_vocabulary():
    mentions = found("Dans les Bouches-du-Rhône et à Gap, en région PACA, les zones prioritaires ; une orange pressée.")
    concepts = [c for kind, _, c, _ in mentions if kind == "territory"]
    assert concepts == ["territory/departement-13", "territory/commune-05061", "territory/region-93", "territory/zone-prioritaire"]


def test_actor_takes_in_the_region_name_but_not_after_region():
    mentions = found("L'ARS Paca et la préfecture de la région Paca.")
    assert [(t, s, c) for t, s, c, _ in mentions] == [
        ("actor", "ARS Paca", "actor/ars"),
        ("territory", "Paca", "territory/region-93"),  # nested: the ARS of that region
        ("actor", "préfecture de la région", "actor/prefecture-region"),
        ("territory", "Paca", "territory/region-93"),
    ]


def test_spacy_is_not_loaded_at_import():
    code = "import sys, ingest.mentions, evaluation.entities; print('spacy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_whole_corpus_in_a_few_seconds_once_loaded(corpus_dir, corpus_mentions):
    from ingest.pipeline import parse_file

    documents = [parse_file(path) for path in sorted(corpus_dir.glob("*.txt"))]
    started = time.perf_counter()
    for document in documents:
        extract_mentions(document)
    assert time.perf_counter() - started < 20  # ~3 s on an idle 2-core machine


def test_long_pages_are_parsed_in_chunks_with_the_same_result(corpus_mentions, monkeypatch):
    import ingest.mentions as mentions_module

    document, whole = corpus_mentions["004_d9216070b0b5bf36"]
    monkeypatch.setattr(mentions_module, "_CHUNK", 700)  # spaCy refuses texts over 1M characters
    chunked = extract_mentions(document)
    assert [(m.start, m.end, m.concept) for m in chunked] == [(m.start, m.end, m.concept) for m in whole]


def test_region_names_of_any_region_follow_an_actor():
    mentions = found("L'ARS Occitanie et l'ARS la réunion des acteurs.")
    assert [(t, s) for t, s, _, _ in mentions] == [("actor", "ARS Occitanie"), ("territory", "Occitanie"), ("actor", "ARS")]


def test_empty_page_has_no_mentions():
    assert extract_mentions(page("")) == []


def test_one_word_commune_opening_a_sentence_needs_spacy_to_see_a_place():
    text = "Signes d'alerte : la fatigue.\n  • Signes cliniques à repérer.\nLes Mées et Signes accueillent une maison de santé. La réunion a lieu."
    places = [m.text for m in extract_mentions(page(text)) if m.type == "territory"]
    assert places == ["Les Mées", "Signes"]


@pytest.mark.parametrize("region, commune", [("04", "commune-97411"), ("11", "commune-93066"), (None, "commune-93066")])
def test_a_homonym_town_is_read_in_the_pages_region(region, commune):
    """Saint-Denis is a town of Seine-Saint-Denis (Île-de-France, 11) and of La Réunion (04)."""
    doc = page("Le centre hospitalier de Saint-Denis ouvre une consultation.")
    doc.region_code = region
    towns = [m.concept.rsplit("/", 1)[-1] for m in extract_mentions(doc) if m.text == "Saint-Denis"]
    assert towns == [commune]


# --- issue 13: instruments, names that stop in time, places, specialists ---------------------


@pytest.mark.parametrize("text, mention", [
    ("Le forfait de coordination des soins est versé chaque année.", "forfait de coordination des soins"),
    ("Le fonds d'innovation en santé soutient trois projets.", "fonds d'innovation en santé"),
    ("Un dossier de coordination est ouvert pour chaque usager.", "dossier de coordination"),
    ("Le référentiel de compétences des coordinateurs sera publié.", "référentiel de compétences des coordinateurs"),
    ("Le logiciel de gestion des lits est commun aux sites.", "logiciel de gestion des lits"),
])
def test_financial_and_informational_heads_make_tool_candidates(text, mention):
    tools = [m.text for m in extract_mentions(page(text)) if m.type == "tool"]
    assert mention in tools, tools


@pytest.mark.parametrize("text, mention", [
    ("En cas de crise, le dispositif ORSEC est déclenché par le préfet.", "dispositif ORSEC"),
    ("La nomenclature SERAFIN-PH décrit les besoins et les prestations.", "nomenclature SERAFIN-PH"),
])
def test_an_instrument_named_by_an_acronym_after_its_head(text, mention):
    assert ("tool", mention) in [(m.type, m.text) for m in extract_mentions(page(text))]


def test_generic_adjectives_make_no_instrument_name():
    assert not [m for m in extract_mentions(page("Dix contrats supplémentaires et des dispositifs existants.")) if m.method == "pattern"]


@pytest.mark.parametrize("text, mention", [
    ("Le contrat territorial d'accueil signé entre les partenaires est revu.", "contrat territorial d'accueil"),
    ("Une équipe mobile spécialisée et des bénévoles se relaient.", "équipe mobile spécialisée"),
    ("La dotation de fonctionnement sur la durée du contrat est fixée.", "dotation de fonctionnement"),
    ("Une unité de soins palliatifs à Saint-Malo ouvrira.", "unité de soins palliatifs"),
])
def test_names_stop_before_a_partner_a_coordination_a_time_or_a_place(text, mention):
    texts = [m.text for m in extract_mentions(page(text))]
    assert mention in texts and not [t for t in texts if t.startswith(mention) and t != mention], texts


def test_a_candidate_that_extends_a_known_name_keeps_its_type():
    mentions = extract_mentions(page("La plateforme d'accompagnement et de répit des familles ouvre."))
    longest = max(mentions, key=lambda m: m.end - m.start)  # the known name nests in it
    assert longest.text == "plateforme d'accompagnement et de répit des familles" and longest.type == "actor"


def test_places_after_a_merged_article_and_in_hyphenated_series():
    mentions = extract_mentions(page("Les CMP du Havre et du Mans ; le territoire Guingamp-Lannion ; le Nord-Finistère."))
    places = [(m.text, m.label) for m in mentions if m.type == "territory"]
    assert places == [("Havre", "Le Havre"), ("Mans", "Le Mans"), ("Guingamp", "Guingamp"), ("Lannion", "Lannion"),
                      ("Finistère", "Finistère")]


def test_a_commune_inside_another_hyphenated_or_article_name_gives_that_name():
    text = ("La double insularité : Marie-Galante, Les Saintes et La Désirade. Le centre hospitalier de "
            "Marie-Galante. Les quartiers de Saint-Benoît (Bras-Fusil, Centre-ville) ; le territoire Guingamp-Lannion.")
    mentions = extract_mentions(page(text))
    places = {m.text: m.concept.rsplit("/id/", 1)[-1] for m in mentions if m.type == "territory"}
    assert places["Marie-Galante"] == "candidate/territory/marie-galante"  # not Marie (06)
    assert places["Les Saintes"] == "candidate/territory/les-saintes"  # not Saintes (17)
    assert places["Bras-Fusil"] == "candidate/territory/bras-fusil"  # not Bras (83)
    assert "Marie" not in places and "Saintes" not in places and "Bras" not in places
    assert places["Guingamp"] == "territory/commune-22070" and places["Lannion"] == "territory/commune-22113"
    assert ("actor", "centre hospitalier de Marie-Galante") in [(m.type, m.text) for m in mentions]


def test_a_small_commune_of_another_region_is_not_read():
    text = "Les quartiers prioritaires de Clermont-Ferrand (Saint-Jacques, Croix-de-Neyrat) et Aiglun."
    auvergne = page(text)
    auvergne.region_code = "84"
    places = [(m.text, m.concept) for m in extract_mentions(auvergne) if m.type == "territory"]
    assert ("Saint-Jacques", str(HPID["territory/commune-04180"])) not in places  # 390 inhabitants, PACA
    assert ("Clermont-Ferrand", str(HPID["territory/commune-63113"])) in places
    paca = page(text)
    paca.region_code = "93"
    assert ("Saint-Jacques", str(HPID["territory/commune-04180"])) in [
        (m.text, m.concept) for m in extract_mentions(paca) if m.type == "territory"]


def test_a_natural_region_after_a_lower_case_article_and_a_colon():
    places = [m.text for m in extract_mentions(page(
        "Les territoires peu couverts : le Livradois-Forez autour d'Ambert, les communes du Sancy.")) if m.type == "territory"]
    assert "Livradois-Forez" in places and "Ambert" in places


def test_an_adjective_does_not_reach_a_noun_label_by_its_stem():
    mentions = found("Une part élevée de familles relève du droit commun ; les communes littorales.")
    assert ("population", "élevée") not in [m[:2] for m in mentions]
    assert ("territory", "commun") not in [m[:2] for m in mentions]
    assert ("territory", "communes") in [m[:2] for m in mentions]
    # nor does a noun by a lemma that only drops the final `e` (`commun` is not `commune`)
    assert ("territory", "commun") not in [m[:2] for m in found("Les aides sont mises en commun par les familles.")]


def test_specialists_are_actors_by_their_ending():
    mentions = found("Le néphrologue et les radiologues ouvrent le dialogue avec les addictologues.")
    assert [(t, s) for t, s, _, _ in mentions if t == "actor"] == [("actor", "néphrologue"), ("actor", "radiologues"), ("actor", "addictologues")]


def test_a_scheme_named_by_its_complement():
    mentions = [m[:2] for m in found("Les départements arrêtent leurs schémas de l'autonomie. Un schéma de principe suit.")]
    assert ("programme", "schémas de l'autonomie") in mentions
    assert not [m for m in mentions if "principe" in m[1]]  # a generic complement names nothing


@pytest.mark.parametrize("text, expected", [
    ("Le programme Un chez-soi d'abord, déployé à Saint-Denis, est étendu.", ("programme", "programme Un chez-soi d'abord")),
    ("Le dispositif Mon soutien psy, remboursé par l'assurance maladie, est promu.", ("tool", "dispositif Mon soutien psy")),
    ("Les maires tiennent les registres communaux des personnes vulnérables.",
     ("tool", "registres communaux des personnes vulnérables")),
])
def test_brands_opening_with_a_function_word_and_registers(text, expected):
    assert expected in [m[:2] for m in found(text)]
    assert not [m for m in found("Le dispositif Toulouse accueille.") if m[0] == "tool"]  # a place is no brand


def test_a_name_ends_before_when():
    texts = [m[1] for m in found("Le bilan est présenté à la conférence régionale de la santé et de l'autonomie "
                                 "à la fin de 2027.")]
    assert "conférence régionale de la santé et de l'autonomie" in texts and not [t for t in texts if "fin" in t]


def test_a_name_ends_before_an_amount_and_before_another_programme():
    mentions = [m[:2] for m in found("Chaque équipe reçoit une dotation annuelle de 380 000 euros par une convention de "
                                     "trois ans. Ce volet suit le plan national de mobilisation contre les addictions "
                                     "et du programme national de lutte contre le tabac.")]
    assert ("tool", "dotation annuelle") in mentions and ("tool", "convention") in mentions
    assert ("programme", "plan national de mobilisation contre les addictions") in mentions
    assert ("programme", "programme national de lutte contre le tabac") in mentions


def test_a_plan_for_one_person_is_a_tool():
    assert ("tool", "plan personnalisé de prévention") in [m[:2] for m in found("Un plan personnalisé de prévention est proposé.")]


def test_a_long_expansion_defines_its_acronym():
    text = ("La plateforme régionale d'appui aux familles et aux aidants des personnes en situation complexe (PRAFAC) "
            "ouvre. La PRAFAC oriente.")
    mentions = [(m.type, m.text) for m in extract_mentions(page(text)) if m.method == "acronym"]
    assert mentions[-1] == ("tool", "PRAFAC") and mentions[0][1].startswith("plateforme régionale")


@pytest.mark.parametrize("text, mention", [
    ("Vu la loi n° 2019-774 du 24 juillet 2019 relative à l'organisation du système de santé ;",
     "loi n° 2019-774 du 24 juillet 2019 relative à l'organisation du système de santé"),
    ("Le décret du 3 mai 2022 relatif aux équipes mobiles fixe leurs missions.", "décret du 3 mai 2022 relatif aux équipes mobiles"),
    ("L'ordonnance n° 2020-1407 simplifie les procédures.", "ordonnance n° 2020-1407"),
    # an infinitive after `pour` is the law's aim, part of its title, which never ends on `pour`
    ("Les mesures de la loi du 8 avril 2024 portant mesures pour bâtir la société du bien vieillir s'appliquent.",
     "loi du 8 avril 2024 portant mesures pour bâtir la société du bien vieillir"),
    ("créées par la circulaire du 28 mars 2007 relative à la filière de soins gériatriques. Leur rôle",
     "circulaire du 28 mars 2007 relative à la filière de soins gériatriques"),
    ("selon l'instruction n° DGOS/R4/2022/45 du 3 février 2022 relative aux équipes mobiles.",
     "instruction n° DGOS/R4/2022/45 du 3 février 2022 relative aux équipes mobiles"),
    ("La loi du 2 mars 2022 visant à renforcer la prévention en santé au travail est appliquée.",
     "loi du 2 mars 2022 visant à renforcer la prévention en santé au travail"),
])
def test_legal_texts_by_number_or_date_then_title(text, mention):
    assert ("programme", mention) in [m[:2] for m in found(text)]


@pytest.mark.parametrize("text, mention, kind", [
    ("Les fédérations hospitalières siègent au comité stratégique régional.", "fédérations hospitalières", "actor"),
    ("Le comité stratégique régional arrête la feuille de route.", "comité stratégique régional", "actor"),
    ("Les établissements pénitentiaires accueillent des détenus.", "établissements pénitentiaires", "actor"),
    ("Une association de parents d'élèves est reçue.", "association de parents d'élèves", "actor"),
    ("Les services numériques de coordination sont ouverts.", "services numériques de coordination", "tool"),
])
def test_bodies_establishments_and_digital_services(text, mention, kind):
    assert (kind, mention) in [m[:2] for m in found(text)]


def test_a_name_stops_before_a_purpose():
    texts = [m[1] for m in found("Le centre hospitalier de Dax pour des consultations de suivi.")]
    assert "centre hospitalier de Dax" in texts and not [t for t in texts if "consultations" in t]


def test_a_town_name_is_whole_and_never_inflected():
    text = "Santé des détenus.\nUn projet à Grenade-sur-l'Adour, à Villeneuve-lès-Avignon et à Avignon."
    places = [m.text for m in extract_mentions(page(text)) if m.type == "territory"]
    assert places == ["Villeneuve-lès-Avignon", "Avignon"]  # not Santes (59), nor Grenade (31)


def test_small_towns_outside_paca_are_known():
    places = [m.label for m in extract_mentions(page("Les consultations de Redon et de Loudéac.")) if m.type == "territory"]
    assert places == ["Redon", "Loudéac"]


def test_regions_merged_in_2016_are_territories():
    mentions = found("De l'Alsace à la Picardie, l'ARS Lorraine et l'ancienne région Limousin.")
    assert [(t, s) for t, s, _, _ in mentions] == [
        ("territory", "Alsace"), ("territory", "Picardie"), ("actor", "ARS Lorraine"), ("territory", "Lorraine"),
        ("territory", "ancienne région Limousin")]


def test_overseas_collectivities_are_territories():
    mentions = found("Les îles du Nord, Saint-Martin et Saint-Barthélemy, relèvent de l'ARS de Guadeloupe.")
    places = {(s, str(iri).rsplit("/", 1)[-1]) for t, s, iri, _ in mentions if t == "territory"}
    assert {("Saint-Martin", "collectivite-978"), ("Saint-Barthélemy", "collectivite-977")} <= places


def test_a_comma_separates_two_places_that_a_longer_name_would_join():
    places = [s for t, s, _, _ in found("Dans le Nord, le Pas-de-Calais et la Somme.") if t == "territory"]
    assert places == ["Nord", "Pas-de-Calais", "Somme"]


def test_an_acronym_defined_before_its_expansion():
    text = "Le CRPA (centre régional de psychotraumatologie adulte) accueille les victimes. Le CRPA forme."
    mentions = [(m.type, m.text, m.label) for m in extract_mentions(page(text)) if m.method == "acronym"]
    assert mentions == [("actor", "CRPA (centre régional de psychotraumatologie adulte)", "centre régional de psychotraumatologie adulte"),
                        ("actor", "CRPA", "centre régional de psychotraumatologie adulte")]
    assert not [m for m in extract_mentions(page("Le XYZ (voir plus bas) est cité.")) if m.method == "acronym"]


def test_a_merged_article_needs_the_real_contraction():
    mentions = found("La création de places de MAS et de FAM.")
    assert [(t, c) for t, _, c, _ in mentions] == [("actor", "actor/mas"), ("actor", "actor/fam")]  # not Le Mas (05)


# --- issue 13, fourth pass: programmes by their head, places spaCy sees, run-ons -------------------


@pytest.mark.parametrize("text, mention", [
    ("Le programme de modernisation des urgences hospitalières sera lancé.",
     "programme de modernisation des urgences hospitalières"),
    ("Elle décline la feuille de route nationale santé mentale 2018-2022 du ministère.",
     "feuille de route nationale santé mentale 2018-2022"),
    ("La stratégie régionale santé-environnement 2020-2024 est adoptée.", "stratégie régionale santé-environnement 2020-2024"),
    ("Le pacte de refondation des urgences prévoit des moyens.", "pacte de refondation des urgences"),
    ("Un plan d'actions régional pour la vaccination est adopté.", "plan d'actions régional pour la vaccination"),
    ("Le programme national de dépistage organisé DEPISTO est étendu.", "programme national de dépistage organisé DEPISTO"),
    # a place's own programme, named by its people's adjective, and a ten-year strategy
    ("Dans le cadre du programme réunionnais de nutrition et de lutte contre le diabète, le CLS agit.",
     "programme réunionnais de nutrition et de lutte contre le diabète"),
    ("Elle suit la stratégie décennale des soins d'accompagnement annoncée en 2024.",
     "stratégie décennale des soins d'accompagnement"),
    # a law named by its kind and its date; a ministry's instruction by its issuers and title
    ("Il tient compte de la loi d'urgence pour Mayotte du 24 février 2025 et du plan.",
     "loi d'urgence pour Mayotte du 24 février 2025"),
    ("L'instruction interministérielle relative aux orientations de l'exercice 2026 fixe les taux.",
     "instruction interministérielle relative aux orientations de l'exercice 2026"),
])
def test_programmes_named_by_their_head_and_what_follows(text, mention):
    assert ("programme", mention) in [m[:2] for m in found(text)]


@pytest.mark.parametrize("text", [
    "La stratégie régionale d'organisation de ces soins est revue.",
    "Le comité arrête la feuille de route annuelle.",
    "Le programme d'actions est validé. Un pacte civil de solidarité est signé.",
    "Un programme humain et solidaire est lancé ; un programme quotidien.",
    "La loi de la majorité des cas ne suffit pas.",
])
def test_generic_uses_of_programme_heads_name_nothing(text):
    assert not [m for m in found(text) if m[0] == "programme"]


def test_a_candidate_programme_keeps_the_known_names_in_it_and_ends_at_its_years():
    mentions = found("Le programme de sécurisation des systèmes d'information des groupements hospitaliers de territoire.")
    assert mentions[0][:2] == ("programme", "programme de sécurisation des systèmes d'information des groupements "
                                            "hospitaliers de territoire")
    assert ("tool", "systèmes d'information") in [m[:2] for m in mentions]  # nested, not hidden


def test_a_capitals_heading_does_not_make_the_state_an_actor():
    mentions = found("ÉTAT DES LIEUX\nLe rôle de l'État et de l'ARS.\nPROJET RÉGIONAL DE SANTÉ DE BRETAGNE")
    assert [m[1] for m in mentions if m[2] == "actor/etat"] == ["État"]
    assert ("territory", "BRETAGNE") in [m[:2] for m in mentions]


def test_small_communes_and_natural_regions_where_spacy_sees_a_place():
    mentions = found("Les EHPAD situés à Château-Salins, Delme et Morhange, dans le Saulnois.")
    places = [(s, c) for t, s, c, _ in mentions if t == "territory"]
    assert places[:3] == [("Château-Salins", "territory/commune-57132"), ("Delme", "territory/commune-57171"),
                          ("Morhange", "territory/commune-57483")]
    assert places[3][0] == "Saulnois" and places[3][1].startswith("candidate/territory/")
    assert not [m for m in found("La Santé est une priorité. Le Taux baisse.") if m[0] == "territory"]


def test_acronyms_a_known_plural_lists_in_brackets_are_of_its_type():
    mentions = found("Les intercommunalités (CINOR, TCO et CASUD) agissent. La CINOR finance.")
    assert [(t, s) for t, s, _, m in mentions if m == "acronym"] == [
        ("actor", "CINOR"), ("actor", "TCO"), ("actor", "CASUD"), ("actor", "CINOR")]


def test_actor_names_stop_before_a_list_of_places():
    texts = [m[1] for m in found("À la sortie des établissements pénitentiaires de Rennes et de Brest, "
                                 "et des maisons d'arrêt de Lille, d'Amiens et de Beauvais.")]
    assert "établissements pénitentiaires" in texts and "maisons d'arrêt" in texts
    assert not [t for t in texts if t.startswith(("établissements pénitentiaires ", "maisons d'arrêt "))]


@pytest.mark.parametrize("text, mention", [
    ("Signataires : Mont-de-Marsan Agglomération et l'ARS.", "Mont-de-Marsan Agglomération"),
    ("Le groupement régional SESAN conduit le projet.", "groupement régional SESAN"),
    ("Le groupe opérationnel de synthèse se réunit.", "groupe opérationnel de synthèse"),
    ("Le centre ressource régional de psychotraumatologie et les équipes mobiles.",
     "centre ressource régional de psychotraumatologie"),
])
def test_intercommunal_bodies_groups_and_resource_centres_are_actors(text, mention):
    assert ("actor", mention) in [m[:2] for m in found(text)]


def test_a_working_group_is_no_body_name():
    assert not [m for m in found("Un groupe de travail régional examinera les délais.") if m[1].startswith("groupe")]


@pytest.mark.parametrize("text, expected", [
    ("Les revues de morbidité et de mortalité sont systématisées.", ("tool", "revues de morbidité et de mortalité")),
    ("Une enquête nationale confidentielle est conduite.", ("tool", "enquête nationale confidentielle")),
    ("Des visites à domicile sont proposées.", ("tool", "visites à domicile")),
    ("Des kits d'hygiène sont distribués.", ("tool", "kits d'hygiène")),
])
def test_acts_and_aids_of_prevention_and_review_are_tools(text, expected):
    assert expected in [(t, s) for t, s, _, _ in found(text)]


def test_an_act_towards_a_body_is_no_tool():
    assert not [s for t, s, _, _ in found("Après consultation du comité régional, le plan est arrêté.")
                if s.startswith("consultation")]


def test_a_name_ends_before_an_article_unless_it_opens_a_proper_name():
    texts = [s for _, s, _, _ in found("Le SAS oriente vers des consultations de médecine générale le jour même. "
                                       "Il accompagne le Syndicat Les Eaux de Mayotte.")]
    assert "consultations de médecine générale" in texts and not [t for t in texts if t.endswith("le jour")]
    assert "Syndicat Les Eaux de Mayotte" in texts


def test_a_verb_read_as_a_noun_after_plan_names_no_plan():
    assert not [s for _, s, _, _ in found("Le plan prévoit une campagne annuelle.") if s.startswith("plan")]
    assert ("programme", "plan canicule") in [(t, s) for t, s, _, _ in found("Le plan canicule est activé.")]


def test_a_name_ends_before_an_ordinal_time():
    texts = [s for _, s, _, _ in found("L'entretien prénatal précoce du quatrième mois de grossesse est proposé.")]
    assert "entretien prénatal précoce" in texts and not [t for t in texts if "quatrième" in t]


def test_health_security_instruments_from_the_vocabulary():
    kinds = {s: (t, c) for t, s, c, _ in found(
        "L'ARS active la veille saisonnière ; la vigilance orange déclenche le plan de gestion des tensions "
        "hospitalières, et un retour d'expérience suit les signalements d'événements indésirables graves.")}
    assert kinds["veille saisonnière"] == ("tool", "tool/veille-saisonniere")
    assert kinds["plan de gestion des tensions hospitalières"][1] == "tool/plan-tensions-hospitalieres"
    assert kinds["retour d'expérience"][1] == "tool/retex"
    assert kinds["signalements d'événements indésirables graves"][1] == "tool/eigs"


@pytest.mark.parametrize("text, expected", [
    ("Le fonds air-bois est étendu à la vallée de la Maurienne et au bassin grenoblois.",
     {"vallée de la Maurienne", "bassin grenoblois"}),
    ("Les communes isolées des fleuves Maroni et Oyapock ne sont accessibles que par avion.", {"fleuves Maroni et Oyapock"}),
    ("Le bassin minier et le plateau de Millevaches sont prioritaires.", {"bassin minier", "plateau de Millevaches"}),
])
def test_places_named_by_a_geographic_head(text, expected):
    assert expected <= {s for t, s, _, _ in found(text) if t == "territory"}


def test_a_geographic_head_inside_a_name_or_before_a_comma_names_no_place_of_its_own():
    territories = {s for t, s, _, _ in found("Le SAMSAH de L'Île-Rousse dessert l'île, Groix comprise, et les pays voisins.")
                   if t == "territory"}
    assert "Île-Rousse" not in territories and "île, Groix" not in territories
    assert not [s for s in territories if s.startswith("pays")]


def test_where_a_service_is_set_is_no_part_of_its_name():
    mentions = found("Le plan étend le dispositif à la vallée de la Maurienne.")
    assert not [s for t, s, _, _ in mentions if t == "tool" and "vallée" in s]
    assert ("territory", "vallée de la Maurienne") in [(t, s) for t, s, _, _ in mentions]


def test_the_other_names_of_a_series_of_places_are_places():
    territories = {s for t, s, _, _ in found("Les naissances ont lieu dans les maternités de Dzoumogné, Kahani, "
                                             "Mramadoudou et Petite-Terre, et au CHM de Mamoudzou.")
                   if t == "territory"}
    assert {"Dzoumogné", "Kahani", "Mramadoudou", "Petite-Terre"} <= territories
    people = {s for t, s, _, _ in found("Le comité réunit Martin, Durand, Petit et Lefebvre chaque mois.") if t == "territory"}
    assert not people


def test_kinds_of_area_of_the_overseas_and_of_radon_zoning():
    kinds = {s: c for t, s, c, _ in found("Les quartiers d'habitat spontané et les communes de l'intérieur sont "
                                          "prioritaires, comme les communes en zone à potentiel radon.") if t == "territory"}
    assert kinds["quartiers d'habitat spontané"] == "territory/quartier-habitat-informel"
    assert kinds["communes de l'intérieur"] == "territory/zone-isolee"
    assert kinds["zone à potentiel radon"] == "territory/zone-potentiel-radon"


def test_no_mention_runs_from_a_heading_into_the_paragraph_under_it():
    text = ("### 3.2 Populations des sites d'orpaillage\n\nLes personnes travaillant sur les sites d'orpaillage illégal, "
            "souvent venues du Brésil, sont exposées au paludisme.")
    mentions = extract_mentions(page(text))
    assert mentions and not [m.text for m in mentions if "\n" in m.text]


def test_a_hyphen_keeps_a_pronoun_inside_a_brand_name():
    assert "dispositif Un chez-soi d'abord" in [s for _, s, _, _ in found(
        "Dans l'Ouest guyanais, un dispositif Un chez-soi d'abord sera étudié.")]


def test_groups_named_by_a_plural_head_and_what_sets_them_apart():
    populations = {s for t, s, _, _ in found(
        "Les ménages modestes, les patients asthmatiques, les mères isolées et les enfants de moins de six ans "
        "sont prioritaires, comme les adultes autistes.") if t == "population"}
    assert {"ménages modestes", "patients asthmatiques", "mères isolées", "enfants de moins de six ans",
            "adultes autistes"} <= populations


def test_no_group_in_a_profession_a_legal_person_or_a_role():
    populations = {s for t, s, _, _ in found(
        "Les sages-femmes libérales, les personnes morales et les personnes qualifiées siègent ; "
        "les familles concernées sont informées.") if t == "population"}
    assert not [s for s in populations if " " in s], populations
