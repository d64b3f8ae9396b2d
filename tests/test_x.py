"""X channel: the real tweepy Client, redirected to a stand-in that checks OAuth 1.0a."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicate import textfit
from syndicate.channels.x import XChannel
from syndicate.errors import AuthError, PermanentError, RateLimited, TransientError
from syndicate.post import Post
from tests.standins.x import XStandIn, weighted_length

SITEURL = "https://frontporch.example"
EXAMPLES = itertools.count(100)


def make_post(n: int = 1, **overrides) -> Post:
    values = dict(
        id=f"tag:frontporch.example,2026:post-{n}",
        slug=f"post-{n}",
        title=f"Post often, vary the kind of post ({n})",
        url=f"{SITEURL}/2026/11/post-{n}/",
        date=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        summary_text="Questions, quotes, videos, offers: then measure what works.",
        tags=("social media",),
    )
    values.update(overrides)
    return Post(**values)


@pytest.fixture
def xapi():
    with XStandIn() as standin:
        yield standin
    assert not standin.violations, standin.violations


def channel_for(standin, **settings) -> XChannel:
    return XChannel({"SYNDICATE_X_TIMEOUT": 2, **settings}, standin.env())


def send_once(channel, post):
    draft = channel.render(post)
    return draft, channel.send(post, draft, {"intent": channel.prepare(post, draft)})


def test_check_reads_the_account_with_a_signed_request(xapi):
    result = channel_for(xapi).check()
    assert result.ok and "@frontporch" in result.detail
    header = xapi.calls("GET", "/2/users/me")[0].headers["authorization"]
    assert header.startswith("OAuth ") and 'oauth_signature_method="HMAC-SHA1"' in header


def test_send_creates_the_post_and_find_existing_matches_the_expanded_url(xapi):
    channel = channel_for(xapi)
    post = make_post()
    assert channel.find_existing(post, {}) is None
    draft, remote = send_once(channel, post)
    assert remote.url == f"https://x.com/frontporch/status/{remote.id}"
    assert xapi.delivered(post.url) == 1
    # X shows a t.co link in the text; the match is on entities.urls[].expanded_url
    assert post.url not in xapi.tweets[0]["text"]
    assert channel_for(xapi).find_existing(post, {}) == remote
    assert channel.find_existing(make_post(2), {}) is None
    sent = xapi.calls("POST", "/2/tweets")[0].json()
    assert sent == {"text": draft.text}


def test_weighted_length_is_respected_for_cjk_and_emoji(xapi):
    channel = channel_for(xapi)
    post = make_post(title="顧客との対話 🙌🏽 " * 40, summary_text="日本語 " * 100)
    draft, _ = send_once(channel, post)
    assert draft.length <= 280 and weighted_length(draft.text) <= 280
    assert draft.length == textfit.x_length(draft.text)
    assert post.url in draft.text.split()
    assert xapi.delivered(post.url) == 1


def test_duplicate_content_resolves_to_the_existing_post(xapi):
    channel = channel_for(xapi)
    post = make_post()
    _, first = send_once(channel, post)
    _, second = send_once(channel_for(xapi), post)
    assert second == first and xapi.delivered(post.url) == 1


def test_resend_ignores_the_replaced_post(xapi):
    channel = channel_for(xapi)
    post = make_post()
    _, first = send_once(channel, post)
    assert channel.find_existing(post, {"history": [{"remote_id": first.id}]}) is None


def test_wrong_token_is_an_auth_error(xapi):
    env = {**xapi.env(), "X_ACCESS_TOKEN_SECRET": "not-the-secret"}
    channel = XChannel({"SYNDICATE_X_TIMEOUT": 2}, env)
    with pytest.raises(AuthError) as err:
        channel.check()
    assert "X_ACCESS_TOKEN" in str(err.value) and "not-the-secret" not in str(err.value)


def test_rate_limit_reads_x_rate_limit_reset(xapi):
    channel = channel_for(xapi)
    reset = int(time.time()) + 45
    xapi.inject(
        "status",
        status=429,
        match="POST /2/tweets",
        headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
        body={"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
    )
    with pytest.raises(RateLimited) as err:
        send_once(channel, make_post())
    assert 35 < err.value.retry_after <= 46


@pytest.mark.parametrize(
    ("fault", "kwargs", "expected"),
    [
        ("status", {"status": 500, "body": {"title": "Internal Error"}}, TransientError),
        ("status", {"status": 503, "body": {"title": "Service Unavailable"}}, TransientError),
        ("reset", {}, TransientError),
        ("timeout", {"delay": 3.0}, TransientError),
        (
            "status",
            {
                "status": 400,
                "body": {"errors": [{"message": "text is invalid"}], "title": "Invalid Request"},
            },
            PermanentError,
        ),
    ],
)
def test_faults_map_to_typed_errors(xapi, fault, kwargs, expected):
    channel = channel_for(xapi)
    channel.check()
    post = make_post()
    xapi.inject(fault, match="POST /2/tweets", **kwargs)
    with pytest.raises(expected) as err:
        send_once(channel, post)
    assert err.value.channel == "x"
    if expected is PermanentError:
        assert not isinstance(err.value, TransientError)
        assert "text is invalid" in err.value.service_text
    if fault == "timeout":
        time.sleep(1.2)  # the stand-in still answers the first request: it was created
        assert channel.find_existing(post, {}) is not None
    else:
        send_once(channel, post)
    assert xapi.delivered(post.url) == 1


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=st.text(min_size=1, max_size=400), summary=st.text(max_size=400))
def test_any_text_is_accepted_by_the_service_count(xapi, title, summary):
    post = make_post(next(EXAMPLES), title=title, summary_text=summary)
    draft, _ = send_once(channel_for(xapi), post)
    assert xapi.violations == []
    assert weighted_length(draft.text) <= draft.length <= 280
    assert xapi.delivered(post.url) == 1


def test_free_access_level_cannot_tell_but_never_posts_twice():
    with XStandIn(read_access=False) as standin:
        channel = channel_for(standin)
        post = make_post()
        with pytest.raises(NotImplementedError):
            channel.find_existing(post, {})
        _, first = send_once(channel, post)
        # a re-run that cannot look: X's duplicate check answers, and it counts as sent
        _, again = send_once(channel_for(standin), post)
        assert first.id and again.state == "sent"
        assert standin.delivered(post.url) == 1
    assert not standin.violations


def test_a_rerun_sends_the_stored_text_even_after_an_edit():
    with XStandIn(read_access=False) as standin:
        channel = channel_for(standin)
        post = make_post()
        draft = channel.render(post)
        item = {"intent": channel.prepare(post, draft)}
        channel.send(post, draft, item)
        edited = make_post(title="A better title, written after the crash")
        again = channel_for(standin).send(edited, channel.render(edited), item)
        assert again.state == "sent" and standin.delivered(post.url) == 1
