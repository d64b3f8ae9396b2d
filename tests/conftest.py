"""Fixtures shared by the whole suite.

`real_site`: the project's own content/ built once per session with the real
settings, theme and plugins (tests must not write into it).
`site_server`: that build served over HTTP on 127.0.0.1 for browser tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import serve_directory
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
