"""fastbuild: make the build faster without changing a byte of what it writes.

Four independent levers, each behind its own setting (see DEFAULTS):

* Markdown is converted in a pool of worker processes before Pelican asks for it
  (`FASTBUILD_PARALLEL_MARKDOWN`); Pelican then gets the converted text through a
  reader subclass. The `Summary` (every FORMATTED_FIELDS value) is converted once,
  in the same worker, with the same Markdown instance Pelican would use.
* Converted Markdown is kept in a content-hash cache that survives across builds
  (`FASTBUILD_MARKDOWN_CACHE`), keyed by the file's text, the Markdown settings and
  the versions of Markdown, Pygments, Pelican and this plugin.
* Pages are rendered after every generator has queued them, split across processes
  (`FASTBUILD_PARALLEL_WRITE`), and a page whose inputs did not change since the last
  build is not rendered again (`FASTBUILD_INCREMENTAL`): each page gets a fingerprint
  of the template variables it uses, the theme, the settings and the plugin code.
* A file whose rendered bytes equal what is already on disk is not written again
  (`FASTBUILD_SKIP_UNCHANGED`), so its modification time stays put for rsync.

State lives under FASTBUILD_CACHE_PATH (default: CACHE_PATH/fastbuild), never in
output/. Deleting that folder is always safe: the next build is simply a cold one.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import logging
import multiprocessing
import os
import sys
import traceback
from pathlib import Path
from typing import ClassVar

import jinja2
import markdown
import pelican
import pygments
from jinja2 import meta as jinja_meta
from jinja2 import nodes as jinja_nodes
from pelican import signals
from pelican.contents import Content
from pelican.paginator import Page, Paginator
from pelican.readers import DUPLICATES_DEFINITIONS_ALLOWED, MarkdownReader
from pelican.urlwrappers import URLWrapper
from pelican.utils import get_relative_path, path_to_url, pelican_open, sanitised_join
from pelican.writers import FileOverwriteFailedError, Writer

from . import speedups
from .articles import ArticleCache

log = logging.getLogger(__name__)

VERSION = "2"  # bump when a change here changes what is cached or written

DEFAULTS = {
    "FASTBUILD_ENABLED": True,  # master switch: False turns every lever below off
    "FASTBUILD_PARALLEL_MARKDOWN": True,  # convert Markdown in worker processes
    "FASTBUILD_MARKDOWN_CACHE": True,  # keep converted Markdown across builds
    "FASTBUILD_PARALLEL_WRITE": True,  # render pages in several processes
    "FASTBUILD_INCREMENTAL": True,  # skip rendering pages whose inputs did not change
    "FASTBUILD_SKIP_UNCHANGED": True,  # do not rewrite files with identical bytes
    "FASTBUILD_JINJA_AUTO_RELOAD": False,  # Jinja's stat() of templates on every use
    "FASTBUILD_TEMPLATE_CACHE": True,  # keep compiled templates across builds
    "FASTBUILD_MEMOISE": True,  # remember pure Pelican helpers' results (speedups.py)
    "FASTBUILD_ARTICLE_CACHE": True,  # keep articles as Pelican made them (articles.py)
    "FASTBUILD_WORKERS": 0,  # processes to use; 0 = os.cpu_count()
    "FASTBUILD_CACHE_PATH": "",  # "" = CACHE_PATH/fastbuild
}

_BOOL_KEYS = [k for k, v in DEFAULTS.items() if isinstance(v, bool)]
# Below this many pages (or Markdown files) a second process costs more than it saves.
_MIN_PARALLEL = 48


def get_settings(pelican_settings) -> dict:
    """This plugin's settings: DEFAULTS overridden by the Pelican settings."""
    conf = {key: pelican_settings.get(key, default) for key, default in DEFAULTS.items()}
    for key in _BOOL_KEYS:
        if not isinstance(conf[key], bool):
            raise ValueError(f"fastbuild: {key} must be True or False, not {conf[key]!r}")
    workers = conf["FASTBUILD_WORKERS"]
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
        raise ValueError(f"fastbuild: FASTBUILD_WORKERS must be an int >= 0, not {workers!r}")
    conf["FASTBUILD_WORKERS"] = workers or os.cpu_count() or 1
    if not conf["FASTBUILD_ENABLED"]:
        for key in _BOOL_KEYS:
            if key != "FASTBUILD_JINJA_AUTO_RELOAD":
                conf[key] = False
    if not conf["FASTBUILD_CACHE_PATH"]:
        conf["FASTBUILD_CACHE_PATH"] = os.path.join(
            pelican_settings.get("CACHE_PATH", "cache"), "fastbuild"
        )
    return conf


# --- Markdown: parallel conversion and a content-hash cache ----------------------


def convert_markdown(text: str, md_settings: dict, formatted_fields) -> tuple[str, list]:
    """Convert one post as Pelican's MarkdownReader does; return (html, fields).

    `fields` lists (name, kind, value) in the order of the post's header: kind
    "html" for a FORMATTED_FIELDS value (converted here, once) and "raw" for the
    list of strings the meta extension found. Runs in worker processes.
    """
    md = markdown.Markdown(**md_settings)
    html = md.convert(text)
    fields = []
    header = getattr(md, "Meta", None)
    if header is not None:
        md.preprocessors.deregister("meta")
        for name, values in header.items():
            key = name.lower()
            if key in formatted_fields:
                md.reset()
                fields.append((key, "html", md.convert("\n".join(values))))
            else:
                fields.append((key, "raw", list(values)))
    return html, fields


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


def _stable(value):
    """A repr that does not depend on memory addresses (for cache keys)."""
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_stable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return f"{type(value).__module__}.{type(value).__qualname__}:{_object_state(value)}"


def _object_state(value):
    if hasattr(value, "getConfigs"):  # a markdown.Extension instance
        return json.dumps(_stable(value.getConfigs()), sort_keys=True)
    return "?"


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
        try:
            data = json.loads(self._index_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def remember(self, path: str, stat, key: str) -> None:
        self._index[path] = [list(stat), key]

    def save_index(self) -> None:
        if self.root is None:
            return
        path = self._index_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self._index), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            log.warning("fastbuild: cannot write Markdown cache index %s: %s", path, e)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str):
        if self.root is None:
            return None
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data["html"], [tuple(f) for f in data["fields"]]

    def put(self, key: str, html: str, fields) -> None:
        if self.root is None:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"html": html, "fields": fields}), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            log.warning("fastbuild: cannot write Markdown cache entry %s: %s", path, e)


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
        cache = self._cache()
        key = cache.key(text)
        hit = cache.get(key)
        if hit is not None:
            return hit
        html, fields = convert_markdown(
            text, self.settings["MARKDOWN"], self.settings["FORMATTED_FIELDS"]
        )
        cache.put(key, html, fields)
        return html, fields

    def _cache(self) -> MarkdownCache:
        root = (
            self._conf["FASTBUILD_CACHE_PATH"] if self._conf["FASTBUILD_MARKDOWN_CACHE"] else None
        )
        return MarkdownCache(root, self.settings["MARKDOWN"], self.settings["FORMATTED_FIELDS"])

    def _metadata(self, fields) -> dict:
        out = {}
        for name, kind, value in fields:
            if kind == "html":
                out[name] = self.process_metadata(name, value)
            elif name == "date" and len(value) == 1 and speedups.parse_date(value[0]):
                out[name] = speedups.parse_date(value[0])
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
        cache = self._cache()
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
            chunk = max(1, min(32, len(jobs) // (workers * 8)))
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                self._collect(todo, pool.imap(_convert_job, jobs, chunksize=chunk), cache)
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


def on_initialized(pelican_obj) -> None:
    speedups.activate(get_settings(pelican_obj.settings)["FASTBUILD_MEMOISE"])


def on_context_done(generators) -> None:
    speedups.freeze(True)


def on_finalized(pelican_obj) -> None:
    speedups.freeze(False)


def on_readers_init(readers) -> None:
    conf = get_settings(readers.settings)
    if not (conf["FASTBUILD_PARALLEL_MARKDOWN"] or conf["FASTBUILD_MARKDOWN_CACHE"]):
        return
    # A class per Readers object, so the prepared results are not shared globally.
    # Wrappers other plugins put around MarkdownReader stay in front of ours, and the
    # class keeps its name: Pelican stores it as the `reader` metadata.
    store: dict = {}
    made = {}
    for ext, reader_class in list(readers.reader_classes.items()):
        if not (isinstance(reader_class, type) and issubclass(reader_class, MarkdownReader)):
            continue
        if issubclass(reader_class, FastMarkdownReader):
            continue
        if reader_class not in made:
            made[reader_class] = type(
                reader_class.__name__,
                (reader_class, FastMarkdownReader),
                {"_store": store, "_conf": conf},
            )
        readers.reader_classes[ext] = made[reader_class]


def _prefetch(generator, paths_key: str, excludes_key: str) -> None:
    readers = generator.readers.readers
    stored = getattr(generator, "_fastbuild_articles", None)
    by_reader = {}
    for rel in generator.get_files(
        generator.settings[paths_key], exclude=generator.settings[excludes_key]
    ):
        reader = readers.get(os.path.splitext(rel)[1][1:])
        if isinstance(reader, FastMarkdownReader):
            path = os.path.abspath(os.path.join(generator.path, rel))
            if stored is not None and stored.will_serve(path):
                continue  # the stored article is used; its source is not read
            by_reader.setdefault(id(reader), (reader, []))[1].append(path)
    for reader, paths in by_reader.values():
        reader.prefetch(sorted(paths))


def on_article_generator_init(generator) -> None:
    conf = get_settings(generator.settings)
    if conf["FASTBUILD_ARTICLE_CACHE"]:
        stored = ArticleCache(
            conf["FASTBUILD_CACHE_PATH"], generator, _config_digest(generator.settings)
        )
        generator._fastbuild_articles = stored
        generator.get_cached_data = stored.get
        generator.cache_data = stored.put
    _prefetch(generator, "ARTICLE_PATHS", "ARTICLE_EXCLUDES")


def on_article_generator_finalized(generator) -> None:
    stored = getattr(generator, "_fastbuild_articles", None)
    if stored is not None:
        stored.save()
        log.info("fastbuild: %d articles from the cache, %d read", stored.hits,
                 len(stored.new) - stored.hits)  # fmt: skip


def on_page_generator_init(generator) -> None:
    _prefetch(generator, "PAGE_PATHS", "PAGE_EXCLUDES")


def on_generator_init(generator) -> None:
    conf = get_settings(generator.settings)
    if not conf["FASTBUILD_JINJA_AUTO_RELOAD"]:
        generator.env.auto_reload = False
    if conf["FASTBUILD_TEMPLATE_CACHE"] and generator.env.bytecode_cache is None:
        folder = Path(conf["FASTBUILD_CACHE_PATH"], "templates")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            log.warning("fastbuild: cannot create %s, templates not cached: %s", folder, e)
            return
        generator.env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(folder))


# --- Fingerprints: what a page's output depends on --------------------------------

_SCALARS = (str, int, float, bool, type(None))
_LISTED = (*_SCALARS, dt.date, URLWrapper)
# Context names whose Content objects are rendered in full (body, summary, extras);
# everything else (site-wide lists such as `articles` or `tags`) is fingerprinted
# by what a listing shows: metadata, URL and the plugins' scalar attributes.
_FULL_NAMES = frozenset({"article", "page", "articles_page", "dates_page"})
_SKIP_ATTRS = frozenset({"_context", "settings", "_content", "_summary"})


def _holds_content(value) -> bool:
    if isinstance(value, Content):
        return True
    if isinstance(value, list | tuple):
        return any(isinstance(x, Content) for x in value)
    if isinstance(value, dict):
        return any(isinstance(x, Content) for x in value.values())
    return False


class _Unstable(Exception):
    """A value has no reliable fingerprint: the page is rendered every time."""


class Fingerprints:
    """Digests of template inputs, memoised for one write phase.

    A post listed on a page (not the page's own post) is digested by its URL, its
    metadata, its body when a listing can show it (no explicit Summary), and those
    attributes whose names some template of the theme reads (`x.reading_time`,
    `x.comments`), except attributes that hold other posts. The page's own post is
    digested with every attribute, and with the listed digests of the posts it points
    to (neighbours, related posts). Subscripts with computed keys (`x[name]`) are not
    followed: a theme that reads post attributes that way needs
    FASTBUILD_INCREMENTAL = False.
    """

    def __init__(self):
        self._memo = {}  # (id, ...) -> (object kept alive, digest)
        self._base = {}  # id(content) -> (object, digest of URL, metadata, body)
        self._templates = {}
        self.listed_attrs: frozenset = frozenset()  # see theme_attributes
        self.parsed: dict = {}  # sha1 of a template's source -> _parse_source result
        self.parsed_used: dict = {}  # the same, for the templates this build parsed

    def _content_base(self, obj: Content) -> tuple[str, str]:
        hit = self._base.get(id(obj))
        if hit is None:
            h = hashlib.sha1(type(obj).__name__.encode())  # noqa: S324 (not security)
            h.update(repr((obj.source_path, obj.url, obj.save_as)).encode())
            h.update(self._plain(getattr(obj, "metadata", {}), False).encode())
            listed = h.hexdigest()
            h.update(hashlib.sha1((obj._content or "").encode()).digest())  # noqa: S324
            hit = self._base[id(obj)] = (obj, listed, h.hexdigest())
        return hit[1], hit[2]

    def _content_own(self, obj: Content) -> tuple[str, str, list[str]]:
        """Digests of every attribute that holds no other post and of those a listing
        may show, and the names of the attributes that hold posts."""
        hit = self._memo.get((id(obj), "own"))
        if hit is None:
            plain, refs = {}, []
            for name, value in vars(obj).items():
                if name in _SKIP_ATTRS or name == "metadata":
                    continue
                if _holds_content(value):
                    refs.append(name)
                else:
                    plain[name] = value
            shown = {name: plain[name] for name in self.listed_attrs.intersection(plain)}
            digests = (self._plain(plain, False), self._plain(shown, False), sorted(refs))
            hit = self._memo[(id(obj), "own")] = (obj, digests)
        return hit[1]

    def content(self, obj: Content, full: bool) -> str:
        key = (id(obj), full)
        hit = self._memo.get(key)
        if hit is not None:
            return hit[1]
        listed_base, full_base = self._content_base(obj)
        explicit_summary = "summary" in getattr(obj, "metadata", {})
        base = full_base if full or not explicit_summary else listed_base
        own, shown, refs = self._content_own(obj)
        h = hashlib.sha1(base.encode())  # noqa: S324
        if full:
            h.update(own.encode())
            for name in refs:  # other posts it points to (neighbours, related posts)
                h.update(name.encode())
                h.update(self.value(getattr(obj, name), False).encode())
        else:
            h.update(shown.encode())
        digest = h.hexdigest()
        self._memo[key] = (obj, digest)
        return digest

    def _plain(self, v, full: bool, depth: int = 0) -> str:
        """Digest of a list, tuple or dict (not memoised)."""
        d = depth + 1
        try:
            # The C encoder walks plain data fast; anything else it meets (posts,
            # dates, tags, sets) is digested by `value` through `default`.
            text = json.dumps(v, sort_keys=True, default=lambda x: self.value(x, full, d))
        except (TypeError, ValueError, RecursionError):
            # mixed or non-string keys, or too deep for the encoder
            if isinstance(v, dict):
                parts = sorted(
                    f"{self.value(k, full, d)}={self.value(x, full, d)}" for k, x in v.items()
                )
            else:
                parts = [self.value(x, full, d) for x in v]
            text = "\x1f".join(parts)
        return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()  # noqa: S324

    def value(self, v, full: bool, depth: int = 0) -> str:
        if isinstance(v, _SCALARS):
            return repr(v)
        if depth > 8:
            raise _Unstable("too deep")
        if isinstance(v, Content):
            return "C" + self.content(v, full)
        if isinstance(v, URLWrapper):
            return f"U{type(v).__name__}:{v.name!r}:{v.slug!r}"
        if isinstance(v, dt.datetime | dt.date):
            return f"D{v.isoformat()}{getattr(v, 'tzinfo', None)}"
        if isinstance(v, list | tuple | dict | set | frozenset):
            key = (id(v), full)
            hit = self._memo.get(key)
            if hit is None:
                if isinstance(v, set | frozenset):
                    parts = sorted(self.value(x, full, depth + 1) for x in v)
                    digest = hashlib.sha1("\x1f".join(parts).encode()).hexdigest()  # noqa: S324
                else:
                    digest = self._plain(v, full, depth)
                hit = self._memo[key] = (v, f"{type(v).__name__}:{digest}")
            return hit[1]
        if isinstance(v, Page):
            objects = self.value(list(v.object_list), full, depth + 1)
            return f"P{v.number}/{v.paginator.num_pages}:{v.save_as}:{objects}"
        if isinstance(v, Paginator):
            return f"G{v.name}:{v.num_pages}:{v.count}:{v.per_page}"
        if callable(v) and hasattr(v, "__qualname__"):
            return f"F{getattr(v, '__module__', '')}.{v.__qualname__}"
        if type(v).__repr__ is not object.__repr__:
            text = repr(v)
            if " at 0x" in text:
                raise _Unstable(text)
            return f"R{type(v).__qualname__}:{text}"
        if hasattr(v, "__dict__"):
            return f"O{type(v).__qualname__}:" + self.value(vars(v), full, depth + 1)
        raise _Unstable(type(v).__qualname__)

    def _parse(self, env, name: str):
        """(variables, referenced templates, attribute names) of one template file;
        None if it cannot be read or pulls in a template chosen at render time.
        Results are kept across builds in `parsed`, keyed by a hash of the source."""
        key = ("parse", name)
        if key not in self._templates:
            try:
                source = env.loader.get_source(env, name)[0]
            except jinja2.TemplateError:
                source = None
            result = None
            if source is not None:
                h = hashlib.sha1(_env_signature(env).encode())  # noqa: S324
                h.update(source.encode("utf-8", "surrogatepass"))
                digest = h.hexdigest()
                if digest in self.parsed:
                    result = self.parsed[digest]
                else:
                    result = _parse_source(env, source)
                self.parsed_used[digest] = result
            if result is not None:
                result = (frozenset(result[0]), list(result[1]), frozenset(result[2]))
            self._templates[key] = result
        return self._templates[key]

    def template_variables(self, template) -> frozenset | None:
        """Variables a template and everything it pulls in reads; None when a template
        is chosen at render time (the page then depends on every variable)."""
        name = template.name
        if name in self._templates:
            return self._templates[name]
        env = template.environment
        seen, names, todo = set(), set(), [name]
        result = None
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            parsed = self._parse(env, current)
            if parsed is None:
                break
            names |= parsed[0]
            todo.extend(parsed[1])
        else:
            result = frozenset(names)
        self._templates[name] = result
        return result

    def theme_attributes(self, env) -> frozenset:
        """Every attribute name (and constant subscript) any template of the theme, or
        a template it pulls in, reads."""
        names, seen = set(), set()
        todo = [name for name in env.list_templates() if not name.startswith("!")]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            parsed = self._parse(env, current)
            if parsed is not None:
                names |= parsed[2]
                todo.extend(parsed[1])
        return frozenset(names)


def _env_signature(env) -> str:
    """What, besides the source, decides how Jinja parses a template."""
    return repr(
        (
            env.block_start_string, env.block_end_string, env.variable_start_string,
            env.variable_end_string, env.comment_start_string, env.comment_end_string,
            env.line_statement_prefix, env.line_comment_prefix, sorted(env.extensions),
            jinja2.__version__,
        )
    )  # fmt: skip


def _parse_source(env, source: str):
    """[variables, referenced templates, attribute names] of a template's source, as
    plain lists; None if it does not parse or pulls in a template chosen at render time."""
    try:
        ast = env.parse(source)
    except jinja2.TemplateError:
        return None
    refs = list(jinja_meta.find_referenced_templates(ast))
    if not all(r is not None for r in refs):
        return None
    attrs = set()
    for node in ast.find_all((jinja_nodes.Getattr, jinja_nodes.Getitem)):
        if isinstance(node, jinja_nodes.Getattr):
            attrs.add(node.attr)
        elif isinstance(node.arg, jinja_nodes.Const) and isinstance(node.arg.value, str):
            attrs.add(node.arg.value)
    return [sorted(jinja_meta.find_undeclared_variables(ast)), refs, sorted(attrs)]


def _config_digest(settings) -> str:
    """Plugin code, Pelican's and Markdown's versions and the settings (except this
    plugin's own, which change how the site is built, never what it contains)."""
    h = hashlib.sha1(VERSION.encode())  # noqa: S324
    h.update(f"{pelican.__version__} {markdown.__version__} {pygments.__version__}".encode())
    plugin_dirs = [os.path.abspath(p) for p in settings.get("PLUGIN_PATHS", [])]
    for mod in sorted(list(sys.modules.values()), key=lambda m: m.__name__):
        path = getattr(mod, "__file__", None)
        if path and any(os.path.abspath(path).startswith(d + os.sep) for d in plugin_dirs):
            try:
                h.update(Path(path).read_bytes())
            except OSError:
                h.update(path.encode())
    relevant = {k: v for k, v in settings.items() if not k.startswith("FASTBUILD_")}
    h.update(json.dumps(_stable(relevant), sort_keys=True, default=str).encode())
    return h.hexdigest()


def _site_fingerprint(settings, context, env) -> str:
    """Everything every page depends on: code, theme, settings, URLs of all content."""
    h = hashlib.sha1(VERSION.encode())  # noqa: S324
    h.update(f"{pelican.__version__} {jinja2.__version__} {markdown.__version__}".encode())
    for name in sorted(env.list_templates()):
        try:
            h.update(name.encode() + env.loader.get_source(env, name)[0].encode())
        except jinja2.TemplateError:
            h.update(name.encode())
    h.update(_config_digest(settings).encode())
    for key in ("generated_content", "static_content"):
        for path, obj in sorted((context.get(key) or {}).items()):
            url = getattr(obj, "url", None)
            h.update(f"{path}\x1f{url}\x1f{getattr(obj, 'save_as', None)}\n".encode())
    return h.hexdigest()


# --- The writer -------------------------------------------------------------------


class _Job:
    __slots__ = ("context", "fingerprint", "kwargs", "local_siteurl", "name", "override", "path",
                 "relative_urls", "siteurl", "template")  # fmt: skip

    def __init__(self, **values):
        for key, value in values.items():
            setattr(self, key, value)

    def localcontext(self) -> dict:
        local = self.context.copy()
        local["localsiteurl"] = self.local_siteurl
        if self.relative_urls:
            local["SITEURL"] = self.local_siteurl
        local["output_file"] = self.name
        local.update(self.kwargs)
        return local


class FastWriter(Writer):
    """Queues pages, renders only the stale ones, in parallel, writing changed bytes."""

    def __init__(self, output_path, settings=None):
        super().__init__(output_path, settings=settings)
        self.conf = get_settings(self.settings)
        self._jobs: list[_Job] = []
        self._shared = None  # the generators' shared context (Content objects read it)
        self._flushed = False
        self._fp = Fingerprints()
        self._site_fp = None
        self._state_path = Path(self.conf["FASTBUILD_CACHE_PATH"], "output-state.json")
        self._old = self._load_state()
        self._new: dict[str, list] = {}
        self.rendered = 0
        self.skipped = 0
        self._dirs: set[str] = set()

    # state of the last build: relative path -> [fingerprint, size, mtime_ns, sha1]
    def _load_state(self) -> dict:
        if not (self.conf["FASTBUILD_INCREMENTAL"] or self.conf["FASTBUILD_SKIP_UNCHANGED"]):
            return {}
        try:
            data = json.loads(self._state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return {}
        self._fp.parsed = data.get("templates", {})  # valid for any output folder
        if data.get("output_path") != os.path.abspath(self.output_path):
            return {}
        return data.get("files", {})

    def _save_state(self) -> None:
        if not (self.conf["FASTBUILD_INCREMENTAL"] or self.conf["FASTBUILD_SKIP_UNCHANGED"]):
            return
        data = {
            "version": VERSION,
            "output_path": os.path.abspath(self.output_path),
            "last_build": {"rendered": self.rendered, "not_rendered": self.skipped},
            "files": self._new,
            "templates": self._fp.parsed_used,
        }
        try:
            self._state_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, self._state_path)
        except OSError as e:
            log.warning("fastbuild: cannot save build state %s: %s", self._state_path, e)

    def _claim(self, path: str, override: bool) -> bool:
        """Pelican's overwrite rules; False when this write must be dropped."""
        if path in self._overridden_files:
            if override:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{path}" a second time (was previously overwritten)'
                )
            log.info('Skipping "%s", not overwriting', path)
            return False
        if path in self._written_files:
            if not override:
                raise FileOverwriteFailedError(
                    f'Failed to overwrite "{path}" as Pelican has already written to it '
                    "previously (set `override=True` if intended)"
                )
            log.info('Overwriting "%s"', path)
        if override:
            self._overridden_files.add(path)
        self._written_files.add(path)
        return True

    def write_file(
        self,
        name,
        template,
        context,
        relative_urls=False,
        paginated=None,
        template_name=None,
        override_output=False,
        url=None,
        **kwargs,
    ):
        if not name:
            return
        if paginated is None:
            paginated = {k: v for k, v in kwargs.items() if k in ("articles", "dates")}
        pages = [(name, kwargs)]
        if paginated and template_name in self.settings["PAGINATED_TEMPLATES"]:
            per_page = (
                self.settings["PAGINATED_TEMPLATES"][template_name]
                or self.settings["DEFAULT_PAGINATION"]
            )
            paginators = {
                key: Paginator(name, url, objects, self.settings, per_page)
                for key, objects in paginated.items()
            }
            count = next(iter(paginators.values())).num_pages
            pages = []
            for number in range(1, count + 1):
                page_kwargs = dict(kwargs)
                for key, paginator in paginators.items():
                    page = paginator.page(number)
                    page_kwargs[f"{key}_paginator"] = paginator
                    page_kwargs[f"{key}_page"] = page
                    page_kwargs[f"{key}_previous_page"] = (
                        paginator.page(number - 1) if number > 1 else None
                    )
                    page_kwargs[f"{key}_next_page"] = (
                        paginator.page(number + 1) if number < count else None
                    )
                pages.append((page.save_as, page_kwargs))
        for save_as, page_kwargs in pages:
            self._queue(save_as, template, context, page_kwargs, relative_urls, override_output)
        if self._flushed:  # written after the flush point: render right away
            self.flush()

    def _queue(self, name, template, context, kwargs, relative_urls, override):
        path = sanitised_join(self.output_path, name)
        for key in ("article", "page"):
            if isinstance(kwargs.get(key), Content):
                self._shared = kwargs[key]._context
        if self._shared is None:
            self._shared = context
        # Pelican sets localsiteurl in the context before each render, and Content
        # objects read it from the shared context to make their links: remember the
        # values this page would have seen, to restore them when it is rendered.
        if relative_urls:
            local_siteurl = path_to_url(get_relative_path(name))
        else:
            local_siteurl = context.get("localsiteurl", None)
        if local_siteurl:
            context["localsiteurl"] = local_siteurl
        job = _Job(
            name=name, template=template, context=context, kwargs=kwargs,
            relative_urls=relative_urls, override=override, path=path, fingerprint=None,
            local_siteurl=local_siteurl, siteurl=self._shared.get("localsiteurl"),
        )  # fmt: skip
        if not self._claim(path, override):
            self._signal(job)
            return
        self._jobs.append(job)

    def _fingerprint(self, job: _Job) -> str | None:
        names = self._fp.template_variables(job.template)
        if names is None:
            names = set(job.context) | set(job.kwargs)
        h = hashlib.sha1(self._site_fp.encode())  # noqa: S324
        h.update(
            repr(
                (job.template.name, job.name, job.relative_urls, job.siteurl, job.local_siteurl)
            ).encode()
        )
        try:
            for var in sorted(names):
                if var in ("output_file", "SITEURL", "localsiteurl"):
                    continue  # follow from the name and relative_urls above
                if var in job.kwargs:
                    value = job.kwargs[var]
                elif var in job.context:
                    value = job.context[var]
                else:
                    continue
                h.update(var.encode())
                h.update(self._fp.value(value, var in _FULL_NAMES).encode())
        except _Unstable as e:
            log.debug("fastbuild: %s always re-rendered (%s)", job.name, e)
            return None
        return h.hexdigest()

    def _signal(self, job: _Job) -> None:
        if bool(signals.content_written.receivers):
            signals.content_written.send(job.path, context=job.localcontext())

    def _process(self, job: _Job, shared_context) -> list:
        """Render one page unless its fingerprint says it is up to date.

        Returns [relative path, state entry, 1 if rendered else 0]."""
        rel = os.path.relpath(job.path, self.output_path)
        old = self._old.get(rel)
        fingerprint = self._fingerprint(job) if self.conf["FASTBUILD_INCREMENTAL"] else None
        if fingerprint and old and old[0] == fingerprint and _same_file(job.path, old):
            return [rel, old, 0]
        shared_context["localsiteurl"] = job.siteurl
        data = job.template.render(job.localcontext()).encode("utf-8")
        sha = hashlib.sha1(data).hexdigest()  # noqa: S324
        same = self.conf["FASTBUILD_SKIP_UNCHANGED"] and old and old[3] == sha
        if not (same and _same_file(job.path, old)):
            folder = os.path.dirname(job.path)
            if folder not in self._dirs:
                os.makedirs(folder, exist_ok=True)
                self._dirs.add(folder)
            with open(job.path, "wb") as f:
                f.write(data)
            log.info('Writing "%s"', job.path)
        st = os.stat(job.path)
        return [rel, [fingerprint, st.st_size, st.st_mtime_ns, sha], 1]

    def flush(self) -> None:
        """Render every queued page (split across processes) and save the state."""
        jobs, self._jobs = self._jobs, []
        self._flushed = True
        if jobs:
            shared = self._shared if self._shared is not None else {}
            final_siteurl = shared.get("localsiteurl")
            if self.conf["FASTBUILD_INCREMENTAL"] and self._site_fp is None:
                self._fp.listed_attrs = self._fp.theme_attributes(jobs[0].template.environment)
                # once, before forking, so every process shares it
                self._site_fp = _site_fingerprint(
                    self.settings, shared or jobs[0].context, jobs[0].template.environment
                )
            procs = min(self.conf["FASTBUILD_WORKERS"], len(jobs) // _MIN_PARALLEL or 1)
            if not self.conf["FASTBUILD_PARALLEL_WRITE"]:
                procs = 1
            if procs > 1 and self.conf["FASTBUILD_INCREMENTAL"]:
                # Digest the site-wide lists (all posts, tags, ...) once here, so the
                # forked processes inherit them instead of each computing them again.
                warmed = set()
                for job in jobs:
                    if job.template.name not in warmed:
                        warmed.add(job.template.name)
                        self._fingerprint(job)
            results = self._split(jobs, procs, shared)
            shared["localsiteurl"] = final_siteurl
            for rel, entry, rendered in results:
                self._new[rel] = entry
                self.rendered += rendered
                self.skipped += 1 - rendered
            for job in jobs:
                self._signal(job)
        log.info(
            "fastbuild: %d pages rendered, %d unchanged pages not rendered",
            self.rendered,
            self.skipped,
        )
        self._save_state()

    def _split(self, jobs, procs, shared) -> list:
        children = []
        if procs > 1:
            # Keep the collector from touching (and so copying) every inherited object
            # in the forked processes: memory shared with the parent stays shared.
            gc.freeze()
        for index in range(1, procs):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: render its share, report, leave without cleanup
                gc.disable()
                os.close(read_end)
                status = 0
                try:
                    payload = {"ok": [self._process(j, shared) for j in jobs[index::procs]]}
                except BaseException:
                    payload = {"error": traceback.format_exc()}
                    status = 1
                with os.fdopen(write_end, "w", encoding="utf-8") as out:
                    json.dump(payload, out)
                os._exit(status)
            os.close(write_end)
            children.append((pid, read_end))
        error = None
        try:
            results = [self._process(j, shared) for j in jobs[0::procs]]
        except BaseException as e:
            error = e
            results = []
        failures = []
        for pid, read_end in children:
            with os.fdopen(read_end, encoding="utf-8") as inp:
                raw = inp.read()
            os.waitpid(pid, 0)
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = {"error": "worker process died without a report"}
            if "error" in payload:
                failures.append(payload["error"])
            else:
                results.extend(payload["ok"])
        if procs > 1:
            gc.unfreeze()
        if error is not None:
            raise error
        if failures:
            raise RuntimeError("fastbuild: rendering failed in a worker process:\n" + failures[0])
        return results


def _same_file(path, entry) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_size == entry[1] and st.st_mtime_ns == entry[2]


class FlushPoint:
    """A do-nothing generator placed after the others: queued pages are rendered here,
    before the static files are copied and before `finalized` plugins run."""

    def __init__(self, *args, **kwargs):
        pass

    def generate_output(self, writer) -> None:
        if isinstance(writer, FastWriter):
            writer.flush()


def _writer_wanted(settings) -> bool:
    conf = get_settings(settings)
    return any(
        conf[k]
        for k in ("FASTBUILD_PARALLEL_WRITE", "FASTBUILD_INCREMENTAL", "FASTBUILD_SKIP_UNCHANGED")
    )


def on_get_writer(pelican_obj):
    return FastWriter if _writer_wanted(pelican_obj.settings) else None


def on_get_generators(pelican_obj):
    return FlushPoint if _writer_wanted(pelican_obj.settings) else None


def register():
    signals.initialized.connect(on_initialized)
    signals.all_generators_finalized.connect(on_context_done)
    signals.finalized.connect(on_finalized)
    signals.readers_init.connect(on_readers_init)
    signals.article_generator_init.connect(on_article_generator_init)
    signals.article_generator_finalized.connect(on_article_generator_finalized)
    signals.page_generator_init.connect(on_page_generator_init)
    signals.generator_init.connect(on_generator_init)
    signals.get_writer.connect(on_get_writer)
    signals.get_generators.connect(on_get_generators)
