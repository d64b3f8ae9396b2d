"""One reader per network: the public replies to one syndicated post, normalised.

A normalised reply (what DATA_PATH/replies/<slug>.json holds, see plugins/replies):
    {"id": "mastodon:1234", "network": "mastodon", "parent": None | "mastodon:1200",
     "url": "https://…" (the reply on its network), "original": "https://…" (its canonical
     id: ActivityPub uri, or the fediverse post a Bluesky bridge copied),
     "html": "<p>…</p>" (sanitised), "text": "…", "date": "2026-11-25T10:00:00+00:00",
     "by_writer": False,
     "author": {"name": "…", "handle": "@a@b", "url": "https://…", "avatar": "https://…"}}
`parent` is None for a reply to the syndicated post itself. Replies that are not public
are left out, and so is the syndicated post; replies below a left-out one are attached
to the nearest reply that is shown.

Each reader raises a `SyndicateError` subclass when the network cannot answer; the
caller then keeps that network's stored replies.
"""

from __future__ import annotations

import html as html_mod
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from lxml import html as lxml_html

from plugins.replies.replies import sanitize

# Labels an author sets to keep their posts away from logged-out readers (and the web).
BLUESKY_PRIVATE_LABELS = {"!no-unauthenticated"}
MASTODON_PUBLIC = {"public", "unlisted"}


def iso(value: Any) -> str:
    """An ISO 8601 date with its offset, from a datetime or an API string."""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value or "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return text


def html_text(fragment: str) -> str:
    """Plain text of an HTML fragment (paragraphs and line breaks become newlines)."""
    if not fragment.strip():
        return ""
    root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    paragraphs = [p.text_content().strip() for p in root.iter("p")]
    return "\n\n".join(p for p in paragraphs if p) or root.text_content().strip()


def reparent(items: list[dict[str, Any]], parents: Mapping[str, str | None]) -> None:
    """Point each reply at its nearest shown ancestor (None: top level).

    `parents` maps every reply the network returned (shown or not) to its parent id;
    ids missing from it are the syndicated post or outside the thread.
    """
    shown = {item["id"] for item in items}
    for item in items:
        parent, seen = item["parent"], set()
        while parent is not None and parent not in shown and parent in parents:
            if parent in seen:  # a cycle: give up, show it at the top
                parent = None
                break
            seen.add(parent)
            parent = parents[parent]
        item["parent"] = parent if parent in shown else None


# --- Mastodon ----------------------------------------------------------------------------------
class MastodonReplies:
    network = "mastodon"

    def __init__(self, channel, options: Mapping[str, Any]):
        self.channel = channel  # a configured syndicate.channels.mastodon.MastodonChannel
        self.options = options

    def fetch(self, remote_id: str) -> list[dict[str, Any]]:
        me = self.channel._my_account_id()
        context = self.channel._call("read replies", self.channel.api.status_context, remote_id)
        return self.normalise(context.get("descendants") or [], remote_id, me)

    def normalise(
        self, statuses: Iterable[Mapping[str, Any]], root_id: str, my_account_id: str
    ) -> list[dict[str, Any]]:
        parents: dict[str, str | None] = {}
        items = []
        for status in statuses:
            sid = f"{self.network}:{status['id']}"
            above = status.get("in_reply_to_id")
            parents[sid] = None if not above or str(above) == str(root_id) else f"mastodon:{above}"
            account = status.get("account") or {}
            if status.get("visibility") not in MASTODON_PUBLIC or status.get("reblog"):
                continue
            mine = str(account.get("id")) == str(my_account_id)
            if account.get("noindex") and not mine and self.options["BACKFEED_RESPECT_NOINDEX"]:
                continue
            clean = sanitize(status.get("content") or "")
            items.append(
                {
                    "id": sid,
                    "network": self.network,
                    "parent": parents[sid],
                    "url": status.get("url") or status.get("uri") or "",
                    "original": status.get("uri") or status.get("url") or "",
                    "html": clean,
                    "text": html_text(clean),
                    "date": iso(status.get("created_at")),
                    "by_writer": mine,
                    "author": {
                        "name": account.get("display_name") or account.get("username") or "",
                        "handle": mastodon_handle(account),
                        "url": account.get("url") or "",
                        "avatar": account.get("avatar") or "",
                    },
                }
            )
        reparent(items, parents)
        return items


def mastodon_handle(account: Mapping[str, Any]) -> str:
    acct = str(account.get("acct") or account.get("username") or "")
    if "@" not in acct:  # a local account: its server is in its profile URL
        host = str(account.get("url") or "").split("://", 1)[-1].split("/", 1)[0]
        acct = f"{acct}@{host}" if host else acct
    return "@" + acct


# --- Bluesky -----------------------------------------------------------------------------------
class BlueskyReplies:
    network = "bluesky"

    def __init__(self, channel, options: Mapping[str, Any]):
        self.channel = channel  # a configured syndicate.channels.bluesky.BlueskyChannel
        self.options = options

    def fetch(self, remote_id: str) -> list[dict[str, Any]]:
        from atproto_client.models.utils import get_model_as_dict

        client = self.channel.client
        answer = self.channel._call(
            "read the thread",
            client.app.bsky.feed.get_post_thread,
            {
                "uri": remote_id,
                "depth": int(self.options["BACKFEED_BLUESKY_DEPTH"]),
                "parent_height": 0,
            },
        )
        return self.normalise(get_model_as_dict(answer), remote_id, self.channel._did or "")

    def normalise(
        self, answer: Mapping[str, Any], root_uri: str, my_did: str
    ) -> list[dict[str, Any]]:
        thread = answer.get("thread") or {}
        root_post = thread.get("post") or {}
        gate = answer.get("threadgate") or root_post.get("threadgate") or {}
        hidden = set((gate.get("record") or {}).get("hiddenReplies") or [])
        parents: dict[str, str | None] = {}
        items: list[dict[str, Any]] = []

        def walk(node: Mapping[str, Any], parent_id: str | None) -> None:
            for child in node.get("replies") or []:
                kind = child.get("$type") or child.get("py_type") or ""
                if not kind.endswith("#threadViewPost") or "post" not in child:
                    continue  # #blockedPost, #notFoundPost: nothing public to show
                post = child["post"]
                rid = f"{self.network}:{post['uri']}"
                parents[rid] = parent_id
                reply = self.reply(post, parent_id, my_did, hidden)
                if reply is not None:
                    items.append(reply)
                walk(child, rid)

        if root_post.get("uri", root_uri) == root_uri:
            walk(thread, None)
        reparent(items, parents)
        return items

    def reply(
        self, post: Mapping[str, Any], parent_id: str | None, my_did: str, hidden: set[str]
    ) -> dict[str, Any] | None:
        author = post.get("author") or {}
        record = post.get("record") or {}
        labels = {label.get("val") for label in author.get("labels") or []}
        labels |= {label.get("val") for label in post.get("labels") or []}
        embed = post.get("embed") or {}
        detached = str((embed.get("record") or {}).get("$type", "")).endswith("#viewDetached")
        if post["uri"] in hidden or labels & BLUESKY_PRIVATE_LABELS or detached:
            return None
        handle = author.get("handle") or author.get("did") or ""
        rkey = post["uri"].rsplit("/", 1)[-1]
        url = f"https://bsky.app/profile/{handle}/post/{rkey}"
        text = record.get("text") or ""
        return {
            "id": f"{self.network}:{post['uri']}",
            "network": self.network,
            "parent": parent_id,
            "url": url,
            "original": record.get("bridgyOriginalUrl") or url,
            "bridged": bool(record.get("bridgyOriginalUrl")),
            "html": sanitize(richtext_html(text, record.get("facets") or [])),
            "text": text,
            "date": iso(record.get("createdAt") or post.get("indexedAt")),
            "by_writer": author.get("did") == my_did,
            "author": {
                "name": author.get("displayName") or handle,
                "handle": "@" + handle,
                "url": f"https://bsky.app/profile/{handle}",
                "avatar": author.get("avatar") or "",
            },
        }


def richtext_html(text: str, facets: list[Mapping[str, Any]]) -> str:
    """Bluesky text with its facets (UTF-8 byte ranges) as paragraphs, links and mentions."""
    raw = text.encode("utf-8")
    spans = []
    for facet in facets:
        index = facet.get("index") or {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(raw)):
            continue
        for feature in facet.get("features") or []:
            kind = str(feature.get("$type") or feature.get("py_type") or "")
            if kind.endswith("#link") and feature.get("uri"):
                spans.append((start, end, feature["uri"], ""))
            elif kind.endswith("#mention") and feature.get("did"):
                spans.append(
                    (start, end, f"https://bsky.app/profile/{feature['did']}", "u-url mention")
                )
            elif kind.endswith("#tag") and feature.get("tag"):
                spans.append((start, end, f"https://bsky.app/hashtag/{feature['tag']}", "hashtag"))
            break
    out, pos = [], 0
    for start, end, href, css in sorted(spans):
        if start < pos:
            continue  # overlapping facets: keep the first
        try:
            before, inside = raw[pos:start].decode(), raw[start:end].decode()
        except UnicodeDecodeError:
            continue  # a range inside a character: show it as plain text
        out.append(html_mod.escape(before))
        cls = f' class="{css}"' if css else ""
        out.append(f'<a href="{html_mod.escape(href)}"{cls}>{html_mod.escape(inside)}</a>')
        pos = end
    out.append(html_mod.escape(raw[pos:].decode("utf-8", "replace")))
    body = "".join(out)
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    return "".join(f"<p>{p.strip().replace(chr(10), '<br>')}</p>" for p in paragraphs)
