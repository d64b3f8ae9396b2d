"""Articles as Pelican made them, kept across builds: an unchanged source is not read again.

Pelican asks its article generator for cached data before reading each file
(`get_cached_data`) and hands it every article it read (`cache_data`). This module
answers both: an article is stored right after it was made (its reader, Pelican's
`Content` set-up and the `content_object_init` plugins have run; nothing else has), and
given back on a later build when its source has the same size and modification time and
the configuration is the same (settings, plugin code, Pelican's and Markdown's versions).
A source whose modification time changed but whose bytes did not (a fresh clone, a
restored CI cache, `touch`) is recognised by a digest of its bytes, unless
DEFAULT_DATE = "fs" makes the time itself part of the article.

The shared site context and the settings are not stored with an article: the pickle
refers to them by name and a loaded article gets this build's own, so links between
documents resolve against this build. An article dated in the future is not stored
(WITH_FUTURE_DATES can make it a draft until its date passes), and neither is anything
Pelican could not read: broken files are read, and reported, on every build.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import os
import pickle
from pathlib import Path

from pelican.urlwrappers import URLWrapper

from .files import read_json, write_atomic
from .packed import pack

log = logging.getLogger(__name__)

_SETTINGS, _CONTEXT = "settings", "context"


class _Pickler(pickle.Pickler):
    def __init__(self, file, settings, context):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._shared = {id(settings): _SETTINGS, id(context): _CONTEXT}

    def persistent_id(self, obj):
        return self._shared.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, settings, context):
        super().__init__(file)
        self._shared = {_SETTINGS: settings, _CONTEXT: context}

    def persistent_load(self, pid):
        return self._shared[pid]


def _stamp(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _file_digest(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


class ArticleCache:
    """One pickle per article under `root`, and an index of [stamp, file, digest]."""

    def __init__(self, root: str, generator, config_key: str):
        self.root = Path(root, "articles")
        self.generator = generator
        self.config_key = config_key
        self.old: dict[str, list] = {}
        self.new: dict[str, list] = {}
        self.hits = 0
        self._made: dict[str, list] = {}  # stored this build by worker processes
        self._stamps: dict[str, list[int] | None] = {}  # taken once per build
        self._digests: dict[str, str | None] = {}
        self._by_bytes = generator.settings.get("DEFAULT_DATE") != "fs"
        self._slugs: dict[tuple[type, str], str] = {}  # (wrapper class, name) -> slug
        data = read_json(self.root / "index.json") or {}
        if data.get("config") == config_key and isinstance(data.get("articles"), dict):
            self.old = data["articles"]

    def _source(self, rel: str) -> str:
        return os.path.join(self.generator.path, rel)

    def _stamp(self, rel: str) -> list[int] | None:
        if rel not in self._stamps:
            self._stamps[rel] = _stamp(self._source(rel))
        return self._stamps[rel]

    def _digest(self, rel: str) -> str | None:
        if rel not in self._digests:
            self._digests[rel] = _file_digest(self._source(rel))
        return self._digests[rel]

    def _current(self, rel: str) -> list | None:
        """The stored entry for `rel` if its source is unchanged, with today's stamp."""
        entry = self._made.get(rel) or self.old.get(rel)
        stamp = self._stamp(rel)
        if not entry or stamp is None:
            return None
        if entry[0] == stamp:
            return entry
        if self._by_bytes and len(entry) > 2 and entry[2] == self._digest(rel):
            return [stamp, *entry[1:]]
        return None

    def will_serve(self, rel: str) -> bool:
        """Whether `rel` has a stored article and an unchanged source."""
        return self._current(rel) is not None

    def get(self, rel: str, default=None):
        """`get_cached_data` for the article generator."""
        entry = self._current(rel)
        if entry is None:
            return default
        try:
            raw = (self.root / entry[1]).read_bytes()
            article = _Unpickler(
                io.BytesIO(raw), self.generator.settings, self.generator.context
            ).load()
        except Exception as e:  # a damaged or outdated entry: read the source instead
            log.debug("fastbuild: stored article %s not usable (%s)", rel, e)
            return default
        self.new[rel] = entry
        self.hits += rel not in self._made
        return article

    def adopt(self, rel: str, entry: list) -> None:
        """Take the entry a worker process stored for `rel` (article_pool.py)."""
        self._made[rel] = entry

    @property
    def made(self) -> int:
        """How many articles worker processes made this build."""
        return len(self._made)

    def put(self, rel: str, article) -> list | None:
        """`cache_data` for the article generator: store what Pelican just made, and
        return its index entry (None when it is not stored)."""
        stamp = self._stamp(rel)
        if stamp is None or _in_future(article):
            return None
        name = hashlib.sha1(rel.encode("utf-8", "surrogatepass")).hexdigest() + ".pickle"  # noqa: S324
        pack(article)  # stored, and kept in this process, with its body compressed
        self._settle_slugs(article)
        buffer = io.BytesIO()
        try:
            _Pickler(buffer, self.generator.settings, self.generator.context).dump(article)
        except Exception as e:  # something a plugin attached cannot be stored
            log.debug("fastbuild: article %s not stored (%s)", rel, e)
            return None
        digest = self._digest(rel)
        if digest is None:
            return None
        if not write_atomic(self.root / name, buffer.getvalue(), f"the stored article {rel}"):
            return None
        self.new[rel] = [stamp, name, digest]
        return self.new[rel]

    def _settle_slugs(self, article) -> None:
        """Work out the slugs of the article's category, tags and authors before it is
        stored, so the stored article carries them. Pelican works a slug out on first use,
        and its loop uses all of them (grouping posts by tag, category and author) in the
        one process that loads every article: 0.2 s at 5,000 posts. Each name is slugified
        once here (the settings are the same for all of them). An empty slug is left to
        be worked out again, and warned about, where Pelican does it."""
        memo = self._slugs
        for wrapper in _wrappers(article):
            if getattr(wrapper, "_slug", "") is not None:
                continue  # set already, or not a URLWrapper as Pelican makes it
            key = (type(wrapper), wrapper.name)
            slug = memo.get(key)
            if slug is None:
                slug = wrapper.slug
                if slug:
                    memo[key] = slug
            wrapper._slug = slug or None

    def release(self) -> None:
        """Let go of this build's tables (every article is loaded and the index saved):
        at 10,000 posts they hold some 40,000 small objects for the rest of the build,
        in the process every later fork copies."""
        for table in (self.old, self.new, self._made, self._stamps, self._digests, self._slugs):
            table.clear()

    def save(self) -> None:
        """Write the index of this build's articles; delete entries no source uses."""
        if self.new == self.old:
            return
        used = {entry[1] for entry in self.new.values()}
        for entry in self.old.values():
            if entry[1] not in used:
                (self.root / entry[1]).unlink(missing_ok=True)
        index = json.dumps({"config": self.config_key, "articles": self.new})
        write_atomic(self.root / "index.json", index, "the article index")


def _wrappers(article) -> list:
    """The category, tags and authors of an article (Pelican's URLWrapper objects)."""
    found = [getattr(article, "category", None), getattr(article, "author", None)]
    found += getattr(article, "tags", None) or []
    found += getattr(article, "authors", None) or []
    return [w for w in found if isinstance(w, URLWrapper)]


def _in_future(article) -> bool:
    date = getattr(article, "date", None)
    if not isinstance(date, dt.datetime):
        return False
    now = dt.datetime.now(date.tzinfo) if date.tzinfo else dt.datetime.now()
    return date > now
