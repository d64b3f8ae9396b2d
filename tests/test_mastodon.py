"""Mastodon channel: the real Mastodon.py against a spec-validating stand-in."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import html as lxml_html

from syndicate.channels.mastodon import MastodonChannel, idempotency_key
from syndicate.errors import AuthError, PermanentError, RateLimited, TransientError
from syndicate.post import Post
from tests.standins.mastodon import MastodonStandIn
from tests.standins.openapi import specs_dir

pytestmark = pytest.mark.skipif(
    not (specs_dir() / "mastodon" / "schema.json").exists(),
    reason="../shared/specs/mastodon/schema.json is absent (a clone without shared/)",
)

SITEURL = "https://frontporch.example"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def make_post(n: int = 1, **overrides) -> Post:
    values = dict(
        id=f"tag:frontporch.example,2026:post-{n}",
        slug=f"post-{n}",
        title=f"Answer the negative comments first ({n})",
        url=f"{SITEURL}/2026/11/post-{n}/",
        date=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        summary_text="A complaint answered in public wins more loyalty than no complaint at all.",
        tags=("customer service", "social media"),
    )
    values.update(overrides)
    return Post(**values)


@pytest.fixture
def masto():
    with MastodonStandIn(max_characters=300) as standin:
        yield standin
    assert not standin.violations, standin.violations


def channel_for(
    standin: MastodonStandIn, tmp_path: Path | None = None, **settings
) -> MastodonChannel:
    base = {
        "SITEURL": SITEURL,
        "OUTPUT_PATH": str(tmp_path or "output"),
        "DEFAULT_LANG": "en",
        "SYNDICATE_MASTODON_TIMEOUT": 2,
    }
    base.update(settings)
    return MastodonChannel(base, standin.env())


def send_once(channel: MastodonChannel, post: Post):
    draft = channel.render(post)
    item = {"intent": channel.prepare(post, draft)}
    return draft, channel.send(post, draft, item)


def test_check_reads_the_instance_limits(masto):
    channel = channel_for(masto)
    result = channel.check()
    assert result.ok
    assert "@frontporch" in result.detail and "300 characters" in result.detail
    assert channel.max_characters == 300 and channel.url_length == 23
    assert masto.calls("GET", "/api/v1/accounts/verify_credentials")


def test_send_posts_the_fitted_text_with_visibility_and_language(masto):
    channel = channel_for(masto, SYNDICATE_MASTODON_VISIBILITY="unlisted")
    channel.check()
    post = make_post(summary_text="word " * 200)
    draft, remote = send_once(channel, post)
    assert draft.length <= 300 and draft.limit == 300
    assert post.url in draft.text.split()
    assert remote.id and remote.url.endswith("/" + remote.id)
    assert masto.delivered(post.url) == 1
    assert masto.status_texts() == [draft.text]
    sent = masto.calls("POST", "/api/v1/statuses")[0]
    form = sent.form()
    assert form["visibility"] == ["unlisted"] and form["language"] == ["en"]
    assert sent.headers["idempotency-key"] == idempotency_key(post.id)
    # the status Mastodon renders links the post
    status = masto.statuses[0]
    doc = lxml_html.fromstring(masto._public(status)["content"])
    assert post.url in doc.xpath("//a/@href")


def test_repeat_within_the_hour_is_a_no_op(masto):
    channel = channel_for(masto)
    post = make_post()
    _, first = send_once(channel, post)
    _, second = send_once(channel, post)
    assert first.id == second.id
    assert masto.delivered(post.url) == 1


def test_after_the_hour_find_existing_finds_the_status(masto):
    channel = channel_for(masto)
    post, other = make_post(1), make_post(2)
    assert channel.find_existing(post, {}) is None
    _, remote = send_once(channel, post)
    send_once(channel, other)
    masto.advance(3601)  # the idempotency key is forgotten now
    found = channel.find_existing(post, {"intent": channel.prepare(post, channel.render(post))})
    assert found is not None and found.id == remote.id
    assert masto.calls("GET", f"/api/v1/accounts/{masto.account_id}/statuses")


def test_custom_social_text_wins(masto):
    channel = channel_for(masto)
    post = make_post(social={"": "For everyone", "mastodon": "Hello fediverse! {url} #fedi"})
    draft, _ = send_once(channel, post)
    assert draft.text == f"Hello fediverse! {post.url} #fedi"


def test_image_from_the_build_output_is_uploaded_with_alt_text(masto, tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "porch.png").write_bytes(PNG)
    channel = channel_for(masto, tmp_path)
    post = make_post(image=f"{SITEURL}/images/porch.png", image_alt="A porch with two chairs")
    send_once(channel, post)
    assert len(masto.media) == 1
    media = next(iter(masto.media.values()))
    assert media["description"] == "A porch with two chairs"
    assert masto.statuses[0]["media_attachments"][0]["id"] == media["id"]


def test_image_elsewhere_is_skipped_with_a_warning(masto, tmp_path, caplog):
    channel = channel_for(masto, tmp_path)
    post = make_post(image="https://cdn.example.net/porch.png", image_alt="porch")
    with caplog.at_level(logging.WARNING):
        send_once(channel, post)
    assert not masto.media and masto.delivered(post.url) == 1
    assert any("mastodon: image" in r.getMessage() for r in caplog.records)


def test_expired_token_is_an_auth_error_with_a_hint(masto):
    channel = channel_for(masto)
    masto.token = "rotated"
    with pytest.raises(AuthError) as err:
        channel.check()
    assert "MASTODON_ACCESS_TOKEN" in str(err.value)
    assert "access token is invalid" in err.value.service_text
    assert "masto-token" not in str(err.value)


def test_rate_limit_carries_the_reset_time(masto):
    channel = channel_for(masto)
    reset = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 30, UTC).isoformat()
    masto.inject(
        "status",
        status=429,
        match="POST /api/v1/statuses",
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        body={"error": "Too many requests"},
    )
    with pytest.raises(RateLimited) as err:
        send_once(channel, make_post())
    assert err.value.retry_after is not None and 20 < err.value.retry_after <= 31


@pytest.mark.parametrize(
    ("fault", "kwargs", "expected"),
    [
        ("status", {"status": 500, "body": {"error": "boom"}}, TransientError),
        ("status", {"status": 503, "body": {"error": "down"}}, TransientError),
        ("reset", {}, TransientError),
        ("timeout", {"delay": 3.0}, TransientError),
        (
            "status",
            {"status": 422, "body": {"error": "Validation failed: Text character limit exceeded"}},
            PermanentError,
        ),
    ],
)
def test_faults_map_to_typed_errors(masto, fault, kwargs, expected):
    channel = channel_for(masto)
    post = make_post()
    masto.inject(fault, match="POST /api/v1/statuses", **kwargs)
    with pytest.raises(expected) as err:
        send_once(channel, post)
    assert err.value.channel == "mastodon" and err.value.post == post.slug
    if expected is PermanentError:
        assert not isinstance(err.value, TransientError)
        assert "character limit" in err.value.service_text
    # the same item goes through on the next attempt, once
    send_once(channel, post)
    assert masto.delivered(post.url) == 1


def test_deliberate_resend_posts_again_and_ignores_the_old_status(masto):
    channel = channel_for(masto)
    post = make_post()
    _, first = send_once(channel, post)
    # the runner hands a re-send a post whose id names the generation
    post = dataclasses.replace(post, id=post.id + "#resend-1")
    resend = {"generation": 1, "history": [{"remote_id": first.id}]}
    assert channel.find_existing(post, resend) is None
    draft = channel.render(post)
    second = channel.send(post, draft, {**resend, "intent": channel.prepare(post, draft)})
    assert second.id != first.id and masto.delivered(post.url) == 2
    assert channel.find_existing(post, resend).id == second.id


def test_an_image_still_processing_is_waited_for(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "porch.png").write_bytes(PNG)
    with MastodonStandIn(media_processing_polls=2) as masto:
        channel = channel_for(masto, tmp_path)
        post = make_post(image=f"{SITEURL}/images/porch.png", image_alt="porch")
        send_once(channel, post)
        assert len(masto.calls("GET", "/api/v1/media/")) == 3  # 206, 206, 200
        assert masto.statuses[0]["media_attachments"][0]["url"]
        assert masto.delivered(post.url) == 1
    assert not masto.violations


def test_attaching_unprocessed_media_is_transient(masto):
    masto.inject(
        "status",
        status=422,
        match="POST /api/v1/statuses",
        body={
            "error": "Cannot attach files that have not finished processing. Try again in a moment!"
        },
    )
    with pytest.raises(TransientError):
        send_once(channel_for(masto), make_post())
