"""Lexical retrieval: BM25 (bm25s) over French stems, and query expansion with SKOS labels.

Analysis: lower-case, French Snowball stem (PyStemmer), then fold accents, so that
« médicalisées », « medicalisee » and « Médicalisé » meet; French stop words and elided
articles (l', d', qu') are dropped. Expansion adds the other labels of every vocabulary
concept named in the query (EHPAD <-> établissement d'hébergement pour personnes âgées
dépendantes), with a lower weight than the words typed.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from kg.queries import run_named
from ontology.textkeys import STOPWORDS, fold, stemmer

_WORD = re.compile(r"[0-9a-zà-öø-ÿœæ]+", re.IGNORECASE)
EXPANSION_WEIGHT = 0.5  # words the user typed count more than synonyms we added


_fold_word = lru_cache(maxsize=100_000)(fold)  # a corpus has few distinct words: fold each once


def analyze(text: str) -> list[tuple[str, str]]:
    """(surface word, stem) pairs of the content words of `text`.

    >>> [stem for _, stem in analyze("Les maisons de retraite médicalisées")]
    ['maison', 'retrait', 'medicalis']
    """
    words = [w for w in _WORD.findall(text) if len(w) > 1 and _fold_word(w.lower()) not in STOPWORDS]
    stems = stemmer().stemWords([w.lower() for w in words])
    return [(word, _fold_word(stem)) for word, stem in zip(words, stems)]


def tokenize(text: str) -> list[str]:
    """The stems BM25 indexes and queries with."""
    return [stem for _, stem in analyze(text)]


class LexicalIndex:
    """BM25 over the passages' analysed text (title and breadcrumb context included)."""

    def __init__(self, bm25) -> None:
        self.bm25 = bm25

    @classmethod
    def build(cls, texts: list[str]) -> "LexicalIndex":
        return cls.from_tokens([tokenize(t) for t in texts])

    @classmethod
    def from_tokens(cls, documents: list[list[str]], k1: float = 1.2, b: float = 0.75) -> "LexicalIndex":
        """BM25 over documents already analysed (lists of terms, repeated as often as they occur).

        >>> [round(float(s), 3) for s in LexicalIndex.from_tokens([["ehpad", "soin"], ["soin"]]).scores(["ehpad"])]
        [0.277, 0.0]
        """
        import bm25s

        bm25 = bm25s.BM25(k1=k1, b=b)
        bm25.index([tokens or ["∅"] for tokens in documents], show_progress=False)
        return cls(bm25)

    def save(self, folder: Path) -> None:
        self.bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        return cls(bm25s.BM25.load(str(folder), show_progress=False))

    def scores(self, stems: list[str], expansion: list[str] = ()) -> np.ndarray:
        """BM25 score of every passage; expansion stems weigh EXPANSION_WEIGHT."""
        total = self._scores(stems)
        extra = [s for s in dict.fromkeys(expansion) if s not in set(stems)]
        if extra:
            total = total + EXPANSION_WEIGHT * self._scores(extra)
        return total

    def _scores(self, stems: list[str]) -> np.ndarray:
        known = [s for s in dict.fromkeys(stems) if s in self.bm25.vocab_dict]
        if not known:
            return np.zeros(self.bm25.scores["num_docs"], dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)


class Synonyms:
    """Concept labels for query expansion; a label matches when its stems appear in the
    query in a row (so plural, accents and stop words do not matter)."""

    def __init__(self, concepts: dict[str, list[str]]) -> None:
        self.concepts = {iri: sorted(set(labels)) for iri, labels in concepts.items() if labels}
        self._labels: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for iri, labels in self.concepts.items():
            for label in labels:
                stems = tuple(tokenize(label))
                if stems and len(fold(label)) >= 3:
                    self._labels.setdefault(stems, []).append((iri, label))
        self._longest = max((len(k) for k in self._labels), default=0)

    def match(self, query: str) -> dict[str, str]:
        """Concepts named in `query`: concept IRI -> the label that matched.

        >>> Synonyms({"c": ["EHPAD", "maison de retraite médicalisée"]}).match("les maisons de retraite médicalisées du Var")
        {'c': 'maison de retraite médicalisée'}
        """
        stems = tokenize(query)
        found: dict[str, str] = {}
        covered: set[int] = set()  # longest label first: « maison de retraite médicalisée »
        for size in range(min(self._longest, len(stems)), 0, -1):  # hides « maison de retraite »
            for start in range(len(stems) - size + 1):
                span = set(range(start, start + size))
                labels = self._labels.get(tuple(stems[start:start + size]), ())
                if labels and not span & covered:
                    covered |= span
                    for iri, label in labels:
                        found.setdefault(iri, label)
        return found

    def expansion(self, matched: dict[str, str]) -> list[str]:
        """The other labels of the matched concepts."""
        return [
            label
            for iri, used in matched.items()
            for label in self.concepts[iri]
            if fold(label) != fold(used)
        ]

    def to_json(self) -> str:
        return json.dumps(self.concepts, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Synonyms":
        return cls(json.loads(text))


def vocabulary_labels(store=None) -> dict[str, list[str]]:
    """Labels (pref + alt) of every SKOS concept: the vocabularies of ontology/vocab/ and,
    when a store is given, the concepts it holds (candidates included)."""
    from rdflib.namespace import SKOS

    concepts: dict[str, list[str]] = {}
    for graph in _vocabulary_graphs():
        for predicate in (SKOS.prefLabel, SKOS.altLabel):
            for concept, label in graph.subject_objects(predicate):
                concepts.setdefault(str(concept), []).append(str(label))
    if store is not None:
        for row in run_named(store, "search_labels"):
            concepts.setdefault(str(row.concept), []).append(str(row.label))
    return concepts


def _vocabulary_graphs():
    """The SKOS vocabularies: ontology.vocab.load_vocabulary() when it exists, else the files."""
    try:
        from ontology.vocab import load_vocabulary
    except ImportError:
        from rdflib import Graph

        folder = Path(__file__).resolve().parent.parent / "ontology" / "vocab"
        graph = Graph()
        for path in sorted(folder.glob("*.ttl")):
            graph.parse(path, format="turtle")
        return [graph]
    return [load_vocabulary()]
