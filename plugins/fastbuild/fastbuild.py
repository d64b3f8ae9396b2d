"""fastbuild: make the build faster without changing a byte of what it writes.

Independent levers, each behind its own setting (see DEFAULTS):

* Markdown is converted in a pool of worker processes before Pelican asks for it
  (`FASTBUILD_PARALLEL_MARKDOWN`); Pelican then gets the converted text through a
  reader subclass. The `Summary` (every FORMATTED_FIELDS value) is converted once,
  in the same worker, with the same Markdown instance Pelican would use.
* Converted Markdown is kept in a content-hash cache that survives across builds
  (`FASTBUILD_MARKDOWN_CACHE`), keyed by the file's text, the Markdown settings and
  the versions of Markdown, Pygments, Pelican and this plugin.
* Pages are rendered after every generator has queued them, and a page whose inputs
  did not change since the last build is not rendered again (`FASTBUILD_INCREMENTAL`):
  each page gets a fingerprint of the template variables it uses, the theme, the
  settings and the plugin code. The fingerprints are worked out in several processes
  (`FASTBUILD_PARALLEL_CHECK`). Many stale pages are rendered by this process from the
  end of the list while short-lived forked renderers take chunks from the front
  (`FASTBUILD_PARALLEL_WRITE`); a renderer that lived for the whole build would copy
  much of the site's memory (forked.relay_map says why).
* A file whose rendered bytes equal what is already on disk is not written again
  (`FASTBUILD_SKIP_UNCHANGED`), so its modification time stays put for rsync.
* Articles are kept as Pelican made them (`FASTBUILD_ARTICLE_CACHE`): an unchanged
  source is not read again on the next build.
* Articles not stored yet are made whole in forked workers and put in that store
  (`FASTBUILD_PARALLEL_ARTICLES`, article_pool.py), so Pelican's serial reading loop
  (reader, set-up, `content_object_init` plugins) does not hold up a first build.
* Pure Pelican helpers called tens of thousands of times remember their results, and
  listing pages pick their posts in linear time (`FASTBUILD_MEMOISE`).
* Python-Markdown's inline passes (its own and `smarty`'s) do not try a pattern on text
  that lacks the characters every match of it contains (`FASTBUILD_QUICK_INLINE`,
  inline_quick.py): the same HTML in about half the conversion time. Its block parser
  likewise does not ask processors that cannot take a block (`FASTBUILD_QUICK_BLOCKS`,
  block_quick.py), and its toc pass looks for the "[TOC]" paragraph only in a document
  that holds the marker (`FASTBUILD_QUICK_TOC`, toc_quick.py).
* Post bodies are kept zlib-compressed in memory and unpacked when read
  (`FASTBUILD_PACK_CONTENT`, packed.py): a third of the memory for the largest thing a
  build holds.
* Templates render without throwaway objects (`FASTBUILD_QUICK_TEMPLATES`,
  quick_templates.py): with `autoescape`, `{{ value }}` is escaped into a plain string
  rather than a `Markup` object dropped at once, and `{{ link.url }}` on a plain dict
  finds the key without raising and catching an AttributeError first.
* The site's objects are kept out of the cyclic garbage collector's reach
  (`gc.freeze`, `FASTBUILD_GC_FREEZE`): from the start of the articles, and frozen again
  once the articles and once the whole context are made, and the collector makes no
  full collection of its own meanwhile: its full collections walked the growing site
  again and again (0.42 s in a first build of 5,000 posts, 0.61 s at 10,000). Young
  garbage is collected as before, and before each forked worker a full collection takes
  what was made since the last freeze. When the build is over, everything still alive
  stays frozen: the interpreter's exit would otherwise walk the whole site again (0.45 s
  at 5,000 posts). The next run in the same process (autoreload, tests) gives the
  objects back to the collector, which frees the earlier run's.

State lives under FASTBUILD_CACHE_PATH (default: CACHE_PATH/fastbuild), never in
output/. Deleting that folder is always safe: the next build is simply a cold one.

This module connects the signals; the work is in config.py (settings), markdown_cache.py,
articles.py (articles kept across builds), article_pool.py (articles made in workers), forked.py,
fingerprints.py, writer.py, speedups.py (memoised Pelican helpers), inline_quick.py,
block_quick.py and toc_quick.py (Markdown's passes), packed.py (compressed post bodies)
and quick_templates.py.
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path

import jinja2
from pelican import signals
from pelican.contents import Content
from pelican.readers import MarkdownReader

from . import block_quick, forked, inline_quick, packed, quick_templates, speedups, toc_quick
from .article_pool import make_articles
from .articles import ArticleCache
from .config import _BOOL_KEYS, _MIN_PARALLEL, DEFAULTS, _config_digest, get_settings
from .markdown_cache import FastMarkdownReader, convert_markdown
from .writer import FastWriter, FlushPoint

# what tests and other code reach through this module
__all__ = ["DEFAULTS", "_BOOL_KEYS", "convert_markdown", "get_settings", "register"]

log = logging.getLogger(__name__)


_frozen_by_us = False  # whether the objects of the last build were frozen here


def on_initialized(pelican_obj) -> None:
    conf = get_settings(pelican_obj.settings)
    speedups.activate(conf["FASTBUILD_MEMOISE"])
    inline_quick.activate(conf["FASTBUILD_QUICK_INLINE"])
    block_quick.activate(conf["FASTBUILD_QUICK_BLOCKS"])
    toc_quick.activate(conf["FASTBUILD_QUICK_TOC"])
    packed.activate(conf["FASTBUILD_PACK_CONTENT"])


def on_run_start(pelican_obj) -> None:
    """get_generators receiver, the first signal of every run (autoreload runs the same
    Pelican object again): Pelican's own memo of post bodies lets go of the earlier run's
    documents, and what that run left goes back to the collector, which frees it."""
    global _frozen_by_us
    _forget_earlier_documents()
    if _frozen_by_us or forked.held():
        forked.hold_frozen(False)
        _frozen_by_us = False
        gc.collect()  # the earlier run's garbage, before this run freezes its own objects


def _forget_earlier_documents() -> None:
    """Pelican memoises Content.get_content and get_summary per (document, site URL) in
    dicts on the class that nothing ever empties: in a long-running process (autoreload,
    `invoke livereload`) every earlier run's documents, and through them its whole site,
    stayed alive. A new run never asks for an earlier run's documents."""
    for name in ("get_content", "get_summary"):
        cache = getattr(Content.__dict__.get(name), "cache", None)
        if isinstance(cache, dict):
            cache.clear()


def on_context_done(generators) -> None:
    speedups.freeze(True)
    if forked.held():
        gc.freeze()  # the whole context, before the pages are rendered


def on_finalized(pelican_obj) -> None:
    global _frozen_by_us
    speedups.freeze(False)
    keep = get_settings(pelican_obj.settings)["FASTBUILD_GC_FREEZE"]
    if forked.held():
        forked.hold_frozen(False, keep=keep)
    if keep:
        gc.freeze()
        _frozen_by_us = True


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
            if stored is not None and stored.will_serve(rel):
                continue  # the stored article is used; its source is not read
            by_reader.setdefault(id(reader), (reader, []))[1].append((rel, path))
    if stored is not None:
        rels = [rel for _, todo in by_reader.values() for rel, _ in todo]
        _make_articles(generator, stored, rels)
    for reader, todo in by_reader.values():
        # what the workers did not store is converted here and read by Pelican's loop
        paths = [path for rel, path in todo if stored is None or not stored.will_serve(rel)]
        if paths:
            reader.prefetch(sorted(paths))


def _make_articles(generator, stored, rels: list[str]) -> None:
    conf = get_settings(generator.settings)
    workers = min(conf["FASTBUILD_WORKERS"], len(rels))
    if conf["FASTBUILD_PARALLEL_ARTICLES"] and workers > 1 and len(rels) >= _MIN_PARALLEL:
        make_articles(generator, stored, rels, workers)


def on_article_generator_init(generator) -> None:
    conf = get_settings(generator.settings)
    if conf["FASTBUILD_GC_FREEZE"]:
        forked.hold_frozen(True)  # frozen again as each stage of the build completes
    if conf["FASTBUILD_ARTICLE_CACHE"]:
        stored = ArticleCache(
            conf["FASTBUILD_CACHE_PATH"], generator, _config_digest(generator.settings)
        )
        generator._fastbuild_articles = stored
        generator.get_cached_data = stored.get
        generator.cache_data = stored.put
    _prefetch(generator, "ARTICLE_PATHS", "ARTICLE_EXCLUDES")


_ARTICLE_LISTS = (
    "articles", "translations", "drafts", "drafts_translations", "hidden_articles",
    "hidden_translations",
)  # fmt: skip


def on_article_generator_finalized(generator) -> None:
    for name in _ARTICLE_LISTS:
        packed.pack_all(getattr(generator, name, ()))
    if forked.held():
        gc.freeze()  # every article, for the rest of the build
    stored = getattr(generator, "_fastbuild_articles", None)
    if stored is not None:
        stored.save()
        read = len(stored.new) - stored.hits
        where = f" ({stored.made} in worker processes)" if stored.made else ""
        log.info("fastbuild: %d articles from the cache, %d read%s", stored.hits, read, where)
        stored.release()


def on_page_generator_init(generator) -> None:
    _prefetch(generator, "PAGE_PATHS", "PAGE_EXCLUDES")


def on_generator_init(generator) -> None:
    conf = get_settings(generator.settings)
    if not conf["FASTBUILD_JINJA_AUTO_RELOAD"]:
        generator.env.auto_reload = False
    if conf["FASTBUILD_QUICK_TEMPLATES"]:
        quick_templates.install(generator.env)
    if conf["FASTBUILD_TEMPLATE_CACHE"] and generator.env.bytecode_cache is None:
        folder = Path(conf["FASTBUILD_CACHE_PATH"], "templates")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            log.warning("fastbuild: cannot create %s, templates not cached: %s", folder, e)
            return
        generator.env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(folder))


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
    signals.get_generators.connect(on_run_start)
    signals.get_generators.connect(on_get_generators)
