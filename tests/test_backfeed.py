"""Backfeed: replies fetched from the Mastodon and Bluesky stand-ins, merged with what was stored.

The real Mastodon.py and atproto clients talk to the stand-ins, which validate every
request (the Mastodon spec, the Bluesky lexicons' parameters); the merge rules are also
checked on their own, as pure functions.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syndicate import config as config_mod
from syndicate.backfeed.cli import run
from syndicate.backfeed.merge import deduplicate, merge
from syndicate.backfeed.sources import richtext_html
from tests.standins.bluesky import BlueskyStandIn
from tests.standins.mastodon import MastodonStandIn
from tests.standins.openapi import specs_dir

pytestmark = pytest.mark.skipif(
    not (specs_dir() / "mastodon" / "schema.json").is_file(), reason="../shared/specs is absent"
)
POST_URL = "https://blog.example/2026/11/answering-complaints/"


def reply(rid, network="mastodon", *, parent=None, text="A reply", name="Ann", minute=0, **extra):
    return {
        "id": f"{network}:{rid}",
        "network": network,
        "parent": parent,
        "url": f"https://{network}.example/{rid}",
        "original": extra.pop("original", f"https://{network}.example/{rid}"),
        "html": f"<p>{text}</p>",
        "text": text,
        "date": (datetime(2026, 11, 25, 10, tzinfo=UTC) + timedelta(minutes=minute)).isoformat(),
        "author": {"name": name, "handle": f"@{name.lower()}", "url": "", "avatar": ""},
        **extra,
    }


# --- merge rules (pure) -------------------------------------------------------------------------
def test_a_fetched_network_replaces_its_replies_and_keeps_first_seen():
    stored = [
        {**reply(1), "first_seen": "2026-11-01T00:00:00+00:00"},
        reply(2),  # deleted on the network since
        reply("b1", "bluesky"),  # network not fetched this run
    ]
    merged = merge(stored, {"mastodon": [reply(1), reply(3)]}, now="2026-11-25T12:00:00+00:00")
    by_id = {r["id"]: r for r in merged}
    assert set(by_id) == {"mastodon:1", "mastodon:3", "bluesky:b1"}
    assert by_id["mastodon:1"]["first_seen"] == "2026-11-01T00:00:00+00:00"
    assert by_id["mastodon:3"]["first_seen"] == "2026-11-25T12:00:00+00:00"


def test_a_failed_network_keeps_every_stored_reply():
    stored = [reply(1), reply(2, parent="mastodon:1"), reply("b1", "bluesky")]
    merged = merge(stored, {"bluesky": []}, now="2026-11-25T12:00:00+00:00")
    assert [r["id"] for r in merged] == ["mastodon:1", "mastodon:2"]
    assert merged[1]["parent"] == "mastodon:1"


def test_the_writers_syndicated_post_is_never_a_reply():
    fetched = {"mastodon": [reply(9), reply(1, parent="mastodon:9")]}
    merged = merge([], fetched, now="x", exclude={"mastodon:9"})
    assert [(r["id"], r["parent"]) for r in merged] == [("mastodon:1", None)]


def test_copies_across_networks_are_shown_once_and_keep_their_replies():
    original = reply(1, text="Answering complaints in public works!", minute=0)
    bridged = reply(
        "b1",
        "bluesky",
        text="Answering complaints in public works!",
        minute=2,
        original=original["original"],
        name="ann.elsewhere.example.ap.brid.gy",
    )
    crosspost = reply("b2", "bluesky", text="Answering, complaints in PUBLIC works", minute=5)
    answer = reply("b3", "bluesky", parent="bluesky:b1", text="Agreed", name="Cat", minute=7)
    short = [reply(4, text="Thanks!", minute=1), reply("b4", "bluesky", text="Thanks!", minute=1)]
    kept = deduplicate([crosspost, answer, bridged, original, *short])
    ids = [r["id"] for r in kept]
    assert ids.count("mastodon:1") == 1 and "bluesky:b1" not in ids and "bluesky:b2" not in ids
    assert {"mastodon:4", "bluesky:b4"} <= set(ids)  # short texts are not taken as copies
    assert next(r for r in kept if r["id"] == "bluesky:b3")["parent"] == "mastodon:1"
    assert set(next(r for r in kept if r["id"] == "mastodon:1")["copies"]) == {
        bridged["url"],
        crosspost["url"],
    }


def test_richtext_facets_use_utf8_byte_offsets():
    text = "Café ☕ see https://ex.example/a and @cat.bsky.example #tips"
    raw = text.encode()

    def span(piece):
        start = raw.index(piece.encode())
        return {"byteStart": start, "byteEnd": start + len(piece.encode())}

    facets = [
        {
            "index": span("https://ex.example/a"),
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://ex.example/a"}],
        },
        {
            "index": span("@cat.bsky.example"),
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:cat"}],
        },
        {
            "index": span("#tips"),
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "tips"}],
        },
        {"index": {"byteStart": 3, "byteEnd": 4}, "features": []},  # inside "é": ignored
    ]
    from lxml import html as lxml_html

    root = lxml_html.fragment_fromstring(richtext_html(text, facets), create_parent="div")
    links = {a.text: a.get("href") for a in root.iter("a")}
    assert links == {
        "https://ex.example/a": "https://ex.example/a",
        "@cat.bsky.example": "https://bsky.app/profile/did:plc:cat",
        "#tips": "https://bsky.app/hashtag/tips",
    }
    assert root.text_content() == text


# --- against the stand-ins ----------------------------------------------------------------------
@pytest.fixture
def services():
    with MastodonStandIn() as masto, BlueskyStandIn() as bsky:
        yield masto, bsky
        assert masto.violations == [] and bsky.violations == []


def setup(tmp: Path, masto, bsky, *, sent_at=None):
    """One post syndicated to both networks (as the ledger records it)."""
    root = masto.add_reply(None, f"Answering complaints {POST_URL}", own=True)
    uri = bsky.add_post(f"Answering complaints {POST_URL}")
    sent = sent_at or datetime.now(UTC).isoformat(timespec="seconds")
    ledger = {
        "version": 1,
        "posts": {
            "tag:blog.example,2026:complaints": {
                "mastodon": {
                    "state": "sent",
                    "slug": "complaints",
                    "remote_id": root,
                    "sent_at": sent,
                    "remote_url": f"https://mastodon.example/@frontporch/{root}",
                },
                "bluesky": {
                    "state": "sent",
                    "slug": "complaints",
                    "remote_id": uri,
                    "sent_at": sent,
                    "remote_url": "https://bsky.app/profile/frontporch.example/post/x",
                },
                "mailchimp": {"state": "sent", "slug": "complaints", "remote_id": "c1"},
            }
        },
    }
    (tmp / "data").mkdir(exist_ok=True)
    (tmp / "data" / "ledger.json").write_text(json.dumps(ledger), encoding="utf-8")
    config = config_mod.from_settings(
        {
            "DATA_PATH": str(tmp / "data"),
            "SYNDICATE_FSYNC": False,
            "SYNDICATE_TIMEOUT": 2.0,
            "SYNDICATE_MASTODON_TIMEOUT": 2.0,
        },
        root=tmp,
        environ={**masto.env(), **bsky.env()},
    )
    return config, root, uri


def stored(tmp: Path) -> dict:
    return json.loads((tmp / "data" / "replies" / "complaints.json").read_text(encoding="utf-8"))


def test_public_replies_from_both_networks_threaded_and_filtered(tmp_path, services):
    masto, bsky = services
    config, root, uri = setup(tmp_path, masto, bsky)
    ann = masto.add_reply(root, "Great point about complaints", username="ann")
    masto.add_reply(ann, "Thanks Ann!", own=True)  # the writer's follow-up: kept, marked
    private = masto.add_reply(root, "just for you", username="bob", visibility="private")
    masto.add_reply(private, "public answer below a private one", username="eve")
    masto.add_reply(root, "direct", username="dan", visibility="direct")
    masto.add_reply(root, "unlisted is public enough", username="fay", visibility="unlisted")
    masto.add_reply(root, "please do not index me", username="gil", noindex=True)
    cat = bsky.add_reply(uri, "Love this, see https://ex.example", handle="cat.bsky.example")
    blocked = bsky.add_reply(cat, "blocked", handle="hal.bsky.example")
    bsky.block(blocked)
    gone = bsky.add_reply(uri, "taken down", handle="ivy.bsky.example")
    bsky.not_found(gone)
    hidden = bsky.add_reply(uri, "spam", handle="spam.bsky.example")
    bsky.hide(hidden)
    bsky.add_reply(uri, "logged-in only", handle="jo.bsky.example", labels=("!no-unauthenticated",))
    bsky.add_reply(cat, "Me too", own=True)
    quoting = bsky.add_reply(uri, "quoting a detached post", handle="kim.bsky.example")
    bsky.detach(quoting)

    status, results = run(config, say=lambda _: None)

    assert status == 0 and results[0].changed
    data = stored(tmp_path)
    assert data["post_id"] == "tag:blog.example,2026:complaints"
    assert data["threads"] == {
        "mastodon": f"https://mastodon.example/@frontporch/{root}",
        "bluesky": "https://bsky.app/profile/frontporch.example/post/x",
    }
    texts = {r["text"]: r for r in data["replies"]}
    assert set(texts) == {
        "Great point about complaints",
        "Thanks Ann!",
        "public answer below a private one",
        "unlisted is public enough",
        "Love this, see https://ex.example",
        "Me too",
    }
    assert (
        texts["Thanks Ann!"]["by_writer"] and not texts["Great point about complaints"]["by_writer"]
    )
    assert texts["Thanks Ann!"]["parent"] == f"mastodon:{ann}"
    assert texts["public answer below a private one"]["parent"] is None  # its parent is private
    assert texts["Me too"]["parent"] == f"bluesky:{cat}" and texts["Me too"]["by_writer"]
    ann_reply = texts["Great point about complaints"]
    assert ann_reply["author"] == {
        "name": "Ann",
        "handle": "@ann@elsewhere.example",
        "url": "https://elsewhere.example/@ann",
        "avatar": "https://elsewhere.example/avatars/ann.png",
    }
    assert ann_reply["url"] == f"https://elsewhere.example/@ann/{ann}"
    cat_reply = texts["Love this, see https://ex.example"]
    assert cat_reply["url"].startswith("https://bsky.app/profile/cat.bsky.example/post/")
    assert cat_reply["author"]["handle"] == "@cat.bsky.example"
    assert all(datetime.fromisoformat(r["date"]).tzinfo for r in data["replies"])
    assert f"mastodon:{root}" not in texts and not any(uri in r["id"] for r in data["replies"])
    assert masto.calls("GET", f"/api/v1/statuses/{root}/context")
    thread_calls = bsky.calls("GET", "app.bsky.feed.getPostThread")
    assert thread_calls and thread_calls[0].arg("uri") == uri


def test_deleted_replies_disappear_and_a_failed_network_keeps_its_replies(tmp_path, services):
    masto, bsky = services
    config, root, uri = setup(tmp_path, masto, bsky)
    first = masto.add_reply(root, "first", username="ann")
    masto.add_reply(root, "second", username="bob")
    bsky.add_reply(uri, "from bluesky", handle="cat.bsky.example")
    assert run(config, say=lambda _: None)[0] == 0
    path = tmp_path / "data" / "replies" / "complaints.json"
    before = path.stat().st_mtime_ns

    assert run(config, say=lambda _: None)[0] == 0  # nothing new: the file is not rewritten
    assert path.stat().st_mtime_ns == before

    masto.delete_status(first)
    bsky.inject("status", status=502, match="getPostThread", body={"error": "UpstreamFailure"})
    messages = []
    status, results = run(config, say=messages.append)
    assert status == 1 and results[0].cells["bluesky"].startswith("failed, kept")
    assert {r["text"] for r in stored(tmp_path)["replies"]} == {"second", "from bluesky"}
    assert any("bluesky" in m for m in messages)

    masto.inject("reset", match="/context")
    status, _ = run(config, say=lambda _: None)
    assert status == 1
    assert {r["text"] for r in stored(tmp_path)["replies"]} == {"second", "from bluesky"}


def test_a_bridged_copy_is_shown_once(tmp_path, services):
    masto, bsky = services
    config, root, uri = setup(tmp_path, masto, bsky)
    ann = masto.add_reply(root, "Answering complaints in public wins loyalty", username="ann")
    original = f"https://elsewhere.example/users/ann/statuses/{ann}"
    copy = bsky.add_reply(
        uri,
        "Answering complaints in public wins loyalty",
        handle="ann.elsewhere.example.ap.brid.gy",
        extra={"bridgyOriginalUrl": original},
    )
    bsky.add_reply(copy, "Agreed", handle="cat.bsky.example")
    assert run(config, say=lambda _: None)[0] == 0
    replies = stored(tmp_path)["replies"]
    assert [r["id"] for r in replies if "loyalty" in r["text"]] == [f"mastodon:{ann}"]
    agreed = next(r for r in replies if r["text"] == "Agreed")
    assert agreed["parent"] == f"mastodon:{ann}"


def test_old_posts_and_unconfigured_networks_keep_their_replies(tmp_path, services):
    masto, bsky = services
    long_ago = (datetime.now(UTC) - timedelta(days=400)).isoformat(timespec="seconds")
    config, root, _ = setup(tmp_path, masto, bsky, sent_at=long_ago)
    folder = tmp_path / "data" / "replies"
    folder.mkdir(parents=True)
    (folder / "complaints.json").write_text(json.dumps({"replies": [reply(7)]}))
    masto.add_reply(root, "too late", username="ann")
    status, results = run(config, say=lambda _: None)
    assert status == 0 and "BACKFEED_MAX_AGE_DAYS" in results[0].cells["mastodon"]
    assert [r["id"] for r in stored(tmp_path)["replies"]] == ["mastodon:7"]
    assert masto.calls("GET", "/context") == []
    assert stored(tmp_path)["threads"]["mastodon"].endswith(root)  # reply links still added

    recent = config_mod.from_settings(
        {**config.settings, "BACKFEED_MAX_AGE_DAYS": 0}, root=tmp_path, environ=masto.env()
    )
    messages = []
    status, results = run(recent, say=messages.append)
    assert status == 0 and results[0].cells["bluesky"].startswith("kept (not configured")
    assert any("BLUESKY_HANDLE" in m for m in messages)
    # Mastodon was asked this time: its answer replaces the stored (since deleted) reply
    assert {r["text"] for r in stored(tmp_path)["replies"]} == {"too late"}


def test_reply_html_is_sanitised_before_it_is_stored(tmp_path, services):
    masto, bsky = services
    config, root, _ = setup(tmp_path, masto, bsky)
    masto.add_reply(
        root,
        "hostile",
        username="mallory",
        content='<p>hi<script>alert(1)</script> <a href="javascript:alert(2)" onclick="x()">'
        'click</a> <img src=x onerror="alert(3)"><a href="https://ok.example/">ok</a></p>',
    )
    assert run(config, say=lambda _: None)[0] == 0
    (saved,) = stored(tmp_path)["replies"]
    from lxml import html as lxml_html

    tree = lxml_html.fragment_fromstring(saved["html"], create_parent="div")
    assert {el.tag for el in tree.iter()} <= {"div", "p", "a", "br", "span"}
    assert [a.get("href") for a in tree.iter("a") if a.get("href")] == ["https://ok.example/"]
    assert all(not name.startswith("on") for el in tree.iter() for name in el.attrib)
    assert "alert" not in saved["html"] and "alert" not in saved["text"]
    assert saved["text"].startswith("hi")
