"""The cache's files: read as JSON when they can be, written whole or not at all."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def read_json(path: Path) -> dict | None:
    """The JSON object in `path`; None if it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_atomic(path: Path, data: bytes | str, what: str) -> bool:
    """Write `data` to `path` through a temporary file and a rename, so a crash or a
    concurrent reader never sees half a file. A failure is a warning naming `what`
    (a cache that cannot be written only makes the next build slower)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        try:
            tmp.write_bytes(raw)
        except FileNotFoundError:  # its folder is new: made once, not checked every time
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(raw)
        os.replace(tmp, path)
    except OSError as e:
        log.warning("fastbuild: cannot write %s %s: %s", what, path, e)
        return False
    return True
