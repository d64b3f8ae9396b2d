"""The ledger: per post (stable ID) and channel, what was sent, committed to git.

    {"version": 1,
     "posts": {"<post id>": {"<channel>": {
         "state": "pending" | "sending" | "sent" | "failed" | "skipped",
         "slug": "...", "attempts": 2, "last_attempt": "2024-05-01T10:00:00+00:00",
         "intent": {...},            # written before the first attempt, reused after a crash
         "remote_id": "...", "remote_url": "...",
         "content_hash": "sha256:...", "sent_at": "...", "error": "...",
         "generation": 0,            # bumped by each deliberate --resend
         "baseline": "<time>"}}}}    # marked sent by --baseline (never sent by us)

Every change is written at once and atomically (temp file, fsync, rename, fsync of the
folder), so a crash leaves either the old or the new file, never half of one. A lock file
beside the ledger keeps two runs from interleaving.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syndicate.errors import LedgerError

STATES = ("pending", "sending", "sent", "failed", "skipped")
VERSION = 1


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def atomic_write(path: Path, text: str, *, fsync: bool = True) -> None:
    """Replace `path` with `text`: temp file, fsync, rename, fsync of the folder.

    Without `fsync` the write is still atomic for other processes and survives a killed
    process (the page cache outlives it), but not a power cut.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if not fsync:
        return
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Ledger:
    def __init__(self, path: Path, data: dict[str, Any] | None = None, *, fsync: bool = True):
        self.path = Path(path)
        self.data = data or {"version": VERSION, "posts": {}}
        self.fsync = fsync

    # -- loading and saving ------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, *, fsync: bool = True) -> Ledger:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path, fsync=fsync)
        try:
            data = json.loads(text)
        except ValueError as e:
            raise LedgerError(
                f"{path} is not valid JSON ({e})",
                hint="restore it from git (`git checkout -- <ledger>`); never delete it",
            ) from e
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise LedgerError(f"{path} has an unknown format", hint="restore it from git")
        data.setdefault("posts", {})
        return cls(path, data, fsync=fsync)

    def save(self) -> None:
        text = json.dumps(self.data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        atomic_write(self.path, text, fsync=self.fsync)

    @contextlib.contextmanager
    def locked(self) -> Iterator[Ledger]:
        """Hold the ledger's lock file for the duration (released by the OS on a crash)."""
        lock_path = self.path.parent / f".{self.path.name}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as e:
                raise LedgerError(
                    f"another syndicate run holds {lock_path}",
                    hint="wait for it to finish",
                ) from e
            try:
                yield self
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- reading ---------------------------------------------------------------------------
    @property
    def posts(self) -> dict[str, dict[str, dict[str, Any]]]:
        return self.data["posts"]

    def get(self, post_id: str, channel: str) -> dict[str, Any]:
        """The item (a copy; empty if none). Change it through update()."""
        return dict(self.posts.get(post_id, {}).get(channel, {}))

    def state(self, post_id: str, channel: str) -> str:
        return self.posts.get(post_id, {}).get(channel, {}).get("state", "")

    def is_sent(self, post_id: str, channel: str) -> bool:
        return self.state(post_id, channel) == "sent"

    def channel_is_empty(self, channel: str) -> bool:
        """No post was ever recorded for this channel (a fresh site, or a new channel)."""
        return not any(channel in chans for chans in self.posts.values())

    def is_empty(self) -> bool:
        return not any(self.posts.values())

    # -- writing ---------------------------------------------------------------------------
    def update(self, post_id: str, channel: str, *, save: bool = True, **fields: Any) -> dict:
        """Merge `fields` into the item and write the ledger now (unless save=False)."""
        state = fields.get("state")
        if state is not None and state not in STATES:
            raise LedgerError(f"unknown state {state!r}; valid: {', '.join(STATES)}")
        item = self.posts.setdefault(post_id, {}).setdefault(channel, {})
        for key, value in fields.items():
            if value is None:
                item.pop(key, None)
            else:
                item[key] = value
        if save:
            self.save()
        return dict(item)
