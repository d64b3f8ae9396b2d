"""reading_time: estimated minutes to read each article, as `article.reading_time`.

Counts the words of the rendered text (markup stripped, code included) and
divides by a reading speed. Always at least one minute. Word counts are kept in
CACHE_PATH/reading_time.json, keyed by a hash of the HTML, so a rebuild counts only
posts whose text changed (READING_TIME_CACHE = False turns that off).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re

from lxml import etree
from lxml import html as lxml_html
from pelican import signals
from pelican.contents import Article

log = logging.getLogger(__name__)

DEFAULTS = {
    # Words per minute of an unhurried adult reader of web prose.
    "READING_TIME_WPM": 230,
    # Keep word counts across builds in CACHE_PATH/reading_time.json.
    "READING_TIME_CACHE": True,
}
_CACHE_VERSION = "1"  # bump when count_words changes

_WORD = re.compile(r"\w+(?:['’]\w+)*")


def get_settings(pelican_settings) -> dict:
    """This plugin's settings: DEFAULTS overlaid with the site's values."""
    settings = {key: pelican_settings.get(key, value) for key, value in DEFAULTS.items()}
    wpm = settings["READING_TIME_WPM"]
    if isinstance(wpm, bool) or not isinstance(wpm, int | float) or wpm <= 0:
        log.warning(
            "reading_time: READING_TIME_WPM must be a positive number, not %r; using %s",
            wpm,
            DEFAULTS["READING_TIME_WPM"],
        )
        settings["READING_TIME_WPM"] = DEFAULTS["READING_TIME_WPM"]
    return settings


def count_words(html: str) -> int:
    """Number of words in the text of an HTML fragment (<script> and <style> skipped)."""
    if not html or not html.strip():
        return 0
    root = lxml_html.fragment_fromstring(html, create_parent="div")
    etree.strip_elements(root, "script", "style", with_tail=False)
    return len(_WORD.findall(" ".join(root.itertext())))


def minutes(words: int, wpm: float) -> int:
    """Whole minutes to read `words` at `wpm`, never less than one."""
    return max(1, math.ceil(words / wpm))


class WordCounts:
    """Word counts by hash of the HTML, loaded once per build and saved at its end."""

    def __init__(self, path: str | None):
        self.path = path
        self.old: dict[str, int] = {}
        self.used: dict[str, int] = {}
        if path:
            try:
                with open(path, encoding="utf-8") as f:
                    data = json.load(f)
                if data.get("version") == _CACHE_VERSION:
                    self.old = data["words"]
            except (OSError, ValueError, KeyError, TypeError):
                self.old = {}

    def count(self, html: str) -> int:
        key = hashlib.sha1(html.encode("utf-8", "surrogatepass")).hexdigest()  # noqa: S324
        words = self.used.get(key)
        if words is None:
            words = self.old.get(key)
            if not isinstance(words, int):
                words = count_words(html)
            self.used[key] = words
        return words

    def save(self) -> None:
        if not self.path or self.used == self.old:
            return
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"version": _CACHE_VERSION, "words": self.used}, f)
            os.replace(tmp, self.path)
        except OSError as e:
            log.warning("reading_time: cannot save %s: %s", self.path, e)


_counts: dict[str, WordCounts] = {}  # one per CACHE_PATH, for the build in progress


def _word_counts(settings) -> WordCounts | None:
    if not get_settings(settings)["READING_TIME_CACHE"]:
        return None
    path = os.path.join(settings.get("CACHE_PATH", "cache"), "reading_time.json")
    if path not in _counts:
        _counts[path] = WordCounts(path)
    return _counts[path]


def add_reading_time(instance) -> None:
    """content_object_init receiver: set reading_time on articles."""
    if not isinstance(instance, Article):
        return
    settings = get_settings(instance.settings)
    html = getattr(instance, "_content", "") or ""
    counts = _word_counts(instance.settings)
    words = counts.count(html) if counts is not None else count_words(html)
    instance.word_count = words
    instance.reading_time = minutes(words, settings["READING_TIME_WPM"])


def start_build(pelican_obj) -> None:
    """initialized receiver: forget the counts of an earlier build in this process."""
    _counts.clear()


def save_counts(pelican_obj) -> None:
    """finalized receiver: keep this build's counts for the next one."""
    for counts in _counts.values():
        counts.save()
    _counts.clear()


def register():
    signals.initialized.connect(start_build)
    signals.content_object_init.connect(add_reading_time)
    signals.finalized.connect(save_counts)
