"""`invoke check`: build the whole site with warnings treated as errors.

Unlike `pelican --fatal warnings`, which stops at the first warning, this runs the
complete build (into a temporary folder, so output/, var/ and the post ID registry
are left alone), prints every
warning and error as one line, and returns 1 if there were any. Content problems
are reported by the content_checks plugin as "content/posts/x.md: no Title".
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from pelican import Pelican
from pelican.settings import read_settings


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record):
        first_line = record.getMessage().strip().splitlines() or [""]
        self.lines.append(f"{record.levelname}: {first_line[0]}")


def run_check(settings_file: str = "pelicanconf.py", out=None, **overrides) -> int:
    """Build with `settings_file`; print each problem to `out`; 0 if none, else 1."""
    out = out or sys.stderr
    collect = _Collect()
    root = logging.getLogger()
    root.addHandler(collect)
    try:
        with tempfile.TemporaryDirectory(prefix="site-check-") as tmp:
            settings = read_settings(
                settings_file,
                override={
                    "OUTPUT_PATH": str(Path(tmp) / "output"),
                    "CACHE_PATH": str(Path(tmp) / "cache"),
                    "DELETE_OUTPUT_DIRECTORY": False,
                    # A check leaves the repository as it was: no new IDs recorded,
                    # no manifest for `invoke syndicate` to pick up.
                    "POST_IDS_UPDATE_REGISTRY": False,
                    "MANIFEST_PATH": str(Path(tmp) / "manifest.json"),
                    **overrides,
                },
            )
            try:
                Pelican(settings).run()
            except Exception as e:  # report it like any other problem
                collect.lines.append(f"ERROR: the build stopped: {type(e).__name__}: {e}")
    finally:
        root.removeHandler(collect)
    for line in collect.lines:
        print(line, file=out)
    if collect.lines:
        n = len(collect.lines)
        print(f"check: {n} problem{'s' if n != 1 else ''} (warnings count as errors)", file=out)
        return 1
    print("check: no problems", file=out)
    return 0
