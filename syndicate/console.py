"""What the three command lines (syndicate, fetch-replies, report) share: consoles,
the --settings option and how an error that stops a command before it starts is shown."""

from __future__ import annotations

import argparse

from rich.console import Console


def consoles() -> tuple[Console, Console]:
    """(stdout, stderr) consoles; wide enough for URLs when writing to CI logs or pipes."""
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    for console in (out, err):
        if not console.is_terminal:
            console.width = max(console.width, 200)
    return out, err


def add_settings_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--settings",
        metavar="FILE",
        default="publishconf.py",
        help="Pelican settings file (default: publishconf.py)",
    )


def print_error(err: Console, error: Exception, config=None) -> None:
    """One line `error: ...`, with every secret the config knows redacted."""
    text = str(error)
    err.print(f"error: {config.redact(text) if config else text}", markup=False)
