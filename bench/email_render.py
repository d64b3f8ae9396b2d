"""Email rendering time per post: the newsletter HTML (CSS inlined) and text parts.

    .venv/bin/invoke build && .venv/bin/python bench/email_render.py

Reads the manifest the last build wrote (var/manifest) and prints, per post, the median
time of `syndicate.email.render` over 20 renders (templates compiled once first).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from syndicate import config as syndicate_config  # noqa: E402
from syndicate.email import time_render  # noqa: E402
from syndicate.manifest import Manifest  # noqa: E402


def main() -> int:
    settings = syndicate_config.load_settings_file(ROOT / "pelicanconf.py")
    manifest = Manifest(ROOT / "var" / "manifest")
    times = []
    for entry in manifest.entries:
        seconds = time_render(manifest.post(entry), settings)
        times.append(seconds)
        print(f"{seconds * 1000:7.2f} ms  {entry.slug}")
    print(
        f"{len(times)} posts: median {statistics.median(times) * 1000:.2f} ms, "
        f"slowest {max(times) * 1000:.2f} ms per email"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
