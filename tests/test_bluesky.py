"""Bluesky channel: the real atproto SDK against a lexicon-checking PDS stand-in."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import random
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicate.channels.bluesky import BlueskyChannel, blob_cid, record_key, tid
from syndicate.errors import AuthError, PermanentError, RateLimited, TransientError
from syndicate.post import Post
from tests.standins.bluesky import TID_RE, BlueskyStandIn

SITEURL = "https://frontporch.example"
EXAMPLES = itertools.count(100)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def make_post(n: int = 1, **overrides) -> Post:
    values = dict(
        id=f"tag:frontporch.example,2026:post-{n}",
        slug=f"post-{n}",
        title=f"Grüße aus dem Laden 👩‍👩‍👧 ({n})",
        url=f"{SITEURL}/2026/11/post-{n}/",
        date=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        summary_text="Keeping a customer costs far less than finding a new one. 顧客を大切に。",
        tags=("customer service", "顧客"),
    )
    values.update(overrides)
    return Post(**values)


@pytest.fixture
def bsky():
    with BlueskyStandIn() as standin:
        yield standin
    assert not standin.violations, standin.violations


def channel_for(standin, tmp_path=None, **settings) -> BlueskyChannel:
    base = {
        "SITEURL": SITEURL,
        "OUTPUT_PATH": str(tmp_path or "output"),
        "DEFAULT_LANG": "en",
        "SYNDICATE_BLUESKY_TIMEOUT": 2,
    }
    base.update(settings)
    return BlueskyChannel(base, standin.env())


def prepared(channel, post):
    draft = channel.render(post)
    return draft, {"intent": channel.prepare(post, draft)}


def test_record_keys_are_valid_deterministic_tids():
    post = make_post()
    key = record_key(post.id, post.date)
    assert TID_RE.match(key)
    assert key == record_key(post.id, post.date)
    assert key != record_key(make_post(2).id, post.date)  # same minute, other post
    assert key != record_key(post.id, post.date, generation=1)
    # TIDs sort by time
    assert tid(1_000_000, 0) < tid(2_000_000, 0) < tid(2_000_000, 1)
    assert record_key(post.id, datetime(2025, 1, 1, tzinfo=UTC)) < key


def test_check_logs_in_with_a_jwt_session(bsky):
    result = channel_for(bsky).check()
    assert result.ok and "@frontporch.example" in result.detail and bsky.did in result.detail
    auth = bsky.calls("GET", "com.atproto.server.getSession")[0].headers["authorization"]
    assert auth.startswith("Bearer ") and auth.count(".") == 2


def test_send_writes_the_prepared_record_with_facets_and_card(bsky):
    channel = channel_for(bsky)
    post = make_post()
    draft, item = prepared(channel, post)
    record = item["intent"]["record"]
    remote = channel.send(post, draft, item)
    assert bsky.delivered(post.url) == 1
    assert bsky.posts() == [record]  # exactly what the ledger stored
    assert remote.id == f"at://{bsky.did}/app.bsky.feed.post/{item['intent']['rkey']}"
    assert (
        remote.url == f"https://bsky.app/profile/frontporch.example/post/{item['intent']['rkey']}"
    )
    assert record["langs"] == ["en"]
    card = record["embed"]["external"]
    assert card == {
        "$type": "app.bsky.embed.external#external",
        "uri": post.url,
        "title": post.title,
        "description": post.summary_text,
    }
    raw = record["text"].encode()
    covered = {
        raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in record["facets"]
    }
    assert covered == {post.url, "#CustomerService", "#顧客"}


def test_a_repeat_is_a_no_op(bsky):
    channel = channel_for(bsky)
    post = make_post()
    draft, item = prepared(channel, post)
    first = channel.send(post, draft, item)
    # a fresh process (after a crash) sends the stored record again
    second = channel_for(bsky).send(post, channel.render(post), item)
    assert first == second
    assert bsky.delivered(post.url) == 1 and len(bsky.writes) == 1


def test_find_existing_by_record_key(bsky):
    channel = channel_for(bsky)
    post = make_post()
    draft, item = prepared(channel, post)
    assert channel.find_existing(post, item) is None
    remote = channel.send(post, draft, item)
    assert channel.find_existing(post, item) == remote
    # the runner hands a re-send a post whose id names the generation, and a new intent
    post = dataclasses.replace(post, id=post.id + "#resend-1")
    draft, item = prepared(channel, post)
    resend = {**item, "generation": 1, "history": [{"remote_id": remote.id}]}
    assert channel.find_existing(post, resend) is None
    again = channel.send(post, draft, resend)
    assert again.id != remote.id and bsky.delivered(post.url) == 2


def test_long_text_fits_300_graphemes(bsky):
    channel = channel_for(bsky)
    post = make_post(title="👨‍👩‍👧‍👦 " * 120, summary_text="e\u0301 " * 400)
    draft, item = prepared(channel, post)
    assert draft.length <= 300 and post.url in draft.text.split()
    channel.send(post, draft, item)
    assert bsky.delivered(post.url) == 1


def test_thumbnail_blob_is_uploaded_and_referenced(bsky, tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "card.png").write_bytes(PNG)
    channel = channel_for(bsky, tmp_path)
    post = make_post(image=f"{SITEURL}/images/card.png", image_alt="card")
    draft, item = prepared(channel, post)
    thumb = item["intent"]["record"]["embed"]["external"]["thumb"]
    assert thumb["ref"]["$link"] == blob_cid(PNG) and thumb["size"] == len(PNG)
    channel.send(post, draft, item)
    assert bsky.blobs == {blob_cid(PNG): {"mimeType": "image/png", "size": len(PNG)}}
    assert bsky.calls("POST", "uploadBlob")[0].body == PNG


def test_image_off_site_gets_a_card_without_thumbnail(bsky, caplog):
    channel = channel_for(bsky)
    post = make_post(image="https://cdn.example.net/x.png")
    with caplog.at_level(logging.WARNING):
        _draft, item = prepared(channel, post)
    assert "thumb" not in item["intent"]["record"]["embed"]["external"]
    assert any("bluesky: image" in r.getMessage() for r in caplog.records)


def test_wrong_app_password_is_an_auth_error_with_a_hint(bsky):
    env = {**bsky.env(), "BLUESKY_APP_PASSWORD": "wrong-pass-word-0000"}
    channel = BlueskyChannel({"SYNDICATE_BLUESKY_TIMEOUT": 2}, env)
    with pytest.raises(AuthError) as err:
        channel.check()
    assert "create a new app password" in str(err.value)
    assert "Invalid identifier or password" in err.value.service_text
    assert "wrong-pass-word" not in str(err.value)


def test_revoked_session_during_a_run_is_an_auth_error(bsky):
    channel = channel_for(bsky)
    channel.check()
    bsky.revoked = True
    post = make_post()
    with pytest.raises(AuthError):
        channel.send(post, *prepared(channel, post))
    assert bsky.delivered(post.url) == 0


def test_rate_limit_uses_the_reset_header(bsky):
    channel = channel_for(bsky)
    channel.check()
    reset = int(datetime.now(UTC).timestamp()) + 40
    bsky.inject(
        "status",
        status=429,
        match="putRecord",
        headers={"ratelimit-remaining": "0", "ratelimit-reset": str(reset)},
        body={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
    )
    post = make_post()
    with pytest.raises(RateLimited) as err:
        channel.send(post, *prepared(channel, post))
    assert 30 < err.value.retry_after <= 41


@pytest.mark.parametrize(
    ("fault", "kwargs", "expected"),
    [
        ("status", {"status": 500, "body": {"error": "InternalServerError"}}, TransientError),
        ("status", {"status": 502, "body": {"error": "UpstreamFailure"}}, TransientError),
        ("reset", {}, TransientError),
        ("timeout", {"delay": 3.0}, TransientError),
        (
            "status",
            {"status": 400, "body": {"error": "InvalidRequest", "message": "Invalid record"}},
            PermanentError,
        ),
    ],
)
def test_faults_map_to_typed_errors_and_a_retry_sends_once(bsky, fault, kwargs, expected):
    channel = channel_for(bsky)
    channel.check()
    post = make_post()
    draft, item = prepared(channel, post)
    bsky.inject(fault, match="putRecord", **kwargs)
    with pytest.raises(expected) as err:
        channel.send(post, draft, item)
    assert err.value.channel == "bluesky"
    if expected is PermanentError:
        assert not isinstance(err.value, TransientError)
        assert "Invalid record" in err.value.service_text
    channel.send(post, draft, item)
    assert bsky.delivered(post.url) == 1


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=st.text(min_size=1, max_size=400), tags=st.lists(st.text(max_size=20), max_size=8))
def test_any_title_makes_a_record_the_pds_accepts(bsky, title, tags):
    channel = channel_for(bsky)
    post = make_post(next(EXAMPLES), title=title, tags=tuple(tags))
    channel.send(post, *prepared(channel, post))
    assert bsky.violations == []
    assert bsky.delivered(post.url) == 1


def test_a_short_lived_session_is_refreshed_before_writing():
    # access tokens valid for 10 minutes: the SDK refreshes them 15 minutes early
    with BlueskyStandIn(access_seconds=600) as standin:
        channel = channel_for(standin)
        post = make_post()
        channel.send(post, *prepared(channel, post))
        order = [r.path.rsplit(".", 1)[-1] for r in standin.requests]
        assert order.index("refreshSession") < order.index("putRecord")
        assert standin.delivered(post.url) == 1
    assert not standin.violations


def test_a_big_image_is_shrunk_into_a_thumbnail(bsky, tmp_path):
    from PIL import Image

    noise = Image.frombytes("RGB", (800, 800), random.Random(4).randbytes(800 * 800 * 3))
    (tmp_path / "images").mkdir()
    noise.save(tmp_path / "images" / "photo.png")
    assert (tmp_path / "images" / "photo.png").stat().st_size > 1_000_000
    channel = channel_for(bsky, tmp_path)
    post = make_post(image=f"{SITEURL}/images/photo.png")
    draft, item = prepared(channel, post)
    thumb = item["intent"]["record"]["embed"]["external"]["thumb"]
    assert thumb["mimeType"] == "image/jpeg" and thumb["size"] <= 1_000_000
    # a fresh process computes the same bytes, so the prepared CID still holds
    channel_for(bsky, tmp_path).send(post, draft, item)
    assert list(bsky.blobs) == [thumb["ref"]["$link"]]
    assert bsky.delivered(post.url) == 1
