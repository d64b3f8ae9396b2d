"""subscribe: newsletter sign-up data for `partials/subscribe.html`.

Context entries, computed once per build:
- `subscribe`: the Mailchimp hosted-form action, fields, honeypot name, consent and
  double opt-in texts; or None when Mailchimp is not configured (the partial then
  shows the feed links instead, never a form that posts nowhere);
- `subscribe_feeds`: feed links (from the `feeds` plugin's context `feed_links`, else
  the default feed paths), each a dict title/type/url/path;
- `subscribe_profiles`: the author's social profiles (SOCIAL_PROFILES).
Without Mailchimp settings the build logs one warning.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlencode, urlsplit

from pelican import signals

log = logging.getLogger(__name__)

DEFAULTS = {
    # Full action URL of the Mailchimp hosted form (from Mailchimp's embedded form code).
    "SUBSCRIBE_MAILCHIMP_ACTION": "",
    # Or its parts: https://<ACCOUNT>.<DC>.list-manage.com/subscribe/post?u=<U>&id=<ID>
    "SUBSCRIBE_MAILCHIMP_ACCOUNT": "",
    "SUBSCRIBE_MAILCHIMP_DC": "",
    "SUBSCRIBE_MAILCHIMP_U": "",
    "SUBSCRIBE_MAILCHIMP_ID": "",
    # Ask for a first name (Mailchimp merge field FNAME) as well as the email address.
    "SUBSCRIBE_FIRST_NAME": False,
    "SUBSCRIBE_HEADING": "Get new posts by email",
    # Heading when there is no form (feed links only).
    "SUBSCRIBE_FALLBACK_HEADING": "Follow new posts",
    "SUBSCRIBE_CONSENT": (
        "We use your email address only to send you new posts. "
        "Every email has a link to unsubscribe."
    ),
    "SUBSCRIBE_CONFIRM_NOTE": (
        "You will get an email asking you to confirm; nothing is sent until you do."
    ),
    # Feed links used when the feeds plugin gives none: (title, MIME type, site path).
    "SUBSCRIBE_FALLBACK_FEEDS": [
        ("Atom feed", "application/atom+xml", "feeds/atom.xml"),
        ("RSS feed", "application/rss+xml", "feeds/rss.xml"),
        ("JSON Feed", "application/feed+json", "feeds/feed.json"),
    ],
}

_HOST = re.compile(r"^[a-z0-9-]+\.us[0-9]+\.list-manage\.com$")
_TOKEN = re.compile(r"^[A-Za-z0-9]+$")
_ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def get_settings(pelican_settings) -> dict:
    """This plugin's settings with defaults."""
    return {key: pelican_settings.get(key, default) for key, default in DEFAULTS.items()}


def mailchimp_action(conf: dict) -> tuple[str, str, str] | None:
    """(action URL, u, id) from the settings, or None when not (validly) configured.

    Logs a warning when settings are present but malformed.
    """
    action = (conf["SUBSCRIBE_MAILCHIMP_ACTION"] or "").strip()
    if not action:
        parts = [conf[f"SUBSCRIBE_MAILCHIMP_{k}"] or "" for k in ("ACCOUNT", "DC", "U", "ID")]
        if not any(parts):
            return None
        if not all(parts):
            log.warning(
                "subscribe: SUBSCRIBE_MAILCHIMP_ACCOUNT, _DC, _U and _ID must all be set; "
                "showing feed links instead of the form"
            )
            return None
        account, dc, u, list_id = (str(p).strip() for p in parts)
        action = f"https://{account}.{dc}.list-manage.com/subscribe/post?" + urlencode(
            {"u": u, "id": list_id}
        )
    split = urlsplit(action)
    query = parse_qs(split.query)
    u = (query.get("u") or [""])[0]
    list_id = (query.get("id") or [""])[0]
    if (
        split.scheme != "https"
        or not _HOST.match(split.hostname or "")
        or split.path.rstrip("/") not in ("/subscribe/post", "/subscribe/post-json")
        or not _TOKEN.match(u)
        or not _TOKEN.match(list_id)
    ):
        log.warning(
            "subscribe: %r is not a Mailchimp hosted-form URL "
            "(https://<account>.<dc>.list-manage.com/subscribe/post?u=...&id=...); "
            "showing feed links instead of the form",
            action,
        )
        return None
    clean = f"https://{split.hostname}/subscribe/post?" + urlencode({"u": u, "id": list_id})
    return clean, u, list_id


def build_form(conf: dict) -> dict | None:
    found = mailchimp_action(conf)
    if found is None:
        return None
    action, u, list_id = found
    fields = [
        {
            "name": "EMAIL",
            "type": "email",
            "label": "Email address",
            "required": True,
            "autocomplete": "email",
        }
    ]
    if conf["SUBSCRIBE_FIRST_NAME"]:
        fields.append(
            {
                "name": "FNAME",
                "type": "text",
                "label": "First name (optional)",
                "required": False,
                "autocomplete": "given-name",
            }
        )
    return {
        "action": action,
        "fields": fields,
        "honeypot": f"b_{u}_{list_id}",
        "consent": conf["SUBSCRIBE_CONSENT"],
        "confirm_note": conf["SUBSCRIBE_CONFIRM_NOTE"],
    }


def feed_list(context: dict, conf: dict) -> list[dict]:
    """Feed links: the feeds plugin's `feed_links` if present, else the fallback paths.

    `feed_links` items are dicts (title, type, url, path) or (title, type, href) tuples.

    Site-relative paths keep `path` (the template prefixes its SITEURL); absolute
    URLs keep `url`.
    """
    source = context.get("feed_links") or conf["SUBSCRIBE_FALLBACK_FEEDS"]
    siteurl = str(context.get("SITEURL", "")).rstrip("/")
    feeds = []
    for item in source:
        if isinstance(item, dict):  # the feeds plugin's shape: title, type, url, path
            title, mime = item["title"], item["type"]
            href = str(item.get("path") or item.get("url") or "")
        else:
            title, mime, href = item
            href = str(href)
        if siteurl and href.startswith(siteurl + "/"):
            href = href[len(siteurl) + 1 :]
        if _ABSOLUTE.match(href) or href.startswith("//"):
            feeds.append({"title": title, "type": mime, "url": href, "path": None})
        else:
            feeds.append({"title": title, "type": mime, "url": None, "path": href.lstrip("/")})
    return feeds


def add_subscribe(generators):
    """Once per build: compute the `subscribe` context entry (and warn if no form)."""
    if not generators:
        return
    context = generators[0].context
    settings = generators[0].settings
    conf = get_settings(settings)
    form = build_form(conf)
    if form is None and not any(
        conf[k]
        for k in (
            "SUBSCRIBE_MAILCHIMP_ACTION",
            "SUBSCRIBE_MAILCHIMP_ACCOUNT",
            "SUBSCRIBE_MAILCHIMP_DC",
            "SUBSCRIBE_MAILCHIMP_U",
            "SUBSCRIBE_MAILCHIMP_ID",
        )
    ):
        log.warning(
            "subscribe: no Mailchimp form settings (SUBSCRIBE_MAILCHIMP_ACTION); "
            "showing feed links instead of the sign-up form"
        )
    context["subscribe"] = form
    context["subscribe_feeds"] = feed_list(context, conf)
    context["subscribe_profiles"] = [
        {"name": name, "url": url} for name, url in settings.get("SOCIAL_PROFILES", [])
    ]
    context["subscribe_heading"] = (
        conf["SUBSCRIBE_HEADING"] if form else conf["SUBSCRIBE_FALLBACK_HEADING"]
    )


def register():
    signals.all_generators_finalized.connect(add_subscribe)
