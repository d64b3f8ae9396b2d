"""The engagement report: what each post drew, per channel, for the writer (never deployed).

`invoke report` (or `python -m syndicate.report`) reads the ledger and the build's
manifest, asks each service for the numbers of each syndicated post and writes
REPORT_PATH/engagement.json (with the earlier runs' snapshots, for the over-time chart),
REPORT_PATH/index.html with a table and charts, and prints a summary table.

    gather.py   the numbers: Mailchimp reports, Mastodon and Bluesky counts, Isso comments
    render.py   charts (matplotlib) and the page (a Jinja template)
    cli.py      the command
"""

from syndicate.report.gather import DEFAULTS, get_settings

__all__ = ["DEFAULTS", "get_settings"]
