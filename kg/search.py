"""Hybrid semantic search over the plan's sections: dense (FAISS) + lexical (BM25), fused.

One query: expand it with the SKOS labels of the concepts it names, score every passage
densely and lexically, keep each section's best passage, fuse the two rankings, drop
sections without enough evidence (a nonsense query returns nothing), filter by facet,
count facets, and explain each hit. `search_store` returns the DESIGN.md JSON contract plus
the extra keys "facets", "filters" and, per hit, "explanation".
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from kg.embeddings import QueryEncoder, embed_query
from kg.index import SearchIndex, open_index
from kg.lexical import analyze, tokenize

MODES = ("hybrid", "dense", "lexical")
FACETS = ("scheme", "population", "actor", "tool", "territory", "programme")
MAX_QUERY_CHARS = 500
MAX_K = 100
SNIPPET_CHARS = 300
# Fusion and cut-off, tuned on ../shared/eval/dev/search.jsonl (see docs/benchmarks.md).
FUSION = "linear"  # or "rrf"
RRF_K = 60  # the usual reciprocal-rank constant: damps the head of each ranking
DENSE_WEIGHT = 1.0  # relative to LEXICAL_WEIGHT: equal. 0.7 suited dev (0.987, 0.970 at 1.0); both blind sets' tuned parts and the paraphrases gain at 1.0 (docs/quality.md)
LEXICAL_WEIGHT = 1.0
DENSE_EXPANSION = 0  # expansion labels appended to the embedded query (dev: they blur it)
DENSE_POOL = 200  # passages taken from FAISS before grouping by section
LEXICAL_POOL = 200  # best BM25 passages kept (all of them on a small corpus)
# No-answer decision (kg.calibration): a section is kept when its best passage is more similar
# to the query than the query's mean over the index and the query is about this plan, or when
# its words match. A query the index calibration finds off-topic keeps only sections whose best
# lexical passage holds at least WORD_COVERAGE of the query's content words.
WORD_COVERAGE = 0.5
ADAPTIVE_LEXICAL = True  # scale the lexical side by the query's word coverage (_lexical_trust)
LEXICAL_TRUST_MIN = 0.5  # the lexical weight of a query none of whose words the plan uses
LEXICAL_MIN = 1.0  # BM25 score of a real match (one informative word at least)


@dataclass
class Candidate:
    """One section's evidence for a query."""

    section: str
    passage: int = -1  # index of the best passage (dense or lexical)
    dense: float = 0.0  # best cosine among its passages
    dense_passage: int = -1
    dense_rank: int | None = None
    lexical: float = 0.0  # best BM25 among its passages
    lexical_passage: int = -1
    lexical_rank: int | None = None
    score: float = 0.0
    contributions: dict = field(default_factory=dict)


def validate_query(query) -> str:
    """The query, stripped; ValueError naming the field when it is empty or too long."""
    if query is None or not str(query).strip():
        raise ValueError("q: the query is empty")
    query = " ".join(str(query).split())
    if len(query) > MAX_QUERY_CHARS:
        raise ValueError(f"q: the query is {len(query)} characters long (at most {MAX_QUERY_CHARS})")
    return query


def validate_k(k) -> int:
    """k as an int from 1 to MAX_K; ValueError naming the field otherwise.

    >>> validate_k("5"), validate_k(3)
    (5, 3)
    """
    text = str(k).strip()
    if isinstance(k, bool) or not (isinstance(k, int) or (text.isascii() and text.isdigit() and len(text) <= 9)):
        raise ValueError(f"k: {k!r} is not a whole number")
    value = int(text)
    if not 1 <= value <= MAX_K:
        raise ValueError(f"k: {value} is out of range (1 to {MAX_K})")
    return value


def search_store(store, settings: dict, query: str, k: int = 10, filters: dict | None = None,
                 mode: str = "hybrid", index: SearchIndex | None = None, vector=None,
                 encoder: QueryEncoder | None = None) -> dict:
    """Sections answering a French question, best first (DESIGN.md search contract).

    `filters` maps a facet (scheme, population, actor, tool, territory) to concept IRIs a hit
    must all carry. `mode` "dense" or "lexical" runs one retriever alone (for evaluation);
    `vector` is the query's embedding when the caller already has it; `encoder` caches query
    embeddings across calls (the web app's).
    """
    started = time.perf_counter()
    query = validate_query(query)
    k = validate_k(k)
    filters = validate_filters(filters)
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    index = index or open_index(store, settings)
    ranked, matched = rank_sections(index, query, mode, vector, encoder)
    kept = [c for c in ranked if _matches(index.sections[c.section], filters)]
    terms = QueryTerms(analyze(query), [(label, set(tokenize(label))) for label in index.synonyms.expansion(matched)], matched)
    hits = [_hit(index, c, rank, terms) for rank, c in enumerate(kept[:k], start=1)]
    return {
        "query": query,
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
        "hits": hits,
        "facets": facets([index.sections[c.section] for c in kept]),
        "filters": filters,
    }


def rank_sections(index: SearchIndex, query: str, mode: str = "hybrid",
                  vector: np.ndarray | None = None,
                  encoder: QueryEncoder | None = None) -> tuple[list[Candidate], dict]:
    """Sections with enough evidence for `query`, best first, and the concepts it names.

    `vector` is the query's embedding when the caller has it (benchmarks time it apart).
    """
    matched = index.synonyms.match(query)
    expansion = index.synonyms.expansion(matched)
    candidates: dict[str, Candidate] = {}
    # lexical scores are computed in every mode: they also gate dense hits (see the cut-off)
    scores = index.lexical.scores(tokenize(query), tokenize(" ".join(expansion)))
    positive = np.flatnonzero(scores > 0)
    if len(positive) > LEXICAL_POOL:
        positive = positive[np.argpartition(-scores[positive], LEXICAL_POOL)[:LEXICAL_POOL]]
    for i in positive:
        c = _candidate(candidates, index, int(i))
        if scores[i] > c.lexical:
            c.lexical, c.lexical_passage = float(scores[i]), int(i)
    if vector is None and mode != "lexical":
        vector = query_vector(index, query, expansion, encoder)
    pool = min(DENSE_POOL, len(index.passages)) if vector is not None else 0
    if pool:
        sims, ids = index.vectors.search(vector.reshape(1, -1), pool)
        for sim, i in zip(sims[0], ids[0]):
            if i < 0:
                continue
            c = _candidate(candidates, index, int(i))
            if sim > c.dense or c.dense_passage < 0:
                c.dense, c.dense_passage = float(sim), int(i)
    for attr, rank_attr in (("dense", "dense_rank"), ("lexical", "lexical_rank")):
        ordered = sorted((c for c in candidates.values()
                          if (c.dense_passage >= 0 if attr == "dense" else c.lexical > 0)),
                         key=lambda c: (-getattr(c, attr), c.section))
        for rank, c in enumerate(ordered, start=1):
            setattr(c, rank_attr, rank)
    on_topic, mean = _dense_baseline(index, vector, candidates)
    words = {stem for _, stem in analyze(query)}
    kept = []
    for c in candidates.values():
        lexical_match = c.lexical >= LEXICAL_MIN
        if mode == "lexical" and not lexical_match:
            continue
        if mode != "lexical" and not (on_topic and (lexical_match or c.dense > mean)):
            if not (c.lexical > 0 and _covers(index, c, words)):  # BM25 scores shrink on a tiny index
                continue
        kept.append(c)
    fuse(kept, mode, mean, _lexical_trust(index, kept, words))
    kept.sort(key=lambda c: (-c.score, c.section))
    return kept, matched


def _dense_baseline(index: SearchIndex, vector, candidates: dict[str, Candidate]) -> tuple[bool, float]:
    """Whether the query is about this plan, and the cosine an unrelated passage has for it."""
    if vector is None:
        return True, 0.0
    if index.calibration is None:  # an index built in memory (benchmarks): the pool's least cosine
        return True, min((c.dense for c in candidates.values() if c.dense_passage >= 0), default=0.0)
    return index.calibration.on_topic(vector), index.calibration.mean_cosine(vector)


def _lexical_trust(index: SearchIndex, kept: list[Candidate], words: set[str]) -> float:
    """How far the words can be trusted for this query: the share of its content words that its
    best lexical passage holds. A paraphrase whose words the plan does not use (« déserts
    médicaux ») gets little from BM25, whose top hits then match on one common word."""
    if not ADAPTIVE_LEXICAL or not words:
        return 1.0
    best = max((c for c in kept if c.lexical_passage >= 0), key=lambda c: c.lexical, default=None)
    if best is None:
        return 1.0
    found = _passage_stems(index, best.lexical_passage)
    return LEXICAL_TRUST_MIN + (1 - LEXICAL_TRUST_MIN) * len(words & found) / len(words)


def _covers(index: SearchIndex, c: Candidate, words: set[str]) -> bool:
    """True when the section's best lexical passage holds WORD_COVERAGE of the query's words."""
    if not words or c.lexical_passage < 0:
        return False
    return len(words & _passage_stems(index, c.lexical_passage)) >= WORD_COVERAGE * len(words)


def _passage_stems(index: SearchIndex, passage: int) -> set[str]:
    """The stems of the content words of a passage as indexed (its context)."""
    return {stem for _, stem in analyze(index.passages[passage].context)}


def query_vector(index: SearchIndex, query: str, expansion: list[str] | None = None,
                 encoder: QueryEncoder | None = None) -> np.ndarray:
    """The embedding of `query` with the index's model (plus DENSE_EXPANSION expansion labels),
    from `encoder`'s cache when the caller has one (the web app), else computed."""
    if expansion is None:
        expansion = index.synonyms.expansion(index.synonyms.match(query))
    extra = expansion[:DENSE_EXPANSION]
    text = f"{query} ({', '.join(extra)})" if extra else query
    return encoder.vector(index.model, text) if encoder is not None else embed_query(index.model, text)


def section_vector(index: SearchIndex, section: str) -> np.ndarray | None:
    """The unit-length mean of a section's stored passage vectors (None when it has none).

    An orientation page's "related by meaning" uses it as its query vector: the section is
    already embedded, so the page costs a FAISS search, not a model run (0.4 s of CPU).
    """
    ids = [i for i, p in enumerate(index.passages) if p.section == section]
    if not ids:
        return None
    mean = np.mean([index.vectors.reconstruct(i) for i in ids], axis=0).astype("float32")
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm else None


def fuse(candidates: list[Candidate], mode: str = "hybrid", floor: float = 0.0, lexical_trust: float = 1.0) -> None:
    """Score each section from its dense and lexical evidence (the one place fusion lives).

    "linear" (default): a weighted sum of the BM25 score divided by the query's best BM25
    and of the cosine rescaled from `floor` (the query's mean cosine over the index) to the
    query's best, so that both lie in [0, 1], the lexical side scaled by `lexical_trust`
    (_lexical_trust); "rrf": reciprocal-rank fusion.
    The best passage shown is the one of the retriever that contributes most.
    """
    best_lexical = max((c.lexical for c in candidates), default=0.0) or 1.0
    cosines = [c.dense for c in candidates if c.dense_passage >= 0]
    low = min([floor, *cosines])
    spread = (max(cosines, default=1.0) - low) or 1.0
    for c in candidates:
        if FUSION == "rrf":
            dense = DENSE_WEIGHT / (RRF_K + c.dense_rank) if c.dense_rank else 0.0
            lexical = LEXICAL_WEIGHT / (RRF_K + c.lexical_rank) if c.lexical_rank else 0.0
        else:
            dense = DENSE_WEIGHT * (c.dense - low) / spread if c.dense_passage >= 0 else 0.0
            lexical = LEXICAL_WEIGHT * lexical_trust * c.lexical / best_lexical
        dense, lexical = (0.0 if mode == "lexical" else dense), (0.0 if mode == "dense" else lexical)
        c.score = dense + lexical
        c.contributions = {"dense": dense, "lexical": lexical}
        c.passage = c.dense_passage if dense >= lexical or c.lexical_passage < 0 else c.lexical_passage


def _candidate(candidates: dict[str, Candidate], index: SearchIndex, passage: int) -> Candidate:
    section = index.passages[passage].section
    if section not in candidates:
        candidates[section] = Candidate(section)
    return candidates[section]


def validate_filters(filters: dict | None) -> dict[str, list[str]]:
    """Facet -> sorted concept IRIs; ValueError naming the facet when one is unknown or a
    value is not an IRI."""
    cleaned: dict[str, list[str]] = {}
    for facet, values in (filters or {}).items():
        if facet not in FACETS:
            raise ValueError(f"{facet}: unknown facet (expected one of {', '.join(FACETS)})")
        values = [values] if isinstance(values, str) else list(values)
        values = [v.strip().strip("<>") for v in values if v and v.strip()]
        for value in values:
            if not value.startswith(("http://", "https://")):
                raise ValueError(f"{facet}: {value!r} is not a concept IRI")
        if values:
            cleaned[facet] = sorted(set(values))
    return cleaned


def _matches(info, filters: dict[str, list[str]]) -> bool:
    for facet, values in filters.items():
        have = {info.scheme} if facet == "scheme" else {e["iri"] for e in info.entities if e["type"] == facet}
        if not set(values) <= have:
            return False
    return True


def facets(infos) -> dict[str, list[dict]]:
    """Counts of sections per scheme, population, actor, tool and territory, largest first."""
    counts: dict[str, dict[str, list]] = {facet: {} for facet in FACETS}
    for info in infos:
        if info.scheme:
            entry = counts["scheme"].setdefault(info.scheme, [info.scheme_title or info.scheme, 0])
            entry[1] += 1
        for entity in info.entities:
            if entity["type"] in counts:
                entry = counts[entity["type"]].setdefault(entity["iri"], [entity["label"], 0])
                entry[1] += 1
    return {
        facet: [{"iri": iri, "label": label, "count": n}
                for iri, (label, n) in sorted(values.items(), key=lambda kv: (-kv[1][1], kv[1][0]))]
        for facet, values in counts.items()
    }


@dataclass
class QueryTerms:
    """What a query says, analysed once for all its hits' explanations."""

    words: list[tuple[str, str]]  # (surface, stem) of the query's content words
    expansion: list[tuple[str, set[str]]]  # (label, stems) added by expansion
    concepts: dict[str, str]  # concept IRI -> label named in the query


def _hit(index: SearchIndex, c: Candidate, rank: int, terms: QueryTerms) -> dict:
    info = index.sections[c.section]
    passage = index.passages[c.passage]
    return {
        "rank": rank,
        "score": round(c.score, 6),
        "iri": info.iri,
        "doc": info.doc,
        "section": info.key,
        "title": info.title,
        "breadcrumb": list(info.breadcrumb),
        "snippet": snippet(passage.text),
        "entities": [dict(e) for e in info.entities],
        "page": info.page,  # printed page(s) of a PDF section ("42", "42-43"), else None
        "explanation": _explain(index, c, terms),
    }


def _explain(index: SearchIndex, c: Candidate, terms: QueryTerms) -> dict:
    """Which words and concepts matched, and what each retriever contributed."""
    info = index.sections[c.section]
    words = _passage_stems(index, c.passage)
    entity_iris = {e["iri"]: e for e in info.entities}
    return {
        "matched_terms": sorted({word.lower() for word, stem in terms.words if stem in words}),
        "expanded_terms": sorted({label for label, stems in terms.expansion if stems and stems <= words}),
        "matched_concepts": [
            {"iri": iri, "label": entity_iris[iri]["label"], "type": entity_iris[iri]["type"], "matched": label}
            for iri, label in terms.concepts.items() if iri in entity_iris
        ],
        "dense": {"cosine": round(c.dense, 4), "rank": c.dense_rank, "contribution": round(c.contributions["dense"], 6)},
        "lexical": {"bm25": round(c.lexical, 4), "rank": c.lexical_rank, "contribution": round(c.contributions["lexical"], 6)},
    }


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The passage, cut at a word boundary.

    >>> snippet("un deux trois", limit=8)
    'un deux…'
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"
