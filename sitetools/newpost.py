"""`invoke new-post "Title"`: start a post as a draft with its metadata filled in.

    path = create_post("Answering reviews", Path("content/posts"))

Writes content/posts/<slug>.md with Title, Slug, Date (now, in the writer's
local time zone), Category, Tags, Summary and `Status: draft`. The slug is the
title's, made unique among existing posts (file names and slugs) by appending
-2, -3, ... Remove the Status line (or set it to published) to publish.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import Path

from pelican.utils import slugify

_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):\s*(.*)$")
DEFAULT_SLUG_SUBS = [
    (r"[^\w\s-]", ""),
    (r"(?u)\A\s*", ""),
    (r"(?u)\s*\Z", ""),
    (r"[-\s]+", "-"),
]


def _header(path: Path) -> dict[str, str]:
    """Lower-cased `Key: value` lines at the top of a post (unreadable files: {})."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    header = {}
    for line in text.splitlines():
        match = _HEADER_LINE.match(line)
        if not match:
            break
        header[match.group(1).lower()] = match.group(2).strip()
    return header


def make_slug(title: str, regex_subs=None) -> str:
    """The slug Pelican would give this title."""
    slug = slugify(title, regex_subs=regex_subs or DEFAULT_SLUG_SUBS)
    return slug or "post"


def taken_slugs(posts_dir: Path, regex_subs=None) -> set[str]:
    """Slugs already used by posts: their file names, Slug: lines and titles."""
    taken = set()
    for path in posts_dir.rglob("*"):
        if not path.is_file():
            continue
        taken.add(path.stem)
        header = _header(path)
        if header.get("slug"):
            taken.add(header["slug"])
        elif header.get("title"):
            taken.add(make_slug(header["title"], regex_subs))
    return taken


def unique_slug(base: str, taken: set[str]) -> str:
    """base, or base-2, base-3, ... whichever is free first."""
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def usual_category(posts_dir: Path, fallback: str = "Notes") -> str:
    """The category most posts use, so a new post starts somewhere sensible."""
    counts = Counter(
        h["category"] for p in posts_dir.rglob("*.md") if (h := _header(p)).get("category")
    )
    return counts.most_common(1)[0][0] if counts else fallback


def render(title: str, slug: str, when: datetime, category: str, tags: list[str]) -> str:
    """The text of a new post."""
    return (
        f"Title: {title}\n"
        f"Slug: {slug}\n"
        f"Date: {when.strftime('%Y-%m-%d %H:%M')}{when.strftime('%z')[:3]}:"
        f"{when.strftime('%z')[3:]}\n"
        f"Category: {category}\n"
        f"Tags: {', '.join(tags)}\n"
        "Summary: One or two sentences for the front page, the feeds and social cards.\n"
        "Status: draft\n"
        "\n"
        "Start writing here. Remove the Status line (or set it to published) when the\n"
        "post is ready; `invoke check` tells you if anything is missing.\n"
    )


def create_post(
    title: str,
    posts_dir: Path,
    *,
    category: str = "",
    tags: list[str] | None = None,
    now: datetime | None = None,
    regex_subs=None,
) -> Path:
    """Write a new draft post and return its path. Never overwrites a file."""
    title = " ".join(title.split())
    if not title:
        raise ValueError('new-post needs a title, e.g. invoke new-post "Answering reviews"')
    posts_dir.mkdir(parents=True, exist_ok=True)
    when = now if now and now.tzinfo else (now or datetime.now()).astimezone()
    slug = unique_slug(make_slug(title, regex_subs), taken_slugs(posts_dir, regex_subs))
    path = posts_dir / f"{slug}.md"
    text = render(title, slug, when, category or usual_category(posts_dir), tags or [])
    with open(path, "x", encoding="utf-8") as f:  # "x": fail rather than overwrite
        f.write(text)
    return path
