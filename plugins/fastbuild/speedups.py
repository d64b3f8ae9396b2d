"""Memoised versions of pure Pelican helpers that a build calls tens of thousands of times.

Each replacement returns exactly what the original returns for the same inputs; it is
switched on per build (`activate`) so a build with FASTBUILD_ENABLED = False runs
Pelican's own code.
"""

from __future__ import annotations

import datetime as dt
import locale
import re

from pelican import contents, readers, utils
from pelican.utils import SafeDatetime

_original_relative_source_path = contents.Content.get_relative_source_path
_original_date_processor = readers.METADATA_PROCESSORS["date"]
_original_strftime = utils.strftime
_original_url_setting = contents.Content.get_url_setting
_active = False
_frozen = False  # every document is final: its URLs can be remembered
_relative: dict[tuple[str, str], str] = {}
_formatted: dict[tuple, str] = {}
_urls: dict[tuple[int, str], tuple[object, str]] = {}

# "2012-03-04", "2012-03-04 10:20" or "2012-03-04T10:20:30": no zone, no fraction.
_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")


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


def activate(on: bool) -> None:
    """Use the memoised helpers in this build (on) or Pelican's own (off)."""
    global _active
    _active = on
    freeze(False)
    _relative.clear()
    _formatted.clear()
    contents.Content.get_relative_source_path = _relative_source_path
    contents.Content.get_url_setting = _url_setting
    utils.strftime = _strftime  # SafeDatetime.strftime looks it up here


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
