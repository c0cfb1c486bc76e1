"""Every IRI of the graph, derived from content only (names, printed numbers, offsets).

Nothing here depends on run order, time or randomness: the same page always gives the same
IRIs, so re-ingesting it replaces its graph instead of adding a second copy.

>>> str(section_iri("Projet régional de santé 2012-2016", "Schéma Régional d'Organisation Médico-Sociale", "004_x", "2.8.1", region_code="93"))
'https://w3id.org/healthpolicy-kg/id/section/93/projet-regional-de-sante-2012-2016/sroms/2.8.1'

Every region has its « Projet régional de santé 2012-2016 »: the region's INSEE code, when
known, leads the plan's path so that two regions' plans never share an IRI.
"""
from __future__ import annotations

import re
import unicodedata

from rdflib import URIRef

from ontology.namespaces import HPID
from ontology.textkeys import slugify

NO_PLAN = "sans-plan"  # plan slug of a page whose plan is unknown
MAX_SLUG = 80
# Words left out of a scheme's initials (`Schéma Régional d'Organisation Médico-Sociale` -> SROMS).
_MINOR_WORDS = {"de", "des", "du", "d", "la", "le", "les", "l", "et", "en", "pour", "a", "au", "aux", "sur"}
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9-]{1,11}$")


def slug(text: str) -> str:
    """ASCII slug, cut at a word boundary after MAX_SLUG characters.

    >>> slug("Optimiser l’offre médico-sociale")
    'optimiser-l-offre-medico-sociale'
    """
    value = slugify(re.sub(r"[’'ʼ‘]", " ", text))
    if len(value) > MAX_SLUG:
        value = value[:MAX_SLUG].rsplit("-", 1)[0]
    return value or "x"


def scheme_slug(name: str) -> str:
    """A scheme's acronym in lower case (given, or from the initials of its name), else a slug.

    >>> scheme_slug("Schéma Régional d’Organisation Médico-sociale"), scheme_slug("SROS")
    ('sroms', 'sros')
    >>> scheme_slug("Plan stratégique régional de santé"), scheme_slug("Annexe")
    ('psrs', 'annexe')
    """
    name = name.strip()
    if _ACRONYM.match(name):
        return name.lower()
    words = [w for w in re.split(r"[\s\-’'–]+", slugify(name).replace("-", " ")) if w]
    initials = "".join(w[0] for w in re.split(r"[\s\-’'–]+", name) if w and slugify(w) not in _MINOR_WORDS)
    if len(words) >= 3 and len(initials) >= 3:
        return slugify(initials)
    return slug(name)


def plan_slug(plan: str | None, region_code: str | None = None) -> str:
    """`{region INSEE code}/{plan slug}`, or the plan slug alone when the region is unknown.

    >>> plan_slug("Projet régional de santé 2012-2016", "93"), plan_slug(None)
    ('93/projet-regional-de-sante-2012-2016', 'sans-plan')
    """
    name = slug(plan) if plan else NO_PLAN
    return f"{number_slug(region_code)}/{name}" if region_code else name


def number_slug(number: str) -> str:
    """A printed number as an IRI segment: `2.8.1` stays, `Objectif 3` -> `objectif-3`.

    >>> number_slug("2.8.1"), number_slug("Objectif 3"), number_slug("II.A")
    ('2.8.1', 'objectif-3', 'ii.a')
    """
    ascii_text = unicodedata.normalize("NFKD", number).encode("ascii", "ignore").decode().lower()
    value = re.sub(r"[^a-z0-9.]+", "-", ascii_text).strip("-.")
    return value or slug(number)


def graph_iri(doc: str) -> URIRef:
    return HPID[f"graph/{doc}"]


def doc_iri(doc: str) -> URIRef:
    return HPID[f"doc/{doc}"]


def plan_iri(plan: str, *, region_code: str | None = None) -> URIRef:
    return HPID[f"plan/{plan_slug(plan, region_code)}"]


def scheme_iri(plan: str | None, scheme: str, *, region_code: str | None = None) -> URIRef:
    return HPID[f"scheme/{plan_slug(plan, region_code)}/{scheme_slug(scheme)}"]


def section_iri(plan: str | None, scheme: str | None, doc: str, key: str, numbered: bool = True,
                *, region_code: str | None = None) -> URIRef:
    """`hpid:section/{region}/{plan}/{scheme or doc}/{number or title slug}`."""
    container = scheme_slug(scheme) if scheme else doc
    tail = number_slug(key) if numbered else slug(key)
    return HPID[f"section/{plan_slug(plan, region_code)}/{container}/{tail}"]


def item_iri(section: URIRef, position: int) -> URIRef:
    return URIRef(f"{section}/item/{position}")


def mention_iri(doc: str, start: int, end: int) -> URIRef:
    return HPID[f"mention/{doc}/{start}-{end}"]


def candidate_iri(kind: str, label: str) -> URIRef:
    return HPID[f"candidate/{kind}/{slug(label)}"]
