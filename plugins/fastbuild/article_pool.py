"""Whole articles made in worker processes on a build that has few of them stored.

Pelican reads articles one after another in its own process: the reader, the `Content`
set-up and the `content_object_init` plugins (word counts, post IDs) run there, and on a
first build that loop kept one core busy and the other idle. Here forked workers do
exactly what Pelican's loop does for each Markdown source (`read_file`, the validity
check) and put the article in the article store (articles.py), which is what the loop
would do next. Pelican's loop then finds every article in the store, as on a warm build.

A worker keeps nothing it is unsure of: a file that fails, is skipped, is not valid, is
not stored (dated in the future) or logs anything at WARNING or above is left to
Pelican's own loop, which reads it again and reports what is wrong, once.
"""

from __future__ import annotations

import logging

from pelican import signals
from pelican.contents import Article, SkipStub

from .forked import forked_map

log = logging.getLogger(__name__)

_WORK = None  # (article generator, article store), inherited by the forked workers


class _Capture(logging.Handler):
    """Takes a worker's log records in place of the console; remembers the worst level."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.worst = logging.NOTSET

    def emit(self, record) -> None:
        self.worst = max(self.worst, record.levelno)


def make_articles(generator, stored, rels: list[str], workers: int) -> None:
    """Make the articles of `rels` (paths relative to the generator's folder) in `workers`
    forked processes and hand the store what they stored (`stored.adopt`)."""
    global _WORK
    _WORK = (generator, stored)
    try:
        for rel, entry in zip(rels, forked_map(_job, rels, workers), strict=True):
            if entry is not None:
                stored.adopt(rel, entry)
    finally:
        _WORK = None
    log.debug("fastbuild: %d of %d articles made in %d workers", stored.made, len(rels), workers)


def _job(rel: str):
    """Worker: the article store's index entry for `rel`, or None (left to Pelican)."""
    generator, stored = _WORK
    root = logging.getLogger()
    capture = _Capture()
    saved, root.handlers = root.handlers, [capture]
    try:
        article = generator.readers.read_file(
            base_path=generator.path,
            path=rel,
            content_class=Article,
            context=generator.context,
            preread_signal=signals.article_generator_preread,
            preread_sender=generator,
            context_signal=signals.article_generator_context,
            context_sender=generator,
        )
        if isinstance(article, SkipStub) or not article.is_valid():
            return None
        if capture.worst >= logging.WARNING:
            return None
        return stored.put(rel, article)
    except Exception:
        return None
    finally:
        root.handlers = saved
