"""The one table of entity types: the mention `type` of the DESIGN.md contracts, the SKOS scheme
that holds its concepts, the section -> concept property, and the French names of the UI.

>>> ENTITY_TYPES
('actor', 'tool', 'territory', 'population', 'programme')
>>> PROPERTY_TYPES["usesTool"], SCHEME_TYPES["territories"], str(CONCEPT_PROPERTY["actor"])
('tool', 'territory', 'https://w3id.org/healthpolicy-kg/ontology#involvesActor')
"""
from __future__ import annotations

from dataclasses import dataclass

from rdflib import URIRef

from ontology.namespaces import HPO


@dataclass(frozen=True)
class EntityType:
    name: str          # mention type: actor, tool, territory, population, programme
    scheme: str        # tail of the vocabulary IRI hpid:vocab/{scheme}
    property: URIRef   # section -> concept
    label: str         # French, singular (UI)
    plural: str        # French, plural (UI)


TABLE = (
    EntityType("actor", "actors", HPO.involvesActor, "Acteur", "Acteurs"),
    EntityType("tool", "tools", HPO.usesTool, "Outil", "Outils"),
    EntityType("territory", "territories", HPO.concernsTerritory, "Territoire", "Territoires"),
    EntityType("population", "populations", HPO.targetsPopulation, "Population", "Populations"),
    EntityType("programme", "programmes", HPO.refersToProgramme, "Programme", "Programmes"),
)
ENTITY_TYPES = tuple(t.name for t in TABLE)
SCHEME_TYPES = {t.scheme: t.name for t in TABLE}                          # scheme tail -> type
CONCEPT_PROPERTY = {t.name: t.property for t in TABLE}                    # type -> property
PROPERTY_TYPES = {str(t.property).rsplit("#", 1)[-1]: t.name for t in TABLE}  # local name -> type
