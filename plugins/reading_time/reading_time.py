"""reading_time: estimated minutes to read each article, as `article.reading_time`.

Counts the words of the rendered text (markup stripped, code included) and
divides by a reading speed. Always at least one minute.

The text is what a browser shows: tags, comments, declarations and the insides of
<script> and <style> are left out, character references are decoded, and a tag
separates words. Stripping the markup with one regular expression is twice as fast as
parsing the HTML into a tree first, and counts the same words in well-formed HTML.
"""

from __future__ import annotations

import html as html_module
import logging
import math
import re

from pelican import signals
from pelican.contents import Article

log = logging.getLogger(__name__)

DEFAULTS = {
    # Words per minute of an unhurried adult reader of web prose.
    "READING_TIME_WPM": 230,
}

# What is not text: a whole script or style element, a comment, or a tag (its attribute
# values may hold ">"), a declaration or a processing instruction. A "<" that starts
# none of these ("a < b") is text.
_NOT_TEXT = re.compile(
    r"<(script|style)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>.*?</\1\s*>"
    r"|<!--.*?-->"
    r"|<(?:/?[A-Za-z](?:[^>\"']|\"[^\"]*\"|'[^']*')*|![^>]*|\?[^>]*)>",
    re.DOTALL | re.IGNORECASE,
)
_WORD = re.compile(r"\w+(?:['’]\w+)*")
# The same words in text that is all ASCII.
_ASCII_WORD = re.compile(r"\w+(?:'\w+)*", re.ASCII)
# In ASCII text a word is a run of letters, digits and "_" (`\w`), runs joined by single
# apostrophes. Every other ASCII character becomes a space, so splitting on spaces gives
# the runs with their apostrophes; only a piece holding one is looked at more closely.
_ASCII_PIECES = "".join(chr(c) if chr(c).isalnum() or chr(c) in "_'" else " " for c in range(128))
# Typography Markdown's smarty extension puts in most posts: the closing single quote
# joins words as an apostrophe does; the others are neither letters nor apostrophes.
_APOSTROPHE = "\u2019"
_NOT_WORDS = tuple("\u2018\u201c\u201d\u2013\u2014\u2026\u00a0\u00ab\u00bb")


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
    if not html:
        return 0
    text = _NOT_TEXT.sub(" ", html)
    if "&" in text:
        text = html_module.unescape(text)
    if not text.isascii():
        text = text.replace(_APOSTROPHE, "'")
        for mark in _NOT_WORDS:
            if mark in text:
                text = text.replace(mark, " ")
        if not text.isascii():  # other letters than ASCII's: Unicode's rule, as it is
            return len(_WORD.findall(text))
    return _ascii_words(text)


def _ascii_words(text: str) -> int:
    """len(_ASCII_WORD.findall(text)) for ASCII `text`, without making every word."""
    pieces = text.translate(_ASCII_PIECES).split()
    count = len(pieces)
    if "'" in text:
        for piece in pieces:
            if "'" in piece:  # "don't" is one word, "'" none, "a''b" two
                count += len(_ASCII_WORD.findall(piece)) - 1
    return count


def minutes(words: int, wpm: float) -> int:
    """Whole minutes to read `words` at `wpm`, never less than one."""
    return max(1, math.ceil(words / wpm))


def add_reading_time(instance) -> None:
    """content_object_init receiver: set reading_time on articles."""
    if not isinstance(instance, Article):
        return
    settings = get_settings(instance.settings)
    words = count_words(getattr(instance, "_content", ""))
    instance.word_count = words
    instance.reading_time = minutes(words, settings["READING_TIME_WPM"])


def register():
    signals.content_object_init.connect(add_reading_time)
