"""The settings table: documented, overridable, and strict about bad values."""
import pytest

from search_api.settings import SETTINGS, load_settings, settings_markdown


def test_docs_list_every_setting(repo_root):
    doc = (repo_root / "docs" / "settings.md").read_text(encoding="utf-8")
    assert doc == settings_markdown(), "run: python -m search_api.settings > docs/settings.md"
    for setting in SETTINGS:
        assert f"`HPKG_{setting.name.upper()}`" in doc
        assert setting.help


def test_environment_overrides_default_and_config_overrides_environment(monkeypatch):
    monkeypatch.setenv("HPKG_SPARQL_MAX_ROWS", "42")
    assert load_settings()["sparql_max_rows"] == 42
    assert load_settings({"sparql_max_rows": 7})["sparql_max_rows"] == 7


def test_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("HPKG_MAX_FILE_MB", "lots")
    with pytest.raises(ValueError, match="HPKG_MAX_FILE_MB='lots' is not a valid int"):
        load_settings()


def test_unknown_setting_is_refused():
    with pytest.raises(KeyError, match="unknown setting 'colour'"):
        load_settings({"colour": "blue"})
