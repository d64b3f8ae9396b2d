"""Memoised versions of pure Pelican helpers that a build calls tens of thousands of times
(and of one of Pygments', which Markdown's code highlighting calls for every code block).

Each replacement returns exactly what the original returns for the same inputs; it is
switched on per build (`activate`) so a build with FASTBUILD_ENABLED = False runs
Pelican's own code.
"""

from __future__ import annotations

import calendar
import datetime as dt
import locale
import os
import re
from collections import defaultdict
from itertools import groupby
from operator import attrgetter

from pelican import contents, generators, readers, utils
from pelican.utils import SafeDatetime
from pygments.formatters.html import HtmlFormatter


def _pelicans(function):
    """Pelican's own function, also when this module was loaded (and patched) before."""
    return getattr(function, "pelicans", function)


def _replaces(original):
    """Mark a replacement with the Pelican function it stands in for."""

    def mark(function):
        function.pelicans = original
        return function

    return mark


_Articles = generators.ArticlesGenerator
_original_relative_source_path = _pelicans(contents.Content.get_relative_source_path)
_original_date_processor = _pelicans(readers.METADATA_PROCESSORS["date"])
_original_strftime = _pelicans(utils.strftime)
_original_url_setting = _pelicans(contents.Content.get_url_setting)
_original_period_archives = _pelicans(_Articles._build_period_archives)
_original_process_translations = _pelicans(generators.process_translations)
_original_stylesheet = _pelicans(HtmlFormatter._create_stylesheet)
_original_relative_path = _pelicans(utils.get_relative_path)
_original_listings = {
    name: _pelicans(getattr(_Articles, name))
    for name in ("generate_tags", "generate_categories", "generate_authors")
}
_active = False
_frozen = False  # every document is final: its URLs can be remembered
_relative: dict[tuple[str, str], str] = {}
_formatted: dict[tuple, str] = {}
_urls: dict[tuple[int, str], tuple[object, str]] = {}
_stylesheets: dict[tuple, tuple[dict, dict]] = {}
_depths: dict[int, str] = {}

# "2012-03-04", "2012-03-04 10:20" or "2012-03-04T10:20:30": no zone, no fraction.
_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")


@_replaces(_original_relative_source_path)
def _relative_source_path(self, source_path=None):
    """Content.get_relative_source_path, remembered per (PATH, source path)."""
    if not _active:
        return _original_relative_source_path(self, source_path)
    path = source_path or self.source_path
    if path is None:
        return None
    key = (self.settings["PATH"], path)
    hit = _relative.get(key)
    if hit is None:
        hit = _relative[key] = _original_relative_source_path(self, path)
    return hit


@_replaces(_original_strftime)
def _strftime(date, date_format):
    """pelican.utils.strftime (URLs, `locale_date`), remembered per date, zone,
    format and locale."""
    if not _active:
        return _original_strftime(date, date_format)
    # Equal datetimes in different zones differ in tzinfo; fold tells DST repeats apart.
    key = (
        date_format,
        date,
        getattr(date, "tzinfo", None),
        getattr(date, "fold", 0),
        locale.setlocale(locale.LC_TIME),
    )
    try:
        hit = _formatted.get(key)
    except TypeError:  # an unhashable zone (dateutil's tzoffset): not remembered
        return _original_strftime(date, date_format)
    if hit is None:
        hit = _formatted[key] = _original_strftime(date, date_format)
    return hit


@_replaces(_original_relative_path)
def _relative_path(path: str) -> str:
    """pelican.utils.get_relative_path (a page's way up to the site root, asked for
    every page written), remembered per depth: it counts the path's components, which
    for a plain relative path (no leading, doubled or trailing "/") is one more than
    its "/"s. Any other path is Pelican's to work out."""
    plain = not (path.startswith("/") or path.endswith("/") or "//" in path or os.altsep)
    if not _active or not plain:
        return _original_relative_path(path)
    depth = path.count("/")
    hit = _depths.get(depth)
    if hit is None:
        hit = _depths[depth] = _original_relative_path(path)
    return hit


@_replaces(_original_url_setting)
def _url_setting(self, key: str) -> str:
    """Content.get_url_setting (`url`, `save_as`, ...), remembered per document once
    every generator has finished its context: nothing changes a post or page after that.
    Static files are left alone: an `{attach}` link moves one while pages are written."""
    if not _frozen or isinstance(self, contents.Static):
        return _original_url_setting(self, key)
    hit = _urls.get((id(self), key))
    if hit is None or hit[0] is not self:
        hit = _urls[(id(self), key)] = (self, _original_url_setting(self, key))
    return hit[1]


@_replaces(_original_stylesheet)
def _create_stylesheet(self) -> None:
    """HtmlFormatter._create_stylesheet, remembered per formatter class, style and class
    prefix (all it reads). Markdown's codehilite makes a new formatter for every code
    block, and each worked out the style's table of token classes again: a tenth of a
    millisecond per block. Each formatter gets its own copy of the tables."""
    if not _active:
        return _original_stylesheet(self)
    key = (type(self), self.style, self.classprefix)
    try:
        hit = _stylesheets.get(key)
    except TypeError:  # a style object that cannot be a key: not remembered
        return _original_stylesheet(self)
    if hit is None:
        _original_stylesheet(self)
        _stylesheets[key] = (dict(self.ttype2class), dict(self.class2style))
    else:
        self.ttype2class, self.class2style = dict(hit[0]), dict(hit[1])
    return None


class _Members(list):
    """A group's posts (a tag's, a category's, an author's) that answers `post in
    members` by identity in O(1), and knows its posts in the site's date order."""

    def __init__(self, items, position: dict | None = None):
        super().__init__(items)
        self._ids = {id(x) for x in items}
        self.by_date = None  # the distinct posts in date order, when all are dated
        if position is not None and self._ids <= position.keys():
            self.by_date = sorted({id(x): x for x in items}.values(), key=_at(position))

    def __contains__(self, item):
        return id(item) in self._ids


def _at(position: dict):
    return lambda post: position[id(post)]


class _Dates(list):
    """`ArticlesGenerator.dates` while a listing is written. Pelican picks each group's
    posts in date order with `[a for a in self.dates if a in articles]`, once per group:
    quadratic in the number of posts. While a group is being written (`current`, set by
    `_Groups`/`_GroupList` as Pelican's loop reaches it), iterating gives only that
    group's posts, in the same order, so the same filter keeps all of them."""

    current: _Members | None = None

    def __iter__(self):
        members = self.current
        if members is not None and members.by_date is not None:
            return iter(members.by_date)
        return super().__iter__()


class _Groups(dict):
    """`self.tags` (a dict of group -> _Members) that marks the group being written."""

    def __init__(self, pairs, dates: _Dates):
        super().__init__(pairs)
        self.dates = dates

    def items(self):
        try:
            for key, members in super().items():
                self.dates.current = members
                yield key, members
        finally:
            self.dates.current = None


class _GroupList(list):
    """`self.categories`/`self.authors` (a list of pairs) that marks the group being
    written."""

    def __init__(self, pairs, dates: _Dates):
        super().__init__(pairs)
        self.dates = dates

    def __iter__(self):
        try:
            for pair in super().__iter__():
                self.dates.current = pair[1]
                yield pair
        finally:
            self.dates.current = None


def _fast_listing(name):
    original = _original_listings[name]
    attr = name.removeprefix("generate_")

    def generate(self, write):
        if not _active:
            return original(self, write)
        groups, dates = getattr(self, attr), self.dates
        position = {id(post): i for i, post in enumerate(dates)}
        fast_dates = _Dates(dates)
        if isinstance(groups, dict):
            pairs = [(key, _Members(posts, position)) for key, posts in groups.items()]
            fast = _Groups(pairs, fast_dates)
        else:
            pairs = [(key, _Members(posts, position)) for key, posts in groups]
            fast = _GroupList(pairs, fast_dates)
        setattr(self, attr, fast)
        self.dates = fast_dates
        try:
            return original(self, write)
        finally:
            setattr(self, attr, groups)
            self.dates = dates

    generate.__doc__ = original.__doc__
    generate.pelicans = original
    return generate


_DEPTH = {"year": 1, "month": 2, "day": 3}


@_replaces(_original_period_archives)
def _period_archives(self, sorted_articles, articles, settings):
    """ArticlesGenerator._build_period_archives, linear in the number of posts: the
    year, month and day archives with each period's posts in both orders."""
    if not _active:
        return _original_period_archives(self, sorted_articles, articles, settings)
    archives = defaultdict(list)
    position = {id(post): i for i, post in enumerate(articles)}

    def in_order(posts):  # a period's posts in the order of `articles`
        if all(id(post) in position for post in posts):
            return sorted({id(p): p for p in posts}.values(), key=_at(position))
        members = {id(post) for post in posts}
        return [post for post in articles if id(post) in members]

    for granularity, depth in _DEPTH.items():
        save_as = settings[f"{granularity.upper()}_ARCHIVE_SAVE_AS"]
        url = settings[f"{granularity.upper()}_ARCHIVE_URL"]
        if not save_as:
            continue

        def period_of(post, depth=depth):
            return (post.date.year, post.date.month, post.date.day)[:depth]

        for period, group in groupby(sorted_articles, key=period_of):
            dates = list(group)
            first = dates[0].date
            entry = {
                "dates": dates,
                "articles": in_order(dates),
                "save_as": save_as.format(date=first),
                "url": url.format(date=first),
            }
            if depth == 1:
                entry["period"] = (period[0],)
            else:
                month = calendar.month_name[period[1]]
                entry["period"] = (period[0], month, *period[2:])
            entry["period_num"] = tuple(period)
            archives[granularity].append(entry)
    return archives


@_replaces(_original_process_translations)
def _process_translations(content_list, translation_id=None):
    """Pelican's process_translations, one group of documents at a time.

    Pelican's finds the translations with `x not in index` over the whole list, which
    compares every document with every original: 0.4 s at 10,000 posts and four times
    that at twice the posts. It sorts the documents by their translation ID and handles
    each group on its own, so calling it once per group gives the same originals,
    translations, warnings and `translations` attributes, in the same order.
    """
    if not _active or not translation_id:
        return _original_process_translations(content_list, translation_id)
    ids = {translation_id} if isinstance(translation_id, str) else translation_id
    try:
        key = attrgetter(*ids)
        content_list.sort(key=key)  # as Pelican does: callers may see the list sorted
        groups = [list(items) for _, items in groupby(content_list, key)]
    except (TypeError, AttributeError):  # Pelican's own call raises its own error
        return _original_process_translations(content_list, translation_id)
    index, translations = [], []
    for items in groups:
        originals, others = _original_process_translations(items, translation_id)
        index += originals
        translations += others
    return index, translations


def activate(on: bool) -> None:
    """Use the memoised helpers in this build (on) or Pelican's own (off)."""
    global _active
    _active = on
    freeze(False)
    _relative.clear()
    _formatted.clear()
    contents.Content.get_relative_source_path = _relative_source_path
    contents.Content.get_url_setting = _url_setting
    _Articles._build_period_archives = _period_archives
    for name in _original_listings:
        setattr(_Articles, name, _fast_listing(name))
    utils.strftime = _strftime  # SafeDatetime.strftime looks it up here
    utils.get_relative_path = _relative_path  # fastbuild's writer looks it up here
    generators.process_translations = _process_translations
    HtmlFormatter._create_stylesheet = _create_stylesheet


def freeze(on: bool) -> None:
    """From the end of the context phase (on) to the end of the build (off), documents
    are final and their URLs are remembered."""
    global _frozen
    _frozen = on and _active
    _urls.clear()


def parse_date(text: str) -> dt.datetime | None:
    """What Pelican's `date` metadata processor returns for a plain ISO date such as
    "2012-03-04 10:20", without dateutil; None for anything else (or when inactive,
    or when a plugin replaced the processor): the caller then runs the processor."""
    if not _active or readers.METADATA_PROCESSORS.get("date") is not _original_date_processor:
        return None
    text = text.replace("_", " ")
    if not _PLAIN_DATE.fullmatch(text):
        return None
    try:
        return SafeDatetime.fromisoformat(text)
    except ValueError:
        return None
