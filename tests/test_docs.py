"""Docs and code agree: every plugin setting is documented in README.md."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"
README = ROOT / "README.md"


def _plugin_names() -> list[str]:
    return sorted(
        p.name for p in PLUGINS.iterdir() if p.is_dir() and (p / f"{p.name}.py").is_file()
    )


def _defaults(name: str):
    if str(PLUGINS) not in sys.path:
        sys.path.insert(0, str(PLUGINS))  # how Pelican imports them (PLUGIN_PATHS)
    module = importlib.import_module(f"{name}.{name}")
    return getattr(module, "DEFAULTS", None)


@pytest.mark.parametrize("name", _plugin_names())
def test_every_setting_is_in_the_readme(name):
    defaults = _defaults(name)
    if defaults is None:
        pytest.skip(f"{name} has no DEFAULTS")
    assert isinstance(defaults, dict), f"{name}.DEFAULTS should be a dict"
    readme = README.read_text(encoding="utf-8")
    missing = [key for key in defaults if not re.search(rf"\b{re.escape(key)}\b", readme)]
    assert missing == [], f"{name}: settings missing from README.md: {missing}"


def test_every_plugin_in_pelicanconf_exists():
    from pelican.settings import get_settings_from_file

    listed = get_settings_from_file(str(ROOT / "pelicanconf.py"))["PLUGINS"]
    assert set(listed) <= set(_plugin_names())


def test_readme_first_screen_has_the_two_commands():
    first_screen = "\n".join(README.read_text(encoding="utf-8").splitlines()[:25])
    assert "make build" in first_screen
    assert "make test" in first_screen
    assert "output/index.html" in first_screen
