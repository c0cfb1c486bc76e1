"""Manifest and inference of metadata, normalisation, HTML cleaning, the extract contract."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ontology.textkeys import normalize_for_matching
from ingest.pipeline import document_from_text, iter_documents, load_manifest, parse_file
from tests.test_ingest_properties import assert_tree_invariants

PAGES = Path(__file__).parent / "data" / "pages"


def test_normalize_for_matching_handles_apostrophes_and_spaces():
    assert normalize_for_matching("L\u2019offre\u00a0: l\u2018\u00e9tat\u202fdu  schéma\n") == "L'offre : l'état du schéma"


def test_manifest_fills_metadata(corpus_dir):
    manifest = load_manifest(corpus_dir)
    doc = parse_file(corpus_dir / "002_89bc7f6abee59dd7.txt", manifest)
    assert (doc.plan, doc.region, doc.region_code, doc.site, doc.language, doc.scheme) == (
        "Projet régional de santé 2012-2016", "Provence-Alpes-Côte d'Azur", "93", "ARS PACA", "fr", None,
    )


def test_without_manifest_metadata_comes_from_breadcrumb_source_and_footer(tmp_path, corpus_dir):
    shutil.copy(corpus_dir / "004_d9216070b0b5bf36.txt", tmp_path)
    doc = parse_file(tmp_path / "004_d9216070b0b5bf36.txt")
    assert doc.plan == "Projet régional de santé 2012-2016"
    assert doc.scheme == "Schéma Régional d'Organisation Médico-Sociale"
    assert (doc.region, doc.site) == (None, "ICARS")
    assert (doc.source.scheme, doc.source.publisher, doc.source.year, doc.source.pages) == (
        "Schéma Régional d'Organisation Médico-sociale", "ARS PACA", 2011, "15-17",
    )


def test_section_offsets_index_the_original_text(corpus_dir):
    doc = parse_file(corpus_dir / "004_d9216070b0b5bf36.txt")
    section = doc.section("2.8.1")
    assert doc.text[section.start:section.end].startswith("2.8.1.\u00a0 Optimiser l’allocation")
    assert section.title == "Optimiser l'allocation des ressources"  # normalised for matching
    breadcrumb, *_ = doc.meta_spans
    assert doc.text[breadcrumb[0]:breadcrumb[1]].startswith("Accueil > Région > ARS")


def test_all_pages_keep_the_tree_invariants(corpus_dir):
    for doc in iter_documents([corpus_dir, PAGES]):
        assert not isinstance(doc, Exception), str(doc)
        assert_tree_invariants(doc)


def test_html_cleaning_drops_scripts_navigation_banners_and_decodes_entities():
    doc = parse_file(PAGES / "html_orientations.html")
    for gone in ("tracker", "injecté", "cookies", "Menu", "Nos missions", "Mentions légales", "Sur le même sujet"):
        assert gone not in doc.text
    assert "perte d’autonomie" in doc.text and "\u00a0:" in doc.text
    assert doc.breadcrumb[-1] == "Orientation 4 : Prévenir la perte d'autonomie"
    assert doc.site == "ARS Exemple"


def test_html_breadcrumb_from_a_plain_nav(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><body><nav><ul><li>Accueil</li><li>Offre de soins</li></ul></nav>"
        "<nav><a>Accueil</a> &gt; <a>Projet régional de santé</a> &gt; <a>Schéma régional de santé</a>"
        " &gt; <span>Handicap / dépendance</span></nav><h2>Handicap / dépendance</h2>"
        "<p>Texte avec<br>retour.</p><p><strong>1. Contexte</strong></p><p>Le contexte.</p></body></html>",
        encoding="utf-8",
    )
    doc = parse_file(path)
    assert doc.breadcrumb == ["Accueil", "Projet régional de santé", "Schéma régional de santé", "Handicap / dépendance"]
    assert (doc.plan, doc.scheme) == ("Projet régional de santé", "Schéma régional de santé")
    assert [(s.key, s.parent) for s in doc.sections] == [
        ("Handicap / dépendance", None), ("1", "Handicap / dépendance")]
    assert "Texte avec\n\nretour." in doc.text and "Offre de soins" not in doc.text  # <br> cuts lines


def test_markdown_style_headings(tmp_path):
    path = tmp_path / "prse.txt"
    path.write_text("# Plan santé environnement\n\nIntro.\n\n## 1. Air\n\nTexte.\n\n### 1.1 Pollens\n\n- veille ;\n",
                    encoding="utf-8")
    doc = parse_file(path)
    assert [(s.key, s.level) for s in doc.sections] == [("Plan santé environnement", 1), ("1", 2), ("1.1", 3)]
    assert [i.text for i in doc.section("1.1").items] == ["veille ;"]


def test_page_without_headings_gets_one_section_named_by_its_title(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("Note d'information\n\nPremier paragraphe.\nSuite du paragraphe.\n", encoding="utf-8")
    doc = parse_file(path)
    assert [(s.key, s.text) for s in doc.sections] == [
        ("Note d'information", "Premier paragraphe.\nSuite du paragraphe.")]


@pytest.mark.slow  # the first call loads the vocabularies of ingest.mentions
def test_hpkg_extract_json_follows_the_design_contract(corpus_dir):
    from search_api.cli import main

    result = CliRunner().invoke(main, ["extract", str(corpus_dir / "004_d9216070b0b5bf36.txt"), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) == {"doc", "title", "sections", "entities", "source"}  # source: additive (issue 15)
    assert payload["doc"] == "004_d9216070b0b5bf36"
    source = payload["source"]
    assert (source["scheme"], source["publisher"], source["year"], source["pages"]) == (
        "Schéma Régional d'Organisation Médico-sociale", "ARS PACA", 2011, "15-17")
    assert "ARS PACA" in source["text"]
    assert [s["number"] for s in payload["sections"]] == ["2", "2.8", "2.8.1", "2.8.2", "2.8.3", "2.8.4"]
    for section in payload["sections"]:
        assert set(section) == {"number", "title", "level", "parent", "text", "items"}
        assert all(isinstance(item, str) for item in section["items"])
    assert payload["sections"][4]["items"][0] == "la fiabilisation\u00a0 des systèmes d’information,"
    for entity in payload["entities"]:
        assert set(entity) == {"type", "text", "start", "end", "section", "concept", "label"}


def test_hpkg_extract_and_eval_entities_read_data_dir(tmp_path):
    """Every command takes --data-dir (DESIGN.md); extract's size limit is that dir's setting."""
    from search_api.cli import main

    for command in (["extract"], ["eval", "entities"], ["eval", "structure"]):
        result = CliRunner().invoke(main, [*command, "--help"])
        assert "--data-dir" in result.output, command
    page = tmp_path / "big.txt"
    page.write_bytes(b"x" * (2 * 2**20))
    result = CliRunner(env={"HPKG_MAX_FILE_MB": "1"}).invoke(main, ["extract", str(page), "--data-dir", str(tmp_path)])
    assert result.exit_code != 0 and str(page) in result.output


def test_hpkg_extract_reports_a_bad_file_in_one_line(tmp_path):
    from search_api.cli import main

    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = CliRunner().invoke(main, ["extract", str(empty)])
    assert result.exit_code != 0
    assert f"{empty}: file is empty" in result.output



@pytest.mark.parametrize("module", ["ingest.clean", "ingest.errors", "ingest.read", "ingest.tree"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_text_breadcrumb_after_a_site_name_with_you_are_here_prefix(tmp_path):
    path = tmp_path / "page.txt"
    path.write_text(
        "ICARS\n\nVous êtes ici : Accueil >> Projet régional de santé >> Schéma régional de santé"
        " >> 1 Axe >> 1.2 Titre court\n\n1.2 Titre court\n\nTexte.\n",
        encoding="utf-8",
    )
    doc = parse_file(path)
    assert doc.breadcrumb[0] == "Accueil" and doc.scheme == "Schéma régional de santé"
    assert "ICARS" not in doc.text
    assert [(s.key, s.parent, s.from_breadcrumb) for s in doc.sections] == [("1", None, True), ("1.2", "1", False)]


def test_consent_in_body_text_is_not_a_cookie_banner(tmp_path):
    text = tmp_path / "soins.txt"
    text.write_text("Soins sans consentement\n\nLes soins sans consentement sont encadrés par la loi.\n"
                    "Le juge contrôle la mesure.\n", encoding="utf-8")
    html = tmp_path / "soins.html"
    html.write_text("<h1>Soins</h1><p>Le consentement du patient est recherché.</p><p>Suite du texte.</p>"
                    '<div class="cookie-banner">Ce site utilise des cookies.</div>', encoding="utf-8")
    assert parse_file(text).text.endswith("Le juge contrôle la mesure.")
    assert parse_file(html).text.endswith("Suite du texte.")


def test_date_lines_are_dropped(tmp_path):
    path = tmp_path / "news.txt"
    path.write_text("Vaccination\n\nPublié le 12 mars 2013\n\nLa campagne commence.\n", encoding="utf-8")
    doc = parse_file(path)
    assert "Publié" not in doc.text and doc.sections[0].text == "La campagne commence."


def test_html_layout_table_and_furniture_before_h1(tmp_path):
    path = tmp_path / "layout.html"
    path.write_text(
        '<html><body><table><tr><td width="20%"><p>Menu gauche</p></td><td>'
        "<h1>Le schéma régional</h1><p>Présentation.</p><h2>1. Objectifs</h2><ul><li>un ;</li><li>deux.</li></ul>"
        "<table><tr><th>Département</th><th>Places</th></tr><tr><td>Var</td><td>120</td></tr></table>"
        "</td></tr></table></body></html>",
        encoding="utf-8",
    )
    doc = parse_file(path)
    assert "Menu gauche" not in doc.text and "Département ; Places\n\nVar ; 120" in doc.text
    assert [(s.key, s.level, len(s.items)) for s in doc.sections] == [("Le schéma régional", 1, 0), ("1", 2, 2)]


def test_html_main_element_bounds_the_content(tmp_path):
    path = tmp_path / "main.html"
    path.write_text("<body><div>Bandeau du site</div><main><h1>Titre</h1><p>Texte.</p></main>"
                    "<div>Autres liens</div></body>", encoding="utf-8")
    assert parse_file(path).text == "Titre\n\nTexte."


def test_wrapped_items_continue_but_a_dedented_line_does_not(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("Titre\n\nIntro :\n  • item one\n  • item two qui continue\n    sur la ligne suivante ;\n"
                    "  • item trois\nLa suite du texte.\n", encoding="utf-8")
    doc = parse_file(path)
    assert [i.text for i in doc.sections[0].items] == [
        "item one", "item two qui continue\n    sur la ligne suivante ;", "item trois"]
    assert doc.sections[0].text.endswith("La suite du texte.")


def test_unnumbered_heading_after_the_last_of_a_series_closes_it():
    """`Pilotage` after the last axis is the plan's, not the last axis's; an unnumbered heading
    between two members of a series (`Contexte`) stays inside the first."""
    text = ("Plan d'action\n\nAxe 1 - Prévenir\n\nA. Repérer\n\nTexte.\n\nContexte\n\nTexte.\n\n"
            "B. Orienter\n\nTexte.\n\nAxe 2 - Soigner\n\nC. Traiter\n\nTexte.\n\nPilotage\n\nTexte.\n\n"
            "Indicateurs\n\nTexte.\n")
    parents = {s.key: s.parent for s in document_from_text("closing.txt", text).sections}
    assert parents["Contexte"] == "A" and parents["C"] == "Axe 2"
    assert parents["Pilotage"] is None and parents["Indicateurs"] is None
