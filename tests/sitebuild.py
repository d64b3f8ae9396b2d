"""Build a real Pelican site in-process for tests.

    from tests.sitebuild import build_site, write_post
    out = build_site(tmp_path, content=my_content_dir, FEEDS_SUMMARY_ONLY=True)

Uses the project's own settings file (pelicanconf.py by default), theme and plugins;
paths are made absolute so a test can build any content folder into its own tmp dir.
Returns the output folder. Log records Pelican emitted are on `build_site.last_logs`.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

from pelican import Pelican
from pelican.settings import read_settings

ROOT = Path(__file__).resolve().parents[1]


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def site_settings(
    tmp_path: Path,
    *,
    content: Path | None = None,
    settings_file: str = "pelicanconf.py",
    **overrides,
) -> dict:
    """Settings for a test build: real settings, paths redirected under tmp_path."""
    base = {
        "PATH": str(content or ROOT / "content"),
        "OUTPUT_PATH": str(tmp_path / "output"),
        "THEME": str(ROOT / "theme"),
        "PLUGIN_PATHS": [str(ROOT / "plugins")],
        "CACHE_PATH": str(tmp_path / "cache"),
        "MANIFEST_PATH": str(tmp_path / "var" / "manifest.json"),
        "DATA_PATH": str(ROOT / "data"),
    }
    if "DATA_PATH" not in overrides:
        # post_ids records IDs in DATA_PATH/post-ids.json: keep the repo's registry untouched.
        base["POST_IDS_REGISTRY"] = str(tmp_path / "post-ids.json")
    base.update(overrides)
    return read_settings(str(ROOT / settings_file), override=base)


def build_site(
    tmp_path: Path,
    *,
    content: Path | None = None,
    settings_file: str = "pelicanconf.py",
    **overrides,
) -> Path:
    """Run Pelican once; return the output folder."""
    settings = site_settings(tmp_path, content=content, settings_file=settings_file, **overrides)
    handler = _Collect()
    root_logger = logging.getLogger()
    root_logger.addHandler(handler)
    try:
        Pelican(settings).run()
    finally:
        root_logger.removeHandler(handler)
    build_site.last_logs = handler.records
    return Path(settings["OUTPUT_PATH"])


build_site.last_logs = []


def write_post(folder: Path, name: str, text: str) -> Path:
    """Write a Markdown post (dedented) into folder/posts/name and return its path."""
    path = folder / "posts" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def messages(level: int = logging.WARNING) -> list[str]:
    """Messages of the last build at or above `level`."""
    return [r.getMessage() for r in build_site.last_logs if r.levelno >= level]
