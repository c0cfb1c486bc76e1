"""Entities of a Document: vocabulary matches, patterns, acronym definitions, NER candidates.

Every method proposes spans over the whole `Document.text`; one resolution step keeps the
longest spans first, never overlapping (ties: vocabulary > pattern > acronym > ner), and each
kept span becomes a `Mention` attributed to the section whose [start, end) holds it.

Matching is on word keys, never on raw strings: a text word matches a label word when their
folded (lower-case, accent-free, ’ = ') crude stems or spaCy lemmas agree; articles are
skipped; short all-caps acronyms (`ARS`, `CH`) must match exactly, case included.
spaCy (`fr_core_news_sm`) is loaded once, lazily, on the first call.
"""
from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

from ingest.model import Document, Mention
from ontology.namespaces import HPID
from ontology.territories import NATIONAL_MIN_POPULATION
from ontology.territories import load_data as load_territories
from ontology.territories import load_small_towns
from ontology.territories import territory_iri
from ontology.textkeys import fold, slugify
from ontology.vocab import ARTICLES, Concept, ambiguities, concept_table, crude_stem, label_key

SPACY_MODEL = "fr_core_news_sm"
# 1:1 character replacements, so offsets in the normalised text equal offsets in the original
_SAME_LENGTH = str.maketrans({"’": "'", "‘": "'", "\u00a0": " ", "\u202f": " ", "ʼ": "'"})
_WORD = re.compile(r"[0-9A-Za-zÀ-ÖØ-öø-ÿŒœ]+")
METHOD_RANK = {"vocabulary": 0, "pattern": 1, "acronym": 2, "ner": 3}
CONFIDENCE = {"vocabulary": 0.95, "pattern": 0.8, "acronym": 0.7, "ner": 0.5}

# The acts and aids of prevention, follow-up and review that plans schedule by name (HAS: revue
# de morbidité et de mortalité, audit clinique; Santé publique France: campagnes, numéros
# nationaux; CSP L2122-1 entretiens, L2132-1 carnet de santé; CASF L311-4 livret d'accueil):
# tools, named like services (`consultations jeunes consommateurs`, `visites à domicile`).
INSTRUMENT_HEADS = {
    "consultation", "campagne", "entretien", "visite", "revue", "audit", "enquete", "cartographie", "kit",
    "automate", "numero", "procedure", "permanence", "operation", "staff", "grille", "carnet", "livret",
    # screening questionnaires (HAS: FINDRISC, AUDIT, repérage) and the mobile units of prevention
    # and care (`bus santé`, `bus de prévention`, `bus dentaire`)
    "questionnaire", "bus",
}
# Head nouns that say what kind of thing a new name is (candidates from patterns, acronyms, NER).
HEAD_TYPES = {
    "actor": {
        "agence", "association", "autorite", "caisse", "centre", "cellule", "clinique", "collectif",
        "comite", "commission", "conference", "conseil", "direction", "delegation", "etablissement",
        "equipe", "federation", "fondation", "groupe", "groupement", "hopital", "institut", "instance", "maison",
        "mutualite",
        "observatoire", "office", "ordre", "pole", "reseau", "service", "syndicat", "union", "unite",
    },
    "tool": {
        "appel", "contrat", "convention", "dispositif", "fonds", "outil", "plateforme", "protocole",
        "repertoire", "systeme", "charte", "guichet", "label", "atelier", "demarche", "bilan", "astreinte",
        "forfait", "dotation", "dossier", "referentiel", "nomenclature", "logiciel", "guide", "messagerie",
        "registre", "portail", *INSTRUMENT_HEADS,
    },
    "programme": {"plan", "programme", "schema", "loi", "strategie", "pacte", "projet", "code", "decret", "ordonnance"},
    "population": {"personne", "enfant", "adulte", "jeune", "patient", "femme", "population", "malade"},
}
# Bodies whose name is a head noun plus a complement (`Fédération de l'hospitalisation publique`).
BODY_HEADS = {
    "agence", "association", "caisse", "collectif", "comite", "commission", "conference", "conseil",
    "direction", "delegation", "federation", "fondation", "instance", "institut", "mutualite",
    "observatoire", "office", "ordre", "syndicat", "union",
    # cooperation bodies (GCS, GCSMS: CSP L6133-1, CASF L312-7) and the groups the CASF sets up
    # (groupe opérationnel de synthèse, L146-8): `groupement régional SESAN`
    "groupement", "groupe",
}
BODY_HEADS_LOWER_OK = {"comite", "commission", "conference", "federation", "observatoire", "association",
                       "groupement", "groupe"}
# `groupe` is also a word of everyday use (`groupe de travail`, `groupe d'âge`): only an
# adjective right after it makes a body's name (`groupe opérationnel de synthèse`)
ADJECTIVE_NAMED_BODIES = {"groupe"}
# Kinds of service, unit and instrument that plans create by the dozen under new names
# (`équipe mobile de gériatrie`, `unité de soins de longue durée`, `plateforme de répit`,
# `contrat local de santé`): a head noun of HEAD_TYPES, then an adjective or a `de` complement.
SERVICE_HEADS = {"equipe", "unite", "centre", "maison", "reseau", "pole", "cellule", "service",
                 "plateforme", "dispositif", "contrat", "charte", "convention", "protocole", "guichet", "fonds",
                 "outil", "label", "atelier", "demarche", "bilan", "astreinte",
                 # financial and informational instruments (CASF R314, CSP L1110-4, L1111-14)
                 "forfait", "dotation", "dossier", "referentiel", "nomenclature", "logiciel", "guide",
                 "messagerie", "repertoire", "etablissement", "portail",
                 # the registers a plan keeps (registre nominatif des personnes vulnérables, CASF L121-6-1)
                 "registre", *INSTRUMENT_HEADS}
# `centre ressource régional de psychotrauma`, `équipe ressource`: the noun `ressource` in
# apposition names a resource centre or team (centres ressources autisme, CASF L312-1 11°).
RESOURCE_WORDS = {"ressource", "ressources"}
# Telemedicine acts are named by speciality with `télé-` (`télédermatologie`, `télé-AVC`): tools.
TELE_NOT_ACTS = {"telephone", "telephones", "telephonique", "telephoniques", "television", "telecharger",
                 "telechargement", "telechargements", "telechargeable", "telechargeables", "telecopie",
                 "teletravail", "teleservice", "teleservices", "telespectateur", "telespectateurs"}
# `au centre de`, `en service`, `à la maison`: the head is then a preposition's object.
SERVICE_HEAD_BLOCKERS = {"au", "en", "a"}
# Complements that make no name of a service (`centre de la ville`, `service de l'État`).
SERVICE_GENERIC = {"ville", "gravite", "vue", "depart", "reference", "travail", "etat", "debat", "cadre",
                   "ensemble", "lieu", "fait", "mesure", "partie", "priorite", "part", "attention",
                   "region", "departement", "territoire", "secteur", "suivi", "telephone"}
# A service or unit that is digital is an informational tool, whatever its head.
DIGITAL_WORDS = {"numerique", "informatise", "dematerialise", "connecte"}
# Adjectives that say how many or which, not what kind: `contrats supplémentaires`.
GENERIC_ADJECTIVES = {"supplementaire", "nouveau", "nouvel", "nouvelle", "existant", "actuel", "meme", "autre",
                      "different", "divers", "propre", "seul", "specifique", "present", "suivant", "necessaire",
                      "premier", "dernier", "prochain", "futur", "principal", "signe", "prevu", "concerne",
                      "correspondant", "partenaire"}
PROGRAMME_HEADS = {"plan", "programme", "schema", "loi"}
# The Ministère de la santé also names its national policies `stratégie nationale …` (stratégie
# nationale de santé, CSP L1411-1-1), `pacte …` (pacte territoire santé, pacte de refondation des
# urgences) and `feuille de route …` (feuille de route santé mentale et psychiatrie): a strategy is
# named when national or when a name follows its qualifier (`stratégie régionale e-santé`, while
# `stratégie régionale d'organisation de ces soins` names nothing); a pact by its complement.
STRATEGY_HEADS = {"strategie", "pacte"}
# `programme de sécurisation des …`, `pacte de confiance`: a complement names these heads
# (and `schéma de l'autonomie`, `schémas d'organisation sociale et médico-sociale`: CASF L312-4)
COMPLEMENT_NAMED_HEADS = {"programme", "pacte", "schema"}
# the kinds of law that French law titles name by their complement (`loi d'urgence pour Mayotte`,
# `loi d'orientation …`, `loi de programmation …`, `loi de modernisation …`)
LAW_KINDS = {"urgence", "orientation", "programmation", "modernisation", "financement", "finances", "simplification",
             "transformation", "lutte", "refondation", "accessibilite"}
PROGRAMME_QUALIFIERS = {
    "national", "regional", "departemental", "interdepartemental", "interregional", "pluriannuel",
    "territorial", "strategique", "quinquennal", "triennal", "decennal", "gouvernemental",
}
# Plans drawn up for one person (CASF L114-1-1, CSP L1411-11-1): tools of the care of that person.
PERSONAL_PLAN_WORDS = {"personnalise", "individualise", "individuel"}
# `plan X` names a plan when X is a bare noun; these bare nouns do not make a name.
PLAN_GENERIC = {"site", "action", "actions", "travail", "masse", "cadre", "ensemble", "suivant", "local", "principe"}
CONNECTORS = {"de", "des", "du", "d", "pour", "en", "a", "au", "aux", "l", "la", "le", "les", "contre", "sur"}
# An organisation or programme name never runs into these words.
NAME_STOPS = {
    "afin", "qui", "que", "dont", "dans", "avec", "par", "notamment", "ainsi", "lorsque", "mais", "ou",
    "un", "une", "ce", "cet", "cette", "ces", "son", "sa", "ses", "leur", "leurs", "notre", "nos", "votre", "vos",
}


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int
    keys: frozenset[str]  # keys this word can match a label word by
    folded: str
    pos: str  # spaCy coarse part of speech ("" when spaCy split the word differently)
    before: str  # the characters between the previous word and this one
    stem: str  # crude stem of the folded word
    lemma: str  # crude stem of the folded spaCy lemma (the stem when spaCy has none)


@dataclass
class _Span:
    start: int
    end: int
    type: str
    concept: str
    label: str
    method: str
    candidate: bool = False
    confidence: float = 0.0


# --- spaCy, loaded once and lazily --------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _nlp():
    import spacy

    try:
        return spacy.load(SPACY_MODEL)
    except OSError as error:
        raise RuntimeError(f"spaCy model {SPACY_MODEL} is not installed: pip install {SPACY_MODEL.replace('_', '-')}") from error


_CHUNK = 100_000  # characters per spaCy call: spaCy refuses texts over nlp.max_length (1M)


def _tags_of(doc, offset: int = 0) -> dict[int, tuple[str, str, str]]:
    """start offset -> (token text, coarse POS, lemma) of a spaCy Doc."""
    return {offset + token.idx: (token.text, token.pos_, token.lemma_) for token in doc}


def _analyse(normalised: str) -> tuple[dict[int, tuple[str, str, str]], list[tuple[int, int, str]]]:
    """spaCy tags and entities of a page, parsed in chunks cut at line ends."""
    pieces, start = [], 0
    while start < len(normalised):
        end = min(start + _CHUNK, len(normalised))
        if end < len(normalised):
            cut = normalised.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        pieces.append((start, normalised[start:end]))
        start = end
    tags: dict[int, tuple[str, str, str]] = {}
    entities: list[tuple[int, int, str]] = []
    docs = _nlp().pipe((piece for _, piece in pieces), disable=["parser"])  # tags, lemmas, entities
    for (offset, _), doc in zip(pieces, docs):
        tags.update(_tags_of(doc, offset))
        entities.extend((offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents)
    return tags, entities


def _tokens(text: str, tags: dict[int, tuple[str, str, str]] | None = None) -> list[_Token]:
    """Regex words of `text` (one split for labels and pages), keyed by stem, lemma and acronym.

    `tags` are the spaCy tags of the text by start offset (`_tags_of`), None to skip lemmas.
    """
    normalised = text.translate(_SAME_LENGTH)
    by_start = tags or {}
    tokens = []
    previous_end = 0
    for match in _WORD.finditer(normalised):
        word = match.group()
        folded = fold(word)
        stem = crude_stem(folded)
        keys = {stem}
        lemma, pos = stem, ""
        tag = by_start.get(match.start())
        if tag is not None and len(tag[0].rstrip("'")) == len(word):
            pos = tag[1]
            folded_lemma = fold(tag[2])
            # not a lemma that only drops the final `e`: `commune` is not `commun`, `médecine` not `médecin`
            if _WORD.fullmatch(folded_lemma) and crude_stem(folded_lemma) + "e" != stem:
                lemma = crude_stem(folded_lemma)
                keys.add(lemma)
        if _is_acronym_form(word):
            keys.add("=" + word.upper())
        if word[:1].isupper():
            keys.add("^" + stem)  # a capitalised word of a proper name needs a capital here too
        before = normalised[previous_end:match.start()]
        tokens.append(_Token(word, match.start(), match.end(), frozenset(keys), folded, pos, before, stem, lemma))
        previous_end = match.end()
    return tokens


def _is_acronym_form(word: str) -> bool:
    """`ARS`, `CH`, `GCSMS`, and title-case `Paps`/`Paca` (4+ letters) count as acronyms."""
    if _is_acronym_label(word):
        return True
    return len(word) >= 4 and word[0].isupper() and word[1:].islower() and word.isalpha()


def _is_acronym_label(word: str) -> bool:
    return len(word) >= 2 and word.isupper() and sum(ch.isalpha() for ch in word) >= 2


# --- the vocabulary matcher, built once ---------------------------------------------------------


# French merges `de`/`à` with the article of a place name: `Le Mans` -> `du Mans`, `au Mans`.
_CONTRACTIONS = {"le": {"du", "au"}, "les": {"des", "aux"}}
_CONTRACTED_WORDS = {"du", "au", "des", "aux"}
_BREAK = re.compile(r"[\n.;:()\[\]•?!]")
_LEMMA_POS = {"NOUN", "ADJ", "PROPN"}


class _Matcher:
    """A word trie over every label of the vocabularies; a node's `$` lists (concept, label).

    Each label is inserted twice: by the crude stems of its words and by their spaCy lemmas
    (nouns and adjectives only: a label word read as a verb would match any form of the verb).
    Acronyms are exact edges (`=ARS`). Proper names (`Le Mas`, `Santé publique France`) keep
    their articles, must start with a capital, and are not lemmatised.
    """

    def __init__(self, concepts: tuple[Concept, ...]):
        self.concepts = {concept.iri: concept for concept in concepts}
        self.root: dict = {}
        labelled = [(concept, label) for concept in concepts for label in concept.labels]
        common = [label for _, label in labelled if not _is_proper(label)]
        nlp = _nlp()
        parsed = dict(zip(common, nlp.pipe([l.translate(_SAME_LENGTH) for l in common], batch_size=512, disable=["parser", "ner"])))
        for concept, label in labelled:
            proper = _is_proper(label)
            tags = _tags_of(parsed[label]) if label in parsed else None
            words = [t for t in _tokens(label, tags) if proper or t.folded not in ARTICLES]
            if not words:
                continue
            stem_path = [
                ["=" + t.text] if _is_acronym_label(t.text) else ["^" + t.stem] if proper and t.text[:1].isupper() else [t.stem]
                for t in words
            ]
            lemma_path = [
                ["=" + t.text] if _is_acronym_label(t.text) else [t.lemma if t.pos in _LEMMA_POS else t.stem]
                for t in words
            ]
            for path in (stem_path,) if proper else (stem_path, lemma_path):
                self._insert(path, concept.iri, label, proper)
            contracted = _CONTRACTIONS.get(words[0].folded) if proper and len(words) > 1 else None
            if contracted:  # `du Mans`, `au Havre`, `des Sables-d'Olonne`: the article is merged
                self._insert([sorted({crude_stem(w) for w in contracted})] + stem_path[1:], concept.iri, label, False)
        self.ambiguous = ambiguities()
        regions = {label for c in concepts if c.kind == "Region" for label in c.labels if not fold(label).startswith("region")}
        regions = sorted(regions | {label.title() for label in regions if label.isupper()}, key=len, reverse=True)  # `Paca`
        names = "|".join(re.escape(name.replace("'", "’")).replace("’", "['’]") for name in regions)
        self.region_after = re.compile(r"[ \t]+(?:" + names + r")\b") if names else None
        self.acronyms = {
            label.upper() for c in concepts for label in c.alt_labels
            if " " not in label and sum(ch.isupper() for ch in label) >= 2
        }
        # (type, label key) -> concept IRI, to name what a pattern or NER found
        self.by_key: dict[tuple[str, str], str] = {}
        for concept in concepts:
            for label in concept.labels:
                self.by_key.setdefault((concept.type, label_key(label)), concept.iri)

    def _insert(self, path: list[list[str]], iri: str, label: str, capitalised: bool) -> None:
        nodes = [self.root]
        for keys in path:
            nodes = [node.setdefault(key, {}) for node in nodes for key in keys]
        for node in nodes:
            entries = node.setdefault("$", [])
            if all(entry[0] != iri for entry in entries):
                entries.append((iri, label, capitalised))

    def find(self, tokens: list[_Token]) -> list[tuple[int, int, list[tuple[str, str, bool]]]]:
        """(first token, last token, entries) of the longest label match at each start."""
        found = []
        for i in range(len(tokens)):
            frontier = [self.root]
            best = None
            j = i
            crossed_comma = False  # `Nord, le Pas-de-Calais` is two places, not Nord-Pas-de-Calais
            while j < len(tokens) and frontier:
                token = tokens[j]
                if j > i and _BREAK.search(token.before):
                    break
                crossed_comma = crossed_comma or (j > i and "," in token.before)
                following = [node[key] for node in frontier for key in token.keys if key in node]
                if not following:
                    if token.folded in ARTICLES and j > i:
                        j += 1  # `préfecture de la région` matches `préfecture de région`
                        continue
                    break
                frontier = following
                entries = [entry for node in frontier for entry in node.get("$", ())
                           if not crossed_comma or "," in entry[1]]
                if entries:
                    best = (i, j, entries)
                j += 1
            if best:
                entries = [e for e in best[2] if not e[2] or tokens[i].text[:1].isupper()]
                if entries:
                    found.append((best[0], best[1], entries))
        return found


@functools.lru_cache(maxsize=1)
def _matcher() -> _Matcher:
    return _Matcher(concept_table())


# --- methods --------------------------------------------------------------------------------------


def _is_proper(label: str) -> bool:
    """A proper name starts with a capital and is not an acronym: `Le Mas`, `ViaTrajectoire`."""
    return label[:1].isupper() and not label.split()[0].isupper()


def _vocabulary_spans(text: str, tokens: list[_Token], matcher: _Matcher, region: str | None = None) -> list[_Span]:
    spans = []
    for i, j, entries in matcher.find(tokens):
        if i == j and _adjective_by_stem(tokens[i], entries, matcher):
            continue
        start, end = tokens[i].start, tokens[j].end
        contracted = i < j and tokens[i].text.islower() and all(_merges_article(e[1]) for e in entries)  # `du Mans`
        if contracted and (tokens[i].folded not in _CONTRACTED_WORDS or _is_acronym_label(tokens[i + 1].text)):
            continue  # `de` shares the stem of `du`; `places de MAS` names no town Le Mas
        name_start = tokens[i + 1].start if contracted else start
        entries = [e for e in entries if not _inflected_town(e[0], text[name_start:end], matcher)]
        if i == j and _in_capitals_run(tokens, i):
            entries = [e for e in entries if not e[2] or matcher.concepts[e[0]].type == "territory"]
        if not entries:
            continue
        iri = _choose(entries, text, start, end, matcher, region)
        concept = matcher.concepts[iri]
        end = _extend(text, end, concept, matcher)
        if i == j and tokens[i].before.endswith("(") and text[end:end + 1] == ")":
            expansion_start = _shortened_expansion(text, tokens, i, concept)
            if expansion_start < start:
                start, end = expansion_start, end + 1
        if contracted:
            start = name_start  # `du Mans`: the mention is `Mans`, of the concept Le Mans
        spans.append(_Span(start, end, concept.type, iri, concept.pref_label, "vocabulary"))
    return spans


def _in_capitals_run(tokens: list[_Token], i: int) -> bool:
    """Token i and a neighbour on its line are all capitals (`ÉTAT DES LIEUX`): the capital
    says nothing there, so a one-word proper name (`État`) is not told from a common noun
    (`état`); places are still read, headings in capitals name them."""
    if not tokens[i].text.isupper() or len(tokens[i].text) < 2:
        return False
    neighbours = [tokens[k] for k in (i - 1, i + 1) if 0 <= k < len(tokens)
                  and "\n" not in (tokens[i].before if k < i else tokens[k].before)]
    return any(t.text.isupper() and len(t.text) >= 2 for t in neighbours)


def _merges_article(label: str) -> bool:
    """`Le Mans`, `Les Sables-d'Olonne`: a place name whose article French merges (`du Mans`)."""
    return label[:1].isupper() and fold(label).split()[0] in _CONTRACTIONS


def _adjective_by_stem(token: _Token, entries, matcher: _Matcher) -> bool:
    """`élevée` (folded `elevee`) reached `élèves`, `droit commun` reached `communes`: an
    adjective that meets a one-word label only once accents are dropped or the label cut."""
    if token.pos not in {"ADJ", "VERB"}:
        return False
    labels = {label.lower() for iri, _, _ in entries for label in matcher.concepts[iri].labels}
    labels |= {_singular(label) for label in labels}
    return not _masculine_forms(token.text.lower()) & labels


def _singular(word: str) -> str:
    return word[:-1] if word[-1:] in {"s", "x"} else word


_FEMININE = (("euse", "eur"), ("ère", "er"), ("ive", "if"), ("elle", "el"), ("e", ""))


def _masculine_forms(word: str) -> set[str]:
    """`fumeuses` -> {fumeuses, fumeuse, fumeur}; `littorales` -> {..., littoral}."""
    singular = _singular(word)
    forms = {word, singular}
    for feminine, masculine in _FEMININE:
        if singular.endswith(feminine):
            forms.add(singular[:len(singular) - len(feminine)] + masculine)
            break
    return forms


def _shortened_expansion(text: str, tokens: list[_Token], i: int, concept: Concept) -> int:
    """Start of `comités départementaux (CoDES)`: the words before a known acronym that begin
    one of its concept's labels (two words at least), else the `(` itself."""
    keys = [label_key(label) for label in concept.labels if not _is_acronym_label(label)]
    best = i
    for k in range(i - 1, max(-1, i - 8), -1):
        if k < i - 1 and _BREAK.search(tokens[k + 1].before):
            break
        prefix = label_key(text[tokens[k].start:tokens[i - 1].end])
        if any(key == prefix or key.startswith(prefix + " ") for key in keys):
            best = k
    while best < i and tokens[best].folded in ARTICLES:
        best += 1  # `les comités ...` starts at `comités`
    return tokens[best].start if best <= i - 2 else tokens[i].start


def _choose(entries, text: str, start: int, end: int, matcher: _Matcher, region: str | None = None) -> str:
    """One concept for a matched label: the only one, the acronym reading of an all-caps
    surface, the documented reading that the words before it select, or the place in the
    page's région (`region`, an INSEE code) among homonym places (Saint-Denis 93 or 974)."""
    iris = sorted({entry[0] for entry in entries})
    if len(iris) > 1 and text[start:end].isupper():
        acronyms = sorted({iri for iri, label, _ in entries if label.isupper()})
        iris = acronyms or iris
    if len(iris) == 1:
        return iris[0]
    ambiguity = next((a for a in matcher.ambiguous if set(iris) <= set(a.concepts)), None)
    if ambiguity is None:
        local = [iri for iri in iris if region and _territory_regions().get(iri) == region]
        return local[0] if len(local) == 1 else iris[0]
    sentence_start = max(text.rfind(". ", 0, start), text.rfind("\n", 0, start), start - 200) + 1
    before = fold(text[sentence_start:start])
    for iri, cues in ambiguity.cues.items():
        if iri in iris and any(re.search(r"\b" + re.escape(fold(cue)), before) for cue in cues):
            return iri
    return next(iri for iri in ambiguity.concepts if iri in iris)


_territory_data = functools.lru_cache(maxsize=1)(load_territories)  # read once, for both tables below


@functools.lru_cache(maxsize=1)
def _territory_regions() -> dict[str, str]:
    """The région (INSEE code) of every place of the territories vocabulary, by IRI."""
    data = _territory_data()
    regions = {str(territory_iri("region", r["code"])): r["code"] for r in data["regions"]}
    for d in data["departements"]:
        regions[str(territory_iri("departement", d["code"]))] = d["region"]
    for c in data["communes"]:
        regions[str(territory_iri("commune", c["code"]))] = c["region"]
    return regions


@functools.lru_cache(maxsize=1)
def _small_vocabulary_communes() -> frozenset[str]:
    """The communes of the vocabulary below NATIONAL_MIN_POPULATION (PACA's, shipped whole)."""
    return frozenset(str(territory_iri("commune", c["code"])) for c in _territory_data()["communes"]
                     if c.get("population", NATIONAL_MIN_POPULATION) < NATIONAL_MIN_POPULATION)


_YEAR = re.compile(r"(?:19|20)\d\d")
_YEARS = re.compile(r"[ \t]*(?:\d{4}(?:[ \t]*[-–/][ \t]*\d{4})?)\b")


_ACRONYM_AFTER = re.compile(r"[ \t]*\(([^()\n]{2,12})\)")


def _extend(text: str, end: int, concept: Concept, matcher: _Matcher) -> int:
    """Take in what belongs to the name: `(HAD)` after its expansion, `2012-2016`, a region
    after an actor (`ARS Paca`, `ARS Occitanie`)."""
    acronym = _ACRONYM_AFTER.match(text, end)
    if acronym and acronym.group(1).strip().upper() in {label.upper() for label in concept.alt_labels}:
        return acronym.end()
    if concept.type == "programme":
        years = _YEARS.match(text, end)
        if years:
            return years.end()
    if concept.type == "actor" and matcher.region_after and not fold(text[max(0, end - 8):end]).endswith("region"):
        # but in `préfecture de la région Paca`, `Paca` stays a territory
        region = matcher.region_after.match(text, end)
        if region:
            return region.end()
    return end


_NOUN_SUFFIXES = ("ment", "ments", "tion", "tions", "sion", "sions", "age", "ages", "ite", "ites", "ence", "ences",
                  "ance", "ances", "isme", "ismes")
_PARTICIPLE_ENDINGS = ("é", "ée", "és", "ées")


def _pos(token: _Token) -> str:
    """spaCy's coarse tag, corrected where the small model errs on policy nouns: `hébergement`
    tagged AUX, `spécialisées` (a participle used as an adjective) VERB."""
    if token.pos in {"VERB", "AUX"}:
        if token.folded.endswith(_NOUN_SUFFIXES) and len(token.folded) > 5:
            return "NOUN"
        if token.text.lower().endswith(_PARTICIPLE_ENDINGS):
            return "ADJ"
    return token.pos


def _name_end(tokens: list[_Token], i: int, limit: int = 14, appositions: bool = False) -> int:
    """Last token of a name starting at token i: nouns, adjectives, numbers, joined by connectors.

    Two non-adjectives in a row end the name (`Observatoire régional de la santé | montre`),
    unless `appositions` allows them before the first connector (`plan solidarité grand âge`).
    """
    last = i
    after_connector = False
    j = i + 1
    while j < len(tokens) and j - i <= limit:
        token = tokens[j]
        gap = _gap(tokens, j)
        if not re.fullmatch(r"[ \t'\-]*", gap):
            break  # punctuation, a line break or a parenthesis ends a name
        if gap == "-" and last == j - 1:  # `Saint-Denis`, `bucco-dentaire`: one hyphenated word
            last = j
            j += 1
            continue
        pos = _pos(token)
        if token.folded in NAME_STOPS or pos in {"VERB", "AUX", "ADV", "PRON", "SCONJ"} or token.folded in _NUMBER_WORDS:
            break  # `guichet … | deux demi-journées`, `bilan des | cinq premières années`: how many, when
        if (token.folded.endswith("ant") and j + 1 < len(tokens) and _gap(tokens, j + 1) == " "
                and _pos(tokens[j + 1]) in {"NOUN", "PROPN"}):
            break  # `protocoles … | associant médecins`: a present participle with its object
        if j > i + 1 and j + 1 < len(tokens) and tokens[j + 1].folded in _AGENT_WORDS and token.pos == "VERB":
            break  # `plateforme … portée par`, `contrat … signé entre`: a verb, whatever its ending
        if token.folded == "et":
            nxt = tokens[j + 1] if j + 1 < len(tokens) else None
            if not after_connector or nxt is None or nxt.folded not in {"de", "d", "du", "des", "a", "au", "aux"}:
                break  # `centre d'accueil et d'accompagnement`, not `service adapté et des communes`
            if _new_name_follows(tokens, j):
                break  # `plan national … et du programme national …`: two names, not one
        elif token.folded in _PLACE_CONNECTORS and _place_follows(tokens, j):
            break  # `maison de santé à Saint-Malo`: the town is where it is, not its name
        elif token.folded in _OF and _place_list_follows(tokens, j):
            break  # `établissements pénitentiaires de Rennes et de Brest`: where they are
        elif token.folded in CONNECTORS and _time_follows(tokens, j):
            break  # `dotation … sur la durée du schéma`: when, not what
        elif token.folded in {"de", "d"} and _amount_follows(tokens, j):
            break  # `dotation annuelle de 380 000 euros`, `convention de trois ans`: how much, not what
        elif token.folded == "pour" and j + 1 < len(tokens) and tokens[j + 1].folded in {"des", "un", "une"}:
            break  # `centre hospitalier … pour des consultations`: what for, not which
        elif token.folded in _DEFINITE and token.text.islower() and tokens[j - 1].folded not in CONNECTORS:
            break  # `consultations de médecine générale | le jour même`: in a name an article follows a
            # preposition, or opens a proper name (`syndicat Les Eaux de Mayotte`)
        elif token.folded in CONNECTORS:
            after_connector = True
        else:
            previous = tokens[j - 1]
            juxtaposed = previous.folded not in CONNECTORS and previous.folded != "et"
            if juxtaposed and (after_connector or not appositions) and pos not in {"ADJ", "NUM"}:
                break  # after `de ...`, only adjectives follow a word without a connector
            last = j
        j += 1
    return last


_AGENT_WORDS = {"par", "avec", "entre", "aupres"}
_NUMBER_WORDS = {"deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze", "quinze",
                 "vingt", "trente", "quarante", "cinquante", "cent", "mille"}
_DEFINITE = {"le", "la", "les", "l"}
_PLACE_CONNECTORS = {"a", "au", "aux", "en"}
_OF = {"de", "d", "du", "des"}  # the connector that opens a complement or a place


def _after_articles(tokens: list[_Token], k: int) -> int:
    """The first token from k on that is not an article."""
    while k < len(tokens) and tokens[k].folded in ARTICLES:
        k += 1
    return k


def _place_follows(tokens: list[_Token], j: int) -> bool:
    """A capitalised word (not an acronym) follows connector j, articles aside: `à Lyon`, `en Lozère`."""
    k = _after_articles(tokens, j + 1)
    return k < len(tokens) and tokens[k].text[:1].isupper() and not _is_acronym_label(tokens[k].text)


def _place_list_follows(tokens: list[_Token], j: int) -> bool:
    """Connector j opens a list of places (`de Rennes-Vezin et de Brest`, `du Nord-Isère et du
    Sud-Isère`, `de Lille, d'Amiens`): capitalised words, then `et` or a comma, a connector and
    a capitalised word again."""
    k = _after_articles(tokens, j + 1)
    if k >= len(tokens) or not _place_follows(tokens, j):
        return False
    while k + 1 < len(tokens) and tokens[k + 1].before == "-":
        k += 1  # `Rennes-Vezin`, `Nord-Isère`
    n = k + 1
    if n < len(tokens) and tokens[n].folded == "et" and "\n" not in tokens[n].before:
        n += 1
    elif n >= len(tokens) or tokens[n].before.strip() != ",":
        return False
    return n < len(tokens) and tokens[n].folded in _OF and _place_follows(tokens, n)


_TIME_NOUNS = {"dure", "periode", "anne", "moi", "semaine", "trimestre", "horizon", "fin", "debut"}  # crude stems


def _time_follows(tokens: list[_Token], j: int) -> bool:
    k = _after_articles(tokens, j + 1)
    if k < len(tokens) and (tokens[k].folded.endswith("ieme") or tokens[k].folded in {"premier", "dernier"}):
        k += 1  # `du quatrième mois de grossesse`, `au premier trimestre`
    return k < len(tokens) and crude_stem(tokens[k].folded) in _TIME_NOUNS


_NUMBER_WORDS = {"un", "une", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze",
                 "douze", "quinze", "vingt", "trente", "quarante", "cinquante", "soixante", "cent", "mille"}


def _amount_follows(tokens: list[_Token], j: int) -> bool:
    """Token j (`de`) is followed by a number, in figures or words (`des 1000 premiers jours`
    names a programme: only `de` opens an amount)."""
    return j + 1 < len(tokens) and (tokens[j + 1].text.isdigit() or tokens[j + 1].folded in _NUMBER_WORDS)


def _new_name_follows(tokens: list[_Token], j: int) -> bool:
    """Token j (`et`) opens another programme's name: `et du programme …`, `et le plan …`."""
    k = j + 1 + (j + 1 < len(tokens) and tokens[j + 1].folded in _CONTRACTED_WORDS)
    k = _after_articles(tokens, k)
    return k < len(tokens) and crude_stem(tokens[k].folded) in PROGRAMME_HEADS | STRATEGY_HEADS


def _gap(tokens: list[_Token], j: int) -> str:
    return tokens[j].before


def _pattern_spans(text: str, tokens: list[_Token], matcher: _Matcher, known: list[_Span]) -> list[_Span]:
    """Names of bodies and programmes. A name that starts like a known label only takes over
    when it goes on with a complement (`commission de coordination | pour l'offre ...`):
    spaCy reads `montre` in `... de la santé montre` as an adjective."""
    spans = []
    known_at, known_type = {}, {}
    for span in known:
        known_at.setdefault((span.start, span.type), span.end)
        known_type.setdefault(span.start, span.type)
    for i, token in enumerate(tokens):
        stem = crude_stem(token.folded)
        if stem in PROGRAMME_HEADS and i + 1 < len(tokens):
            span = _programme_span(text, tokens, i, stem)
        elif stem in STRATEGY_HEADS and i + 1 < len(tokens):
            span = _strategy_span(text, tokens, i, stem)
        elif _is_roadmap(tokens, i):
            span = _roadmap_span(text, tokens, i)
        elif stem in LEGAL_TEXT_HEADS:
            span = _legal_text_span(text, tokens, i)
        elif stem in BODY_HEADS and (token.text[:1].isupper() or stem in BODY_HEADS_LOWER_OK):
            span = _body_span(text, tokens, i)
        elif _is_head(token, SERVICE_HEADS):
            span = _service_span(text, tokens, i)
        elif token.folded.startswith("tele"):
            span = _telemedicine_span(tokens, i)
        elif token.folded in GEOGRAPHIC_HEADS:
            span = _geographic_span(tokens, i)
        elif token.folded in POPULATION_HEADS:
            span = _population_span(tokens, i)
        elif token.folded in EPCI_WORDS and token.text[:1].isupper():
            span = _epci_span(tokens, i, known)
            if span is not None:  # it starts at a known place: the place does not type it
                spans.append(_resolve(span, text, matcher))
            continue
        elif _is_specialist(tokens, i):
            span = _Span(token.start, token.end, "actor", "", "", "pattern")
        else:
            continue
        if span is None:
            continue
        span = _without_straddle(span, text, tokens, known)
        if span is None:
            continue
        # `plateforme d'accompagnement et de répit des aidants`: the vocabulary knows the kind
        span.type = known_type.get(span.start, span.type)
        known_end = known_at.get((span.start, span.type))
        if known_end is not None and _WORD.search(text, known_end, span.end) \
                and span.type != "population":  # more words, not just `»`; a group's adjective narrows it
            following = next((tokens[n] for n in range(i, len(tokens)) if tokens[n].start >= known_end), None)
            if following is None or following.folded not in _COMPLEMENT:
                continue
        spans.append(_resolve(span, text, matcher))
    return spans


_COMPLEMENT = {"de", "d", "du", "des", "pour", "en", "a", "au", "aux", "contre", "sur"}


# Intercommunal bodies (EPCI, CGCT L5210-1-1 A) take the name of their town: `Mont-de-Marsan
# Agglomération`, `Toulouse Métropole`, `Grenoble-Alpes Métropole`.
EPCI_WORDS = {"agglomeration", "metropole"}


def _epci_span(tokens: list[_Token], i: int, known: list[_Span]) -> _Span | None:
    """A known place right before a capitalised `Agglomération`/`Métropole`: the EPCI, an actor."""
    if i == 0 or _gap(tokens, i) not in {" ", "-"}:
        return None
    place = next((k for k in known if k.type == "territory" and k.end == tokens[i - 1].end), None)
    if place is None:
        return None
    return _Span(place.start, tokens[i].end, "actor", "", "", "pattern")


def _without_straddle(span: _Span, text: str, tokens: list[_Token], known: list[_Span]) -> _Span | None:
    """A name never starts inside a known one (`établissements et | services pour …`: None), nor
    ends inside one: it takes in the known name its complement opens (`programme de sécurisation
    … des | groupements hospitaliers de territoire (GHT)`), unless that is a place (`maisons de
    santé des | quartiers prioritaires`: where they are), else it stops before it; None when
    nothing of the name is left but its head."""
    if any(k.start < span.start < k.end < span.end for k in known):
        return None
    straddled = [k for k in known if span.start < k.start < span.end < k.end]
    if not straddled:
        return span
    inside = min(straddled, key=lambda k: k.start)
    words = [t for t in tokens if span.start <= t.start and t.end <= inside.start]
    if words and words[-1].folded in _COMPLEMENT | ARTICLES and inside.type != "territory":
        span.end = inside.end
        if span.type == "programme":
            years = _YEARS.match(text, span.end)
            span.end = years.end() if years else span.end
        return span
    while len(words) > 1 and (words[-1].folded in CONNECTORS or words[-1].folded in ARTICLES):
        words.pop()
    if len(words) < 2:
        return None
    span.end = words[-1].end
    return span


def _programme_span(text: str, tokens: list[_Token], i: int, head: str) -> _Span | None:
    if head == "loi":
        numbered = _legal_text_span(text, tokens, i)
        if numbered is not None:
            return numbered
        quoted = re.match(r"[ \t]*([«\"“])[ \t]*([^»\"”\n]{3,120}?)[ \t]*[»\"”]", text[tokens[i].end:])
        if quoted:
            return _Span(tokens[i].start, tokens[i].end + quoted.end(), "programme", "", "", "pattern")
    nxt = tokens[i + 1]
    if _gap(tokens, i + 1) not in {" ", "\t", "  "} and not re.fullmatch(r"[ \t']+", _gap(tokens, i + 1)):
        return None
    brand = _brand_end(tokens, i)
    if brand is not None:  # `programme Un chez-soi d'abord`
        return _Span(tokens[i].start, tokens[brand].end, "programme", "", "", "pattern")
    named = (
        _is_acronym_form(nxt.text)
        or (nxt.text[:1].isupper() and not tokens[i].text.isupper())
        or crude_stem(nxt.folded) in PROGRAMME_QUALIFIERS | PERSONAL_PLAN_WORDS
        or (head == "plan" and nxt.pos in {"NOUN", "PROPN", "ADJ"} and nxt.folded not in PLAN_GENERIC
            and not _verb_before_object(tokens, i + 1))
        or (head == "loi" and nxt.folded in {"du", "n", "no"})
        or (head == "loi" and nxt.folded in {"de", "d"} and i + 2 < len(tokens) and tokens[i + 2].folded in LAW_KINDS)
        or (head in COMPLEMENT_NAMED_HEADS and _noun_complement(tokens, i + 1))
        or (head == "plan" and _qualified_action_plan(tokens, i + 1))
        or _territorial_qualifier(tokens, i + 1)
    )
    if not named:
        return None
    last = _name_end(tokens, i, appositions=True)
    if last == i or (last == i + 1 and crude_stem(nxt.folded) in PROGRAMME_QUALIFIERS):
        return None  # `plans nationaux` names no plan
    # a plan made for one person (`plan personnalisé de prévention`) is a care tool, not a policy
    kind = "tool" if crude_stem(nxt.folded) in PERSONAL_PLAN_WORDS else "programme"
    end = _programme_end(text, tokens, i, last)
    if head == "loi":  # `loi d'urgence pour Mayotte | du 24 février 2025`: its date is part of its name
        dated = _LAW_DATE.search(text, tokens[i].start, end + 40)
        end = dated.end() if dated and dated.start() <= end else end
    return _Span(tokens[i].start, end, kind, "", "", "pattern")


_LAW_DATE = re.compile(r"[ \t]+du[ \t]+\d{1,2}(?:er)?[ \t]+[a-zéû]+[ \t]+\d{4}")


# the adjective of a place's people (`programme réunionnais de nutrition`, `plan francilien pour
# l'autonomie`): a region's or a town's own programme, as `régional` would say it
_TERRITORIAL_ADJECTIVE = re.compile(r"\w{3,}(?:ais|ois|ien|ain)(?:e|ne)?s?")


def _territorial_qualifier(tokens: list[_Token], j: int) -> bool:
    """Token j is such an adjective and a complement follows it: `réunionnais de nutrition`."""
    return (j + 1 < len(tokens) and tokens[j].pos in {"ADJ", "NOUN"}  # spaCy often takes it for a noun
            and _TERRITORIAL_ADJECTIVE.fullmatch(tokens[j].folded) is not None
            and tokens[j + 1].folded in {"de", "d", "pour", "contre"})


def _programme_end(text: str, tokens: list[_Token], first: int, last: int) -> int:
    """End of a programme's name whose words run from token `first` to `last`: with the acronym
    that brands it (`programme national d'expérimentation ETAPES`) and the years it runs, which
    end it (`feuille de route … 2018-2022 | du ministère`)."""
    year = next((k for k in range(first + 1, last + 1) if _YEAR.fullmatch(tokens[k].text)), None)
    if year is not None:
        last = year - 1
    end = tokens[_with_brand(tokens, last)].end
    years = _YEARS.match(text, end)
    return years.end() if years else end


_OBJECT_OPENERS = ARTICLES | {"des", "ce", "cet", "cette", "ces", "son", "sa", "ses", "leur", "leurs"}


def _verb_before_object(tokens: list[_Token], j: int) -> bool:
    """Token j is a verb that spaCy took for a noun: a determiner follows it (`le plan | prévoit
    une campagne`), where a plan's name (`plan canicule`, `plan cancer`) ends or runs on."""
    return j + 1 < len(tokens) and tokens[j + 1].folded in _OBJECT_OPENERS and _gap(tokens, j + 1) == " "


def _noun_complement(tokens: list[_Token], j: int) -> bool:
    """Token j is `de`/`d'` and a noun that is not generic follows, articles aside (`de
    sécurisation`, `de confiance`; not `d'actions`, `de travail`, nor `programme du projet …`)."""
    if j >= len(tokens) or tokens[j].folded not in {"de", "d"}:
        return False
    k = _after_articles(tokens, j + 1)
    return k < len(tokens) and _pos(tokens[k]) == "NOUN" and tokens[k].folded not in PLAN_GENERIC


def _qualified_action_plan(tokens: list[_Token], j: int) -> bool:
    """`plan d'action régional de la pertinence`, `plan d'actions national …`: a plan of actions
    is named by the level that adopts it (a CSS L162-30-4 plan d'actions régional)."""
    return (j + 2 < len(tokens) and tokens[j].folded in {"d", "de"} and tokens[j + 1].folded in {"action", "actions"}
            and crude_stem(tokens[j + 2].folded) in PROGRAMME_QUALIFIERS)


def _strategy_span(text: str, tokens: list[_Token], i: int, head: str) -> _Span | None:
    """`stratégie nationale de santé`, `stratégie régionale e-santé 2018-2022`, `pacte de confiance`."""
    nxt = tokens[i + 1]
    if _gap(tokens, i + 1) not in {" ", "\t"}:
        return None
    qualifier = crude_stem(nxt.folded)
    if head == "pacte":
        named = _noun_complement(tokens, i + 1) or (nxt.text[:1].isupper() and not tokens[i].text.isupper())
    elif qualifier in {"national", "interministeriel", "gouvernemental"}:
        named = True
    else:  # a name right after the qualifier, no connector: `stratégie régionale e-santé`
        named = (qualifier in PROGRAMME_QUALIFIERS and i + 2 < len(tokens) and tokens[i + 2].folded not in CONNECTORS
                 and tokens[i + 2].folded not in NAME_STOPS and _gap(tokens, i + 2) == " ")
    if not named:
        return None
    last = _name_end(tokens, i, appositions=True)
    if last <= i + 1 and head != "pacte":
        return None  # `stratégie nationale` alone names no strategy
    if last == i:
        return None
    return _Span(tokens[i].start, _programme_end(text, tokens, i, last), "programme", "", "", "pattern")


def _is_roadmap(tokens: list[_Token], i: int) -> bool:
    return (tokens[i].folded in {"feuille", "feuilles"} and i + 3 < len(tokens)
            and tokens[i + 1].folded == "de" and tokens[i + 2].folded == "route")


def _roadmap_span(text: str, tokens: list[_Token], i: int) -> _Span | None:
    """`feuille de route nationale santé des personnes détenues 2019-2022`, `feuille de route
    santé mentale et psychiatrie`: the head's three words, then a qualifier, a noun in
    apposition, a capital or a complement; `feuille de route annuelle` names no roadmap."""
    route = i + 2
    nxt = tokens[route + 1]
    if _gap(tokens, route + 1) != " ":
        return None
    named = (crude_stem(nxt.folded) in PROGRAMME_QUALIFIERS or _pos(nxt) in {"NOUN", "PROPN"}
             or _noun_complement(tokens, route + 1))
    if not named or nxt.folded in NAME_STOPS:
        return None
    last = _name_end(tokens, route, appositions=True)
    if last == route:
        return None
    return _Span(tokens[i].start, _programme_end(text, tokens, i, last), "programme", "", "", "pattern")


# `loi n° 2015-1776 du 28 décembre 2015 relative à …`, `décret du 19 octobre 2010 relatif à …`:
# a legal text named by its number or date, then by its title up to the end of the clause.
# The ministries' other texts are named the same way: `arrêté du 15 décembre 2022 …`, `circulaire du
# 28 mars 2007 relative à la filière de soins gériatriques`, `instruction n° DGOS/R4/2022/45 du …`
# (the hierarchy of norms: loi, ordonnance, décret, arrêté, then circulaires and instructions).
LEGAL_TEXT_HEADS = {"decret", "ordonnance", "arrete", "circulaire", "instruction"}  # and `loi`
_LEGAL_REFERENCE = re.compile(
    r"[ \t]+(?:(?:n[°o]|no\.)[ \t]*(?:\d{2,4}-\d{1,5}|[A-Z]{2,}[A-Z0-9]*(?:/[A-Z0-9-]+)+)"
    r"(?:[ \t]+du[ \t]+\d{1,2}(?:er)?[ \t]+[a-zéû]+[ \t]+\d{4})?"
    r"|du[ \t]+\d{1,2}(?:er)?[ \t]+[a-zéû]+[ \t]+\d{4})"
)
_PURPOSE = {"pour", "a", "de", "d"}  # an infinitive after these is the title's aim, not a new clause
_CLITICS = {"s", "se", "n", "ne"}  # `… s'appliquent`, `… ne prévoit`: a clause begins
_INFINITIVE = ("er", "ir", "re", "oir")  # the verbs of that aim (`… du bien vieillir`), not `s'appliquent`
_LEGAL_TITLE = re.compile(r"[ \t]+(?:relati(?:f|ve|fs|ves)|portant|visant|pour|de)\b[^;.,:\n()]{3,150}")


# `instruction interministérielle relative aux orientations …`: a ministry's text named by its
# issuers and its title, with no number or date
_ISSUED_BY = re.compile(r"[ \t]+(?:interminist[ée]rielle?|minist[ée]rielle?|conjointe?)(?=[ \t]+relati)")


def _legal_text_span(text: str, tokens: list[_Token], i: int) -> _Span | None:
    reference = _LEGAL_REFERENCE.match(text, tokens[i].end) or _ISSUED_BY.match(text, tokens[i].end)
    if reference is None:
        return None
    end = reference.end()
    title = _LEGAL_TITLE.match(text, end)
    if title:
        words = [t for t in tokens[i + 1:] if title.start() <= t.start and t.end <= title.end()]
        aim = False  # `loi … portant mesures pour bâtir la société du bien vieillir`: an aim runs on
        for n, word in enumerate(words[1:], 1):  # the title ends at its first verb (`… précise`)
            aim = aim or (words[n - 1].folded in _PURPOSE and _pos(word) == "VERB")
            finite = _pos(word) in {"VERB", "AUX"} and not (aim and word.folded.endswith(_INFINITIVE))
            if finite or word.folded in (NAME_STOPS - {"notre", "nos"}) | _CLITICS:
                words = words[:n]
                break
        while len(words) > 1 and words[-1].folded in CONNECTORS:  # never ends on `pour`, `de`
            words.pop()
        end = words[-1].end
    return _Span(tokens[i].start, end, "programme", "", "", "pattern")


def _body_span(text: str, tokens: list[_Token], i: int) -> _Span | None:
    """`Fédération de l'hospitalisation publique`: a body head, then a `de`/`pour` complement;
    or a committee or federation qualified by its adjectives (`fédérations hospitalières`,
    `comité stratégique régional`)."""
    last = _name_end(tokens, i)
    if last == i:
        return None
    head = crude_stem(tokens[i].folded)
    if head in ADJECTIVE_NAMED_BODIES and _pos(tokens[i + 1]) != "ADJ":
        return None
    end = tokens[_with_brand(tokens, last)].end  # `groupement régional SESAN`
    if any(t.folded in {"de", "d", "du", "des", "pour"} for t in tokens[i + 1:last]):
        return _Span(tokens[i].start, end, "actor", "", "", "pattern")
    adjectives = tokens[i + 1:last + 1]
    if head in BODY_HEADS_LOWER_OK and all(_pos(t) == "ADJ" for t in adjectives) \
            and not {crude_stem(t.folded) for t in adjectives} & GENERIC_ADJECTIVES:
        return _Span(tokens[i].start, end, "actor", "", "", "pattern")
    return None


_QUOTED_NAME = re.compile(r"[ \t]*«[ \t\u00a0]*[^»\n]{2,80}?[ \t\u00a0]*»")


def _service_span(text: str, tokens: list[_Token], i: int) -> _Span | None:
    """`équipes mobiles de gériatrie`, `plateforme de répit`: a service head, then an adjective
    right after it or a `de` complement whose noun is not generic; typed by the head."""
    if i > 0 and tokens[i - 1].folded in SERVICE_HEAD_BLOCKERS and not _gap(tokens, i).strip():
        return None
    if tokens[i].pos in {"VERB", "AUX"} or (tokens[i].text.lower().endswith(_PARTICIPLE_ENDINGS)
                                            and not tokens[i].folded.startswith("unite")):
        return None  # `équipées pour …`, `centrés sur …` are participles, not `équipe`, `centre`
    quoted = _QUOTED_NAME.match(text, tokens[i].end)
    if quoted:  # `charte « fête responsable »`
        return _Span(tokens[i].start, quoted.end(), _head_type(tokens[i:i + 1]), "", "", "pattern")
    named = _acronym_name_end(tokens, i)
    if named is None and _head_type(tokens[i:i + 1]) == "tool":
        named = _brand_end(tokens, i)  # `dispositif Mon soutien psy`
    if named is not None:  # `dispositif ORSEC`, `nomenclature SERAFIN-PH`
        kind = _head_type(tokens[i:i + 1])
        return _Span(tokens[i].start, tokens[named].end, kind, "", "", "pattern") if kind else None
    resource = i + 1 < len(tokens) and tokens[i + 1].folded in RESOURCE_WORDS and _gap(tokens, i + 1) == " "
    last = _before_a_place(tokens, i, _name_end(tokens, i, appositions=resource))
    if last == i:
        return None
    words = tokens[i + 1:last + 1]
    adjective_first = _pos(words[0]) == "ADJ" or resource
    nouns = [t for t in words if t.folded not in CONNECTORS and t.folded not in ARTICLES]
    if not nouns or not nouns[0].folded.isalpha() or (not adjective_first and words[0].folded not in _COMPLEMENT):
        return None
    if not adjective_first and crude_stem(nouns[0].folded) in SERVICE_GENERIC:
        return None
    if _is_head(tokens[i], INSTRUMENT_HEADS) and not adjective_first and _is_head(nouns[0], HEAD_TYPES["actor"]):
        return None  # `consultation du comité`, `visite de la commission`: an act towards a body
    if adjective_first and len(words) == 1 and crude_stem(words[0].folded) in GENERIC_ADJECTIVES:
        return None  # `contrats supplémentaires`, `dispositifs existants` name nothing
    kind = _head_type(tokens[i:last + 1])
    if kind is None:
        return None
    if crude_stem(words[0].folded) in DIGITAL_WORDS:
        kind = "tool"  # `services numériques`, `service numérique d'orientation`: e-health tools
    return _Span(tokens[i].start, tokens[last].end, kind, "", "", "pattern")


def _before_a_place(tokens: list[_Token], i: int, last: int) -> int:
    """`dispositif | à la vallée de la Maurienne`, `maison de santé | à Lunel`: where a service is
    set (`à`, `au`, `aux`, `en` and a place or a geographic head) is no part of its name."""
    for j in range(i + 1, last):
        if tokens[j].folded not in {"a", "au", "aux", "en"}:
            continue
        k = _after_articles(tokens, j + 1)
        if k <= last and (tokens[k].folded in GEOGRAPHIC_HEADS or tokens[k].text[:1].isupper()) \
                and not _is_acronym_label(tokens[k].text):
            return j - 1
    return last


def _acronym_name_end(tokens: list[_Token], i: int) -> int | None:
    """Last token of an acronym written right after a head (`dispositif ORSEC`, `nomenclature
    SERAFIN-PH`): an instrument named by its brand; None when no acronym follows."""
    j = i + 1
    if j >= len(tokens) or tokens[j].before != " " or not _is_acronym_label(tokens[j].text):
        return None
    while j + 1 < len(tokens) and tokens[j + 1].before == "-" and tokens[j + 1].text[:1].isupper():
        j += 1
    return j


# A brand that opens with a function word, capitalised, reads as a title (`Un chez-soi d'abord`,
# `Mon soutien psy`, `Ma santé 2022`); one opening with a name is `_name_end`'s or `_acronym_name_end`'s.
_TITLE_OPENERS = {"un", "une", "le", "la", "les", "mon", "ma", "mes", "ton", "ta", "tes", "notre", "nos", "votre", "vos"}
_BRAND_LINKS = {"d", "l"}  # elided words inside a brand (`Un chez-soi d'abord`); other connectors end it


def _brand_end(tokens: list[_Token], i: int) -> int | None:
    """Last token of a brand name written after a lower-case head (`programme Un chez-soi
    d'abord`, `dispositif Mon soutien psy`): a capitalised title opener, then up to four words
    to the clause's end (punctuation, a verb, a connector); None when none follows."""
    j = i + 1
    if j >= len(tokens) or tokens[i].text[:1].isupper() or tokens[j].before != " ":
        return None
    first = tokens[j]
    if not first.text[:1].isupper() or first.folded not in _TITLE_OPENERS:
        return None
    last = j
    while last + 1 < len(tokens) and last - j < 4:
        token = tokens[last + 1]
        gap = _gap(tokens, last + 1)
        if not re.fullmatch(r"[ '\-]", gap) or (gap != "-" and _pos(token) in {"VERB", "AUX", "SCONJ", "PRON"}):
            break  # `chez-soi`: a hyphen keeps the pronoun in the word
        if token.folded in NAME_STOPS or (token.folded in CONNECTORS and token.folded not in _BRAND_LINKS) \
                or token.folded == "et":
            break
        last += 1
    return last


def _with_brand(tokens: list[_Token], last: int) -> int:
    """Last token of a name ending at token `last`, with the acronym that may brand it."""
    branded = _acronym_name_end(tokens, last)
    return last if branded is None else branded


def _telemedicine_span(tokens: list[_Token], i: int) -> _Span | None:
    """`télédermatologie`, `télé-AVC`: a telemedicine act, typed tool."""
    token = tokens[i]
    if token.folded == "tele" and i + 1 < len(tokens) and tokens[i + 1].before == "-":
        return _Span(token.start, tokens[i + 1].end, "tool", "", "", "pattern")
    if len(token.folded) >= 8 and token.folded not in TELE_NOT_ACTS and token.pos in {"NOUN", "PROPN", ""}:
        return _Span(token.start, token.end, "tool", "", "", "pattern")
    return None


# The natural and physical geography plans name their territories by (IGN's nomenclature of
# place kinds: vallée, bassin, massif, plateau, plaine, causse, île, fleuve, estuaire…; the
# traditional pays): `vallée de l'Arve`, `fleuves Maroni et Oyapock`, `bassin grenoblois`.
GEOGRAPHIC_HEADS = {
    "vallee", "vallees", "bassin", "bassins", "massif", "massifs", "plateau", "plateaux", "plaine", "plaines",
    "causse", "causses", "ile", "iles", "archipel", "fleuve", "fleuves", "estuaire", "delta", "etang", "etangs",
    "presqu", "pays", "monts", "cote", "cotes", "marais", "baie",
}
# Adjectives of a place or a relief that name a kind of area with a geographic head
# (`vallées alpines`, `bassin minier`, `pays bastiais`); not those of distance or likeness.
_PLACE_ADJECTIVE_ENDINGS = ("ais", "aise", "aises", "ois", "oise", "oises", "in", "ine", "ins", "ines", "ien",
                            "ienne", "iens", "iennes", "ier", "iers", "ere", "eres", "an", "ane", "ans", "anes")
_NOT_PLACE_ADJECTIVES = {"voisin", "voisine", "voisins", "voisines", "lointain", "lointaine", "lointains",
                         "lointaines", "certain", "certaine", "certains", "certaines", "entier", "entiere",
                         "entiers", "entieres", "premier", "premiere", "premiers", "premieres", "dernier",
                         "derniere", "derniers", "dernieres", "prochain", "prochaine", "humain", "humaine",
                         "humains", "humaines", "ancien", "ancienne", "anciens", "anciennes", "versant",
                         "versants", "financier", "financiere", "financiers", "financieres", "particulier",
                         "particuliere", "plein", "pleine", "urbain", "urbaine", "urbains", "urbaines", "africain",
                         "africains", "europeen", "europeens", "membre", "membres", "tiers", "partenaire"}


def _geographic_span(tokens: list[_Token], i: int) -> _Span | None:
    """A geographic head and its proper name (`vallée du Rhône`, `plateau de Millevaches`,
    `fleuves Maroni et Oyapock`) or its place adjective (`bassin grenoblois`): a territory."""
    k = i + 1
    if k >= len(tokens) or tokens[k].before != " ":
        return None  # `L'Île-Rousse`: the head is inside a place's own name
    if tokens[k].folded in {"de", "d", "du", "des"} and not tokens[k].text[:1].isupper():
        k += 1
        if k < len(tokens) and tokens[k].folded in {"la", "l"}:
            k += 1
    if k >= len(tokens) or _BREAK_BEFORE.search(tokens[k].before):
        return None
    if tokens[k].text[:1].isupper() and not _is_acronym_label(tokens[k].text):
        end = k
        while end + 1 < len(tokens) and tokens[end + 1].text[:1].isupper() and tokens[end + 1].before in ("-", " "):
            end += 1
        if end + 2 < len(tokens) and tokens[end + 1].folded == "et" and tokens[end + 2].text[:1].isupper() \
                and tokens[i].folded.endswith(("s", "x")):
            end += 2  # `fleuves Maroni et Oyapock`: the plural head names two
        return _Span(tokens[i].start, tokens[end].end, "territory", "", "", "pattern")
    word = tokens[k].folded
    if k == i + 1 and tokens[k].pos not in ("VERB", "AUX", "ADP", "DET", "PRON", "CCONJ", "PROPN") \
            and word.endswith(_PLACE_ADJECTIVE_ENDINGS) \
            and word not in _NOT_PLACE_ADJECTIVES and not tokens[i].text[:1].isupper():
        return _Span(tokens[i].start, tokens[k].end, "territory", "", "", "pattern")
    return None


_BREAK_BEFORE = re.compile(r"[\n.,;:!?()«»\"]")


# The people plans serve, named by a plural noun and what sets them apart (`ménages modestes`,
# `patients asthmatiques`, `mères isolées`, `enfants de moins de six ans`): the beneficiaries the
# CASF (L116-1, L311-3) and the CSP name. Not `jeunes` (`jeunes médecins`), nor `travailleurs` or
# `salariés`, who are often a body's staff.
POPULATION_HEADS = {
    "personnes", "enfants", "adultes", "patients", "femmes", "populations", "malades", "menages", "meres",
    "peres", "parents", "aidants", "residents", "usagers", "nourrissons", "adolescents", "eleves", "etudiants",
    "detenus", "migrants", "agriculteurs", "publics", "beneficiaires", "habitants", "familles", "victimes",
}
# Adjectives that say nothing of who they are (`personnes concernées`) or make a legal person,
# an office or a role of them (`personnes morales`, `personnes qualifiées`, CASF L311-5).
_NOT_GROUP_ADJECTIVES = {"concernees", "concernes", "interessees", "interesses", "morales", "physiques", "qualifiees",
                         "suivantes", "suivants", "presentes", "presents", "nombreuses", "nombreux", "inscrites",
                         "inscrits", "recues", "recus", "accueillies", "accueillis", "ressources", "referentes",
                         "referents", "membres", "chargees", "charges", "liberales", "liberaux", "interrogees",
                         "interroges", "rencontrees", "rencontres", "formees", "formes", "volontaires",
                         "beneficiaires", "ciblees", "cibles", "visees", "vises", "prises", "pris"}


def _group_adjective(token: _Token) -> bool:
    """An adjective, or a noun in apposition that reads as one (`adultes autistes`, `patients
    asthmatiques`: spaCy tags some of them NOUN)."""
    return _pos(token) == "ADJ" or (_pos(token) == "NOUN" and token.folded.endswith(("iques", "istes", "ieux")))


_OBJECT_PREPOSITIONS = {"a", "au", "aux", "de", "du", "des", "d", "par", "en", "sur", "dans", "avec", "pour"}


def _participle_with_object(tokens: list[_Token], k: int) -> bool:
    """`personnes confrontées à`, `femmes venues du Brésil`, `personnes sorties de prison`: a
    participle whose object says who they are, which an adjective alone does not."""
    participle = tokens[k].pos == "VERB" or tokens[k].folded.endswith(("e", "es", "is", "us", "ies"))
    return participle and k + 1 < len(tokens) and tokens[k + 1].folded in _OBJECT_PREPOSITIONS


def _population_span(tokens: list[_Token], i: int) -> _Span | None:
    """A plural population head, then one or two adjectives of their own, or `de moins de N
    ans` / `de plus de N ans`: a group the policy serves (never inside `sages-femmes`)."""
    if tokens[i].before == "-" or (i + 1 < len(tokens) and tokens[i + 1].before == "-"):
        return None
    last = i
    k = i + 1
    if k + 4 < len(tokens) and tokens[k].folded == "de" and tokens[k + 1].folded in {"moins", "plus"} \
            and tokens[k + 2].folded == "de" and tokens[k + 4].folded == "ans" \
            and (tokens[k + 3].text.isdigit() or tokens[k + 3].folded in _NUMBER_WORDS):
        return _Span(tokens[i].start, tokens[k + 4].end, "population", "", "", "pattern")
    while k < len(tokens) and k <= i + 2 and tokens[k].before == " " and _group_adjective(tokens[k]) \
            and tokens[k].folded not in _NOT_GROUP_ADJECTIVES and crude_stem(tokens[k].folded) not in GENERIC_ADJECTIVES \
            and tokens[k].folded.endswith(("s", "x")) and not _participle_with_object(tokens, k):
        last = k
        k += 1
    if last == i:
        return None
    return _Span(tokens[i].start, tokens[last].end, "population", "", "", "pattern")


# Medical specialists are named by their speciality: `néphrologue`, `gériatre`, `ergothérapeute`
# (the diplomas of specialised studies, DES, and the health professions of the CSP, book III).
_SPECIALIST_ENDINGS = ("logue", "logues", "iatre", "iatres", "therapeute", "therapeutes")
_NOT_SPECIALISTS = {"dialogue", "dialogues", "catalogue", "catalogues", "analogue", "analogues", "homologue",
                    "homologues", "prologue", "epilogue", "monologue"}


def _is_specialist(tokens: list[_Token], i: int) -> bool:
    """A noun in -logue, -iatre, -thérapeute; spaCy may tag it ADJ after an article (`les addictologues`)."""
    token = tokens[i]
    if not token.folded.endswith(_SPECIALIST_ENDINGS) or token.folded in _NOT_SPECIALISTS or len(token.folded) <= 7:
        return False
    after_article = i > 0 and tokens[i - 1].folded in ARTICLES | {"des", "aux", "du", "de", "d"}
    return token.pos in {"NOUN", "PROPN", ""} or (token.pos == "ADJ" and after_article)


def _resolve(span: _Span, text: str, matcher: _Matcher) -> _Span:
    """A pattern span names a known concept when its words are a label; else a candidate."""
    surface = text[span.start:span.end]
    key = label_key(re.sub(r"[ \t]*\d{4}([ \t]*[-–/][ \t]*\d{4})?$", "", surface))
    iri = matcher.by_key.get((span.type, key))
    if iri:
        span.concept, span.label = iri, matcher.concepts[iri].pref_label
        return span
    return _candidate(span, re.sub(r"\s+", " ", surface).strip(" \"«»"))


def _candidate(span: _Span, label: str) -> _Span:
    span.concept = str(HPID[f"candidate/{span.type}/{slugify(label)}"])
    span.label = label
    span.candidate = True
    return span


def _head_type(words: list[_Token]) -> str | None:
    for token in words:
        if token.folded in CONNECTORS or token.folded in ARTICLES:
            continue
        return next((kind for kind, heads in HEAD_TYPES.items() if _is_head(token, heads)), None)
    return None


def _is_head(token: _Token, heads: set[str]) -> bool:
    """The token's stem, or its folded form, is one of `heads` (`fonds` stems to `fond`)."""
    return crude_stem(token.folded) in heads or token.folded in heads


_ACRONYM_DEF = re.compile(r"\(([A-ZÀ-Ö][0-9A-Za-zÀ-ÖØ-öø-ÿ]{1,11})\)")
_SKIP_INITIAL = {"de", "des", "du", "d", "la", "le", "les", "l", "et", "a", "au", "aux", "en", "pour", "sur"}


def _acronym_spans(text: str, tokens: list[_Token], matcher: _Matcher) -> list[_Span]:
    """`expansion (ACR)` not in the vocabulary -> a candidate concept, and later uses of ACR."""
    spans = []
    starts = {t.start: n for n, t in enumerate(tokens)}
    for match in _ACRONYM_DEF.finditer(text):
        acronym = match.group(1)
        if sum(ch.isupper() for ch in acronym) < 2 and not _is_acronym_form(acronym):
            continue  # `(Paps)`, `(RéPPOP)`, `(CESP)`; not `(Marseille)`
        if acronym.upper() in matcher.acronyms:
            continue  # known: the vocabulary matcher takes `expansion (ACR)` in
        n = starts.get(match.start() + 1)
        if n is None:
            continue
        first = _expansion_start(tokens, n, fold(acronym).upper())
        confidence = CONFIDENCE["acronym"]
        if first is None:  # not spelled by initials: the noun phrase that ends at `(`
            first, confidence = _head_expansion(tokens, n), CONFIDENCE["acronym"] - 0.2
        if first is None:
            continue
        kind = _head_type(tokens[first:n])
        if kind is None:
            continue
        expansion = text[tokens[first].start:tokens[n - 1].end]
        span = _candidate(_Span(tokens[first].start, match.end(), kind, "", "", "acronym"), expansion)
        span.confidence = confidence
        spans.append(span)
        spans += _later_uses(text, acronym, match.end(), span)
    return spans + _acronym_first_spans(text, tokens, matcher)


_ACRONYM_LIST = re.compile(r"[ \t]*\(([^()\n]{4,120})\)")
_LIST_SEPARATOR = re.compile(r"\s*(?:,|\bet\b)\s*")


def _acronym_list_spans(text: str, known: list[_Span]) -> list[_Span]:
    """`les intercommunalités (CINOR, TCO, CIREST et CASUD)`: the acronyms a known plural lists
    in brackets are members of its kind, candidates of its type, as later uses are."""
    spans = []
    for span in known:
        listed = _ACRONYM_LIST.match(text, span.end)
        if listed is None:
            continue
        items = _LIST_SEPARATOR.split(listed.group(1).strip())
        if len(items) < 2 or not all(_is_acronym_label(item) and _WORD.fullmatch(item) for item in items):
            continue
        at = listed.start(1)
        for item in items:
            start = text.index(item, at)
            at = start + len(item)
            member = _candidate(_Span(start, at, span.type, "", "", "acronym"), item)
            spans.append(member)
            spans += _later_uses(text, item, at, member)
    return spans


def _later_uses(text: str, acronym: str, after: int, defined: _Span) -> list[_Span]:
    return [_Span(m.start(), m.end(), defined.type, defined.concept, defined.label, "acronym", True, defined.confidence)
            for m in re.compile(r"\b" + re.escape(acronym) + r"\b").finditer(text, after)]


_ACRONYM_FIRST = re.compile(r"\b([A-ZÀ-Ö][0-9A-Za-zÀ-ÖØ-öø-ÿ]{1,11})[ \t]+\(([^()\n]{6,160})\)")


def _acronym_first_spans(text: str, tokens: list[_Token], matcher: _Matcher) -> list[_Span]:
    """`ACR (expansion)`, the other way round: the expansion spells ACR by its initials, or is a
    name under a head noun, and its head types the candidate (`la PRAFAC (plateforme …)`)."""
    spans = []
    starts = {t.start: n for n, t in enumerate(tokens)}
    for match in _ACRONYM_FIRST.finditer(text):
        acronym = match.group(1)
        if not _is_acronym_label(acronym) or acronym.upper() in matcher.acronyms:
            continue
        first = starts.get(match.start(2) + len(match.group(2)) - len(match.group(2).lstrip()))
        after = next((n for n, t in enumerate(tokens) if t.start >= match.end()), len(tokens))
        if first is None or after - first < 2:
            continue
        spelled = _expansion_start(tokens, after, fold(acronym).upper()) == first
        if not spelled and _name_end(tokens, first) != after - 1:
            continue
        kind = _head_type(tokens[first:after])
        if kind is None:
            continue
        expansion = text[tokens[first].start:tokens[after - 1].end]
        span = _candidate(_Span(match.start(), match.end(), kind, "", "", "acronym"), expansion)
        span.confidence = CONFIDENCE["acronym"] - (0.0 if spelled else 0.2)
        spans.append(span)
        spans += _later_uses(text, acronym, match.end(), span)
    return spans


def _head_expansion(tokens: list[_Token], n: int, window: int = 14) -> int | None:
    """Farthest head noun (`réseaux`, `centre`, `plan`...) before `(` whose name runs up to it."""
    heads = set().union(*HEAD_TYPES.values())
    for k in range(max(0, n - window), n - 1):
        if crude_stem(tokens[k].folded) in heads and _name_end(tokens, k) == n - 1:
            return k
    return None


def _expansion_start(tokens: list[_Token], n: int, acronym: str) -> int | None:
    """Token where the words before `(ACR)` start spelling ACR by their initials."""
    letters = list(acronym.lower())
    j = n - 1
    while letters and j >= 0 and n - j <= 2 * len(acronym) + 3:
        token = tokens[j]
        if token.folded in _SKIP_INITIAL:
            j -= 1
            continue
        if token.folded[:1] != letters[-1]:
            return None
        letters.pop()
        j -= 1
    return j + 1 if not letters else None


def _covered(text: str, spans: list[_Span]) -> bytearray:
    """One byte per character of `text`, set where one of `spans` lies."""
    covered = bytearray(len(text))
    for span in spans:
        covered[span.start:span.end] = b"\x01" * (span.end - span.start)
    return covered


def _ner_spans(entities, text: str, tokens: list[_Token], matcher: _Matcher, others: list[_Span]) -> list[_Span]:
    """spaCy entities, never trusted alone: kept only when no other method found anything
    there and their head noun says what they are (`Fédération de ...` -> actor). spaCy tags
    `d'` or `Fédération de l'hospitalisation publique` (as a place): the head test drops the
    first and retypes the second."""
    spans = []
    by_start = {t.start: i for i, t in enumerate(tokens)}
    covered = _covered(text, others)
    for entity_start, entity_end, entity_label in entities:
        if entity_label not in {"ORG", "MISC", "LOC"}:
            continue
        i = by_start.get(entity_start)
        if i is None:
            continue
        i = _after_articles(tokens, i)  # `Le Code de ...` starts at `Code`
        words = [t for t in tokens[i:i + 30] if t.end <= entity_end]
        if len(words) < 2 or not words[0].text[:1].isupper():
            continue
        start, end = words[0].start, words[-1].end
        if any(covered[start:end]):
            continue
        kind = _head_type(words)
        if kind is None:
            continue
        spans.append(_resolve(_Span(start, end, kind, "", "", "ner"), text, matcher))
    return spans


# Places the vocabulary does not hold, read only where spaCy also sees a place (LOC): the communes
# of fewer than 5,000 inhabitants outside PACA (INSEE COG via Etalab, ontology/data/communes-small.json),
# whose names are often common words; and the natural regions, pays and quartiers the COG does not
# list, which French names with an article (`la Thiérache`, `le Vimeu`, `du Trièves`, `le Saulnois`).
_PLACE_ARTICLES = {"le", "la", "les", "l", "du", "des"}


@functools.lru_cache(maxsize=1)
def _small_towns() -> dict[str, list[dict]]:
    towns: dict[str, list[dict]] = {}
    for row in load_small_towns():
        towns.setdefault(row["nom"], []).append(row)
    return towns


def _unlisted_place_spans(entities, text: str, tokens: list[_Token], others: list[_Span],
                          region: str | None) -> list[_Span]:
    """Territory candidates from spaCy's places: a small commune by its exact name (its INSEE
    IRI when the name is one commune, or one in the page's région), or a natural region after
    an article; never where another method found something."""
    spans = []
    by_start = {t.start: i for i, t in enumerate(tokens)}
    covered = _covered(text, others)
    for start, end, label in entities:
        i = by_start.get(start)
        if label != "LOC" or i is None or any(covered[start:end]):
            continue
        words = [t for t in tokens[i:i + 6] if t.end <= end]
        if not words or words[-1].end != end or len(words) > 5 or not words[0].text[:1].isupper() \
                or _is_acronym_label(words[0].text) or _BREAK.search(text, start, end):
            continue
        surface = text[start:end]
        iri = _small_town_iri(surface, region)
        # `La Santé …` opening a sentence is no place; `: le Livradois-Forez` is one
        if iri is None and not (i > 0 and tokens[i - 1].folded in _PLACE_ARTICLES and _gap(tokens, i).strip(" '") == ""
                                and not (tokens[i - 1].text[:1].isupper() and _opens_sentence(tokens, i - 1))):
            continue
        if iri is None and _demonym(tokens, i):
            continue
        span = _candidate(_Span(start, end, "territory", "", "", "ner"), surface)
        if iri:
            span.concept = iri
        spans.append(span)
    return spans


# `maternités de Dzoumogné, Kahani, Mramadoudou et Petite-Terre`: a series of single names.
_NAME = r"[A-ZÀ-Ý][a-zà-ÿ'’]+(?:-[A-Za-zÀ-ÿ'’]+)*"
_NAME_SERIES = re.compile(rf"\b{_NAME}(?:, {_NAME}){{1,8}},? et {_NAME}\b")


_PLACE_PREPOSITIONS = {"de", "d", "a", "en", "entre", "vers", "sur"}


def _place_series_spans(text: str, spans: list[_Span], places: list[tuple[int, int]]) -> list[_Span]:
    """The other names of a series of three names or more after a preposition of place, at least
    half of which are places (a territory found, or a place to spaCy), none found as something
    else: places too. Villages
    and islands the COG does not list come this way, beside the places that are listed."""
    territories = {(span.start, span.end) for span in spans if span.type == "territory"} | set(places)
    by_others = _covered(text, [span for span in spans if span.type != "territory"])
    by_any = _covered(text, spans)
    found = []
    for series in _NAME_SERIES.finditer(text):
        members = [(m.start(), m.end()) for m in re.finditer(_NAME, series.group())]
        members = [(series.start() + a, series.start() + b) for a, b in members]
        known = [m for m in members if m in territories]
        before = re.search(r"(\w+)['’ ]+$", text[max(0, series.start() - 12):series.start()])
        if len(members) < 3 or 2 * len(known) < len(members) or not before \
                or fold(before.group(1)) not in _PLACE_PREPOSITIONS:
            continue  # `réunit Martin, Durand et Petit`: people, whatever spaCy says
        if any(any(by_others[a:b]) for a, b in members):
            continue
        found += [_candidate(_Span(a, b, "territory", "", "", "pattern"), text[a:b]) for a, b in members
                  if not any(by_any[a:b])]
    return found


_DEMONYM_ENDINGS = ("iens", "iennes", "ains", "aines", "ais", "aises", "ois", "oises")


def _demonym(tokens: list[_Token], i: int) -> bool:
    """`des Franciliens`, `les Lorrains`: the people of a place, not a place (`le Saulnois` is one)."""
    return tokens[i - 1].folded in {"les", "des"} and tokens[i].folded.endswith(_DEMONYM_ENDINGS)


def _small_town_iri(name: str, region: str | None) -> str | None:
    rows = _small_towns().get(name, [])
    local = [row for row in rows if row["region"] == region]
    chosen = local if len(local) == 1 else rows if len(rows) == 1 else []
    return str(territory_iri("commune", chosen[0]["code"])) if chosen else None


def _opens_sentence(tokens: list[_Token], k: int) -> bool:
    """Token k starts a sentence, a line or a bullet (`La Santé …` is no place after `la`)."""
    return k == 0 or bool(re.search(r"[\n.!?:;•]\s*$", tokens[k].before)) or tokens[k].before.strip() in {"-", "–", "*"}


# --- putting it together --------------------------------------------------------------------------


def _select(spans: list[_Span], text: str) -> list[_Span]:
    """Longest first, then by method rank; never two overlapping spans, except a known concept
    nested in a longer span of another type or in a candidate (`ESAT` in `travailleurs d'ESAT`,
    `EHPAD` in `équipe mobile d'hygiène des EHPAD`, `systèmes d'information` in `programme de
    sécurisation des systèmes d'information`). The words of a known programme's name or of a
    legal text's title (`loi « Hôpital, patients… »`) are its title, not mentions."""
    ordered = sorted(spans, key=lambda s: (-(s.end - s.start), METHOD_RANK[s.method], s.start))
    taken = _non_overlapping(ordered)
    kept = {id(span) for span in taken}
    nested = [span for span in ordered if id(span) not in kept and span.method == "vocabulary"
              and any(_nests(span, outer, text) for outer in taken)]
    return sorted(taken + _non_overlapping(nested), key=lambda s: (s.start, s.end))


def _nests(inner: _Span, outer: _Span, text: str) -> bool:
    return (outer.start <= inner.start and inner.end <= outer.end and (inner.end - inner.start) < (outer.end - outer.start)
            and not _is_title(outer, text) and (outer.candidate or outer.type != inner.type))


_TITLE_HEADS = LEGAL_TEXT_HEADS | {"loi", "code"}


def _is_title(span: _Span, text: str) -> bool:
    """A known programme, or a legal text: their words name them and nothing else."""
    if span.type != "programme":
        return False
    first = _WORD.search(text, span.start, span.end)
    return not span.candidate or (first is not None and crude_stem(fold(first.group())) in _TITLE_HEADS)


def _non_overlapping(ordered: list[_Span]) -> list[_Span]:
    """The spans of `ordered` that overlap no earlier kept one."""
    starts: list[int] = []  # starts and ends of the kept spans, sorted (they never overlap)
    ends: list[int] = []
    taken: list[_Span] = []
    for span in ordered:
        at = bisect.bisect_left(starts, span.start)
        if at > 0 and ends[at - 1] > span.start:
            continue
        if at < len(starts) and starts[at] < span.end:
            continue
        starts.insert(at, span.start)
        ends.insert(at, span.end)
        taken.append(span)
    return taken


def _section_of(doc: Document, offset: int) -> str | None:
    """Key of the narrowest section whose [start, end) holds the offset; in the breadcrumb
    line, the breadcrumb section whose title is the crumb holding the offset."""
    best = None
    for section in doc.sections:
        if section.start <= offset < section.end:
            if best is None or section.end - section.start <= best.end - best.start:
                best = section
    if best is not None:
        return best.key
    line_start = doc.text.rfind("\n", 0, offset) + 1
    line_end = doc.text.find("\n", offset)
    line = doc.text[line_start:line_end if line_end >= 0 else len(doc.text)]
    if " > " not in line:
        return None
    crumb_start = line.rfind(" > ", 0, offset - line_start) + 1
    crumb_end = line.find(" > ", offset - line_start)
    crumb = fold(line[crumb_start:crumb_end if crumb_end >= 0 else len(line)].strip(" >"))
    for section in doc.sections:
        if crumb and crumb in {fold(section.title), fold(f"{section.number} {section.title}")}:
            return section.key
    return None


def _doubtful_place(span: _Span, text: str, matcher: _Matcher, places: list[tuple[int, int]]) -> bool:
    """A one-word commune opening a sentence or a bullet (`Signes d'alerte`, `Orange`) is kept
    only when spaCy also sees a place there: the capital may just start the sentence."""
    if matcher.concepts[span.concept].kind != "Commune" or not _WORD.fullmatch(text[span.start:span.end]):
        return False
    if text[:span.start].rstrip(" \t")[-1:] not in {"", ".", "!", "?", ":", ";", "•", "\n", ">", "-"}:
        return False
    if text[span.start - 1:span.start] == "-" and text[span.start - 2:span.start - 1].isalpha():
        return False  # `Saint-Brieuc-Guingamp-Lannion`: a hyphen glued to a word is no bullet
    return not any(start <= span.start and span.end <= end for start, end in places)


_CARDINAL_POINTS = {"nord", "sud", "est", "ouest", "centre"}
_NAME_LINK = r"(?:sur|sous|le|la|les|lès|lez|en|de|du|des|d'|aux|et)"


def _inflected_town(iri: str, surface: str, matcher: _Matcher) -> bool:
    """A commune's name is never inflected: `Santé` is not Santes (59), `Var` is not Vars (05)."""
    concept = matcher.concepts[iri]
    if concept.kind != "Commune":
        return False
    names = {fold(label) for label in concept.labels}
    names |= {re.sub(r"^(?:le|la|les) |^l'", "", name) for name in names}  # `du Mans` gave `Mans`
    return fold(surface) not in names


def _not_this_town(span: _Span, text: str, matcher: _Matcher) -> bool:
    """A commune's name is whole: `Grenade` in `Grenade-sur-l'Adour`, `Avignon` in
    `Villeneuve-lès-Avignon` name another town."""
    if matcher.concepts[span.concept].kind != "Commune":
        return False
    return (re.match(r"-" + _NAME_LINK + r"(?:-|\b)", text[span.end:span.end + 6]) is not None
            or re.search(r"-" + _NAME_LINK + r"-$", text[max(0, span.start - 6):span.start]) is not None)


def _far_small_town(span: _Span, region: str | None) -> bool:
    """A small commune is named by the plans of its own région: `Saint-Jacques`, a quartier of
    Clermont-Ferrand, is not the village of the Alpes-de-Haute-Provence."""
    return (region is not None and span.concept in _small_vocabulary_communes()
            and _territory_regions().get(span.concept) != region)


# one more hyphenated part of a place name: `-Galante`, `-sur-Mer`, `-d'Auvergne`
_HYPHEN_NAME = r"(?:-(?:" + _NAME_LINK + r"-)?(?:[dl]')?[A-ZÀ-Ý][\w']*)"
_HYPHEN_PARTS = re.compile(_HYPHEN_NAME + "+")


def _glued_name(span: _Span, text: str, matcher: _Matcher, place_bounds: set[int]) -> _Span | None:
    """`Marie` in `Marie-Galante`, `Bras` in `Bras-Fusil`, `Saintes` in `Les Saintes`: a commune
    joined by a hyphen to a capitalised word that is no place, or after a capitalised article
    within a sentence, is part of another name, a territory candidate of its own. In a series of
    places (`Guingamp-Lannion`) each neighbour is a place and each keeps its reading."""
    if matcher.concepts[span.concept].kind != "Commune":
        return None
    start, end = span.start, span.end
    if re.match(r"-[A-ZÀ-Ý]", text[end:end + 2]) and end + 1 not in place_bounds:
        end = _HYPHEN_PARTS.match(text, end).end()
    before = re.search(r"\b[A-ZÀ-Ý][\w']*" + _HYPHEN_NAME + "*-(?:" + _NAME_LINK + "-)?$", text[max(0, start - 40):start])
    if before and start - 1 not in place_bounds:
        start -= len(before.group(0))
    article = re.search(r"(?<=[\w,;)] )(?:Les|La|Le|L')\s?$", text[max(0, start - 6):start])
    if article and not fold(matcher.concepts[span.concept].labels[0]).startswith(fold(article.group(0).strip())):
        start -= len(article.group(0))
    if (start, end) == (span.start, span.end):
        return None
    return _candidate(_Span(start, end, "territory", "", "", "pattern"), text[start:end])


def _cardinal_part(span: _Span, text: str) -> bool:
    """`Nord` in `Nord-Isère`, `Sud-Gironde`: a part of the next place, not the département Nord."""
    return (span.type == "territory" and fold(text[span.start:span.end]) in _CARDINAL_POINTS
            and re.match(r"-[A-ZÀ-Ö]", text[span.end:span.end + 2]) is not None)


_CRUMB_SEPARATOR = re.compile(r"\s[>›»]\s")


def _navigation_span(doc: Document) -> tuple[int, int] | None:
    """The crumbs of the breadcrumb line before the plan (`Accueil > Région > ARS > `): site
    navigation, not words of the plan, so nothing is extracted there. None when the plan is
    not a crumb (nothing is dropped then)."""
    if not doc.plan:
        return None
    plan = fold(doc.plan)
    for start, end in doc.meta_spans:
        line = doc.text[start:end]
        crumb_start = 0
        for separator in [*_CRUMB_SEPARATOR.finditer(line), None]:
            crumb_end = separator.start() if separator else len(line)
            if fold(line[crumb_start:crumb_end].strip()) == plan:
                return (start, start + crumb_start) if crumb_start else None
            if separator is None:
                break
            crumb_start = separator.end()
    return None


def extract_mentions(doc: Document) -> list[Mention]:
    """Entities of a document, sorted by start; `text` is always `doc.text[start:end]`."""
    text = doc.text
    normalised = text.translate(_SAME_LENGTH)
    tags, entities = _analyse(normalised)
    tokens = _tokens(text, tags)
    matcher = _matcher()
    spans = _vocabulary_spans(normalised, tokens, matcher, doc.region_code)
    places = [(start, end) for start, end, label in entities if label == "LOC"]
    place_bounds = {bound for span in spans if span.type == "territory" for bound in (span.start, span.end)}
    spans = [_glued_name(span, normalised, matcher, place_bounds) or span for span in spans]
    spans = [span for span in spans
             if span.candidate or not (_doubtful_place(span, normalised, matcher, places)
                                       or _cardinal_part(span, normalised) or _not_this_town(span, normalised, matcher)
                                       or _far_small_town(span, doc.region_code))]
    spans += _pattern_spans(normalised, tokens, matcher, spans)
    spans += _acronym_spans(normalised, tokens, matcher)
    spans += _acronym_list_spans(normalised, [span for span in spans if span.method == "vocabulary"])
    spans += _ner_spans(entities, normalised, tokens, matcher, spans)
    spans += _unlisted_place_spans(entities, normalised, tokens, spans, doc.region_code)
    spans += _place_series_spans(normalised, spans, places)
    spans = [span for span in spans if "\n" not in normalised[span.start:span.end]]  # spaCy reads across lines
    navigation = _navigation_span(doc)
    if navigation:
        spans = [span for span in spans if not navigation[0] <= span.start < navigation[1]]
    mentions = []
    for span in _select(spans, normalised):
        confidence = (span.confidence or CONFIDENCE[span.method]) - (0.2 if span.candidate else 0.0)
        mentions.append(
            Mention(
                type=span.type,
                text=text[span.start:span.end],
                start=span.start,
                end=span.end,
                section=_section_of(doc, span.start),
                concept=span.concept,
                label=span.label,
                method=span.method,
                confidence=round(confidence, 2),
                candidate=span.candidate,
            )
        )
    return mentions
