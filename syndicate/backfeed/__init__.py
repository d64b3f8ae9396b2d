"""Backfeed: bring the replies to each syndicated post home, as data for the next build.

`invoke fetch-replies` (or `python -m syndicate.backfeed`) reads the ledger, asks each
network for the public replies to the post's syndicated copy (Mastodon
`statuses/:id/context`, Bluesky `app.bsky.feed.getPostThread`), normalises them, merges
them with what an earlier run stored and writes DATA_PATH/replies/<slug>.json, which the
`replies` plugin renders under the post. The shape of that file is documented in
plugins/replies/replies.py.

    sources.py  one reader per network: ledger item -> normalised replies
    merge.py    pure functions: merge with the stored file, de-duplicate, re-parent
    cli.py      the command: settings, ledger, files, summary table
"""

from syndicate.backfeed.backfeed import DEFAULTS, get_settings

__all__ = ["DEFAULTS", "get_settings"]
