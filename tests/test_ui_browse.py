"""kg.browse (the UI's read-side queries) and the UI helpers: docstring examples, edge cases,
and the real corpus: every section and every mentioned concept gets a page."""
from __future__ import annotations

import doctest
import importlib

import pytest
from lxml import etree
from rdflib import Graph, Literal
from rdflib.namespace import DCTERMS, RDF

from kg import browse
from kg.store import open_store
from ontology.namespaces import HPID, HPO
from search_api.graph_svg import neighbourhood_svg
from tests.browser_support import copy_data_dir


@pytest.mark.parametrize("module", ["kg.browse", "search_api.ui_search", "search_api.graph_svg"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_mentions_fall_back_to_surface_text_when_offsets_disagree():
    text = "Les EHPAD et les SSIAD ; encore les EHPAD."
    mentions = [  # offsets from another text: no single shift fits both
        {"start": 10, "end": 15, "surface": "EHPAD", "type": "actor"},
        {"start": 90, "end": 95, "surface": "SSIAD", "type": "actor"},
        {"start": 120, "end": 125, "surface": "EHPAD", "type": "actor"},
        {"start": 130, "end": 135, "surface": "absent", "type": "tool"},
    ]
    segments, method = browse.mark_mentions(text, mentions)
    assert method == "surface"
    assert "".join(s["text"] for s in segments) == text
    assert [s["text"] for s in segments if "mention" in s] == ["EHPAD", "SSIAD", "EHPAD"]


def test_overlapping_mentions_keep_the_longest_first():
    text = "maison de santé pluriprofessionnelle"
    mentions = [{"start": 0, "end": 15, "surface": "maison de santé", "type": "actor"},
                {"start": 0, "end": 36, "surface": text, "type": "actor"},
                {"start": 10, "end": 15, "surface": "santé", "type": "population"}]
    segments, method = browse.mark_mentions(text, mentions)
    assert method == "offsets" and segments == [{"text": text, "mention": mentions[1]}]


def test_plan_tree_survives_a_part_of_cycle():
    a, b = HPID["section/p/s/a"], HPID["section/p/s/b"]
    g = Graph()
    for node, parent, title in ((a, b, "A"), (b, a, "B")):
        g.add((node, RDF.type, HPO.Section))
        g.add((node, HPO.partOf, parent))
        g.add((node, DCTERMS.title, Literal(title)))
    with open_store(None, backend="memory") as store:
        store.replace_graph(HPID["graph/cycle"], g)
        tree = browse.plan_tree(store)
        crumbs = browse.breadcrumb(store, str(a))
    assert tree == []  # no root: nothing hangs from a plan, and the walk ends
    assert [c["label"] for c in crumbs] == ["B"]


def test_neighbourhood_svg_escapes_labels_and_links_every_node():
    graph = browse.neighbourhood(
        "urn:c", "<script>alert(1)</script>", "actor",
        [{"iri": "urn:s1", "title": "Section « une » & deux", "mentions": 2}],
        [{"iri": "urn:n1", "label": "voisin", "type": "tool", "sections": ["urn:s1"]},
         {"iri": "urn:n2", "label": "hors champ", "type": "tool", "sections": ["urn:other"]}])
    svg = neighbourhood_svg(graph, link=lambda n: "/go?" + n["id"] + "&x=1")
    root = etree.fromstring(svg.encode())  # well-formed XML
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert len(root.findall("svg:a", ns)) == 3  # the unlinked neighbour is left out
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert [a.get("href") for a in root.findall("svg:a", ns)][-1] == "/go?urn:c&x=1"
    assert svg == neighbourhood_svg(graph, link=lambda n: "/go?" + n["id"] + "&x=1")  # deterministic


# -- the real corpus ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_store(ingested, tmp_path_factory):
    with open_store(copy_data_dir(ingested, tmp_path_factory.mktemp("browse"))) as store:
        yield store


def _walk(node):
    yield node
    for child in node["children"]:
        yield from _walk(child)


def test_real_plan_tree_holds_every_section_once(real_store):
    tree = browse.plan_tree(real_store)
    sections = [n["iri"] for root in tree for n in _walk(root) if n["kind"] == "section"]
    total = int(next(iter(real_store.query("SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a <%s> }" % HPO.Section)))[0])
    assert len(sections) == len(set(sections)) == total >= 15
    assert [n["kind"] for n in tree] == ["plan"]
    assert tree[0]["sections"] == total


def test_real_orientation_pages_mark_every_mention_by_offsets(real_store):
    tree = browse.plan_tree(real_store)
    marked_total = 0
    for node in (n for n in _walk(tree[0]) if n["kind"] == "section"):
        page = browse.orientation_page(real_store, node["iri"])
        assert page["label"] == node["label"] and page["breadcrumb"][0]["kind"] == "plan"
        assert "".join(s["text"] for s in page["segments"]) == page["text"]
        marked = [s for s in page["segments"] if "mention" in s]
        # the graph's offsets always map; a heading-only section (no text) has nothing to mark
        assert page["highlight_method"] != "surface", node["label"]
        if page["text"] and page["mentions"]:
            assert page["highlight_method"] == "offsets" and marked, node["label"]
        assert all(s["text"] == s["mention"]["surface"] for s in marked)
        marked_total += len(marked)
    assert marked_total >= 150


def test_real_entities_all_have_pages(real_store):
    concepts = [str(r[0]) for r in real_store.query(
        "SELECT DISTINCT ?c WHERE { ?m <%s> ?c }" % HPO.mentionOf)]
    assert len(concepts) > 50
    for iri in concepts[:40]:
        page = browse.entity_page(real_store, iri)
        assert page is not None and page["kind"] in browse.ENTITY_KINDS, iri
        assert page["sections"], iri  # a mentioned concept is mentioned somewhere
