"""Gather per-post engagement from every service the post went to.

- Mailchimp: opens, clicks and unsubscribes of the post's campaign (Reports API,
  `client.reports.get_campaign_report`);
- Mastodon: boosts, favourites and replies of the post's status (`status()`);
- Bluesky: reposts, likes, replies and quotes of the post's record (`app.bsky.feed.getPosts`,
  25 posts per call);
- site comments: Isso's `POST /count` with the posts' thread ids (the stable post IDs the
  comments plugin uses as `data-isso-id`).
A service that fails leaves its numbers out (null) and adds a line to `errors`; the rest of
the report is still written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from syndicate import channels as channels_mod
from syndicate.errors import ManifestError

DEFAULTS: dict[str, Any] = {
    # Folder of engagement.json, index.html and the charts (not part of the public site).
    "REPORT_PATH": "reports",
    # Isso server to count site comments on; None = COMMENTS_ISSO_URL when
    # COMMENTS_PROVIDER is "isso"; "" = no comment counts.
    "REPORT_ISSO_URL": None,
    # Chart files: "svg" or "png".
    "REPORT_CHART_FORMAT": "svg",
    # Snapshots of earlier runs kept in engagement.json (the over-time chart reads them).
    "REPORT_HISTORY": 500,
    # Posts drawn in the over-time chart (the most engaging ones).
    "REPORT_TOP_POSTS": 8,
}
CHART_FORMATS = ("svg", "png")
CHANNELS = ("email", "mastodon", "bluesky", "comments")


def get_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    values = {key: settings.get(key, default) for key, default in DEFAULTS.items()}
    if values["REPORT_CHART_FORMAT"] not in CHART_FORMATS:
        raise ValueError(
            f"REPORT_CHART_FORMAT must be one of {', '.join(CHART_FORMATS)}, "
            f"not {values['REPORT_CHART_FORMAT']!r}"
        )
    if values["REPORT_ISSO_URL"] is None:
        isso = settings.get("COMMENTS_ISSO_URL") or ""
        values["REPORT_ISSO_URL"] = isso if settings.get("COMMENTS_PROVIDER") == "isso" else ""
    if values["REPORT_ISSO_URL"] and not values["REPORT_ISSO_URL"].endswith("/"):
        values["REPORT_ISSO_URL"] += "/"
    return values


def report_path(config, options: Mapping[str, Any]) -> Path:
    path = Path(os.path.expanduser(str(options["REPORT_PATH"])))
    return path if path.is_absolute() else config.root / path


# --- the posts ---------------------------------------------------------------------------------
def posts(config) -> list[dict[str, Any]]:
    """Every post the manifest or the ledger knows, oldest first, with its meta data."""
    from syndicate.manifest import Manifest

    found: dict[str, dict[str, Any]] = {}
    try:
        manifest = Manifest(config.manifest_path)
    except ManifestError:
        manifest = None
    if manifest is not None:
        for entry in manifest.entries:
            try:
                post = manifest.listing(entry)
            except ManifestError:
                continue
            found[entry.id] = {
                "id": entry.id,
                "slug": entry.slug,
                "title": post.title,
                "url": post.url,
                "date": post.date.isoformat(),
                "tags": list(post.tags),
            }
    ledger = config.open_ledger()
    for post_id, chans in ledger.posts.items():
        if post_id not in found:
            slug = next((i["slug"] for i in chans.values() if i.get("slug")), post_id)
            sent = sorted(i.get("sent_at", "") for i in chans.values() if i.get("sent_at"))
            found[post_id] = {
                "id": post_id,
                "slug": slug,
                "title": slug,
                "url": "",
                "date": sent[0] if sent else "",
                "tags": [],
            }
        found[post_id]["ledger"] = {
            name: item
            for name, item in chans.items()
            if item.get("state") == "sent" and item.get("remote_id")
        }
    return sorted(found.values(), key=lambda p: (p["date"], p["slug"]))


# --- the services ------------------------------------------------------------------------------
def _channel(config, name: str):
    cls = channels_mod.load(name)
    return cls(config.settings, config.env) if cls.configured(config.env) else None


def mailchimp_numbers(channel, campaign_id: str) -> dict[str, Any]:
    report = channel._call(
        "read the campaign report", channel.client.reports.get_campaign_report, campaign_id
    )
    opens, clicks = report.get("opens") or {}, report.get("clicks") or {}
    return {
        "campaign_id": campaign_id,
        "emails_sent": int(report.get("emails_sent") or 0),
        "opens": int(opens.get("opens_total") or 0),
        "unique_opens": int(opens.get("unique_opens") or 0),
        "clicks": int(clicks.get("clicks_total") or 0),
        "unique_clicks": int(clicks.get("unique_subscriber_clicks") or 0),
        "unsubscribes": int(report.get("unsubscribed") or 0),
    }


def mastodon_numbers(channel, status_id: str) -> dict[str, Any]:
    status = channel._call("read the status", channel.api.status, status_id)
    return {
        "url": status.get("url") or "",
        "boosts": int(status.get("reblogs_count") or 0),
        "favourites": int(status.get("favourites_count") or 0),
        "replies": int(status.get("replies_count") or 0),
    }


def bluesky_numbers(channel, uris: list[str]) -> dict[str, dict[str, Any]]:
    client = channel.client
    numbers: dict[str, dict[str, Any]] = {}
    for start in range(0, len(uris), 25):
        answer = channel._call(
            "read the posts", client.app.bsky.feed.get_posts, {"uris": uris[start : start + 25]}
        )
        for view in answer.posts:
            numbers[view.uri] = {
                "reposts": int(view.repost_count or 0),
                "likes": int(view.like_count or 0),
                "replies": int(view.reply_count or 0),
                "quotes": int(view.quote_count or 0),
            }
    return numbers


def isso_counts(base: str, thread_ids: list[str], timeout: float) -> list[int]:
    """Isso's POST /count: a JSON list of thread URIs in, a list of counts in that order out."""
    response = httpx.post(base + "count", json=thread_ids, timeout=timeout)
    response.raise_for_status()
    counts = response.json()
    if not isinstance(counts, list) or len(counts) != len(thread_ids):
        raise ValueError(f"Isso answered {counts!r} for {len(thread_ids)} threads")
    return [int(c) for c in counts]


def totals(post: Mapping[str, Any]) -> dict[str, int]:
    """Interactions per channel (opens + clicks for email), and their sum."""
    email, masto, bsky = post.get("email"), post.get("mastodon"), post.get("bluesky")
    values = {
        "email": (email["opens"] + email["clicks"]) if email else 0,
        "mastodon": sum(masto[k] for k in ("boosts", "favourites", "replies")) if masto else 0,
        "bluesky": sum(bsky[k] for k in ("reposts", "likes", "replies", "quotes")) if bsky else 0,
        "comments": post.get("comments") or 0,
    }
    values["total"] = sum(values.values())
    return values


def replies_of(post: Mapping[str, Any]) -> int:
    """Every reply the post drew: on Mastodon, on Bluesky and in the site's comments."""
    return sum(
        [
            (post.get("mastodon") or {}).get("replies", 0),
            (post.get("bluesky") or {}).get("replies", 0),
            post.get("comments") or 0,
        ]
    )


def by_tag(items: list[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    tags: dict[str, dict[str, int]] = {}
    for post in items:
        for tag in post.get("tags") or []:
            entry = tags.setdefault(tag, {"posts": 0, "replies": 0, "clicks": 0})
            entry["posts"] += 1
            entry["replies"] += replies_of(post)
            entry["clicks"] += (post.get("email") or {}).get("clicks", 0)
    return dict(sorted(tags.items(), key=lambda kv: (-kv[1]["replies"] - kv[1]["clicks"], kv[0])))


def gather(config, *, say: Callable[[str], None] = print, now: datetime | None = None) -> dict:
    """The report's data (without history): posts with their numbers, tags, errors."""
    options = get_settings(config.settings)
    timeout = float(config.settings.get("SYNDICATE_TIMEOUT", 20.0))
    items = posts(config)
    errors: list[str] = []

    def failed(where: str, e: Exception) -> None:
        text = config.redact(f"{where}: {e}")
        errors.append(text)
        say(text)

    services = {}
    for name in ("mailchimp", "mastodon", "bluesky"):
        try:
            services[name] = _channel(config, name)
        except Exception as e:  # an adapter that cannot load leaves its numbers out
            failed(name, e)
            services[name] = None
    per_post = (  # channel, its numbers for one sent post, the key in the report
        ("mailchimp", mailchimp_numbers, "email"),
        ("mastodon", mastodon_numbers, "mastodon"),
    )
    for post in items:
        ledger = post.get("ledger") or {}
        post["email"] = post["mastodon"] = post["bluesky"] = None
        for channel, numbers_of, key in per_post:
            if services[channel] and channel in ledger:
                try:
                    post[key] = numbers_of(services[channel], ledger[channel]["remote_id"])
                except Exception as e:
                    failed(f"{channel}: {post['slug']}", e)
    wanted = {
        p["ledger"]["bluesky"]["remote_id"]: p for p in items if "bluesky" in p.get("ledger", {})
    }
    if services["bluesky"] and wanted:
        try:
            numbers = bluesky_numbers(services["bluesky"], list(wanted))
            for uri, post in wanted.items():
                if uri in numbers:
                    post["bluesky"] = {
                        "url": post["ledger"]["bluesky"].get("remote_url", ""),
                        **numbers[uri],
                    }
                else:
                    failed(f"bluesky: {post['slug']}", LookupError("the post is gone"))
        except Exception as e:
            failed("bluesky", e)
    for post in items:
        post["comments"] = None
    if options["REPORT_ISSO_URL"] and items:
        try:
            counts = isso_counts(options["REPORT_ISSO_URL"], [p["id"] for p in items], timeout)
            for post, count in zip(items, counts, strict=True):
                post["comments"] = count
        except Exception as e:
            failed(f"isso ({options['REPORT_ISSO_URL']})", e)
    for post in items:
        post.pop("ledger", None)
        post["totals"] = totals(post)
        post["replies"] = replies_of(post)
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return {
        "version": 1,
        "generated": stamp,
        "posts": items,
        "tags": by_tag(items),
        "errors": errors,
    }
