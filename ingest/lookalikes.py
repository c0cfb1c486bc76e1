"""Short lines of a text page that look like unnumbered headings but are not.

A short capitalised line alone in its paragraph reads as a heading; these do not:
- run-in fields of a contract or an action sheet (`Constat : …`, `Cibles : …`, `Durée : 5 ans`);
- glossary entries (`CMP : centre médico-psychologique`), when two or more follow each other;
- the caption of a table flattened to text (the next line is a row of columns);
- lines of the signature block that closes a contract (after `Fait à Lyon, le …`);
- the issuer printed above a page's title (`ARS DE CORSE`, `Agence régionale de santé …`,
  `République française`): a letterhead, not the title.
"""
from __future__ import annotations

import re

from ontology.textkeys import normalize_for_matching

# Field labels a line opens with, then its content: the words of forms, not of plans (never
# `Objectif :` or `Action :`, which do title sections).
_RUN_IN = re.compile(
    r"^(?:à noter|a noter|n\.?b\.?|nota|remarques?|attention|important|rappel|constats?|diagnostic"
    r"|engagements?|cibles?|pilotes?|copilotes?|porteurs?|partenaires?|description|indicateurs?(?: de suivi)?"
    r"|calendrier|échéances?|echeances?|échéancier|moyens|budget|financements?|publics?(?: cibles?)?"
    r"|territoires?|résultats? attendus?|livrables?|modalités|contexte|références?|sources?|contact)"
    r"\s*:\s*\S",
    re.IGNORECASE,
)
_GLOSSARY_ENTRY = re.compile(r"^[A-Z][A-Z0-9&'’/-]{1,14}(?:\s[A-Z0-9][A-Z0-9&'’/-]*)?\s*:\s+\S")
# Two column gaps (3+ spaces or a tab) between words, or a `| a | b |` row.
_TABLE_ROW = re.compile(r"\S(?: {3,}|\t+)\S.*?\S(?: {3,}|\t+)\S|^\|.*\|$")
# The authorities that sign a plan, as their letterhead names them (CSP L1431-1: the ARS; the
# State's services and ministries for joint plans; the local authorities and the Assurance
# maladie that co-sign contrats locaux de santé, schémas de l'autonomie and calls for projects).
_ISSUER = re.compile(
    r"^(?:ars|agence régionale de santé|agence regionale de sante|république française|republique francaise"
    r"|ministère|ministere|préfecture|prefecture|préfet|prefet"
    r"|commune (?:de|d'|du)|ville (?:de|d'|du)|mairie (?:de|d'|du)|conseil (?:départemental|departemental|régional"
    r"|regional|général|general)|départements? (?:de|d'|du|des)|departements? (?:de|d'|du|des)|collectivité"
    r"|collectivite|caisse primaire|cpam|assurance maladie"
    r"|r[ée]gion(?= [A-ZÀ-Ý]))\b[^:]*$",  # `Région Occitanie`: the conseil régional's own name
    re.IGNORECASE,
)
# Co-signers printed on one letterhead line: `Commune de Saint-Benoît - ARS La Réunion`.
_LETTERHEAD_SEPARATOR = re.compile(r"\s+[-–—/|]\s+")
_ISSUER_SERVICE = re.compile(
    r"^(?:direction|délégation|delegation|département|departement|pôle|pole|service|cabinet|secrétariat|secretariat)"
    r"\s+(?:de|des|du|d'|territoriale|départementale|departementale|régionale|regionale)\b[^:]*$",
    re.IGNORECASE,
)
_SIGNED = re.compile(r"^fait (?:à|a)\s+\S.{0,80}\ble\b", re.IGNORECASE)


# A label, then a date, an amount or a count: `Date limite de dépôt : 30 mai 2025`, `Durée : 5 ans`.
_VALUED_FIELD = re.compile(r"^[^:\d]{3,60}\s:\s*\d")


def is_run_in_field(line: str) -> bool:
    """`Constat : le taux …`, `À noter : …`, `Durée : 5 ans`: a labelled field, not a heading."""
    text = normalize_for_matching(line.strip())
    return bool(_RUN_IN.match(text) or _VALUED_FIELD.match(text))


def is_glossary_entry(line: str) -> bool:
    """`CMP : centre médico-psychologique`: an acronym and its expansion."""
    return bool(_GLOSSARY_ENTRY.match(normalize_for_matching(line.strip())))


def is_table_row(line: str) -> bool:
    """A row of a table flattened to text: columns set apart by runs of spaces, tabs or `|`."""
    return bool(_TABLE_ROW.search(line.strip()))


def opens_signatures(line: str) -> bool:
    """`Fait à Montpellier, le 3 mars 2026`: what follows are signatures, not sections."""
    return bool(_SIGNED.match(normalize_for_matching(line.strip())))


def is_issuer(line: str) -> bool:
    """`ARS DE CORSE`, `Agence régionale de santé Occitanie`, `Département du Puy-de-Dôme – ARS
    Auvergne-Rhône-Alpes`: a letterhead line, its issuers of 8 words at most, with their services."""
    text = normalize_for_matching(line)
    if len(text.split()) <= 8 and _ISSUER.match(text):  # `ARS Bretagne - Projet régional de santé`
        return True
    parts = _LETTERHEAD_SEPARATOR.split(text)
    issuers = [part for part in parts if len(part.split()) <= 8 and _ISSUER.match(part)]
    return bool(issuers) and all(part in issuers or is_issuer_service(part) for part in parts)


def is_issuer_service(line: str) -> bool:
    """`Direction de l'offre médico-sociale`, `Délégation départementale du Var`: a service of the
    issuer, printed under its letterhead."""
    parts = _LETTERHEAD_SEPARATOR.split(normalize_for_matching(line))
    return all(len(part.split()) <= 10 and _ISSUER_SERVICE.match(part) for part in parts)
