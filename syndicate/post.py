"""The post as syndication sees it: one entry of the build's manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Post:
    id: str  # stable feed ID: the ledger key, never changes once published
    slug: str
    title: str
    url: str  # absolute
    date: datetime  # timezone-aware
    summary_html: str = ""
    summary_text: str = ""
    content_html: str = ""  # absolute links and image URLs
    text: str = ""  # plain-text rendering of the content
    category: str = ""
    tags: tuple[str, ...] = ()
    author: str = ""
    image: str = ""  # absolute URL or ""
    image_alt: str = ""
    comments_url: str = ""  # absolute URL of the comment thread on the site
    newsletter: str = "yes"  # "yes" | "no" | "only" (email-only: not on the site)
    channels: tuple[str, ...] | None = None  # `Syndicate:` subset; None = all, () = none
    social: dict[str, str] = field(default_factory=dict)  # {"": default, "mastodon": ...}
    email_subject: str = ""
    source_path: str = ""
    content_hash: str = ""  # hash of what is sent; changes when the post is edited
