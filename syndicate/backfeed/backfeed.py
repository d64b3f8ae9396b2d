"""Settings of the backfeed, read once (defaults in one dict, every key in README.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Networks whose replies are fetched (each needs its channel's environment variables).
    "BACKFEED_NETWORKS": ["mastodon", "bluesky"],
    # Posts syndicated longer ago than this many days are no longer asked about (their
    # stored replies stay); 0 asks about every post, however old.
    "BACKFEED_MAX_AGE_DAYS": 90,
    # How deep a Bluesky thread is read below the post (getPostThread `depth`).
    "BACKFEED_BLUESKY_DEPTH": 10,
    # Leave out Mastodon replies from accounts that opted out of search indexing.
    "BACKFEED_RESPECT_NOINDEX": True,
    # Folder under DATA_PATH for the reply files; None = the replies plugin's REPLIES_DIR.
    "BACKFEED_DIR": None,
}
NETWORKS = ("mastodon", "bluesky")


def get_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    values = {key: settings.get(key, default) for key, default in DEFAULTS.items()}
    networks = values["BACKFEED_NETWORKS"]
    if isinstance(networks, str) or not all(n in NETWORKS for n in networks):
        raise ValueError(
            f"BACKFEED_NETWORKS must be a list of {', '.join(NETWORKS)}, not {networks!r}"
        )
    values["BACKFEED_NETWORKS"] = list(networks)
    for key in ("BACKFEED_MAX_AGE_DAYS", "BACKFEED_BLUESKY_DEPTH"):
        if not isinstance(values[key], int) or values[key] < 0:
            raise ValueError(f"{key} must be a whole number ≥ 0, not {values[key]!r}")
    if values["BACKFEED_DIR"] is None:
        values["BACKFEED_DIR"] = settings.get("REPLIES_DIR") or "replies"
    return values
