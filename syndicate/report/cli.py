"""`invoke report` / `python -m syndicate.report`: the engagement report for the writer.

Exit codes: 0 every number was read, 1 some service failed (the report is written without
its numbers), 2 nothing was written (bad settings, unreadable ledger).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from syndicate import config as config_mod
from syndicate.console import add_settings_option, consoles, print_error
from syndicate.errors import SyndicateError
from syndicate.ledger import atomic_write
from syndicate.report.gather import gather, get_settings, report_path
from syndicate.report.render import render_page, write_charts
from syndicate.runner import FAILED, NOT_STARTED, OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="report", description="Per post: email, Mastodon, Bluesky and comment numbers."
    )
    add_settings_option(p)
    return p


def load_history(path: Path) -> list[dict[str, Any]]:
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    history = old.get("history") if isinstance(old, dict) else None
    return [s for s in history or [] if isinstance(s, dict) and "at" in s and "totals" in s]


def build_report(config, *, say=print) -> tuple[dict[str, Any], Path]:
    """Gather, add this run to the history, write engagement.json, charts and index.html."""
    options = get_settings(config.settings)
    folder = report_path(config, options)
    report = gather(config, say=say)
    history = load_history(folder / "engagement.json")
    history.append(
        {
            "at": report["generated"],
            "totals": {p["id"]: p["totals"]["total"] for p in report["posts"]},
        }
    )
    report["history"] = history[-int(options["REPORT_HISTORY"]) :]
    charts = write_charts(
        report, folder, options["REPORT_CHART_FORMAT"], int(options["REPORT_TOP_POSTS"])
    )
    report["charts"] = charts
    fsync = bool(config.settings.get("SYNDICATE_FSYNC", True))
    text = json.dumps(report, indent=1, ensure_ascii=False) + "\n"
    atomic_write(folder / "engagement.json", text, fsync=fsync)
    atomic_write(folder / "index.html", render_page(report, charts), fsync=fsync)
    return report, folder


def _cell(section: dict[str, Any] | None, key: str) -> str:
    return "–" if section is None else str(section.get(key, 0))


def summary(report: dict[str, Any]) -> Table:
    table = Table(title="Engagement per post")
    for name, justify in (
        ("Post", "left"),
        ("Date", "left"),
        ("Opens", "right"),
        ("Clicks", "right"),
        ("Unsubs", "right"),
        ("Boosts", "right"),
        ("Favs", "right"),
        ("M. replies", "right"),
        ("Reposts", "right"),
        ("Likes", "right"),
        ("B. replies", "right"),
        ("Comments", "right"),
        ("Total", "right"),
    ):
        table.add_column(name, justify=justify)
    for post in report["posts"]:
        e, m, b = post.get("email"), post.get("mastodon"), post.get("bluesky")
        table.add_row(
            post["title"],
            post["date"][:10],
            _cell(e, "opens"),
            _cell(e, "clicks"),
            _cell(e, "unsubscribes"),
            _cell(m, "boosts"),
            _cell(m, "favourites"),
            _cell(m, "replies"),
            _cell(b, "reposts"),
            _cell(b, "likes"),
            _cell(b, "replies"),
            "–" if post.get("comments") is None else str(post["comments"]),
            str(post["totals"]["total"]),
        )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    out, err = consoles()
    config = None
    try:
        config = config_mod.load(args.settings)
        report, folder = build_report(config, say=lambda t: err.print(t, markup=False))
    except (SyndicateError, ValueError) as e:
        print_error(err, e, config)
        return NOT_STARTED
    out.print(summary(report))
    top = report["tags"] and next(iter(report["tags"].items()))
    if top and top[1]["replies"] + top[1]["clicks"]:
        out.print(f"Tag drawing the most replies and clicks: {top[0]}")
    out.print(f"Report: {folder / 'index.html'}")
    return FAILED if report["errors"] else OK
