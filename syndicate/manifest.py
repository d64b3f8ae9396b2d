"""Read the manifest the `manifest` plugin wrote: a small index, one file per post.

`Manifest.entries` is the index (cheap: id, slug, date, channels, newsletter, hash);
`Manifest.post(entry)` opens one post's file and parses its HTML (for sending);
`Manifest.listing(entry)` reads only what a list of posts shows. Finding what is new
touches only the index, so its cost does not grow with the size of the archive's content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from syndicate.errors import ManifestError
from syndicate.markup import absolute_html_and_text, title_text
from syndicate.post import Post

SUPPORTED_VERSION = 2


@dataclass(frozen=True)
class Entry:
    id: str
    slug: str
    date: datetime
    file: str
    newsletter: str
    channels: tuple[str, ...] | None
    content_hash: str


@dataclass(frozen=True)
class Listing:
    title: str
    url: str
    date: datetime
    tags: tuple[str, ...]


class Manifest:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        index_path = self.folder / "index.json"
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise ManifestError(
                f"no manifest at {index_path}",
                hint="build the site first (`invoke build`, or `invoke publish`)",
            ) from e
        except ValueError as e:
            raise ManifestError(f"{index_path} is not valid JSON: {e}", hint="rebuild") from e
        if index.get("version") != SUPPORTED_VERSION:
            raise ManifestError(
                f"{index_path} has format version {index.get('version')!r}; "
                f"this syndicate reads version {SUPPORTED_VERSION}",
                hint="rebuild the site with this checkout",
            )
        self.siteurl: str = index.get("siteurl", "")
        self.sitename: str = index.get("sitename", "")
        self.built: str = index.get("built", "")
        self.entries: list[Entry] = [_entry(raw) for raw in index.get("posts", [])]
        self._by_slug = {e.slug: e for e in self.entries}

    def by_slug(self, slug: str) -> Entry:
        try:
            return self._by_slug[slug]
        except KeyError:
            raise ManifestError(
                f"no post with slug {slug!r} in the manifest",
                hint="`invoke syndicate --status` lists the posts",
            ) from None

    def post(self, entry: Entry) -> Post:
        """The whole post, its HTML parsed (absolute links, plain text): for sending."""
        return post_from_dict(self._record(entry))

    def listing(self, entry: Entry) -> Listing:
        """What a list of posts shows (title, URL, date, tags), without parsing bodies."""
        raw = self._record(entry)
        return Listing(
            title=title_text(raw["title_html"]),
            url=raw["url"],
            date=datetime.fromisoformat(raw["date"]),
            tags=tuple(raw.get("tags", ())),
        )

    def _record(self, entry: Entry) -> dict[str, Any]:
        path = self.folder / "posts" / entry.file
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ManifestError(f"cannot read {path}: {e}", hint="rebuild the site") from e


def _entry(raw: dict[str, Any]) -> Entry:
    channels = raw.get("channels")
    return Entry(
        id=raw["id"],
        slug=raw["slug"],
        date=datetime.fromisoformat(raw["date"]),
        file=raw["file"],
        newsletter=raw.get("newsletter", "yes"),
        channels=None if channels is None else tuple(channels),
        content_hash=raw.get("content_hash", ""),
    )


def post_from_dict(raw: dict[str, Any]) -> Post:
    """A post's file as a Post: its title as text, its summary and body with absolute
    links and as plain text (the build leaves that parsing to the posts opened)."""
    channels = raw.get("channels")
    url = raw["url"]
    content_html, text = absolute_html_and_text(raw.get("content_html", ""), url)
    summary_html, summary_text = absolute_html_and_text(raw.get("summary_html", ""), url)
    return Post(
        id=raw["id"],
        slug=raw["slug"],
        title=title_text(raw["title_html"]),
        url=url,
        date=datetime.fromisoformat(raw["date"]),
        summary_html=summary_html,
        summary_text=summary_text,
        content_html=content_html,
        text=text,
        category=raw.get("category", ""),
        tags=tuple(raw.get("tags", ())),
        author=raw.get("author", ""),
        image=raw.get("image", ""),
        image_alt=raw.get("image_alt", ""),
        comments_url=raw.get("comments_url", ""),
        newsletter=raw.get("newsletter", "yes"),
        channels=None if channels is None else tuple(channels),
        social=dict(raw.get("social", {})),
        email_subject=raw.get("email_subject", ""),
        source_path=raw.get("source_path", ""),
        content_hash=raw.get("content_hash", ""),
    )
