"""Merge freshly fetched replies with the stored ones; de-duplicate across networks.

Pure functions (no network, no files), so every rule is easy to test:
- a network fetched successfully this run replaces its stored replies: a reply deleted
  (or made private) on the network disappears; `first_seen` of the others is kept;
- a network whose fetch failed, or that was not asked this run, keeps its stored replies;
- the same reply reaching the site twice, through two networks (a bridge copies fediverse
  posts to Bluesky, or a reader cross-posts), is shown once: the earlier copy stays, and
  replies to the later copy are attached to it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

MIN_FINGERPRINT = 12  # shorter texts ("Thanks!") are too common to call duplicates


def merge(
    stored: Iterable[Mapping[str, Any]],
    fetched: Mapping[str, list[dict[str, Any]]],
    *,
    now: str,
    exclude: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """The replies to keep: `fetched` maps each network fetched in full to its replies.

    `exclude` holds reply ids never to show (the writer's own syndicated posts).
    """
    excluded = set(exclude)
    old_by_id = {r["id"]: dict(r) for r in stored if isinstance(r, Mapping) and r.get("id")}
    result: dict[str, dict[str, Any]] = {}
    for rid, reply in old_by_id.items():
        if reply.get("network") not in fetched:
            result[rid] = reply
    for network, replies in fetched.items():
        for reply in replies:
            reply = dict(reply)
            reply["network"] = network
            old = old_by_id.get(reply["id"])
            reply["first_seen"] = (old or {}).get("first_seen") or now
            result[reply["id"]] = reply
    for rid in excluded:
        result.pop(rid, None)
    for reply in result.values():  # a parent that left keeps its children on the page
        if reply.get("parent") in excluded:
            reply["parent"] = None
    return sort_replies(deduplicate(list(result.values())))


def fingerprint(reply: Mapping[str, Any]) -> str:
    """Text without links, mentions, punctuation, case or spacing."""
    text = unicodedata.normalize("NFKC", str(reply.get("text") or "")).casefold()
    text = re.sub(r"https?://\S+|[@#][\w.@-]+", " ", text)
    return "".join(ch for ch in text if ch.isalnum())


def _author_key(reply: Mapping[str, Any]) -> str:
    name = unicodedata.normalize("NFKC", str((reply.get("author") or {}).get("name") or ""))
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _date_key(reply: Mapping[str, Any]) -> tuple[float, str]:
    try:
        stamp = datetime.fromisoformat(str(reply.get("date"))).timestamp()
    except ValueError:
        stamp = float("inf")
    return (stamp, str(reply.get("id")))


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if a.get("network") == b.get("network"):
        return False  # one network never shows the same reply twice
    links_a = {a.get("url"), a.get("original")} - {None, ""}
    links_b = {b.get("url"), b.get("original")} - {None, ""}
    if links_a & links_b:
        return True
    fa, fb = fingerprint(a), fingerprint(b)
    return len(fa) >= MIN_FINGERPRINT and fa == fb and _author_key(a) == _author_key(b)


def deduplicate(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep one of each set of copies (the original over a bridge's copy, else the
    earliest); re-attach replies to dropped copies."""
    kept: list[dict[str, Any]] = []
    replaced: dict[str, str] = {}
    for reply in sorted(replies, key=_date_key):
        twin = next((k for k in kept if _same(k, reply)), None)
        if twin is None:
            kept.append(reply)
        elif twin.get("bridged") and not reply.get("bridged"):
            # a bridge's copy came first (clocks differ): the original takes its place
            kept[kept.index(twin)] = reply
            replaced[twin["id"]] = reply["id"]
            reply["copies"] = [*twin.get("copies", []), twin["url"]] if twin.get("url") else []
        else:
            replaced[reply["id"]] = twin["id"]
            twin.setdefault("copies", [])
            if reply.get("url") and reply["url"] not in twin["copies"]:
                twin["copies"].append(reply["url"])
    for reply in kept:
        parent = reply.get("parent")
        while parent in replaced:
            parent = replaced[parent]
        reply["parent"] = None if parent == reply["id"] else parent
    return kept


def sort_replies(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(replies, key=_date_key)
