"""Fixtures shared by the whole suite.

`real_site`: the project's own content/ built once per session with the real
settings, theme and plugins (tests must not write into it).
`site_server`: that build served over HTTP on 127.0.0.1 for browser tests.
`md_settings`: the site's Markdown settings, extensions loaded as Pelican's reader does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import serve_directory
from tests.mdconvert import site_markdown_settings
from tests.sitebuild import build_site

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def real_site(tmp_path_factory) -> Path:
    """output/ of the real content, built once into a temp dir."""
    return build_site(tmp_path_factory.mktemp("real-site"))


@pytest.fixture(scope="session")
def site_server(real_site):
    """Base URL (no trailing slash) of a local server for the real build."""
    with serve_directory(real_site) as base:
        yield base


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """tests/artifacts/ (git-ignored): screenshots and reports worth looking at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def md_settings(tmp_path) -> dict:
    """The site's Markdown settings (tests/mdconvert.py)."""
    return site_markdown_settings(tmp_path)
