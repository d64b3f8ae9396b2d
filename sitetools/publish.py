"""`invoke publish`: build with publishconf.py, deploy, then syndicate what is new.

Each step runs only if the one before it succeeded, so a failed build never replaces the
live site and nothing is announced that readers cannot open. Returns an exit code and
prints one line per step (the git hook shows these to the pusher).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sitetools import deploy as deploy_mod

log = logging.getLogger(__name__)


class BuildError(Exception):
    """Pelican failed or logged errors: the output must not be deployed."""


class _Errors(logging.Handler):
    """Collect ERROR and worse records emitted while Pelican runs."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def say(message: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    print(message, file=stream, flush=True)


def build(settings_file: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the site with `settings_file`; return the settings used.

    A build that raises, or that logs an error (a post Pelican skipped, a plugin that
    refused its input), raises BuildError: a publishing robot must not half-publish.
    """
    from pelican import Pelican
    from pelican.settings import read_settings

    try:
        settings = read_settings(settings_file, override=dict(overrides or {}))
    except Exception as e:
        raise BuildError(f"cannot read {settings_file}: {type(e).__name__}: {e}") from e
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    errors = _Errors()
    root.addHandler(errors)
    try:
        Pelican(settings).run()
    except Exception as e:
        raise BuildError(f"{type(e).__name__}: {e}") from e
    finally:
        root.removeHandler(errors)
    if errors.records:
        lines = "; ".join(r.getMessage().splitlines()[0] for r in errors.records[:5])
        more = len(errors.records) - 5
        raise BuildError(
            f"the build logged {len(errors.records)} error(s): {lines}"
            + (f" (and {more} more)" if more > 0 else "")
        )
    return settings


def run_syndicate(argv: Sequence[str] = ()) -> int:
    """Run `invoke syndicate` in this process; return its exit code."""
    try:
        from syndicate.cli import main as syndicate_main
    except ImportError as e:
        say(f"publish: cannot syndicate: {e}", err=True)
        return 1
    try:
        code = syndicate_main(list(argv))
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return int(code or 0)


def publish(
    config: Mapping[str, Any],
    *,
    deploy: bool = True,
    syndicate: bool = True,
    dry_run: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> int:
    """Build with production settings, deploy, then syndicate. Return an exit code.

    `dry_run` builds, deploys nothing and runs `syndicate --dry-run` (outbox/ only).
    """
    settings_file = config.get("settings_publish", "publishconf.py")
    started = time.monotonic()

    say(f"publish: building with {settings_file}")
    try:
        settings = build(settings_file, overrides)
        deploy_settings = deploy_mod.get_settings(settings)
    except (BuildError, ValueError) as e:
        say(f"publish: FAILED: build: {e}", err=True)
        say("publish: nothing was deployed or sent; the live site is unchanged", err=True)
        return 1
    output = Path(settings["OUTPUT_PATH"])
    say(f"publish: built {output} in {time.monotonic() - started:.1f}s")

    if deploy and not dry_run:
        try:
            say(deploy_mod.deploy(settings, output))
        except (deploy_mod.DeployError, ValueError, OSError) as e:
            say(f"publish: FAILED: deploy ({deploy_settings['DEPLOY']}): {e}", err=True)
            say("publish: nothing was sent; the live site is unchanged", err=True)
            return 1
    else:
        say("publish: deploy skipped")

    if not syndicate:
        say("publish: syndicate skipped")
        return 0
    argv = ["--settings", settings_file] + (["--dry-run"] if dry_run else [])
    say("publish: syndicating" + (" (dry run: writing outbox/)" if dry_run else ""))
    code = run_syndicate(argv)
    if code != 0:
        say(f"publish: FAILED: syndicate exited with {code} (the site is deployed)", err=True)
        return code
    say(f"publish: done in {time.monotonic() - started:.1f}s")
    return 0
