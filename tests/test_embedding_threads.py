"""Passage embedding on several threads gives the vectors of one sequential call."""
from __future__ import annotations

import numpy as np
import pytest

from kg.embeddings import get_embedder, passage_threads

TEXTS = [
    "Développer l'accueil de jour pour les personnes âgées dépendantes.",
    "Coordonner les acteurs du domicile autour de la personne.",
    "passage: Renforcer l'offre de soins de premier recours dans les territoires ruraux.",
    "Maisons de santé pluriprofessionnelles et centres de santé.",
    "Améliorer le parcours des personnes handicapées vieillissantes " * 3,
    "Prévention de la perte d'autonomie.",
    "Plateformes territoriales d'appui à la coordination des parcours complexes.",
    "Accès aux soins des personnes en situation de précarité.",
    "Santé mentale des adolescents et des jeunes adultes.",
]


@pytest.fixture(scope="module")
def e5():
    return get_embedder("e5-small")


@pytest.mark.parametrize("threads", [2, 3])
def test_threaded_passages_equal_sequential(e5, threads):
    sequential = e5._embed([t.removeprefix("passage: ") for t in TEXTS], is_query=False)
    threaded = e5.embed_passages(TEXTS, threads=threads)
    assert threaded.shape == sequential.shape == (len(TEXTS), e5.dim)
    assert threaded.dtype == np.float32 and threaded.flags.c_contiguous
    # same rows in the same order: the engine's vector of a text does not depend on its batch
    assert float(np.min(np.sum(threaded * sequential, axis=1))) >= 0.9999
    np.testing.assert_allclose(threaded, sequential, atol=1e-6)


def test_threaded_passages_small_and_empty_inputs(e5):
    assert e5.embed_passages([], threads=2).shape == (0, e5.dim)
    one = e5.embed_passages(TEXTS[:1], threads=2)
    np.testing.assert_allclose(one, e5._embed(TEXTS[:1], is_query=False), atol=1e-6)


def test_passage_threads_setting(monkeypatch):
    monkeypatch.setenv("HPKG_EMBED_THREADS", "3")
    assert passage_threads() == 3
    monkeypatch.delenv("HPKG_EMBED_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "64")  # the engine's own threads take every core
    assert passage_threads() == 1
