"""Closed namespaces of healthpolicy-kg: a misspelled term fails at import time.

Hand-written seed; `python -m ontology.build` regenerates this file from the model.
"""
from rdflib import Namespace
from rdflib.namespace import DefinedNamespace

BASE = "https://w3id.org/healthpolicy-kg/"
HPID = Namespace(BASE + "id/")
INSEE_GEO = Namespace("http://id.insee.fr/geo/")


class HPO(DefinedNamespace):
    _NS = Namespace(BASE + "ontology#")
    _fail = True

    # classes
    Plan: object
    Scheme: object
    Document: object
    Section: object
    StrategicAxis: object
    Orientation: object
    Objective: object
    Action: object
    Item: object
    Concept: object
    Actor: object
    Authority: object
    EstablishmentType: object
    ServiceType: object
    Profession: object
    Body: object
    Network: object
    Association: object
    Tool: object
    LegalTool: object
    FinancialTool: object
    ContractualTool: object
    OrganisationalTool: object
    InformationalTool: object
    EvaluationTool: object
    Territory: object
    Region: object
    Departement: object
    Commune: object
    TerritoryKind: object
    Population: object
    Programme: object
    Law: object
    NationalPlan: object
    RegionalScheme: object
    Mention: object
    CandidateConcept: object
    Project: object
    Alignment: object
    # section tree and document
    partOf: object
    hasPart: object
    position: object
    number: object
    level: object
    text: object
    inDocument: object
    hasItem: object
    inPlan: object
    inScheme: object
    breadcrumb: object
    pages: object
    site: object
    figure: object
    crossReference: object
    # what a section is about (section -> concept)
    involvesActor: object
    usesTool: object
    concernsTerritory: object
    targetsPopulation: object
    refersToProgramme: object
    # mentions (with PROV-O provenance)
    hasMention: object
    mentionOf: object
    mentionType: object
    surface: object
    start: object
    end: object
    method: object
    confidence: object
    inSection: object
    # geography
    inseeCode: object
    # projects and alignments
    alignedProject: object
    alignedSection: object
    status: object
    score: object
    reason: object
    promoter: object
