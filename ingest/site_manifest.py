"""Writing a folder's manifest.toml (the format `ingest.pipeline.load_manifest` reads).

`hpkg crawl` records each saved page there (`url`, `fetched`, and `etag` / `last_modified`
for the next conditional request) and keeps whatever else the file holds: `[defaults]`
written by hand (plan, region, ...) and the entries of pages not fetched this time.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ingest.pipeline import MANIFEST_NAME

HEADER = (
    "# Metadata of the pages in this folder, one table per file (see corpus/manifest.toml).\n"
    "# `hpkg crawl` writes url, fetched, etag and last_modified; [defaults] and other fields are kept.\n"
)


def toml_string(value: str) -> str:
    """A TOML basic string.

    >>> toml_string('a "b" \\\\ é\\n')
    '"a \\\\"b\\\\" \\\\\\\\ é\\\\n"'
    """
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def render_manifest(manifest: dict) -> str:
    lines = [HEADER]
    defaults = manifest.get("defaults") or {}
    if defaults:
        lines.append("[defaults]")
        lines.extend(f"{key} = {toml_string(value)}" for key, value in defaults.items())
        lines.append("")
    for name in sorted(manifest.get("files", {})):
        lines.append(f"[files.{toml_string(name)}]")
        lines.extend(f"{key} = {toml_string(value)}" for key, value in manifest["files"][name].items())
        lines.append("")
    return "\n".join(lines)


def write_manifest(folder: str | Path, manifest: dict) -> Path:
    """Write `folder/manifest.toml` atomically: a crash leaves the old file or the new one."""
    path = Path(folder) / MANIFEST_NAME
    write_atomic(path, render_manifest(manifest).encode("utf-8"))
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, then rename it over `path`."""
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
