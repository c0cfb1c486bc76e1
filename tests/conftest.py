"""Shared fixtures: paths, and the corpus ingested once per test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return ROOT / "corpus"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout (DESIGN.md, eval gold, W3C suite)."""
    path = ROOT.parent / "shared"
    if not path.is_dir():
        pytest.fail(f"{path} is missing: the shared folder must sit beside the checkout")
    return path


@pytest.fixture(scope="session")
def ingested(tmp_path_factory, corpus_dir) -> dict:
    """Settings of a data dir holding the bundled corpus, ingested once (graph + index)."""
    from pipeline.build import ingest_paths
    from search_api.settings import load_settings

    data_dir = tmp_path_factory.mktemp("data")
    settings = load_settings({"data_dir": str(data_dir)})
    report = ingest_paths([corpus_dir], settings, build_index=True)
    assert not report.skipped, report.summary()
    return settings
