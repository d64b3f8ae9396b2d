"""The newsletter email: one post (or a digest of several) as HTML and plain text.

    email = render(post, settings)          # Email(subject, preheader, html, text)
    email = render_digest(posts, settings)  # one email for several posts

Pure: no network. The Jinja templates live in `theme/email/` (`newsletter.html`,
`newsletter.txt`); the HTML template keeps its CSS in one `<style>` block, and css-inline
moves it onto the elements (Gmail and Outlook drop most `<style>` rules), keeping only the
`@media` rules for small screens. Post content is cleaned with nh3 (no scripts, iframes or
forms) and every link and image is made absolute. The footer carries Mailchimp's merge
tags (`*|UNSUB|*`, `*|UPDATE_PROFILE|*`, `*|LIST:ADDRESSLINE|*`, `*|REWARDS|*`).
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import css_inline
import nh3
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from syndicate.post import Post

ROOT = Path(__file__).resolve().parents[1]

DEFAULTS: dict[str, Any] = {
    # Folder with newsletter.html and newsletter.txt; "" = theme/email of this project.
    "EMAIL_TEMPLATE_PATH": "",
    # Width of the email body in pixels (600 suits every client).
    "EMAIL_WIDTH": 600,
    # Colour of links, the button and the header rule.
    "EMAIL_ACCENT_COLOR": "#2f6f5e",
    # Characters of the summary shown as the inbox preview (preheader).
    "EMAIL_PREHEADER_LENGTH": 140,
}

# Tags and attributes kept in post content; everything else (script, iframe, form,
# style attributes that would fight the inlined CSS) is dropped.
_TAGS = set(nh3.ALLOWED_TAGS) | {"figure", "figcaption"}
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES.setdefault("img", set()).update({"src", "alt", "width", "height", "title"})
_ATTRIBUTES.setdefault("a", set()).update({"href", "title"})
_ATTRIBUTES["*"] = {"class"}


@dataclass(frozen=True)
class Email:
    subject: str
    preheader: str
    html: str
    text: str


def get_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The email settings with defaults filled in."""
    values = {key: settings.get(key, default) for key, default in DEFAULTS.items()}
    if not isinstance(values["EMAIL_WIDTH"], int) or not 320 <= values["EMAIL_WIDTH"] <= 900:
        raise ValueError("email: EMAIL_WIDTH must be an integer between 320 and 900 (pixels)")
    return values


@functools.cache
def _environment(template_path: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(template_path),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


@functools.cache
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(
        load_remote_stylesheets=False,  # the build and publish never fetch
        keep_at_rules=True,  # @media rules stay in <style> for phones
        apply_width_attributes=True,  # Outlook reads width="", not CSS widths
    )


def _template_path(values: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    if values["EMAIL_TEMPLATE_PATH"]:
        return str(Path(values["EMAIL_TEMPLATE_PATH"]).resolve())
    theme = Path(settings.get("THEME") or ROOT / "theme")
    if not theme.is_absolute():
        theme = ROOT / theme
    folder = theme / "email"
    return str(folder if folder.is_dir() else ROOT / "theme" / "email")


def _attribute_filter(base: str, max_width: int):
    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src"):
            # urljoin leaves absolute and mailto: URLs alone and resolves the rest.
            return urljoin(base, value)
        if tag == "img" and attribute == "height":
            return None  # CSS keeps the ratio (height: auto) once the width is capped
        if tag == "img" and attribute == "width":
            # Outlook ignores max-width: an image wider than the column would break it.
            try:
                return str(min(int(value), max_width))
            except ValueError:
                return None
        return value

    return attribute_filter


def clean_content(html: str, base_url: str, max_width: int = 536) -> Markup:
    """Post HTML made safe for email: allowed tags only, absolute links and images,
    image widths no wider than the column."""
    cleaned = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute_filter(base_url, max_width),
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel=None,
    )
    return Markup(cleaned)  # noqa: S704 (nh3 output is sanitised)


def preheader(text: str, length: int) -> str:
    """The summary cut at a word to `length` characters, with an ellipsis if cut."""
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    cut = text[: length - 1].rsplit(" ", 1)[0].rstrip(",;:.-")
    return cut + "…"


def _site(settings: Mapping[str, Any]) -> dict[str, Any]:
    siteurl = str(settings.get("SITEURL") or "").rstrip("/")
    return {
        "name": settings.get("SITENAME", ""),
        "subtitle": settings.get("SITESUBTITLE", ""),
        "url": siteurl + "/",
        "author": settings.get("AUTHOR", ""),
        "lang": settings.get("DEFAULT_LANG", "en"),
        "profiles": [
            {"name": name, "url": url} for name, url in settings.get("SOCIAL_PROFILES", ())
        ],
    }


def _entry(post: Post, settings: Mapping[str, Any], column: int) -> dict[str, Any]:
    date_format = settings.get("DEFAULT_DATE_FORMAT", "%-d %B %Y")
    base = post.url or str(settings.get("SITEURL") or "")
    return {
        "title": post.title,
        "url": post.url,
        "date": post.date.strftime(date_format),
        "date_iso": post.date.isoformat(),
        "author": post.author,
        "summary_text": post.summary_text,
        "summary_html": clean_content(post.summary_html, base, column) if post.summary_html else "",
        "content_html": clean_content(post.content_html, base, column),
        "text": post.text,
        "image": urljoin(base, post.image) if post.image else "",
        "image_alt": post.image_alt,
        "comments_url": post.comments_url or f"{post.url}#comments",
        # Email-only posts have no page on the site: nothing may link to it.
        "public": post.newsletter != "only",
        "tags": list(post.tags),
        "category": post.category,
    }


def _render(
    posts: Sequence[Post],
    settings: Mapping[str, Any],
    *,
    subject: str,
    summary: str,
    digest: bool,
) -> Email:
    values = get_settings(settings)
    env = _environment(_template_path(values, settings))
    context = {
        "subject": subject,
        "preheader": preheader(summary, values["EMAIL_PREHEADER_LENGTH"]),
        # The body column is the email's width minus 32 px of padding on each side.
        "posts": [_entry(p, settings, values["EMAIL_WIDTH"] - 64) for p in posts],
        "digest": digest,
        "site": _site(settings),
        "width": values["EMAIL_WIDTH"],
        "accent": values["EMAIL_ACCENT_COLOR"],
    }
    html = env.get_template("newsletter.html").render(context)
    text = env.get_template("newsletter.txt").render(context)
    return Email(
        subject=subject,
        preheader=context["preheader"],
        html=_inliner().inline(html),
        text=text,
    )


def subject_for(post: Post) -> str:
    return post.email_subject or post.title


def render(post: Post, settings: Mapping[str, Any]) -> Email:
    """The newsletter email for one post."""
    return _render(
        [post],
        settings,
        subject=subject_for(post),
        summary=post.summary_text or post.text,
        digest=False,
    )


def render_digest(posts: Sequence[Post], settings: Mapping[str, Any], subject: str = "") -> Email:
    """One email listing several posts (newest first) with their summaries."""
    if not posts:
        raise ValueError("email: a digest needs at least one post")
    ordered = sorted(posts, key=lambda p: p.date, reverse=True)
    site = settings.get("SITENAME", "")
    subject = subject or (
        f"{site}: {ordered[0].title}"
        + (f" and {len(ordered) - 1} more" if len(ordered) > 1 else "")
    )
    summary = " · ".join(p.title for p in ordered)
    return _render(ordered, settings, subject=subject, summary=summary, digest=True)


def time_render(post: Post, settings: Mapping[str, Any], repeat: int = 20) -> float:
    """Median seconds to render one post's email (templates compiled once, first)."""
    render(post, settings)
    samples = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        render(post, settings)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
