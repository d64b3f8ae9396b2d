"""What the social channels share: one post's text fitted to the network, as a Draft."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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
