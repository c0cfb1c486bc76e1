"""Property tests: the parser never crashes, and body text is partitioned by the sections.

Body text, precisely: the non-white-space characters of Document.text outside
Document.meta_spans (breadcrumb, title line, keywords, source line, figure references).
Each such character lies in exactly one section's [start, end).
"""
from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.errors import IngestError
from ingest.mentions import extract_mentions
from ingest.pipeline import document_from_text
from ingest.read import decode
from ingest.to_rdf import document_graph
from ingest.tree import LABELS, QUALIFIER_SHIFT
from pipeline.build import check_graph

FAST = settings(max_examples=int(__import__("os").environ.get("HPKG_HYPOTHESIS_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_tree_invariants(doc) -> None:
    text = doc.text
    meta = [False] * len(text)
    for start, end in doc.meta_spans:
        assert 0 <= start <= end <= len(text)
        for i in range(start, end):
            meta[i] = True
    owners = [0] * len(text)
    keys = [s.key for s in doc.sections]
    assert len(keys) == len(set(keys)), keys
    seen: dict[str, int] = {}
    for section in doc.sections:
        assert 0 <= section.start <= section.end <= len(text)
        if section.parent is None:
            assert section.level == 1
        else:
            assert section.parent in seen, (section.key, section.parent)  # parents come first
            assert section.level == seen[section.parent] + 1
        seen[section.key] = section.level
        if section.from_breadcrumb:
            assert section.text == "" and not section.items
            continue
        assert section.text == text[section.start:section.end]
        for i in range(section.start, section.end):
            owners[i] += 1
        for item in section.items:
            assert section.start <= item.start <= item.end <= section.end
            assert item.text == text[item.start:item.end] and item.text.strip()
    for i, ch in enumerate(text):
        if not ch.isspace() and not meta[i]:
            assert owners[i] == 1, (i, ch, text[max(0, i - 30):i + 30])


def _parse(text: str, name: str = "page.txt"):
    try:
        return document_from_text(Path(name), text)
    except IngestError:
        return None


LINE_TEMPLATES = st.sampled_from([
    "", "", "", "Accueil > Région > ARS > Projet régional de santé 2012-2016 > Schéma régional > 2 Axe > 2.1 Titre",
    "Région", "Article", "Titre de la page", "2.8 S’engager", "2.8.1.\u00a0 Optimiser les ressources", "1 Elaboration",
    "Objectif 3 : Améliorer l’accès", "Action 3.1 : Former", "Axe 2 - Prévenir", "Orientation 4", "II. Les priorités",
    "A. Les publics", "C. Les territoires", "I. Constats", "  • un item ;", "- un autre item", "* étoile", "1) premier",
    "2. second", "\u00a0Un paragraphe qui se termine.", "Les axes sont :", "    paragraphe indenté.",
    "Consulter l'histogramme RI00000182", "Schéma régional. ARS PACA, 2011, pp. 15-17",
    "© ICARS - Plan du site", "(c) actimeo 2011", "Nous utilisons des cookies.", "medico social, parcours, usagers",
    "Mots-clés : a, b", "Imprimer", "Liste des pratiques", "3 niveaux sont identifiés :", "Contexte",
    "# Titre", "## 1. Partie", "Publié le 12 mars 2013", "ICARS", "Vous êtes ici : Accueil >> A >> 1.2 B",
    "1° premier", "    o sous-item", "Objectif stratégique 1 : Prévenir", "Fiche action 2 : Agir",
    # shapes of issue 13: setext underlines, wiki furniture, slash and compound numbers, small
    # letters, run-in fields, glossary entries, flattened table rows, signatures
    "=====", "-----", "---", "<!-- export du wiki", "-->", "<!-- commentaire -->", "> Page maintenue par",
    "[[_TOC_]]", "[[Catégorie:PRS]]", "### 1.1 — Sécuriser", "A/ Le cadre", "3/ EHPAD : forfait", "I.1 Un public",
    "III.5 Partenariats", "Action A.1 – Parcours", "Ambition 2 – Soigner", "Levier 2.1 : Former", "Défi 1. Réduire",
    "a. Les migrants", "b. Les jeunes", "Constat : un taux", "CMP : centre médico-psychologique",
    "Secteur      2025     2026", "| a | b |", "Fait à Lyon, le 3 mars 2026", "Glossaire", "Télécharger",
])


@FAST
@given(st.lists(st.one_of(LINE_TEMPLATES, st.text(max_size=40)), max_size=30))
def test_page_like_text_never_crashes_and_partitions_body(lines):
    doc = _parse("\n".join(lines))
    if doc is not None:
        assert_tree_invariants(doc)


@FAST
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes(text):
    doc = _parse(text)
    if doc is not None:
        assert_tree_invariants(doc)


@FAST
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_a_document_or_an_ingest_error(data):
    try:
        text, _ = decode(data, "page.txt")
    except IngestError as error:
        assert str(error).startswith("page.txt: ")
        return
    doc = _parse(text)
    if doc is not None:
        assert_tree_invariants(doc)


HTML_TAGS = st.sampled_from([
    "h1", "h2", "h3", "p", "li", "div", "nav", "script", "footer", "span", "td", "main", "header",
    "article", "layout", "titre2", "bold", "br", "details", "related",
])
HTML_TEXT = st.one_of(LINE_TEMPLATES, st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))


@st.composite
def html_pages(draw):
    parts = []
    for tag, text in draw(st.lists(st.tuples(HTML_TAGS, HTML_TEXT), max_size=15)):
        text = text.replace("&", "&amp;").replace("<", "&lt;")
        if tag == "li":
            parts.append(f"<ul><li>{text}</li></ul>")
        elif tag == "td":
            parts.append(f"<table><tr><td>{text}</td><td>x</td></tr></table>")
        elif tag == "layout":
            parts.append(f"<table><tr><td><p>{text}</p></td><td><h2>{text}</h2></td></tr></table>")
        elif tag == "titre2":
            parts.append(f'<p class="titre2">{text}</p>')
        elif tag == "bold":
            parts.append(f"<p><strong>{text}</strong></p>")
        elif tag == "br":
            parts.append(f"<p>{text}<br>• {text}<br>suite</p>")
        elif tag == "details":
            parts.append(f"<details><summary>{text}</summary><p>{text}</p><h3>{text}</h3></details>")
        elif tag == "related":
            parts.append(f'<div class="related-content"><h2>{text}</h2><ul><li>{text}</li></ul></div>')
        else:
            parts.append(f"<{tag}>{text}</{tag}>")
    if draw(st.booleans()):
        parts.insert(0, '<nav class="breadcrumb"><a>Accueil</a> &gt; <a>PRS</a> &gt; 2.1 Titre</nav>')
    return "<!DOCTYPE html><html><body>" + "".join(parts) + "</body></html>"


@FAST
@given(html_pages())
def test_html_pages_never_crash_and_partition_body(html):
    doc = _parse(html, "page.html")
    if doc is not None:
        assert doc.format == "html"
        assert_tree_invariants(doc)


@FAST
@given(st.text(max_size=300))
def test_arbitrary_text_as_html_never_crashes(text):
    doc = _parse(text, "page.html")
    if doc is not None:
        assert_tree_invariants(doc)


# Headings of every kind the parser knows, built from its own tables so a new label is covered.
NUMBERS = st.sampled_from(["1", "2", "3.1", "1.2.3", "1.2.3.4", "II", "IV", "A", "B", "C", "n° 4", "", "I.1", "A.2",
                           "a"])
SEPARATORS = st.sampled_from([" - ", " : ", ". ", " – ", " ", ") ", "/ "])
LABELLED_HEADINGS = st.builds(
    lambda label, qualifier, number, sep, title: f"{label.capitalize()}{qualifier} {number}{sep}{title}",
    st.sampled_from(sorted(LABELS)), st.sampled_from(["", *(f" {q}" for q in sorted(QUALIFIER_SHIFT))]),
    NUMBERS, SEPARATORS, st.sampled_from(["Prévenir les addictions", "Les EHPAD et les SSIAD", "", "Agir"]))
PLAIN_HEADINGS = st.builds(lambda n, sep, t: f"{n}{sep}{t}", NUMBERS, SEPARATORS,
                           st.sampled_from(["Les publics", "Accès aux soins en Bretagne", "Contexte"]))
BODY_LINES = st.sampled_from(["L'ARS et le conseil départemental signent un CPOM.", "- les personnes âgées ;",
                              "Texte.", "", "• une plateforme territoriale d'appui (PTA)", "Indicateur\t2016\t2018"])


@settings(max_examples=int(__import__("os").environ.get("HPKG_HYPOTHESIS_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(LABELLED_HEADINGS, PLAIN_HEADINGS, BODY_LINES, LINE_TEMPLATES), min_size=1, max_size=25),
       st.sampled_from(["text", "lines", "html", "accordion"]))
def test_every_parsed_tree_becomes_a_valid_graph(lines, shape):
    """A page that parses never fails later: mentions, RDF and the SHACL shapes all hold.
    `lines` keeps setext underlines under their line; `accordion` folds HTML into `<details>`."""
    if shape in ("html", "accordion"):
        escaped = [line.replace("&", "&amp;").replace("<", "&lt;") for line in lines]
        if shape == "html":
            body = "".join(f"<h{1 + i % 3}>{line}</h{1 + i % 3}>" if i % 2 else f"<p>{line}</p>"
                           for i, line in enumerate(escaped))
        else:
            body = "".join(f"<details><summary>{line}</summary><h{2 + i % 3}>{line}</h{2 + i % 3}><p>{line}</p>"
                           "</details>" if i % 2 else f"<h2>{line}</h2>" for i, line in enumerate(escaped))
        doc = _parse(f"<html><body><main>{body}</main></body></html>", "page.html")
    else:
        doc = _parse(("\n\n" if shape == "text" else "\n").join(lines))
    if doc is None:
        return
    warnings: list[str] = []
    graph = document_graph(doc, extract_mentions(doc), warnings=warnings)
    check_graph(doc.path, graph)  # raises IngestError naming the violations
    assert warnings == []  # every kind the parser prints has a class
