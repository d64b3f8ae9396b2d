"""Settings of a syndication run, read once.

Non-secret settings (`SYNDICATE_*`, `SITEURL`, `DATA_PATH`, ...) come from the Pelican
settings file; secrets and endpoints come from the environment, with a `.env` file read if
present (the process environment wins). Nothing here is ever printed with its value.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from syndicate.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    # Channels this site syndicates to, in order; each still needs its environment variables.
    "SYNDICATE_CHANNELS": ["mailchimp", "mastodon", "bluesky", "x", "linkedin"],
    # A channel with no ledger entries yet refuses to send more new posts than this.
    "SYNDICATE_MAX_NEW": 3,
    # Posts dated before this (ISO date or datetime) are never syndicated.
    "SYNDICATE_SINCE": None,
    # The ledger file, relative to DATA_PATH.
    "SYNDICATE_LEDGER": "ledger.json",
    # Where `--dry-run` writes what it would send.
    "SYNDICATE_OUTBOX": "outbox",
    # Retries of transient errors: attempts per item per run, first delay, longest delay.
    "SYNDICATE_MAX_ATTEMPTS": 4,
    "SYNDICATE_RETRY_BASE": 1.0,
    "SYNDICATE_RETRY_CAP": 30.0,
    # Never sleep longer than this in total in one run (seconds).
    "SYNDICATE_MAX_SLEEP": 60.0,
    # Client timeout for every network call of the adapters (seconds).
    "SYNDICATE_TIMEOUT": 20.0,
    # fsync every ledger write (turn off only for tests: a killed process loses nothing
    # without it, a power cut could).
    "SYNDICATE_FSYNC": True,
    # Extra adapters: {"name": "package.module:ClassName"}.
    "SYNDICATE_EXTRA_CHANNELS": {},
}

# Names of environment variables whose values are secrets (never printed or written).
SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


@dataclass
class Config:
    settings: dict[str, Any]  # the Pelican settings, SYNDICATE_* defaults filled in
    env: dict[str, str]  # environment (process + .env)
    root: Path  # folder of the settings file: relative paths start here
    manifest_path: Path
    ledger_path: Path
    outbox_path: Path
    since: datetime | None = None
    secrets: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.settings[key]

    def open_ledger(self):
        from syndicate.ledger import Ledger

        return Ledger.load(self.ledger_path, fsync=bool(self.settings["SYNDICATE_FSYNC"]))

    def redact(self, text: str) -> str:
        """`text` with every secret value from the environment replaced by ***."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def read_env(root: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Process environment over `.env` (in the working directory, else beside the settings)."""
    env: dict[str, str] = {}
    for folder in dict.fromkeys([Path.cwd(), root]):
        dotenv = folder / ".env"
        if dotenv.is_file():
            from dotenv import dotenv_values

            env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
            break
    env.update(os.environ if environ is None else environ)
    return env


def parse_since(value) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError as e:
            raise ConfigError(
                f"SYNDICATE_SINCE = {value!r} is not a date",
                hint="use an ISO date such as '2024-01-31'",
            ) from e
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def load_settings_file(path: str | os.PathLike) -> dict[str, Any]:
    """The Pelican settings of `path` (with Pelican's own defaults)."""
    from pelican.settings import DEFAULT_CONFIG, get_settings_from_file

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"settings file {str(path)!r} not found", hint="pass --settings FILE")
    folder = str(path.absolute().parent)
    if folder not in sys.path:  # publishconf.py does `from pelicanconf import *`
        sys.path.insert(0, folder)
    try:
        settings = dict(DEFAULT_CONFIG)
        settings.update(get_settings_from_file(str(path)))
        return settings
    except Exception as e:
        raise ConfigError(f"cannot read {path}: {type(e).__name__}: {e}") from e


def from_settings(
    settings: Mapping[str, Any],
    *,
    root: str | os.PathLike | None = None,
    environ: Mapping[str, str] | None = None,
    manifest_path: str | os.PathLike | None = None,
) -> Config:
    """A Config from an already-read settings dict (tests and the benchmark use this)."""
    full = dict(settings)
    for key, value in DEFAULTS.items():
        full.setdefault(key, value)
    root = Path(root or Path.cwd()).absolute()
    for key in ("SYNDICATE_MAX_NEW", "SYNDICATE_MAX_ATTEMPTS"):
        if not isinstance(full[key], int) or full[key] < 0:
            raise ConfigError(f"{key} must be a whole number ≥ 0, not {full[key]!r}")
    channels = full["SYNDICATE_CHANNELS"]
    if isinstance(channels, str) or not all(isinstance(c, str) for c in channels):
        raise ConfigError(
            f"SYNDICATE_CHANNELS must be a list of names, not {channels!r}",
            hint='for example ["mailchimp", "mastodon"]',
        )
    env = read_env(root, environ)

    def resolve(value) -> Path:
        p = Path(os.path.expanduser(str(value)))
        return p if p.is_absolute() else root / p

    if manifest_path is None:
        manifest_path = full.get("MANIFEST_PATH", "var/manifest")
    manifest = str(manifest_path)
    if manifest.endswith(".json"):
        manifest = manifest[: -len(".json")]
    data = resolve(full.get("DATA_PATH") or "data")
    secrets = [
        v
        for k, v in env.items()
        if v and len(v) >= 4 and any(marker in k.upper() for marker in SECRET_MARKERS)
    ]
    return Config(
        settings=full,
        env=env,
        root=root,
        manifest_path=resolve(manifest),
        ledger_path=data / full["SYNDICATE_LEDGER"],
        outbox_path=resolve(full["SYNDICATE_OUTBOX"]),
        since=parse_since(full["SYNDICATE_SINCE"]),
        secrets=sorted(secrets, key=len, reverse=True),
    )


def load(settings_file: str | os.PathLike, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read the settings file once and return the run's Config."""
    path = Path(settings_file).absolute()
    return from_settings(load_settings_file(path), root=path.parent, environ=environ)
