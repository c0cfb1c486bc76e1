"""Boilerplate recognition (footers, cookie banners, navigation) and text normalisation.

The page text keeps its original characters for display; `normalize_for_matching` gives the
form used to compare strings (titles, gold data, vocabulary labels).
"""
from __future__ import annotations

import re

_APOSTROPHES = re.compile("[\u2019\u2018\u02bc\u00b4\u2032`]")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2007\u2009\u200b]+")


def normalize_for_matching(text: str) -> str:
    """Typographic apostrophes -> ', non-breaking spaces -> space, spaces collapsed, stripped.

    >>> normalize_for_matching("S\u2019engager\u00a0 en\u202ffaveur ")
    "S'engager en faveur"
    """
    return _SPACES.sub(" ", _APOSTROPHES.sub("'", text)).strip()


def match_key(text: str) -> str:
    """A looser key: normalised, lower-cased, trailing punctuation dropped (titles compared)."""
    return normalize_for_matching(text).lower().rstrip(" .:;")


_NUMBER_SIGN = re.compile(r"\bn(?:°|o\.?)\s*(?=\d)")  # `Action n° 3` is `Action 3`


def section_keys_match(ours: str, gold: str) -> bool:
    """True when a section key of ours names the gold section: the same key, or a letter or
    roman number that the parser qualified with its parent's (`Axe 1.A`, `II.B`) where the
    gold cites it as printed (`A`).

    >>> section_keys_match("Axe 1.A", "a"), section_keys_match("2.8.1", "1"), section_keys_match("Action 3", "Action n° 3")
    (True, False, True)
    """
    ours, gold = _NUMBER_SIGN.sub("", match_key(ours)), _NUMBER_SIGN.sub("", match_key(gold))
    if ours == gold:
        return True
    head, _, last = ours.rpartition(".")
    return bool(head) and last.isalpha() and last == gold


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
_NAV_WORDS = {
    "accueil", "imprimer", "partager", "retour", "retour en haut", "haut de page", "menu",
    "rechercher", "recherche", "fermer", "envoyer à un ami", "télécharger", "suivez-nous",
    "aller au contenu", "passer au contenu", "lire la suite", "en savoir plus",
    # CMS blocks of attachments and related links (SPIP, Drupal, WordPress)
    "documents à télécharger", "documents joints", "à lire aussi", "dans cette rubrique",
}
# Type markers some sites print above the title ("Article" on ARS pages).
_MARKERS = {"article", "actualité", "actualités", "communiqué", "communiqué de presse", "dossier", "brève"}
_COPYRIGHT_HOLDER = re.compile(r"^(?:©|\(c\)|copyright)\s*(?:\d{4}(?:\s*[-–]\s*\d{4})?\s*)?([A-Za-zÀ-ÿ][\w .'&-]*?)\s*(?:\d{4}|[-|–]|$)", re.IGNORECASE)


def is_footer(line: str) -> bool:
    """A copyright or site-furniture line (`© ICARS - Plan du site - Contact`, `(c) actimeo`)."""
    text = normalize_for_matching(line[:300])  # footers are short; long lines are body text
    return bool(_FOOTER.match(text) or _FOOTER_ANYWHERE.search(text))


def is_cookie(line: str) -> bool:
    """Cookie and consent banner text."""
    return len(line) < 800 and bool(_COOKIE.search(line))  # banners are short; long lines are body


_DATELINE = re.compile(
    r"^(?:publi[ée](?:e)? le|mis(?:e)? à jour le|modifi[ée](?:e)? le|derni[èe]re mise à jour|date de (?:publication|mise à jour))"
    r"\b.{0,40}\d{4}\.?$",
    re.IGNORECASE,
)


def is_nav(line: str) -> bool:
    """A bare navigation word (`Accueil`, `Haut de page`) or a date line (`Publié le 12 mars 2013`)."""
    if len(line) >= 80:
        return False
    text = normalize_for_matching(line)
    return text.lower().rstrip(" >»›") in _NAV_WORDS or bool(_DATELINE.match(text))


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
