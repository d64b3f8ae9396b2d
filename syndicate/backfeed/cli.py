"""`invoke fetch-replies` / `python -m syndicate.backfeed`: store the replies to each post.

Exit codes: 0 every fetch worked, 1 some network failed for some post (its stored
replies were kept; the next run tries again), 2 nothing was attempted (bad settings).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.table import Table

from syndicate import channels as channels_mod
from syndicate import config as config_mod
from syndicate.backfeed.backfeed import get_settings
from syndicate.backfeed.merge import merge
from syndicate.backfeed.sources import BlueskyReplies, MastodonReplies
from syndicate.console import add_settings_option, consoles, print_error
from syndicate.errors import AuthError, ConfigError, RateLimited, SyndicateError
from syndicate.ledger import atomic_write, now_iso
from syndicate.runner import FAILED, NOT_STARTED, OK

READERS = {"mastodon": MastodonReplies, "bluesky": BlueskyReplies}


@dataclass
class PostResult:
    slug: str
    cells: dict[str, str] = field(default_factory=dict)  # network -> what happened
    count: int = 0
    changed: bool = False


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fetch-replies",
        description="Fetch the public replies to each syndicated post into DATA_PATH/replies/.",
    )
    p.add_argument("--post", metavar="SLUG", default="", help="only this post")
    add_settings_option(p)
    return p


def data_path(config) -> Path:
    data = Path(os.path.expanduser(str(config.settings.get("DATA_PATH") or "data")))
    return data if data.is_absolute() else config.root / data


def remote_ids(item: dict[str, Any]) -> list[str]:
    """The item's current remote id, then those of copies a deliberate re-send replaced."""
    ids = [str(item["remote_id"])] if item.get("remote_id") else []
    for old in item.get("history") or []:
        if old.get("remote_id") and str(old["remote_id"]) not in ids:
            ids.append(str(old["remote_id"]))
    return ids


def too_old(item: dict[str, Any], max_age_days: int, now: datetime) -> bool:
    if not max_age_days or not item.get("sent_at"):
        return False
    try:
        sent = datetime.fromisoformat(item["sent_at"])
    except ValueError:
        return False
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    return now - sent > timedelta(days=max_age_days)


def read_stored(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"{path} is not valid JSON ({e})",
            hint="restore it from git; fetch-replies never overwrites a file it cannot read",
        ) from e
    return data if isinstance(data, dict) else {}


def run(config, *, only: str = "", say=print, now: datetime | None = None) -> tuple[int, list]:
    """Fetch, merge and write; returns (exit code, per-post results)."""
    options = get_settings(config.settings)
    now = now or datetime.now(UTC)
    stamp = now.isoformat(timespec="seconds")
    folder = data_path(config) / options["BACKFEED_DIR"]
    ledger = config.open_ledger()

    readers: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for network in options["BACKFEED_NETWORKS"]:
        cls = channels_mod.load(network)
        if not cls.configured(config.env):
            missing = ", ".join(v for v in cls.env_vars if not config.env.get(v))
            unavailable[network] = f"not configured (set {missing})"
            say(f"{network}: not configured (set {missing}); stored replies kept")
            continue
        readers[network] = READERS[network](cls(config.settings, config.env), options)

    own = {
        f"{network}:{rid}"
        for chans in ledger.posts.values()
        for network, item in chans.items()
        if network in READERS
        for rid in remote_ids(item)
    }
    results, status = [], OK
    for post_id, chans in sorted(ledger.posts.items()):
        slug = next((item["slug"] for item in chans.values() if item.get("slug")), "")
        if not slug or (only and slug != only):
            continue
        sent = {
            n: item
            for n, item in chans.items()
            if n in options["BACKFEED_NETWORKS"]
            and item.get("state") == "sent"
            and remote_ids(item)
        }
        if not sent:
            continue
        result = PostResult(slug)
        fetched: dict[str, list[dict[str, Any]]] = {}
        for network, item in sent.items():
            if network in unavailable:
                result.cells[network] = "kept (" + unavailable[network].split(" (")[0] + ")"
                continue
            if too_old(item, options["BACKFEED_MAX_AGE_DAYS"], now):
                result.cells[network] = "kept (older than BACKFEED_MAX_AGE_DAYS)"
                continue
            try:
                replies: list[dict[str, Any]] = []
                for rid in remote_ids(item):
                    replies += readers[network].fetch(rid)
            except Exception as e:  # any failure keeps this network's stored replies
                text = config.redact(str(e))
                result.cells[network] = f"failed, kept: {text}"
                say(f"{network}: {slug}: {text}")
                status = FAILED
                if isinstance(e, AuthError | RateLimited):  # asking again cannot help now
                    unavailable[network] = (
                        "credentials refused" if isinstance(e, AuthError) else "rate limited"
                    )
                continue
            fetched[network] = replies
            result.cells[network] = str(len(replies))
        path = folder / f"{slug}.json"
        stored = read_stored(path)
        if stored.get("post_id") not in (None, post_id):
            say(f"{path} belongs to post {stored['post_id']}, not {post_id}: left alone")
            result.cells["file"] = "belongs to another post"
            status = FAILED
            results.append(result)
            continue
        document = {
            "post_id": post_id,
            "threads": {
                n: item["remote_url"] for n, item in sorted(sent.items()) if item.get("remote_url")
            },
            "replies": merge(stored.get("replies") or [], fetched, now=stamp, exclude=own),
        }
        result.count = len(document["replies"])
        if document != stored:
            text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
            atomic_write(path, text, fsync=bool(config.settings.get("SYNDICATE_FSYNC", True)))
            result.changed = True
        results.append(result)
    return status, results


def summary(results: list[PostResult], networks: list[str]) -> Table:
    table = Table(title="Replies")
    table.add_column("Post")
    for network in networks:
        table.add_column(network.title())
    table.add_column("Stored", justify="right")
    table.add_column("File")
    for r in results:
        table.add_row(
            r.slug,
            *[r.cells.get(n, "—") for n in networks],
            str(r.count),
            "updated" if r.changed else "unchanged",
        )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    out, err = consoles()
    config = None
    try:
        config = config_mod.load(args.settings)
        status, results = run(config, only=args.post, say=lambda t: err.print(t, markup=False))
    except (SyndicateError, ValueError) as e:
        print_error(err, e, config)
        return NOT_STARTED
    if not results:
        out.print("No syndicated post to fetch replies for.")
        return status
    out.print(summary(results, get_settings(config.settings)["BACKFEED_NETWORKS"]))
    out.print(f"Fetched at {now_iso()}.")
    return status
