"""content_checks: one clear line per broken content file, and the build goes on.

Every reader Pelican uses is wrapped so that, before a file becomes an article
or page, it is checked for the usual mistakes:

    content/posts/x.md: empty file
    content/posts/x.md: not valid UTF-8 (byte 0xe9 at offset 17)
    content/posts/x.md: no Title
    content/posts/x.md: no Date
    content/posts/x.md: unparsable Date 'next tuesday-ish'
    content/posts/x.md: unknown Status 'pubished' (use published, draft or hidden)
    content/posts/x.md: could not be read: <reason>

Each problem is logged once at ERROR level (so `invoke check` fails) and the
file is skipped quietly: the rest of the site builds as usual. A required field that
Pelican supplies itself (DEFAULT_DATE, DEFAULT_METADATA, a date in the file's name or
path) is not missing.
"""

from __future__ import annotations

import datetime
import glob
import json
import logging
import os
import re

from pelican import signals
from pelican.readers import default_metadata, parse_path_metadata, path_metadata
from pelican.utils import get_date, posixize_path

log = logging.getLogger(__name__)

DEFAULTS = {
    # Statuses a post or page may declare; anything else is reported and skipped.
    "CONTENT_CHECKS_STATUSES": ("published", "draft", "hidden"),
    # Metadata every article must carry (pages only need a Title).
    "CONTENT_CHECKS_ARTICLE_REQUIRED": ("title", "date"),
}

SKIP = {"status": "skip"}
_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):\s*(.*)$")
_MARKDOWN_EXTENSIONS = {"md", "markdown", "mkd", "mdown"}


def get_settings(pelican_settings) -> dict:
    """This plugin's settings: DEFAULTS overlaid with the site's values."""
    settings = {key: pelican_settings.get(key, value) for key, value in DEFAULTS.items()}
    for key in DEFAULTS:
        value = settings[key]
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"content_checks: {key} must be a list of names, not {value!r}")
        settings[key] = tuple(v.lower() for v in value)
    return settings


def display_path(path: str) -> str:
    """The path as a writer would type it: relative to the working folder when inside it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def report(path: str, problem: str) -> dict:
    """Log one line naming the file and the problem; return metadata that skips it."""
    log.error("content_checks: %s: %s", display_path(path), problem)
    return dict(SKIP)


def markdown_header(text: str) -> dict[str, str]:
    """The `Key: value` lines at the top of a Markdown file (lower-case keys)."""
    header = {}
    for line in text.lstrip("\ufeff").splitlines():
        if not line.strip():
            break
        match = _HEADER_LINE.match(line)
        if match:
            header[match.group(1).lower()] = match.group(2).strip()
        elif not line.startswith((" ", "\t")):
            break
    return header


def _is_article(path: str, settings) -> bool:
    root = os.path.abspath(settings.get("PATH", "."))
    rel = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    for folder in settings.get("ARTICLE_PATHS", []):
        folder = folder.strip("/")
        if not folder or rel == folder or rel.startswith(folder + "/"):
            return True
    return False


def problem_in_bytes(raw: bytes) -> str | None:
    """Problems that make a file unreadable as text: empty, or not UTF-8."""
    if not raw.strip():
        return "empty file"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})"
    return None


def _parsable_date(text: str) -> bool:
    """Whether Pelican can read `text` as a date (ISO 8601 is checked without dateutil)."""
    try:
        datetime.datetime.fromisoformat(text.replace("_", " "))
        return True
    except ValueError:
        pass
    try:
        get_date(text.replace("_", " "))
    except (ValueError, OverflowError):
        return False
    return True


def problem_before_reading(path: str, raw: bytes, settings) -> str | None:
    """What is wrong with the raw file, found without the reader; None if nothing."""
    problem = problem_in_bytes(raw)
    if problem:
        return problem
    text = raw.decode("utf-8")
    if path.rsplit(".", 1)[-1].lower() in _MARKDOWN_EXTENSIONS:
        date = markdown_header(text).get("date")
        if date is not None:
            if not _parsable_date(date):
                return f"unparsable Date {date!r}"
    return None


def problem_in_metadata(path: str, metadata: dict, settings) -> str | None:
    """What is wrong with the metadata the reader found; None if nothing."""
    ours = get_settings(settings)
    required = ours["CONTENT_CHECKS_ARTICLE_REQUIRED"] if _is_article(path, settings) else ()
    if not str(metadata.get("title", "") or "").strip():
        return "no Title"
    beside = None
    for key in required:
        if key != "title" and not metadata.get(key):
            if beside is None:
                beside = metadata_beside_the_file(path, settings)
            if not beside.get(key):
                return f"no {key.capitalize()}"
    status = metadata.get("status")
    if status is not None and str(status).lower() not in ours["CONTENT_CHECKS_STATUSES"]:
        allowed = ", ".join(ours["CONTENT_CHECKS_STATUSES"][:-1])
        return f"unknown Status {status!r} (use {allowed} or {ours['CONTENT_CHECKS_STATUSES'][-1]})"
    return None


def metadata_beside_the_file(path: str, settings) -> dict:
    """What Pelican adds to the metadata a file declares itself, for a required field the
    file leaves out: DEFAULT_METADATA and DEFAULT_DATE (a date, or "fs" for the file's
    time), EXTRA_PATH_METADATA, and what FILENAME_METADATA and PATH_METADATA read from
    its name and path (relative to PATH, as Pelican matches them)."""
    source = posixize_path(os.path.relpath(path, settings.get("PATH") or "."))
    found: dict = {}
    try:
        found.update(default_metadata(settings=settings))
        found.update(path_metadata(full_path=path, source_path=source, settings=settings))
        found.update(parse_path_metadata(source_path=source, settings=settings))
    except (OSError, ValueError, TypeError, re.error):
        return {}  # a setting Pelican itself will complain about
    return found


class CheckedReaderMixin:
    """Checks the file around the wrapped reader's own `read`."""

    def read(self, source_path):
        try:
            with open(source_path, "rb") as f:
                raw = f.read()
        except OSError as e:
            return "", report(source_path, f"could not be opened: {e.strerror or e}")
        problem = problem_before_reading(source_path, raw, self.settings)
        if problem:
            return "", report(source_path, problem)
        try:
            content, metadata = super().read(source_path)
        except Exception as e:  # a reader crash must never stop the build
            reason = " ".join(str(e).split()) or type(e).__name__
            return "", report(source_path, f"could not be read: {reason}")
        problem = problem_in_metadata(source_path, metadata, self.settings)
        if problem:
            return "", report(source_path, problem)
        return content, metadata


def checked(reader_class):
    """A subclass of reader_class that runs the checks first.

    It keeps the original class name: Pelican derives each document's `reader`
    metadata from it.
    """
    if issubclass(reader_class, CheckedReaderMixin):
        return reader_class
    return type(reader_class.__name__, (CheckedReaderMixin, reader_class), {})


def wrap_readers(readers) -> None:
    """readers_init receiver: put the checks in front of every enabled text reader.

    The "static" pseudo-reader (images, robots.txt, ...) is left alone.
    """
    get_settings(readers.settings)  # fail early on a misconfiguration
    for ext, reader_class in list(readers.reader_classes.items()):
        if reader_class and ext != "static":
            readers.reader_classes[ext] = checked(reader_class)


def _screen(generator, paths_key: str, excludes_key: str) -> None:
    """Report files that are empty or not UTF-8 and keep them from every reader and plugin.

    Runs when the generator is created, before anything else reads the files: such a
    file is reported once and added to IGNORE_FILES for this build. A file that passed
    on an earlier build and still has the same size and modification time is not read
    again (`_ScreenMemo`); a broken one is read, and reported, on every build.
    """
    settings = generator.settings
    ignored = list(settings.get("IGNORE_FILES", []))
    memo = _ScreenMemo(settings, paths_key)
    for rel in sorted(generator.get_files(settings[paths_key], exclude=settings[excludes_key])):
        path = os.path.join(generator.path, rel)
        try:
            stamp = memo.stamp(path)
            if memo.passed_before(path, stamp):
                continue
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            continue  # the checked reader reports it
        problem = problem_in_bytes(raw)
        if problem:
            report(path, problem)
            ignored.append(glob.escape(os.path.basename(rel)))
        else:
            memo.passed(path, stamp)
    memo.save()
    settings["IGNORE_FILES"] = ignored


class _ScreenMemo:
    """Size and modification time of the files that passed the screen, kept in
    CACHE_PATH between builds (one file per kind of content). Deleting it only makes
    the next build read every file again."""

    VERSION = 1  # bump when problem_in_bytes finds something new

    def __init__(self, settings, paths_key: str):
        cache = settings.get("CACHE_PATH")
        name = f"screened-{paths_key.lower()}.json"
        self.path = os.path.join(cache, "content_checks", name) if cache else None
        self.old: dict[str, list[int]] = {}
        self.new: dict[str, list[int]] = {}
        if self.path:
            try:
                with open(self.path, encoding="utf-8") as f:
                    data = json.load(f)
                if data.get("version") == self.VERSION and isinstance(data.get("files"), dict):
                    self.old = data["files"]
            except (OSError, ValueError, AttributeError):
                pass

    @staticmethod
    def stamp(path: str) -> list[int]:
        st = os.stat(path)
        return [st.st_size, st.st_mtime_ns]

    def passed_before(self, path: str, stamp: list[int]) -> bool:
        if self.old.get(path) == stamp:
            self.new[path] = stamp
            return True
        return False

    def passed(self, path: str, stamp: list[int]) -> None:
        self.new[path] = stamp

    def save(self) -> None:
        if not self.path or self.new == self.old:
            return
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            # dumps, not dump: `dump` to a file goes through the pure-Python encoder
            text = json.dumps({"version": self.VERSION, "files": self.new})
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, self.path)
        except OSError as e:
            log.debug("content_checks: screen memo not saved (%s)", e)


def screen_articles(generator) -> None:
    """article_generator_init receiver."""
    _screen(generator, "ARTICLE_PATHS", "ARTICLE_EXCLUDES")


def screen_pages(generator) -> None:
    """page_generator_init receiver."""
    _screen(generator, "PAGE_PATHS", "PAGE_EXCLUDES")


def register():
    signals.readers_init.connect(wrap_readers)
    # Connected before later plugins' receivers, so they run first.
    signals.article_generator_init.connect(screen_articles)
    signals.page_generator_init.connect(screen_pages)
