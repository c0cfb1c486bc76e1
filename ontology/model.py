"""Read ontology/model.toml, the one source of the OWL model, into checked dataclasses.

Every mistake in the file (unknown key, undefined class, missing label) is a `ModelError`
naming the file and the entry, so `python -m ontology.build` fails with one clear line.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

MODEL_PATH = Path(__file__).with_name("model.toml")
XSD = "http://www.w3.org/2001/XMLSchema#"
DATATYPES = ("xsd:integer", "xsd:string", "xsd:decimal", "xsd:double", "xsd:dateTime", "xsd:boolean")
_CLASS_KEYS = {"name", "parents", "group", "fr", "en", "comment"}
_PROPERTY_KEYS = {"name", "kind", "group", "domain", "range", "inverse", "functional", "fr", "en", "comment"}


class ModelError(ValueError):
    """The model file is malformed; str() is one line naming the file and entry."""


@dataclass(frozen=True)
class ModelClass:
    name: str
    parents: tuple[str, ...]
    group: str
    fr: str
    en: str
    comment: str


@dataclass(frozen=True)
class ModelProperty:
    name: str
    kind: str  # object | data
    group: str
    domain: tuple[str, ...]  # several = union; empty = unrestricted
    range: tuple[str, ...]  # class names (object) or one xsd datatype (data)
    inverse: str | None
    functional: bool
    fr: str
    en: str
    comment: str


@dataclass(frozen=True)
class Disjoint:
    classes: tuple[str, ...]
    comment: str


@dataclass(frozen=True)
class Model:
    ontology: dict
    prefixes: dict[str, str]
    classes: tuple[ModelClass, ...]
    properties: tuple[ModelProperty, ...]
    disjoints: tuple[Disjoint, ...]

    @property
    def namespace(self) -> str:
        return self.prefixes["hpo"]

    def expand(self, name: str) -> str:
        """`Section` -> hpo IRI, `skos:Concept` -> SKOS IRI, `xsd:integer` -> XSD IRI."""
        if ":" not in name:
            return self.namespace + name
        prefix, local = name.split(":", 1)
        if prefix == "xsd":
            return XSD + local
        return self.prefixes[prefix] + local

    def groups(self) -> list[str]:
        """Group names in first-seen order (classes first), for stable output."""
        seen: dict[str, None] = {}
        for entry in (*self.classes, *self.properties):
            seen.setdefault(entry.group, None)
        return list(seen)


def _fail(path: Path, where: str, reason: str) -> ModelError:
    return ModelError(f"{path}: {where}: {reason}")


def _text(entry: dict, key: str, path: Path, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, where, f"'{key}' must be a non-empty string")
    return value


def _names(value, path: Path, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, where, f"'{key}' must be a string or a list of strings")
    return tuple(value)


def load_model(path: Path = MODEL_PATH) -> Model:
    """Parse and check the model file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"{path}: cannot read model: {exc}") from exc
    prefixes = data.get("prefixes") or {}
    if "hpo" not in prefixes:
        raise _fail(path, "[prefixes]", "'hpo' is missing")

    classes = []
    for i, entry in enumerate(data.get("class", [])):
        where = f"class #{i + 1} ({entry.get('name', '?')})"
        if extra := set(entry) - _CLASS_KEYS:
            raise _fail(path, where, f"unknown keys {sorted(extra)}")
        classes.append(ModelClass(
            name=_text(entry, "name", path, where),
            parents=_names(entry.get("parents"), path, where, "parents"),
            group=_text(entry, "group", path, where),
            fr=_text(entry, "fr", path, where),
            en=_text(entry, "en", path, where),
            comment=_text(entry, "comment", path, where),
        ))
    properties = []
    for i, entry in enumerate(data.get("property", [])):
        where = f"property #{i + 1} ({entry.get('name', '?')})"
        if extra := set(entry) - _PROPERTY_KEYS:
            raise _fail(path, where, f"unknown keys {sorted(extra)}")
        kind = entry.get("kind")
        if kind not in ("object", "data"):
            raise _fail(path, where, f"'kind' must be 'object' or 'data', not {kind!r}")
        properties.append(ModelProperty(
            name=_text(entry, "name", path, where),
            kind=kind,
            group=_text(entry, "group", path, where),
            domain=_names(entry.get("domain"), path, where, "domain"),
            range=_names(entry.get("range"), path, where, "range"),
            inverse=entry.get("inverse"),
            functional=bool(entry.get("functional", False)),
            fr=_text(entry, "fr", path, where),
            en=_text(entry, "en", path, where),
            comment=_text(entry, "comment", path, where),
        ))
    disjoints = tuple(
        Disjoint(_names(d.get("classes"), path, f"disjoint #{i + 1}", "classes"), d.get("comment", ""))
        for i, d in enumerate(data.get("disjoint", []))
    )
    ontology = data.get("ontology", {})
    for key in ("iri", "title_fr", "title_en", "comment", "version"):
        _text(ontology, key, path, "[ontology]")
    model = Model(ontology, dict(prefixes), tuple(classes), tuple(properties), disjoints)
    _check_references(model, path)
    return model


def _check_references(model: Model, path: Path) -> None:
    names = [c.name for c in model.classes] + [p.name for p in model.properties]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise _fail(path, "names", f"defined more than once: {dupes}")
    defined: set[str] = set()

    def known(name: str, where: str, earlier_only: bool = False) -> None:
        if ":" in name:
            if name.split(":", 1)[0] not in model.prefixes:
                raise _fail(path, where, f"unknown prefix in {name!r}")
        elif name not in (defined if earlier_only else {c.name for c in model.classes}):
            raise _fail(path, where, f"class {name!r} is not defined" + (" above" if earlier_only else ""))

    for cls in model.classes:
        for parent in cls.parents:
            known(parent, f"class {cls.name}", earlier_only=True)
        defined.add(cls.name)
    props = {p.name for p in model.properties}
    for prop in model.properties:
        where = f"property {prop.name}"
        for name in prop.domain:
            known(name, where)
        if prop.kind == "object":
            for name in prop.range:
                known(name, where)
        elif len(prop.range) != 1 or prop.range[0] not in DATATYPES:
            raise _fail(path, where, f"a data property needs one range among {list(DATATYPES)}")
        if prop.inverse and prop.inverse not in props:
            raise _fail(path, where, f"inverse {prop.inverse!r} is not a property of the model")
    for i, disjoint in enumerate(model.disjoints):
        if len(disjoint.classes) < 2:
            raise _fail(path, f"disjoint #{i + 1}", "needs at least two classes")
        for name in disjoint.classes:
            known(name, f"disjoint #{i + 1}")
