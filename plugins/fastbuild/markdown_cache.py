"""Markdown converted in worker processes and kept across builds, keyed by its text.

Pelican gets the converted posts through a subclass of its MarkdownReader
(FastMarkdownReader); `prefetch` converts everything that is not in the cache yet in a
pool of forked processes before Pelican's own loop asks for the first file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import ClassVar

import markdown
import pelican
import pygments
from markdown import blockprocessors, treeprocessors
from markdown.extensions import toc
from pelican.readers import DUPLICATES_DEFINITIONS_ALLOWED, MarkdownReader
from pelican.utils import pelican_open

from . import speedups
from .config import _MIN_PARALLEL, VERSION, _stable
from .files import read_json, write_atomic
from .forked import forked_map

log = logging.getLogger(__name__)


def convert_markdown(text: str, md_settings: dict, formatted_fields) -> tuple[str, list]:
    """Convert one post as Pelican's MarkdownReader does; return (html, fields).

    `fields` lists (name, kind, value) in the order of the post's header: kind
    "html" for a FORMATTED_FIELDS value (converted here, once) and "raw" for the
    list of strings the meta extension found. Runs in worker processes.
    """
    body_md, field_md = _converters(md_settings)
    body_md.reset()
    html = body_md.convert(text)
    fields = []
    header = getattr(body_md, "Meta", None)
    if header is not None:
        for name, values in header.items():
            key = name.lower()
            if key in formatted_fields:
                field_md.reset()
                fields.append((key, "html", field_md.convert("\n".join(values))))
            else:
                fields.append((key, "raw", list(values)))
    return html, fields


# Building a Markdown object with its extensions costs about a fifth of converting a
# post, so each process keeps one pair per configuration and resets it between posts
# (Python-Markdown's documented way to convert many documents; every extension in use
# clears its own state in reset()). Pelican converts the formatted header fields with
# the body's object after removing the meta preprocessor: the second object is that one.
# Extensions given as objects rather than names are shared by every Markdown object
# that loads them, so such a configuration gets a fresh pair for every post, as before.
# The key includes the inline processor, block parser and toc classes a new object
# would get, so switching FASTBUILD_QUICK_INLINE, _BLOCKS or _TOC between builds in one
# process is honoured.
_CONVERTERS: dict[tuple, tuple[markdown.Markdown, markdown.Markdown]] = {}


def _converters(md_settings: dict) -> tuple[markdown.Markdown, markdown.Markdown]:
    reusable = all(isinstance(e, str) for e in md_settings.get("extensions", ()))
    key = None
    if reusable:
        classes = (
            treeprocessors.InlineProcessor,
            blockprocessors.BlockParser,
            toc.TocExtension.TreeProcessorClass,
        )
        key = (classes, json.dumps(_stable(md_settings), sort_keys=True))
    pair = _CONVERTERS.get(key)
    if pair is None:
        field_md = markdown.Markdown(**md_settings)
        if "meta" in field_md.preprocessors:
            field_md.preprocessors.deregister("meta")
        pair = (markdown.Markdown(**md_settings), field_md)
        if reusable:
            _CONVERTERS[key] = pair
    return pair


def _convert_job(job):
    """Worker: read and convert one file; None if it changed since it was hashed or
    fails (the reader then converts it again in Pelican's loop, which reports it)."""
    path, key, config_key, md_settings, formatted_fields = job
    try:
        with pelican_open(path) as text:
            pass
        if _text_key(config_key, text) != key:
            return None
        return convert_markdown(text, md_settings, formatted_fields)
    except Exception:
        return None


def _text_key(config_key: str, text: str) -> str:
    digest = hashlib.sha256(config_key.encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class MarkdownCache:
    """Converted posts on disk, one JSON file per (text, configuration) hash."""

    def __init__(self, root: str | None, md_settings: dict, formatted_fields):
        self.root = Path(root, "markdown") if root else None
        config = [
            VERSION,
            markdown.__version__,
            pygments.__version__,
            pelican.__version__,
            _stable(md_settings),
            sorted(formatted_fields),
        ]
        self.config_key = hashlib.sha256(json.dumps(config).encode()).hexdigest()

    def key(self, text: str) -> str:
        return _text_key(self.config_key, text)

    # Which key each source file had when it last had this size and modification time,
    # so an unchanged file is neither read nor hashed again.
    def _index_path(self) -> Path:
        return self.root / f"index-{self.config_key[:16]}.json"

    def load_index(self) -> dict:
        self._index = {}
        if self.root is None:
            return {}
        return read_json(self._index_path()) or {}

    def remember(self, path: str, stat, key: str) -> None:
        self._index[path] = [list(stat), key]

    def save_index(self) -> None:
        if self.root is None:
            return
        write_atomic(self._index_path(), json.dumps(self._index), "the Markdown cache index")

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str):
        if self.root is None:
            return None
        data = read_json(self._path(key))
        if data is None or "html" not in data or "fields" not in data:
            return None
        return data["html"], [tuple(f) for f in data["fields"]]

    def put(self, key: str, html: str, fields) -> None:
        if self.root is None:
            return
        entry = json.dumps({"html": html, "fields": fields})
        write_atomic(self._path(key), entry, "the Markdown cache entry")


class FastMarkdownReader(MarkdownReader):
    """Pelican's MarkdownReader, fed from converted results when they are ready.

    One subclass is made per `Readers` object (see on_readers_init); its `_store`
    maps absolute source paths to (stat, html, fields) prepared by `prefetch`.
    """

    _store: ClassVar[dict] = {}
    _conf: ClassVar[dict] = {}

    def read(self, source_path):
        self._source_path = source_path
        entry = self._store.pop(os.path.abspath(source_path), None)
        if entry is not None and entry[0] == _stat_key(source_path):
            html, fields = entry[1], entry[2]
        else:
            with pelican_open(source_path) as text:
                html, fields = self._convert_one(text)
        return html, self._metadata(fields)

    def _convert_one(self, text):
        cache = self._cache
        key = cache.key(text)
        hit = cache.get(key)
        if hit is not None:
            return hit
        html, fields = convert_markdown(
            text, self.settings["MARKDOWN"], self.settings["FORMATTED_FIELDS"]
        )
        cache.put(key, html, fields)
        return html, fields

    @functools.cached_property
    def _cache(self) -> MarkdownCache:
        # One per reader: its key digests the whole Markdown configuration, and a worker
        # making articles asks for it once per post.
        on = self._conf["FASTBUILD_MARKDOWN_CACHE"]
        root = self._conf["FASTBUILD_CACHE_PATH"] if on else None
        return MarkdownCache(root, self.settings["MARKDOWN"], self.settings["FORMATTED_FIELDS"])

    def _metadata(self, fields) -> dict:
        out = {}
        for name, kind, value in fields:
            if kind == "html":
                out[name] = self.process_metadata(name, value)
            elif name == "date" and len(value) == 1 and (date := speedups.parse_date(value[0])):
                out[name] = date
            elif not DUPLICATES_DEFINITIONS_ALLOWED.get(name, True):
                if len(value) > 1:
                    log.warning(
                        "Duplicate definition of `%s` for %s. Using first one.",
                        name,
                        self._source_path,
                    )
                out[name] = self.process_metadata(name, value[0])
            else:
                out[name] = self.process_metadata(name, value if len(value) > 1 else value[0])
        return out

    def prefetch(self, paths) -> None:
        """Convert every file in `paths` now: cache hits first, the rest in parallel."""
        cache = self._cache
        index = cache.load_index()
        todo = []
        for path in paths:
            try:
                stat = _stat_key(path)
                known = index.get(path)
                if known and known[0] == list(stat):  # same size and mtime: same text
                    key = known[1]
                else:
                    with pelican_open(path) as text:
                        pass
                    key = cache.key(text)
            except (OSError, ValueError):
                continue  # unreadable or not UTF-8: left to Pelican's loop, which reports it
            cache.remember(path, stat, key)
            hit = cache.get(key)
            if hit is not None:
                self._store[path] = (stat, *hit)
            else:
                todo.append((path, stat, key))  # the worker reads the text again
        cache.save_index()
        if not todo:
            return
        md_settings = self.settings["MARKDOWN"]
        formatted = list(self.settings["FORMATTED_FIELDS"])
        jobs = [(path, key, cache.config_key, md_settings, formatted) for path, _, key in todo]
        workers = min(self._conf["FASTBUILD_WORKERS"], len(todo))
        parallel = self._conf["FASTBUILD_PARALLEL_MARKDOWN"] and len(todo) >= _MIN_PARALLEL
        if parallel and workers > 1:
            self._collect(todo, forked_map(_convert_job, jobs, workers), cache)
        else:
            self._collect(todo, map(_convert_job, jobs), cache)

    def _collect(self, todo, results, cache) -> None:
        for (path, stat, key), result in zip(todo, results, strict=True):
            if result is None:
                continue
            html, fields = result
            cache.put(key, html, fields)
            self._store[path] = (stat, html, [tuple(f) for f in fields])


def _stat_key(path):
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns)
