"""What the social channels share: the fitted Draft, the post's image file, re-send history."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from syndicate import textfit
from syndicate.channels.base import Channel, Draft
from syndicate.post import Post


def social_draft(
    channel: Channel,
    post: Post,
    counter: textfit.Counter,
    extra: Callable[[str], Mapping[str, Any]] | None = None,
) -> Draft:
    """Fit the channel's template (SYNDICATE_<NAME>_TEMPLATE, _HASHTAGS) to `counter`.

    `extra(text)` adds channel-specific details computed from the fitted text (facets,
    the escaped commentary, visibility...).
    """
    prefix = f"SYNDICATE_{channel.name.upper()}_"
    options = channel.options
    fitted = textfit.fit(
        counter,
        options[prefix + "TEMPLATE"],
        title=post.title,
        summary=post.summary_text,
        url=post.url,
        tags=post.tags,
        max_hashtags=int(options[prefix + "HASHTAGS"]),
        custom=textfit.pick_custom(post.social, channel.name),
    )
    return Draft(
        channel=channel.name,
        text=fitted.text,
        length=fitted.length,
        limit=fitted.limit,
        card={
            "url": post.url,
            "title": post.title,
            "description": post.summary_text,
            "image": post.image,
        },
        extra={"truncated": fitted.truncated, **(extra(fitted.text) if extra else {})},
    )


def earlier_sends(item: Mapping[str, Any]) -> set[str]:
    """Remote ids of sends a deliberate re-send replaces: find_existing must not match them."""
    return {str(h.get("remote_id")) for h in item.get("history") or [] if h.get("remote_id")}


def site_file(settings: Mapping[str, Any], url: str) -> Path | None:
    """The file in the build output behind `url`, if the URL is on SITEURL."""
    site = (settings.get("SITEURL") or "").rstrip("/")
    output = settings.get("OUTPUT_PATH") or "output"
    if not url or not site or not url.startswith(site + "/"):
        return None
    relative = unquote(urlsplit(url[len(site) + 1 :]).path)
    root = Path(output).resolve()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path
