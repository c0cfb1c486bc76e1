"""Boilerplate recognition (footers, cookie banners, navigation) and text normalisation.

The page text keeps its original characters for display; `normalize_for_matching` gives the
form used to compare strings (titles, gold data, vocabulary labels).
"""
from __future__ import annotations

import re

from ontology.textkeys import normalize_for_matching

# A copyright line starts the footer: everything after it is site furniture.
_FOOTER = re.compile(
    r"^(?:©|\(c\)|copyright\b|tous droits réservés|mentions légales\b|plan du site\b)", re.IGNORECASE
)
_FOOTER_ANYWHERE = re.compile(r"plan du site\s*[-|•·]\s*(?:contact|mentions)", re.IGNORECASE)
_COOKIE = re.compile(
    r"\bcookies?\b|poursuivant votre navigation|politique de confidentialit"
    r"|accepter (?:et fermer|tout)|tout refuser|param[ée]trer (?:les )?cookies",
    re.IGNORECASE,
)
# Lines that are navigation or page furniture, whatever their place.
# CMS blocks of attachments, related links and sharing (SPIP, Drupal, WordPress): their titles
# are furniture as bare lines too.
_LINK_BLOCKS = {
    "télécharger", "documents à télécharger", "documents joints", "à lire aussi", "dans cette rubrique",
    "suivez-nous", "partager",
}
_NAV_WORDS = _LINK_BLOCKS | {
    "accueil", "imprimer", "retour", "retour en haut", "haut de page", "menu",
    "rechercher", "recherche", "fermer", "envoyer à un ami",
    "aller au contenu", "passer au contenu", "lire la suite", "en savoir plus",
}
# Headings of CMS blocks that list links to other pages or files, not content of the page
# (only as headings: `Voir aussi` alone in a paragraph may introduce text).
_NAV_HEADINGS = _LINK_BLOCKS | {
    "fichiers joints", "pièces jointes", "à voir aussi", "voir aussi", "sur le même thème", "dans la même rubrique",
    "liens utiles", "articles liés", "contenus liés", "pages liées", "partager cette page",
}
# Type markers some sites print above the title ("Article" on ARS pages).
_MARKERS = {"article", "actualité", "actualités", "communiqué", "communiqué de presse", "dossier", "brève"}
_COPYRIGHT_HOLDER = re.compile(r"^(?:©|\(c\)|copyright)\s*(?:\d{4}(?:\s*[-–]\s*\d{4})?\s*)?([A-Za-zÀ-ÿ][\w .'&-]*?)\s*(?:\d{4}|[-|–]|$)", re.IGNORECASE)


# `(c)` also numbers the third of a list of parts (`(c) Prévenir le diabète`): a capital, two words
# or more, no digit and no ` - ` or ` | ` between site links; a copyright names its holder (`(c)
# actimeo - mentions légales`, `(c) ARS Bretagne - Plan du site`) or a year.
_PART_C = re.compile(r"^\([cC]\)\s+[A-ZÀ-Ý][a-zà-ÿ]+\s+(?:(?!\s[-|]\s)\D)*$")


def is_footer(line: str) -> bool:
    """A copyright or site-furniture line (`© ICARS - Plan du site - Contact`, `(c) actimeo`)."""
    text = normalize_for_matching(line[:300])  # footers are short; long lines are body text
    if _PART_C.match(text) and not re.search(r"copyright|droits", text, re.I):
        return bool(_FOOTER_ANYWHERE.search(text))
    return bool(_FOOTER.match(text) or _FOOTER_ANYWHERE.search(text))


def is_cookie(line: str) -> bool:
    """Cookie and consent banner text."""
    return len(line) < 800 and bool(_COOKIE.search(line))  # banners are short; long lines are body


_DATELINE = re.compile(
    r"^(?:publi[ée](?:e)? le|mis(?:e)? à jour le|modifi[ée](?:e)? le|derni[èe]re mise à jour|date de (?:publication|mise à jour))"
    r"\b.{0,40}\d{4}\.?$",
    re.IGNORECASE,
)


# `Version 2 - période 2025-2030`, `Version 1.3 du 12 mai 2024`: the document's version, metadata
_VERSION_LINE = re.compile(r"^version\s+\d{1,2}(?:\.\d{1,2})?(?:\s*[-–—,:(]\s*.{0,50}|\s+du\s.{0,30})?$", re.IGNORECASE)


def is_nav(line: str) -> bool:
    """A bare navigation word (`Accueil`, `Haut de page`), a date line (`Publié le 12 mars 2013`)
    or a version line."""
    if len(line) >= 80:
        return False
    text = normalize_for_matching(line)
    return text.lower().rstrip(" >»›") in _NAV_WORDS or bool(_DATELINE.match(text) or _VERSION_LINE.match(text))


def is_nav_heading(line: str) -> bool:
    """`Télécharger`, `Sur le même thème`: the heading of a block of links, not of content."""
    return len(line) < 60 and normalize_for_matching(line).lower().strip(" :") in _NAV_HEADINGS


def is_marker(line: str) -> bool:
    """A page-type marker printed above the title (`Article`)."""
    return len(line) < 60 and normalize_for_matching(line).lower() in _MARKERS


def copyright_holder(line: str) -> str | None:
    """The site named by a copyright line: `© ICARS - Plan du site` -> 'ICARS'.

    >>> copyright_holder("(c) actimeo 2011-2023")
    'actimeo'
    """
    match = _COPYRIGHT_HOLDER.match(normalize_for_matching(line))
    if not match:
        return None
    holder = match.group(1).strip(" -")
    return holder or None
