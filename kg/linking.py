"""Project text -> policy axes (sections) it fits, ranked, each with reasons a person can check.

Three signals, each turned into a French reason:
- meaning: the hybrid search of kg/search.py (dense + BM25) run with the project text as query;
- words: stemmed content words shared with the section (title counted twice), BM25-weighted;
  it also picks the section's passage closest to the project, shown as evidence;
- concepts: the actors, tools, territories and populations found in the project text (`concepts`,
  given by the caller: `pipeline.link` runs the ingest extractor on it) plus those declared on the
  project, that the section involves, weighted by how rare they are among sections (everybody
  names the ARS; few name the SSIAD).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from kg.lexical import LexicalIndex
from kg.queries import run_named
from kg.search import MAX_QUERY_CHARS, search_store
from ontology import entity_types
from ontology.textkeys import STOPWORDS, fold, stemmer

# Weights of the three signals (each normalised to [0, 1] first).
WEIGHTS = {"meaning": 0.45, "words": 0.35, "concepts": 0.20}
# linking compares actors, tools, territories and populations (not programmes)
PROPERTY_TYPES = {prop: kind for prop, kind in entity_types.PROPERTY_TYPES.items() if kind != "programme"}
MIN_TEXT = 40  # sections with less own text (breadcrumb-only headings) are not suggested
# French stop words, plus words every project description uses (« mise en place d'un projet »)
_STOPWORDS = {fold(w) for w in STOPWORDS} | set("""
alors apres aupres avant avoir cas ceci celles chaque depuis deux doivent egalement etc eux memes
mettre mise non notamment nouveau nouveaux nouvelle nouvelles pendant peuvent place projet projets
quatre selon tres trois via
""".split())
_WORD = re.compile(r"[a-zà-öø-ÿœæ]+", re.I)
_SENTENCES = re.compile(r"(?<=[.!?;:])\s+|\n+|\s*•\s*")


def stems(text: str) -> list[str]:
    """Stemmed content words of a French text.

    >>> stems("Les infirmières libérales et les SSIAD")
    ['infirmi', 'libéral', 'ssiad']
    """
    words = [w.lower().replace("œ", "oe") for w in _WORD.findall(text.replace("\u2019", "'"))]
    words = [w for w in words if len(w) > 2 and fold(w) not in _STOPWORDS]
    return stemmer().stemWords(words)


@dataclass
class Candidate:
    iri: str
    doc: str
    key: str
    title: str
    text: str
    concepts: dict[str, tuple[str, str]] = field(default_factory=dict)  # iri -> (type, label)
    tokens: Counter = field(default_factory=Counter)


def load_candidates(store, min_text: int = MIN_TEXT) -> list[Candidate]:
    """Sections with at least `min_text` characters of own text, with their concepts."""
    candidates: dict[str, Candidate] = {}
    for row in run_named(store, "link_sections"):
        text = str(row.text or "")
        if len(text.strip()) < min_text or str(row.section) in candidates:
            continue
        title = str(row.title)
        key = str(row.number) if row.number else title
        candidate = Candidate(str(row.section), str(row.doc).rstrip("/").rsplit("/", 1)[-1], key, title, text)
        candidate.tokens = Counter(stems(title) * 2 + stems(text))
        candidates[candidate.iri] = candidate
    for row in run_named(store, "link_section_concepts"):
        candidate = candidates.get(str(row.section))
        if candidate is None:
            continue
        kind = PROPERTY_TYPES[str(row.property).rsplit("#", 1)[-1]]
        label = str(row.label) if row.label else str(row.concept).rsplit("/", 1)[-1]
        candidate.concepts[str(row.concept)] = (kind, label)
    return list(candidates.values())


def concept_key(iri: str) -> str:
    """What identifies a concept across kinds: its slug (actor/gcsms and tool/gcsms are one
    thing that two extractions typed differently).

    >>> concept_key("https://w3id.org/healthpolicy-kg/id/tool/gcsms")
    'gcsms'
    """
    return str(iri).rstrip("/").rsplit("/", 1)[-1]


def _bm25(query: list[str], candidates: list[Candidate]) -> dict[str, float]:
    """BM25 of each candidate's stems (the lexical scorer of kg/lexical.py)."""
    if not candidates:
        return {}
    index = LexicalIndex.from_tokens([list(c.tokens.elements()) for c in candidates])
    return {c.iri: float(score) for c, score in zip(candidates, index.scores(query))}


def best_passage(project_stems: set[str], text: str, idf: dict[str, float], limit: int = 240) -> str:
    """The sentence (or list item) of `text` sharing the most rare words with the project."""
    best, best_score = "", 0.0
    for sentence in _SENTENCES.split(text):
        sentence = " ".join(sentence.split())
        if len(sentence) < 15:
            continue
        score = sum(idf.get(s, 0.0) for s in set(stems(sentence)) & project_stems)
        if score > best_score:
            best, best_score = sentence, score
    if len(best) > limit:
        best = best[: limit - 1].rsplit(" ", 1)[0] + "…"
    return best


def _meaning(store, settings, text: str, k: int, index=None, encoder=None) -> tuple[dict[str, float], dict[str, str]]:
    """Section IRI -> search score (best passage), and -> snippet, from kg.search."""
    if settings is None:
        return {}, {}
    if len(text) > MAX_QUERY_CHARS:  # a long description: its opening says what the project is
        text = text[:MAX_QUERY_CHARS].rsplit(" ", 1)[0]
    result = search_store(store, settings, text, k=min(k, 100), index=index, encoder=encoder)
    scores, snippets = {}, {}
    for hit in result["hits"]:
        if hit["iri"] not in scores:
            scores[hit["iri"]] = float(hit["score"])
            snippets[hit["iri"]] = hit.get("snippet") or ""
    return scores, snippets


def _normalise(scores: dict[str, float]) -> dict[str, float]:
    top = max(scores.values(), default=0.0)
    low = min(scores.values(), default=0.0)
    if top <= 0:
        return {k: 0.0 for k in scores}
    low = min(low, 0.0)
    return {k: (v - low) / (top - low) for k, v in scores.items()}


def _join_fr(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " et " + labels[-1]


def suggest(store, settings, text: str, k: int = 5, territories=(), populations=(),
            concepts: dict[str, tuple[str, str]] | None = None, index=None, encoder=None) -> dict:
    """Rank sections for a project description (DESIGN.md `hpkg link --json` contract).

    `concepts` are those found in the text (iri -> (type, label); `pipeline.link.suggest` fills
    them), `territories`/`populations` concept IRIs declared on the project, matched alike.
    `settings` None skips the search index (words + concepts only); `index` is the one to use
    (the web app passes the one it serves, so a request never builds one).
    """
    text = " ".join(text.split())
    candidates = load_candidates(store)
    if not text or not candidates:
        return {"suggestions": []}
    query = stems(text)
    words = _normalise(_bm25(query, candidates))
    meaning_raw, snippets = _meaning(store, settings, text, k=max(len(candidates), 20), index=index,
                                    encoder=encoder)
    meaning = _normalise({c.iri: meaning_raw.get(c.iri, 0.0) for c in candidates})

    found = dict(concepts or {})
    for iri in territories:
        found.setdefault(str(iri), ("territory", str(iri).rsplit("/", 1)[-1]))
    for iri in populations:
        found.setdefault(str(iri), ("population", str(iri).rsplit("/", 1)[-1].replace("-", " ")))
    n = len(candidates)
    keys = {c.iri: {concept_key(i) for i in c.concepts} for c in candidates}
    concept_df = Counter(k for c in candidates for k in keys[c.iri])
    wanted = {concept_key(i) for i in found}
    concept_raw = {c.iri: sum(math.log(1 + n / concept_df[k]) for k in wanted & keys[c.iri]) for c in candidates}
    concepts = _normalise(concept_raw)

    df = Counter(t for c in candidates for t in c.tokens)
    idf = {t: math.log(1 + n / d) for t, d in df.items()}
    project_stems = set(query)
    scored = []
    for c in candidates:
        score = (WEIGHTS["meaning"] * meaning[c.iri] + WEIGHTS["words"] * words[c.iri]
                 + WEIGHTS["concepts"] * concepts[c.iri])
        scored.append((score, c))
    scored.sort(key=lambda pair: (-pair[0], pair[1].iri))

    suggestions = []
    for rank, (score, c) in enumerate(scored[:k], start=1):
        if score <= 0:
            break
        reasons = _reasons(c, found, meaning_raw, meaning, project_stems, idf, snippets)
        suggestions.append({"rank": rank, "score": round(score, 4), "iri": c.iri, "doc": c.doc,
                            "section": c.key, "title": c.title, "reasons": reasons})
    return {"suggestions": suggestions}


def _reasons(c: Candidate, found, meaning_raw, meaning, project_stems, idf, snippets) -> list[str]:
    reasons = []
    section_keys = {concept_key(i): value for i, value in c.concepts.items()}
    shared = [(kind, label, section_keys[concept_key(i)][1]) for i, (kind, label) in found.items()
              if concept_key(i) in section_keys]
    named = sorted({label for kind, label, _ in shared if kind in ("actor", "tool")}, key=str.lower)
    if named:
        reasons.append(f"mentionne {_join_fr(named[:5])}, comme cette orientation")
    places = sorted({theirs for kind, _, theirs in shared if kind == "territory"})
    if places:
        reasons.append(f"concerne le même territoire : {_join_fr(places)}")
    groups = sorted({theirs for kind, _, theirs in shared if kind == "population"})
    if groups:
        reasons.append(f"vise la même population : {_join_fr(groups)}")
    common = sorted((s for s in project_stems if s in c.tokens), key=lambda s: -idf.get(s, 0))
    if common:
        shown = [_surface(s, c) for s in common[:6]]
        reasons.append(f"mots en commun : {', '.join(shown)}")
    if meaning_raw.get(c.iri) and meaning.get(c.iri, 0) >= 0.5:
        reasons.append("proche par le sens de la description du projet (recherche sémantique)")
    passage = best_passage(project_stems, c.text, idf) or snippets.get(c.iri, "")
    if passage:
        reasons.append(f"passage correspondant : « {passage} »")
    return reasons


def _surface(stem: str, c: Candidate) -> str:
    """A word of the section that has this stem, to show a real word rather than a stem."""
    for word in _WORD.findall(c.title + " " + c.text):
        if stemmer().stemWord(word.lower().replace("œ", "oe")) == stem:
            return word.lower()
    return stem
