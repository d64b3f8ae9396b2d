"""Show replies fetched from social networks under each post (backfeed).

`invoke fetch-replies` stores, per post, the public replies to its syndicated copies in
DATA_PATH/replies/<slug>.json. This plugin reads those files (no network), sanitises the
untrusted reply HTML with nh3, threads the replies and puts plain data on
`article.replies`; the theme's partials/replies.html renders it.

Data file shape (written by syndicate.backfeed):
    {"post_id": "...",
     "threads": {"mastodon": "https://…/@me/1", "bluesky": "https://bsky.app/…"},
     "replies": [{"id": "mastodon:2", "network": "mastodon", "parent": null | "mastodon:1",
                  "url": "https://…", "html": "<p>…</p>", "date": "2026-11-25T10:00:00+00:00",
                  "by_writer": false, "text": "…", "original": "https://…",
                  "author": {"name": "…", "handle": "@a@b", "url": "https://…",
                             "avatar": "https://…"}}]}
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import nh3
from pelican import signals

log = logging.getLogger(__name__)

DEFAULTS = {
    # folder under DATA_PATH holding one JSON file per post slug
    "REPLIES_DIR": "replies",
    # show the repliers' avatars (images from their servers); off: initials only
    "REPLIES_SHOW_AVATARS": False,
    # deeper replies are shown at this depth
    "REPLIES_MAX_DEPTH": 4,
}

NETWORK_LABELS = {"mastodon": "Mastodon", "bluesky": "Bluesky", "x": "X", "linkedin": "LinkedIn"}

# Only links, paragraphs, line breaks and mentions survive.
ALLOWED_TAGS = {"a", "p", "br", "span"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}  # classes: only ALLOWED_CLASSES
ALLOWED_CLASSES = {"a": {"mention", "u-url", "hashtag"}, "span": {"h-card"}}
LINK_REL = "nofollow ugc noopener"


def get_settings(settings) -> dict:
    return {name: settings.get(name, default) for name, default in DEFAULTS.items()}


def sanitize(html: str) -> str:
    """Reduce untrusted reply HTML to links, paragraphs, line breaks and mentions."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "svg", "math", "iframe", "object", "template"},
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes={"http", "https"},
        link_rel=LINK_REL,
        strip_comments=True,
    )


def safe_url(url) -> str:
    """The URL if it is an absolute http(s) URL, else ""."""
    if not isinstance(url, str):
        return ""
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        return url.strip()
    return ""


def _date(value):
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _initials(name: str) -> str:
    letters = [w[0] for w in name.split() if w[:1].isalnum()]
    return ("".join(letters[:2]) or "?").upper()


def normalise(raw: dict) -> dict | None:
    """One reply as the template needs it, or None if it cannot be shown."""
    if not isinstance(raw, dict) or not raw.get("id"):
        return None
    author = raw.get("author") if isinstance(raw.get("author"), dict) else {}
    name = str(author.get("name") or author.get("handle") or "someone")
    network = str(raw.get("network") or "")
    return {
        "id": str(raw["id"]),
        "anchor": "reply-" + hashlib.sha256(str(raw["id"]).encode("utf-8")).hexdigest()[:12],
        "parent": raw.get("parent"),
        "network": network,
        "network_label": NETWORK_LABELS.get(network, network.title()),
        "url": safe_url(raw.get("url")),
        "html": sanitize(str(raw.get("html") or "")),
        "date": _date(raw.get("date")),
        "author_name": name,
        "author_handle": str(author.get("handle") or ""),
        "author_url": safe_url(author.get("url")),
        "author_avatar": safe_url(author.get("avatar")),
        "author_initials": _initials(name),
        "by_writer": raw.get("by_writer") is True,  # the writer's own follow-up
        "children": [],
    }


def thread(replies: list[dict], max_depth: int) -> list[dict]:
    """Nest replies under their parents, oldest first.

    Replies to the syndicated post itself, and replies whose parent is unknown, are
    top-level. Below `max_depth` levels the rest of a branch is listed flat, so deep
    conversations stay readable on a phone. Every reply appears exactly once.
    """
    by_id: dict[str, dict] = {}
    for raw in replies:
        reply = normalise(raw)
        if reply and reply["id"] not in by_id:
            by_id[reply["id"]] = reply

    def sort_key(reply):
        return (reply["date"].timestamp() if reply["date"] else 0.0, reply["id"])

    ordered = sorted(by_id.values(), key=sort_key)
    children: dict[str, list[dict]] = {}
    for reply in ordered:
        parent = reply["parent"]
        if parent in by_id and parent != reply["id"]:
            children.setdefault(parent, []).append(reply)
    placed: set[str] = set()

    def descendants(node):
        stack, found = list(children.get(node["id"], [])), []
        while stack:
            child = stack.pop(0)
            if child["id"] in placed:
                continue
            placed.add(child["id"])
            found.append(child)
            stack.extend(children.get(child["id"], []))
        return sorted(found, key=sort_key)

    def place(node, depth):
        placed.add(node["id"])
        node["depth"] = depth
        if depth >= max_depth - 1:
            node["children"] = descendants(node)
            for child in node["children"]:
                child["depth"], child["children"] = depth + 1, []
            return node
        node["children"] = [
            place(child, depth + 1)
            for child in children.get(node["id"], [])
            if child["id"] not in placed
        ]
        return node

    roots = [place(r, 0) for r in ordered if r["parent"] not in by_id or r["parent"] == r["id"]]
    # Anything still unplaced sits in a cycle of parents: show it at the top level.
    roots += [place(r, 0) for r in ordered if r["id"] not in placed]
    return sorted(roots, key=sort_key)


def load(path: Path) -> dict:
    """Read one replies file; a broken one is reported and treated as empty."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        log.warning("replies: cannot read %s: %s", path, e)
        return {}
    return data if isinstance(data, dict) else {}


def attach_replies(generator):
    """article_generator_finalized: put threaded replies and reply links on each article."""
    conf = get_settings(generator.settings)
    folder = Path(generator.settings.get("DATA_PATH", "data")) / conf["REPLIES_DIR"]
    try:  # listed once: most posts have no replies file
        present = {e.name for e in os.scandir(folder) if e.is_file()}
    except OSError:
        present = set()
    for article in generator.articles:
        name = f"{article.slug}.json"
        data = load(folder / name) if name in present else {}
        post_id = getattr(article, "post_id", None)
        if data.get("post_id") and post_id and data["post_id"] != post_id:
            log.warning(
                "replies: %s belongs to post %s, not %s; ignored",
                folder / name,
                data["post_id"],
                post_id,
            )
            data = {}
        replies = data.get("replies") if isinstance(data.get("replies"), list) else []
        threads = data.get("threads") if isinstance(data.get("threads"), dict) else {}
        roots = thread(replies, int(conf["REPLIES_MAX_DEPTH"]))
        article.replies = {
            "entries": roots,
            "count": sum(1 for r in replies if normalise(r)),
            "reply_links": [
                {"network": net, "label": NETWORK_LABELS.get(net, net.title()), "url": url}
                for net, url in sorted(threads.items())
                if safe_url(url)
            ],
            "show_avatars": bool(conf["REPLIES_SHOW_AVATARS"]),
        }


def register():
    signals.article_generator_finalized.connect(attach_replies)
