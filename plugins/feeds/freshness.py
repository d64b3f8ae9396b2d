"""Which feeds are already up to date on disk, so a rebuild writes only the others.

A feed's digest covers this plugin's code, feedgen's version, the settings, the feed's
kind, title and path, and for each member post its ID, URL, metadata and body. Anything
whose repr is not stable across builds (a memory address) makes the digest differ, so
such a feed is simply rebuilt. The digests of the last build, with the size and
modification time of each file written, are kept in CACHE_PATH/feeds-state.json.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import feedgen

log = logging.getLogger(__name__)

_VERSION = "1"


def _stable(value) -> str:
    if isinstance(value, dict):
        items = sorted((str(k), _stable(v)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, list | tuple | set | frozenset):
        parts = [_stable(v) for v in value]
        return "[" + ",".join(sorted(parts) if isinstance(value, set | frozenset) else parts) + "]"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return repr(value)


def site_digest(settings, context) -> str:
    """Digest of this module's and feeds.py's code, feedgen's version, the settings and
    the URL of every document and static file (posts link to each other)."""
    h = hashlib.sha1(_VERSION.encode())  # noqa: S324 (not security)
    h.update(getattr(feedgen, "__version__", "").encode())
    for name in ("feeds.py", "freshness.py"):
        h.update(Path(__file__).with_name(name).read_bytes())
    h.update(_stable(dict(settings)).encode())
    for key in ("generated_content", "static_content"):
        for source, obj in sorted((context.get(key) or {}).items()):
            h.update(f"{source}\x1f{getattr(obj, 'url', None)}\n".encode())
    return h.hexdigest()


class FeedState:
    """Digests and written files of the last build; what this build wrote."""

    def __init__(self, cache_path: str | None, output_path: str, settings, context):
        self.path = Path(cache_path, "feeds-state.json") if cache_path else None
        self.output = os.path.abspath(output_path)
        self.base = site_digest(settings, context) if self.path else ""
        self.old: dict = {}
        self.new: dict = {}
        self._members: dict[int, tuple[object, str]] = {}
        if self.path is not None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if data.get("output") == self.output:
                    self.old = data.get("feeds", {})
            except (OSError, ValueError, AttributeError):
                self.old = {}

    def _member(self, article) -> str:
        hit = self._members.get(id(article))
        if hit is None:
            h = hashlib.sha1()  # noqa: S324
            h.update(repr((getattr(article, "post_id", None), article.url)).encode())
            h.update(_stable(getattr(article, "metadata", {})).encode())
            h.update(_body_bytes(article))
            hit = self._members[id(article)] = (article, h.hexdigest())
        return hit[1]

    def digest(self, group) -> str:
        kind, _wrapper, title, path, members = group
        h = hashlib.sha1(self.base.encode())  # noqa: S324
        h.update(repr((kind, title, path)).encode())
        for article in members:
            h.update(self._member(article).encode())
        return h.hexdigest()

    def fresh(self, group, files: list[str]) -> bool:
        """True when the group's files are on disk as the last build wrote them from the
        same inputs; remembered for this build either way."""
        if self.path is None:
            return False
        digest = self.digest(group)
        path = group[3]
        old = self.old.get(path)
        if old and old[0] == digest and sorted(old[1]) == sorted(files):
            if all(_same(os.path.join(self.output, f), old[1][f]) for f in files):
                self.new[path] = old
                return True
        self.new[path] = [digest, {}]
        return False

    def wrote(self, group_path: str, file: str) -> None:
        entry = self.new.get(group_path)
        if entry is not None:
            st = os.stat(os.path.join(self.output, file))
            entry[1][file] = [st.st_size, st.st_mtime_ns]

    def save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"output": self.output, "feeds": self.new}), "utf-8")
            os.replace(tmp, self.path)
        except OSError as e:
            log.warning("feeds: cannot save %s: %s", self.path, e)


def _same(path: str, entry) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return [st.st_size, st.st_mtime_ns] == list(entry)


def _body_bytes(article) -> bytes:
    """The post's body as bytes to digest. A body that fastbuild keeps compressed
    (`_content_packed`, zlib: the same text always packs to the same bytes) is digested
    as it is held, without unpacking it."""
    packed = getattr(article, "__dict__", {}).get("_content_packed")
    if packed is not None:
        return b"z" + packed
    return (getattr(article, "_content", "") or "").encode("utf-8", "surrogatepass")
