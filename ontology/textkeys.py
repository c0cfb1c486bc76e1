"""French text keys: the one home of how texts are compared, at the bottom of the layers.

Every package (ontology, ingest, kg and the top floor) takes its comparison forms from here:
`normalize_for_matching` (typographic apostrophes and spaces made plain), `match_key` (titles
and gold keys), `slugify` (ASCII slugs of IRIs), `fold` (lower case without accents: labels,
index terms, sorting), `stemmer()` (French Snowball) and `STOPWORDS` (folded French stop words).

>>> match_key("Objectif\u00a03\u202f:"), slugify("Établissement d'hébergement")
('objectif 3', 'etablissement-d-hebergement')
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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


def fold(text: str) -> str:
    """Lower-case, accents stripped, apostrophes and no-break spaces unified, `œ` -> `oe`: the base
    of every label comparison, of the lexical index and of French sorting.

    >>> fold("Médico-Sociale l’ÉTAT"), fold("Cœur\u00a0d’Œuvre")
    ("medico-sociale l'etat", "coeur d'oeuvre")
    """
    text = text.replace("’", "'").replace("‘", "'").replace("\u00a0", " ").lower().replace("œ", "oe")
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


# Folded French stop words (articles, pronouns, auxiliaries, connectives).
STOPWORDS = frozenset("""
a ai au aux avec c ce ces cet cette ci d dans de des du elle elles en es est et etre eu il ils
j je l la le les leur leurs lui m ma mais me meme mes moi mon n ne ni nos notre nous on ou où
par pas pour qu que quel quelle quelles quels qui s sa sans se ses si son sont sur t ta te tes
toi ton tu un une vos votre vous y à ça été être ont sera seront peut doit fait faire ainsi
afin comme entre dont tout tous toute toutes autre autres plus moins leurs cela celui celle
ceux ces lors sous vers chez quels quoi comment pourquoi quand
""".split())


@lru_cache(maxsize=1)
def stemmer():
    """The French Snowball stemmer (PyStemmer), made once."""
    import Stemmer

    return Stemmer.Stemmer("french")
