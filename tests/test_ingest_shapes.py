"""Heading shapes of plans the parser was not written for (issue 13): one small page per
mechanism, written for these tests (not taken from a blind set)."""
from __future__ import annotations

from ingest.clean import is_footer
from ingest.pipeline import document_from_text
from tests.test_ingest_properties import assert_tree_invariants

BODY = "L'ARS finance le dispositif avec le conseil départemental."


def _tree(name: str, text: str) -> dict:
    """{key: parent key} of a page's body sections (the page's own heading left out)."""
    return _body_tree(document_from_text(name, text))


def _body_tree(doc) -> dict:
    """{key: parent key} of a parsed page's body sections, its tree checked first."""
    assert_tree_invariants(doc)
    return {s.key: s.parent for s in doc.sections if s.title != doc.title and not s.from_breadcrumb}


def _html(body: str) -> str:
    return f"<html><head><title>Plan</title></head><body><main><h1>Plan</h1>{body}</main></body></html>"


def test_level_labels_of_other_plans_nest_by_their_numbers():
    text = (f"Volet psychiatrie\n\nAmbition 1 – Repérer plus tôt\n\n{BODY}\n\nLevier 1.1 : Former les acteurs\n\n"
            f"{BODY}\n\nLevier 1.2 : Ouvrir des consultations\n\n{BODY}\n\nAmbition 2 – Soigner\n\n{BODY}\n\n"
            f"Défi 3. Inclure\n\n{BODY}\n\nFiche 4 : Loger\n\n{BODY}\n")
    tree = _tree("ambitions.txt", text)
    assert tree["Levier 1.1"] == "Ambition 1" and tree["Levier 1.2"] == "Ambition 1"
    assert "Ambition 2" in tree and "Défi 3" in tree and "Fiche 4" in tree


def test_a_number_extending_its_holders_stays_inside_whatever_the_labels():
    """`Orientation 2.1` under `Objectif 2`: the plan's own numbers say where it goes, even where
    the usual order of the labels (orientation above objective) says otherwise."""
    text = (f"Plan\n\nObjectif 1 : Prévenir\n\n{BODY}\n\nOrientation 1.1 : Repérer\n\n{BODY}\n\n"
            f"Orientation 1.2 : Orienter\n\n{BODY}\n\nObjectif 2 : Soigner\n\n{BODY}\n")
    tree = _tree("extends.txt", text)
    assert tree["Orientation 1.1"] == "Objectif 1" and tree["Orientation 1.2"] == "Objectif 1"
    assert tree["Objectif 2"] is None


def test_roman_parts_numbered_on_in_arabic():
    html = _html(f"<h2>I – Contexte</h2><p>{BODY}</p><h3>I.1 Un public en rupture</h3><p>{BODY}</p>"
                 f"<h3>I.2 L'offre existante</h3><p>{BODY}</p><h2>II – Cadre juridique</h2><p>{BODY}</p>"
                 f"<h3>II.1 Textes</h3><p>{BODY}</p>")
    tree = _tree("aap.html", html)
    assert tree == {"I": "Plan", "I.1": "I", "I.2": "I", "II": "Plan", "II.1": "II"}


def test_letters_with_arabic_subdivisions_under_a_labelled_part():
    text = (f"Contrat\n\nVolet A – Accompagnement\n\n{BODY}\n\nAction A.1 – Parcours\n\n{BODY}\n\n"
            f"Action A.2 – Emploi\n\n{BODY}\n\nVolet B – Qualité\n\n{BODY}\n\nAction B.1 – Évaluation\n\n{BODY}\n")
    tree = _tree("cpom.txt", text)
    assert tree["Action A.1"] == "Volet A" and tree["Action A.2"] == "Volet A" and tree["Action B.1"] == "Volet B"


def test_slash_numbers_running_straight_through_letters():
    text = (f"Rapport\n\nA/ Le cadre national\n\n1/ L'objectif de dépenses\n\n{BODY}\n\n2/ Les mesures salariales\n\n"
            f"{BODY}\n\nB/ Les personnes âgées\n\n3/ EHPAD : forfait soins\n\n{BODY}\n\nIl reste 1/ 2 des places.\n")
    tree = _tree("rob.txt", text)
    assert tree == {"A": None, "1": "A", "2": "A", "B": None, "3": "B"}


def test_setext_headings_underlined_with_equals_and_dashes():
    text = (f"PROGRAMME INTERDÉPARTEMENTAL\n\n\n1. Cadre du programme\n=====================\n\n"
            f"Un outil de programmation\n-------------------------\n\n{BODY}\n\n2. Les moyens\n=============\n\n"
            f"{BODY}\n\nSous-titre court\n---\n\n{BODY}\n\n---\n\n{BODY}\n")
    doc = document_from_text("priac.txt", text)
    tree = _body_tree(doc)
    assert tree == {"1": None, "Un outil de programmation": "1", "2": None, "Sous-titre court": "2"}
    assert "=====" not in doc.text and "Sous-titre court\n---" not in doc.text


def test_markdown_wiki_export_furniture_and_levels():
    """The comment, the metadata quote, `[[_TOC_]]` and the categories are no part of the plan;
    the `##` after an axis's `###` is the axis's sibling."""
    text = ("<!-- Export du wiki interne – page 212 -->\n# Plan santé environnement\n\n"
            "> Page maintenue par le service. Statut : version soumise.\n\n[[_TOC_]]\n\n## Contexte\n\n"
            f"{BODY}\n\n## Axe 1 — L'eau potable\n\n### 1.1 — Sécuriser l'eau\n\n{BODY}\n\n"
            f"## Gouvernance et suivi\n\n{BODY}\n\n[[Catégorie:PRS]] [[Catégorie:Santé]]\n")
    doc = document_from_text("prse.txt", text)
    assert doc.title == "Plan santé environnement"
    assert _body_tree(doc) == {
        "Contexte": doc.title, "Axe 1": doc.title, "1.1": "Axe 1", "Gouvernance et suivi": doc.title}
    assert "Export du wiki" not in doc.text and "[[" not in doc.text
    quote = doc.text.index("> Page")
    assert any(start <= quote < end for start, end in doc.meta_spans)


def test_html_unnumbered_heading_after_a_numbered_one_of_the_same_level_is_its_sibling():
    html = _html(f"<h2>Axe 1 - Prévenir</h2><h3>Repérer</h3><p>{BODY}</p><h2>Axe 2 - Soigner</h2>"
                 f"<h3>Traiter</h3><p>{BODY}</p><h2>Indicateurs de suivi</h2><p>{BODY}</p>")
    tree = _tree("levels.html", html)
    assert tree["Repérer"] == "Axe 1" and tree["Traiter"] == "Axe 2"
    assert tree["Indicateurs de suivi"] == "Plan"


def test_accordion_summaries_head_what_they_fold():
    html = _html(
        f"<h2>Constats</h2><p>{BODY}</p><div class='accordeon'>"
        f"<details><summary>Défi 1. Réduire la mortalité</summary><p>{BODY}</p><h3>Sécuriser les transferts</h3>"
        f"<p>{BODY}</p></details>"
        f"<details><summary>Accompagner les parents</summary><h3>Soutenir la sortie</h3><p>{BODY}</p></details>"
        f"</div><h2>Indicateurs</h2><p>{BODY}</p>")
    tree = _tree("accordion.html", html)
    assert tree["Défi 1"] == "Plan" and tree["Sécuriser les transferts"] == "Défi 1"
    assert tree["Accompagner les parents"] == "Plan" and tree["Soutenir la sortie"] == "Accompagner les parents"
    assert tree["Indicateurs"] == "Plan" and tree["Constats"] == "Plan"


def test_cms_block_of_related_pages_is_furniture():
    html = _html(f"<h2>Orientations</h2><p>{BODY}</p><div class='block related-content'><h2>Sur le même thème</h2>"
                 "<ul><li><a href='/x'>Autre page</a></li></ul></div>")
    doc = document_from_text("related.html", html)
    assert [s.title for s in doc.sections] == ["Plan", "Orientations"] and "Autre page" not in doc.text


def test_heading_of_a_list_of_files_is_furniture_but_not_when_it_holds_text():
    html = _html(f"<h2>Orientations</h2><p>{BODY}</p><h2>Télécharger</h2><ul><li><a href='/a.pdf'>Le schéma (PDF)</a>"
                 "</li></ul>")
    doc = document_from_text("files.html", html)
    assert [s.title for s in doc.sections] == ["Plan", "Orientations"] and "Le schéma (PDF)" not in doc.text
    kept = document_from_text("files.html", html.replace("<ul>", f"<p>{BODY * 4}</p><ul>"))
    assert [s.title for s in kept.sections] == ["Plan", "Orientations", "Télécharger"]


def test_header_lines_under_the_title_line_are_not_sections():
    text = (f"Agence régionale de santé de Corse\nProjet régional de santé 2023-2028\nVolet santé mentale\n\n"
            f"Préambule\n\n{BODY}\n\nAmbition 1 – Repérer\n\n{BODY}\n")
    doc = document_from_text("header.txt", text)
    assert [s.key for s in doc.sections if s.title != doc.title] == ["Préambule", "Ambition 1"]
    assert doc.title == "Projet régional de santé 2023-2028"  # the issuer above it is its letterhead


def test_run_in_fields_are_not_headings():
    text = (f"Fiche action\n\nArticle 1 – Objet\n\n{BODY}\n\nConstat : un taux d'occupation de 80 %\n\n"
            f"Cibles : 20 travailleurs en 2027\n\n{BODY}\n")
    assert _tree("fields.txt", text) == {"Article 1": None}


def test_glossary_entries_are_not_headings_but_one_labelled_heading_is():
    text = (f"Schéma\n\nEHPAD : centres de ressources\n\n{BODY}\n\nGlossaire\n\nARS : agence régionale de santé\n\n"
            "CMP : centre médico-psychologique\n\nESAT : établissement et service d'aide par le travail\n")
    assert _tree("glossary.txt", text) == {"EHPAD : centres de ressources": None, "Glossaire": None}


def test_signature_lines_closing_a_contract_are_not_headings():
    text = (f"Contrat pluriannuel\n\nArticle 1 – Objet\n\n{BODY}\n\nFait à Montpellier, le 3 mars 2026\n\n"
            "Pour l'ARS Occitanie\n\nLe directeur général\nDidier Martin\n\n"
            "Pour l'association Les Genêts\n\nLa présidente\nClaire Roux\n")
    assert _tree("signatures.txt", text) == {"Article 1": None}


def test_caption_of_a_table_flattened_to_text_is_not_a_heading():
    text = (f"Rapport\n\n1. Les moyens\n\n{BODY}\n\nRépartition de la dotation (en millions d'euros)\n\n"
            "Secteur          2025      2026\nPersonnes âgées  18,4      16,9\n\n"
            f"2. Les priorités\n\n{BODY}\n")
    assert _tree("table.txt", text) == {"1": None, "2": None}


def test_french_outline_down_to_small_letters():
    text = (f"Programme\n\nI. Les constats\n\nA. L'accès aux droits\n\n1. Les publics\n\n{BODY}\n\n"
            f"a. Les personnes migrantes\n\n{BODY}\n\nb. Les jeunes\n\n{BODY}\n\nII. Les actions\n\n"
            f"A. Aller vers\n\n{BODY}\n\nLes priorités sont :\na. former ;\nb. orienter.\n")
    tree = _tree("outline.txt", text)
    assert tree["a"] == "1" and tree["b"] == "1" and tree["1"] == "I.A" and tree["II.A"] == "II"
    assert len(tree) == 7  # the `a.`/`b.` list under « sont : » stays a list


def test_definition_list_terms_are_not_headings_even_in_bold():
    html = _html("<dl><dt><strong>Autorité compétente</strong></dt><dd>Le directeur général</dd>"
                 f"<dt><b>Objet</b></dt><dd>Création de 15 lits</dd></dl><h2>I – Contexte</h2><p>{BODY}</p>")
    assert _tree("dl.html", html) == {"I": "Plan"}


def test_you_are_on_path_line_is_a_breadcrumb():
    text = f"Vous êtes sur : Accueil > Offre de soins > Imagerie médicale\n\nImagerie médicale\n\n{BODY}\n"
    doc = document_from_text("path.txt", text)
    assert doc.breadcrumb == ["Accueil", "Offre de soins", "Imagerie médicale"]


def test_themes_hold_their_stakes():
    text = (f"Projet territorial\n\nThème 1 - Repérer tôt\n\nEnjeu 1.1 - Raccourcir les délais\n\n{BODY}\n\n"
            f"Enjeu 1.2 - Former\n\n{BODY}\n\nThème 2 - Loger\n\nEnjeu 2.1 - Ouvrir des places\n\n{BODY}\n")
    tree = _tree("themes.txt", text)
    assert tree["Enjeu 1.1"] == tree["Enjeu 1.2"] == "Thème 1" and tree["Enjeu 2.1"] == "Thème 2"
    assert tree["Thème 2"] is None


def test_marked_lines_alone_are_sub_headings_and_marked_runs_are_lists():
    """`■ Title` between blank lines, before a paragraph, heads a sub-section of the heading in
    capitals above it; marks in a row, even spaced out, stay list items."""
    text = (f"Volet addictions\n\n\nÉTAT DES LIEUX\n\n■ Des consommations précoces\n\n{BODY} {BODY}\n\n"
            f"■ Une offre concentrée\n\n{BODY} {BODY}\n\nSOINS\n\n{BODY}\n\n■ premier point\n\n■ second point\n\n"
            f"{BODY} {BODY}\n")
    doc = document_from_text("marks.txt", text)
    assert_tree_invariants(doc)
    tree = {s.title: s.parent for s in doc.sections}
    assert tree["Des consommations précoces"] == tree["Une offre concentrée"] == "ÉTAT DES LIEUX"
    assert "premier point" not in tree and "second point" not in tree
    assert not [t for t in tree if t.startswith("■")]  # the mark is not part of the title


def test_a_letterhead_is_not_the_title():
    """The issuer and its service printed above the plan's name are header, not the title."""
    text = (f"AGENCE RÉGIONALE DE SANTÉ NORMANDIE\nDirection de l'offre médico-sociale\n\n"
            f"PROGRAMME RÉGIONAL D'ACCÈS À LA PRÉVENTION ET AUX SOINS\nActualisation 2025\n\n"
            f"1. Cadre\n\n{BODY}\n\n2. Moyens\n\n{BODY}\n")
    doc = document_from_text("letterhead.txt", text)
    assert doc.title == "PROGRAMME RÉGIONAL D'ACCÈS À LA PRÉVENTION ET AUX SOINS"
    assert [s.key for s in doc.sections if s.title != doc.title] == ["1", "2"]
    # a plan's name right under the issuer is the title
    plain = document_from_text("issuer.txt", f"ARS Bretagne\nStratégie régionale de prévention du suicide\n\n1. Cadre\n\n{BODY}\n")
    assert plain.title == "Stratégie régionale de prévention du suicide"


def test_co_signers_on_one_letterhead_line_and_dated_fields_are_header():
    text = (f"Commune de Saint-Pierre - ARS La Réunion - Préfecture de La Réunion\n\n"
            f"CONTRAT LOCAL DE SANTÉ DE SAINT-PIERRE\n\nDate limite de dépôt : 30 mai 2025\n\n"
            f"1. Cadre\n\n{BODY}\n\n2. Moyens\n\n{BODY}\n")
    doc = document_from_text("cosigned.txt", text)
    assert doc.title == "CONTRAT LOCAL DE SANTÉ DE SAINT-PIERRE"
    assert [s.key for s in doc.sections if s.title != doc.title] == ["1", "2"]


def test_headings_ending_with_a_full_stop_when_the_page_writes_them_so():
    text = (f"Cahier des charges\n\n\nPréambule.\n\n{BODY}\n\n1 – Contexte et cadre juridique.\n\n"
            f"1.1 – Le cadre national.\n\n{BODY}\n\n2 – Financement.\n\n{BODY}\n\nCalendrier et contacts.\n\n"
            f"{BODY}\n\nLe dossier est complet.\n\n{BODY}\n")
    doc = document_from_text("stops.txt", text)
    assert_tree_invariants(doc)
    titles = {s.title: s.parent for s in doc.sections if s.title != doc.title}
    assert titles["Le cadre national"] == "1" and "Contexte et cadre juridique" in titles
    assert "Préambule" in titles and "Calendrier et contacts" in titles
    assert "Le dossier est complet" not in titles  # a sentence of four words alone is kept as text...
    # ...and one stop-ended numbered line alone does not turn a page's short sentences into headings
    single = document_from_text("one.txt", f"Plan\n\n1 – Contexte.\n\n{BODY}\n\nLe dossier est complet.\n\n{BODY}\n")
    assert not [s for s in single.sections if s.title.startswith("Le dossier")]


def test_lettered_parts_in_brackets_run_on_across_axes_and_c_is_no_copyright():
    text = (f"Contrat local de santé\n\nAXE 1 : ACCÈS AUX SOINS\n\n(a) Favoriser l'installation\n\n{BODY}\n\n"
            f"(b) Garantir les droits\n\n{BODY}\n\nAXE 2 : PRÉVENTION\n\n(c) Prévenir le diabète\n\n{BODY}\n\n"
            f"(d) Bouger plus\n\n{BODY}\n")
    tree = _tree("brackets.txt", text)
    assert tree["a"] == tree["b"] == "Axe 1" and tree["c"] == tree["d"] == "Axe 2"
    for footer in ("(c) actimeo - mentions légales", "(c) ARS Bretagne - Plan du site", "(C) 2024 ARS"):
        assert is_footer(footer), footer


def test_bold_spans_of_a_word_processor_export_head_sections():
    """LibreOffice writes headings as paragraphs whose text is a bold span inside a font span,
    with measures numbered by letter and digit (`Mesure A1`)."""
    bold = '<p><span style="font-size: 13pt"><span style="font-weight: bold">{}</span></span></p>'
    body = (bold.format("Orientation A. Structurer l'offre") + f"<p>{BODY}</p>"
            + bold.format("Mesure A1 - Compléter le maillage") + f"<p>{BODY}</p>"
            + bold.format("Mesure A2 - Conforter les équipes") + f"<p>{BODY}</p>"
            + '<p><span style="font-weight: bold">Une phrase</span> suivie de texte.</p>')
    tree = _tree("bold.html", _html(body))
    assert tree["Mesure A1"] == tree["Mesure A2"] == "Orientation A"
    assert not [key for key in tree if "phrase" in key]


def test_font_sizes_of_bold_paragraphs_give_their_levels_under_a_letterhead_paragraph():
    """Without heading tags, a word processor's export shows the level by the font size: the
    plan's name (largest) under the issuer's letterhead is the title, and an unnumbered heading
    at the size of `Orientation B.` closes it rather than nesting in its last measure."""
    def bold(size, text):
        return f'<p><span style="font-size: {size}"><span style="font-weight: bold">{text}</span></span></p>'
    body = ("<p>Agence régionale de santé Bretagne – Direction de l'offre de soins</p>"
            + bold("20pt", "Plan régional des soins palliatifs 2024-2028")
            + bold("13pt", "Orientation A. Structurer l'offre") + f"<p>{BODY}</p>"
            + bold("11pt", "Mesure A1 - Compléter le maillage") + f"<p>{BODY}</p>"
            + bold("13pt", "Orientation B. Diffuser la culture") + f"<p>{BODY}</p>"
            + bold("11pt", "Mesure B1 - Former") + f"<p>{BODY}</p>"
            + bold("17.3px", "Pilotage et calendrier") + f"<p>{BODY}</p>")  # 13pt in pixels
    html = f"<html><head><title>Soins palliatifs - ARS</title></head><body>{body}</body></html>"
    doc = document_from_text("sizes.html", html)
    assert doc.title == "Plan régional des soins palliatifs 2024-2028"
    tree = _tree("sizes.html", html)
    assert tree["Mesure A1"] == "Orientation A" and tree["Mesure B1"] == "Orientation B"
    assert tree["Pilotage et calendrier"] == tree["Orientation B"]  # siblings, both under the title


# --- issue 13, fifth pass: contracts, tables of contents, `<br>` layouts, definition-list outlines ---


def test_a_contract_of_articles_then_an_annex_of_objectives():
    text = (f"AGENCE RÉGIONALE DE SANTÉ DE NORMANDIE\nCONSEIL DÉPARTEMENTAL DE L'ORNE\n\n"
            f"CONTRAT PLURIANNUEL D'OBJECTIFS ET DE MOYENS 2026-2030\n\nPréambule\n\n{BODY}\n\n"
            f"Article 1er - Objet\n\n{BODY}\n\nArticle 2 - Durée\n\n{BODY}\n\n"
            f"Annexe 1 - Fiches objectifs\n\nObjectif n°1 : Réduire les délais\n\n{BODY}\n\n"
            f"Objectif n°2 : Ouvrir une antenne\n\n{BODY}\n")
    doc = document_from_text("cpom.txt", text)
    assert doc.title == "CONTRAT PLURIANNUEL D'OBJECTIFS ET DE MOYENS 2026-2030"  # both letterhead lines are header
    tree = _tree("cpom.txt", text)
    assert set(tree) == {"Préambule", "Article 1er", "Article 2", "Annexe 1", "Objectif 1", "Objectif 2"}
    assert tree["Objectif 1"] == tree["Objectif 2"] == "Annexe 1"
    assert tree["Annexe 1"] == tree["Article 2"] == tree["Article 1er"]  # siblings under the page


def test_a_table_of_contents_repeating_the_headings_is_not_sections():
    entries = ["Introduction", "Mission socle n°1 - Faciliter l'accès au médecin traitant :",
               "    Fiche-action 1.1 - Recenser les patients", "Pilotage"]
    text = (f"PROJET DE SANTÉ DE LA CPTS DU BOCAGE\n\nVersion 3 - période 2026-2031\n\nSOMMAIRE\n\n"
            + "\n".join(entries) + f"\n\n\nIntroduction\n\n{BODY}\n\n{entries[1]}\n\n{entries[2].strip()}\n\n"
            f"{BODY}\n\nPilotage\n\n{BODY}\n")
    tree = _tree("toc.txt", text)
    assert tree == {"Introduction": None, "Mission socle 1": None,
                    "Fiche-action 1.1": "Mission socle 1", "Pilotage": None}
    doc = document_from_text("toc.txt", text)
    assert next(s for s in doc.sections if s.key == "Mission socle 1").title == "Faciliter l'accès au médecin traitant"
    # a `Sommaire` whose lines never come again is text, not a table of contents
    kept = document_from_text("summary.txt", f"Plan\n\nSommaire\n\nCe plan compte deux parties.\nLa première traite de l'accès.\n\n1. Accès\n\n{BODY}\n")
    assert "Ce plan compte deux parties." in kept.text


def test_a_long_labelled_heading_holds_the_labelled_headings_under_it():
    mission = ("Mission socle n°2 - Organiser la prise en charge des soins non programmés en ville, en lien avec le "
               "service d'accès aux soins du département, les services d'urgences du territoire, la régulation "
               "libérale et les maisons médicales de garde du secteur, en priorité pour les patients sans médecin :")
    assert len(mission.split()) > 40
    text = f"Projet de santé\n\n{mission}\n\nFiche-action 2.1 - Créer des créneaux\n\n{BODY}\n"
    assert _tree("long.txt", text) == {"Mission socle 2": None, "Fiche-action 2.1": "Mission socle 2"}
    alone = f"Projet de santé\n\n{mission}\n\n{BODY}\n"  # followed by text only, it stays text
    assert "Mission socle 2" not in _tree("long-alone.txt", alone)


def test_bold_lines_between_br_of_a_font_layout_are_headings():
    body = (f'<font face="Verdana" size="2"><font size="4"><b>Plan régional diabète 2024-2028</b></font><br>'
            f"<i>Mis en ligne le 4 juillet 2024</i><br><br><b>Préambule</b><br>{BODY}<br><br>"
            f"<b>1°) Connaître l'épidémie</b><br>{BODY}<br><br><b>2°) Prévenir</b><br>{BODY}<br><br>"
            f"<b><i>En milieu scolaire</i></b><br>{BODY}<br><b>Une phrase en gras</b> puis du texte.<br><br>"
            f"<b>Pilotage du plan</b><br>{BODY}</font>")
    html = f"<html><head><title>ARS - Plan regional diabete</title></head><body><div id='contenu'>{body}</div></body></html>"
    doc = document_from_text("br.html", html)
    assert doc.title == "Plan régional diabète 2024-2028"
    tree = _tree("br.html", html)
    top = doc.title  # the larger bold line heads the page, as an <h1> would
    assert tree == {"Préambule": top, "1°": top, "2°": top, "En milieu scolaire": "2°", "Pilotage du plan": top}


def test_definition_terms_that_head_paragraphs_are_the_outline():
    html = _html("<dl><dt>&sect;&nbsp;1 – Cadre</dt><dd><p>" + BODY + "</p><p>" + BODY + "</p></dd>"
                 "<dt>&sect;&nbsp;2 – Priorités</dt><dd><dl><dt>Le contrôle des EHPAD</dt><dd><p>" + BODY
                 + "</p></dd><dt>Les centres de santé</dt><dd><p>" + BODY + "</p></dd></dl></dd></dl>"
                 "<dl><dt>Pilote</dt><dd>ARS</dd></dl>")
    tree = _tree("dl-outline.html", html)
    assert tree == {"§ 1": "Plan", "§ 2": "Plan", "Le contrôle des EHPAD": "§ 2", "Les centres de santé": "§ 2"}


def test_a_pdf_converted_line_by_line_is_read_as_paragraphs_and_sized_headings():
    """pdftohtml sets each printed line at an absolute `top`; lines of one class a line's spacing
    apart are one paragraph (or one wrapped heading) again, and the classes' sizes level the bold lines."""
    def line(top, cls, text):
        return f'<p style="position:absolute;top:{top}px;left:94px;white-space:nowrap" class="{cls}">{text}</p>'
    css = ("<style type='text/css'><!-- .ft10{font-size:11px;} .ft11{font-size:27px;} .ft13{font-size:19px;} "
           ".ft14{font-size:15px;} .ft15{font-size:12px;} --></style>")
    rows = [(54, "ft10", "ARS Picardie – Plan régional antibiorésistance 2024-2028"),
            (190, "ft11", "<b>Plan régional de prévention</b>"), (226, "ft11", "<b>des infections 2024-2028</b>"),
            (376, "ft13", "<b>Objectif&#160;n°1&#160;–&#160;Connaître</b>"),
            (417, "ft14", "<b>Action&#160;n°1.1&#160;–&#160;Surveiller les résistances des laboratoires de</b>"),
            (436, "ft14", "<b>biologie médicale</b>"),
            (470, "ft15", "Les laboratoires du Pas-"), (487, "ft15", "de-Calais participent au réseau."),
            (513, "ft15", "Un second paragraphe."),
            (560, "ft13", "<b>Gouvernance du plan</b>"), (600, "ft15", BODY)]
    html = ("<html><head><title>PRPIA_2024_version_adoptee</title></head><body><div style='position:relative'>"
            + css + "".join(line(*row) for row in rows) + "</div></body></html>")
    doc = document_from_text("pdftohtml.html", html)
    assert doc.title == "Plan régional de prévention des infections 2024-2028"
    action = next(s for s in doc.sections if s.key == "Action 1.1")
    assert action.title == "Surveiller les résistances des laboratoires de biologie médicale"
    assert "Les laboratoires du Pas-de-Calais participent au réseau.\n" in doc.text
    tree = _tree("pdftohtml.html", html)
    assert tree["Action 1.1"] == "Objectif 1" and tree["Gouvernance du plan"] == tree["Objectif 1"]


def test_aria_heading_roles_are_headings_at_their_level():
    html = ("<html><head><title>PRAPS – site</title></head><body>"
            "<div role='heading' aria-level='1'>Programme régional d'accès à la prévention et aux soins</div>"
            f"<div role='heading' aria-level='2'>Introduction</div><div class='para'>{BODY}</div>"
            f"<div role='heading' aria-level='2'>Priorité 1 – Aller vers</div><div role='heading' aria-level='3'>1.1 Médiation"
            f"</div><div class='para'>{BODY}</div><div role='heading' aria-level='2'>Évaluation</div><div>{BODY}</div>"
            "</body></html>")
    doc = document_from_text("aria.html", html)
    assert doc.title == "Programme régional d'accès à la prévention et aux soins"
    tree = _tree("aria.html", html)
    top = doc.title
    assert tree == {"Introduction": top, "Priorité 1": top, "1.1": "Priorité 1", "Évaluation": top}


def test_a_first_h1_numbered_like_later_ones_is_a_part_not_the_title():
    """A word processor's export puts every part in an <h1> (`A. Contexte`, `B. Cahier des charges`):
    the first is the body's first part, a sibling of the others, not the page's title."""
    html = ("<html><head><title>Appel à candidatures – ARS</title></head><body>"
            f"<h1>A. Contexte</h1><h2>A.1 Le cadre</h2><p>{BODY}</p><h1>B. Cahier des charges</h1>"
            f"<h2>B.1 Public</h2><p>{BODY}</p></body></html>")
    doc = document_from_text("parts.html", html)
    assert doc.title == "Appel à candidatures – ARS"
    assert _tree("parts.html", html) == {"A": None, "A.1": "A", "B": None, "B.1": "B"}


def test_headings_numbered_by_spelled_out_ordinals():
    text = (f"Feuille de route\n\nPremière partie : Développer l'offre\n\nObjectif 1 : Couvrir le territoire\n\n{BODY}\n\n"
            f"Objectif 2 : Former\n\n{BODY}\n\nDeuxième partie — Accompagner\n\nObjectif 3 : Soutenir\n\n{BODY}\n\n"
            f"Titre premier - Dispositions finales\n\n{BODY}\n")
    tree = _tree("ordinaux.txt", text)
    assert tree == {"Première partie": None, "Objectif 1": "Première partie", "Objectif 2": "Première partie",
                    "Deuxième partie": None, "Objectif 3": "Deuxième partie", "Titre premier": None}


def test_roman_parts_divided_by_letters_then_numbers():
    text = (f"Schéma\n\nI. PRÉVENIR\n\nI.A Repérer la fragilité\n\nI.A.1 Le programme ICOPE\n\n{BODY}\n\n"
            f"I.A.2 Les chutes\n\n{BODY}\n\nI.B Adapter le logement\n\n{BODY}\n\nII. SOUTENIR\n\n"
            f"II.A Les plateformes\n\n{BODY}\n")
    tree = _tree("outline.txt", text)
    assert tree == {"I": None, "I.A": "I", "I.A.1": "I.A", "I.A.2": "I.A", "I.B": "I", "II": None, "II.A": "II"}


def test_closed_small_letters_head_paragraphs_but_number_spaced_out_lists():
    text = (f"Programme\n\nPriorité 1 - Aller vers\n\na) Renforcer les équipes mobiles\n\n{BODY}\n\n"
            f"b) Développer les permanences\n\n{BODY}\n\nPriorité 2 - Les droits\n\nLes mesures sont :\n\n"
            f"a) l'ouverture des droits ;\n\nb) la domiciliation.\n\n{BODY}\n")
    doc = document_from_text("lettres.txt", text)
    tree = _body_tree(doc)
    assert tree == {"Priorité 1": None, "a": "Priorité 1", "b": "Priorité 1", "Priorité 2": None}
    assert "la domiciliation" in doc.sections[-1].text


def test_an_issuer_line_under_the_title_is_its_letterhead_even_after_a_blank_line():
    tree = _tree("letterhead.txt", f"Programme régional de santé mentale\n\nAgence régionale de santé Bretagne\n\n"
                                   f"1. Prévenir\n\n{BODY}\n\n2. Soigner\n\n{BODY}\n")
    assert tree == {"1": None, "2": None}


def test_headings_inside_numbered_list_items_under_a_title_set_in_large_bold():
    """LibreOffice numbers its headings with lists (`<ol><li><h1>`); the plan's name above them is
    a large bold paragraph, the start of the `<title>`."""
    html = ('<html><head><title>Plan régional santé environnement</title></head><body>'
            '<p align="center"><font size="5"><b>Plan régional santé environnement 2022-2026</b></font></p>'
            f'<ol><li><h1>Un environnement favorable</h1></li></ol><p>{BODY}</p>'
            f'<ol><ol><li><h2>Qualité de l\'air</h2></li></ol></ol><p>{BODY}</p>'
            f'<ol start="2"><li><h1>Les eaux de baignade</h1></li></ol><p>{BODY}</p></body></html>')
    doc = document_from_text("lo.html", html)
    assert doc.title == "Plan régional santé environnement 2022-2026"
    tree = {s.title: s.parent for s in doc.sections if s.title != doc.title}
    assert tree == {"Un environnement favorable": doc.sections[0].key, "Qualité de l'air": "Un environnement favorable",
                    "Les eaux de baignade": doc.sections[0].key}


def test_accordion_buttons_head_the_panels_they_fold():
    html = _html('<button aria-expanded="false" aria-controls="p1">Engagement 1 : Repérer tôt</button>'
                 f'<div id="p1" hidden><p>{BODY}</p></div>'
                 '<button aria-expanded="false" aria-controls="p2">Engagement 2 : Scolariser</button>'
                 f'<div id="p2" class="panel" style="display:none"><p>{BODY}</p></div>'
                 '<div hidden><p>Contenu masqué du site.</p></div>')
    doc = document_from_text("accordeon.html", html)
    assert _body_tree(doc) == {"Engagement 1": "Plan",
                                                                            "Engagement 2": "Plan"}
    assert BODY in doc.sections[-1].text and "masqué" not in doc.text


def test_title_and_heading_levels_set_by_class_names():
    html = ('<html><head><title>ARS</title></head><body><p class=MsoTitle>Programme régional télésanté</p>'
            f'<div class="titre-niveau-1">Axe 1 - Téléconsultation</div><p>{BODY}</p>'
            f'<div class="titre-niveau-2">Les téléconsultations assistées</div><p>{BODY}</p></body></html>')
    doc = document_from_text("classes.html", html)
    assert doc.title == "Programme régional télésanté"
    assert _body_tree(doc) == {
        "Axe 1": "Programme régional télésanté", "Les téléconsultations assistées": "Axe 1"}


def test_invisible_characters_and_footnote_calls_do_not_split_or_glue_words():
    html = _html("<h2>Axe 1 - Les soins pal&shy;liatifs</h2><p>Les équipes mo&shy;biles<sup>1</sup> et "
                 "l'EHPAD<sup>[2]</sup> de 40 m<sup>2</sup>, le 1<sup>er</sup> janvier\u200b.</p>")
    doc = document_from_text("invisible.html", html)
    section = doc.sections[-1]
    assert section.title == "Les soins palliatifs"
    assert "Les équipes mobiles et l'EHPAD de 40 m2, le 1er janvier." in section.text


def test_a_bold_label_line_takes_the_bold_line_under_it_as_its_title():
    html = _html(f"<p><strong>AXE 1</strong></p><p><strong>Prévenir l'entrée dans les consommations</strong></p>"
                 f"<p>{BODY}</p><p><strong>Fiche n° 1.1 – Les compétences psychosociales</strong></p><p>{BODY}</p>"
                 f"<p><strong>AXE 2</strong></p><p><strong>Réduire les risques</strong></p><p>{BODY}</p>")
    doc = document_from_text("axes.html", html)
    titles = {s.key: (s.title, s.parent) for s in doc.sections if s.title != doc.title}
    assert titles == {"Axe 1": ("Prévenir l'entrée dans les consommations", "Plan"),
                      "Fiche 1.1": ("Les compétences psychosociales", "Axe 1"),
                      "Axe 2": ("Réduire les risques", "Plan")}


def test_circled_numbers_with_marked_sub_headings_and_a_closing_heading():
    text = (f"Plan régional santé environnement\n\n① Respirer un air plus sain\n\n▸ Lutter contre l'ambroisie\n\n{BODY}\n\n"
            f"② Garantir une eau de qualité\n\n▸ Les petites unités de distribution\n\n{BODY}\n\n"
            f"▸ Les PFAS au sud de Lyon\n\n{BODY}\n\nGouvernance du plan\n\n{BODY}\n")
    tree = _tree("cercles.txt", text)
    assert tree == {"①": None, "Lutter contre l'ambroisie": "①", "②": None, "Les petites unités de distribution": "②",
                    "Les PFAS au sud de Lyon": "②", "Gouvernance du plan": None}


def test_an_outline_written_out_down_to_a_small_letter():
    text = (f"Programme\n\nII. Sécuriser\n\nII.B. Dépister\n\nII.B.2. Infections\n\nII.B.2.a. Syphilis et VIH\n\n{BODY}\n\n"
            f"II.B.2.b. Coqueluche\n\n{BODY}\n\nIII. Accompagner\n\n{BODY}\n")
    tree = _tree("mayotte.txt", text)
    assert tree["II.B.2.a"] == "II.B.2" and tree["II.B.2.b"] == "II.B.2" and tree["III"] is None


def test_abbreviated_articles_and_the_objective_sheets_of_an_annex():
    text = (f"CONTRAT PLURIANNUEL D'OBJECTIFS ET DE MOYENS\n\nArt. 1 - Objet du contrat\n\n{BODY}\n\n"
            f"Art. 2 - Périmètre\n\n{BODY}\n\nAnnexe 1 - Fiches objectifs\n\nFiche objectif n°1 - Médicaliser\n\n{BODY}\n\n"
            f"Fiche objectif n°2 - Prévenir les chutes\n\n{BODY}\n")
    tree = _tree("cpom.txt", text)
    assert tree == {"Art. 1": None, "Art. 2": None, "Annexe 1": None, "Fiche objectif 1": "Annexe 1",
                    "Fiche objectif 2": "Annexe 1"}


def test_a_letterhead_of_co_pilots_naming_the_region_is_no_title():
    doc = document_from_text("copilotes.txt", "Préfecture de la région Bretagne - ARS Bretagne - Région Bretagne\n\n"
                                              f"PLAN RÉGIONAL SANTÉ ENVIRONNEMENT\n\n1. Respirer\n\n{BODY}\n")
    assert doc.title == "PLAN RÉGIONAL SANTÉ ENVIRONNEMENT"
