"""French text keys: the one home of how texts are compared, at the bottom of the layers.

Every package (ontology, ingest, kg and the top floor) takes its comparison forms from here:
`normalize_for_matching` (typographic apostrophes and spaces made plain), `match_key` (titles
and gold keys), `slugify` (ASCII slugs of IRIs).

>>> match_key("Objectif\u00a03\u202f:"), slugify("Établissement d'hébergement")
('objectif 3', 'etablissement-d-hebergement')
"""
from __future__ import annotations

import re
import unicodedata

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


def slugify(text: str) -> str:
    """ASCII slug: `Établissement d'hébergement` -> `etablissement-d-hebergement`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
