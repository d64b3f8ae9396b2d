"""LinkedIn channel: the Posts API over requests against a header- and body-checking stand-in."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from syndicate.channels.linkedin import LinkedInChannel, escape_little_text, retry_after
from syndicate.errors import AuthError, PermanentError, RateLimited, TransientError
from syndicate.post import Post
from tests.standins.linkedin import LinkedInStandIn, little_text_problem

SITEURL = "https://frontporch.example"
VERSION = datetime.now(UTC).strftime("%Y%m")


def make_post(n: int = 1, **overrides) -> Post:
    values = dict(
        id=f"tag:frontporch.example,2026:post-{n}",
        slug=f"post-{n}",
        title=f"Segment the list (and send what's worth it) #{n}",
        url=f"{SITEURL}/2026/11/post-{n}/",
        date=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        summary_text="Email <and> social work together: segment_by_interest, *always*.",
        tags=("email marketing", "segments"),
    )
    values.update(overrides)
    return Post(**values)


@pytest.fixture
def li():
    with LinkedInStandIn() as standin:
        yield standin
    assert not standin.violations, standin.violations


def channel_for(standin, env=None, **settings) -> LinkedInChannel:
    base = {"SYNDICATE_LINKEDIN_TIMEOUT": 2, "SYNDICATE_LINKEDIN_VERSION": VERSION}
    base.update(settings)
    return LinkedInChannel(base, env or standin.env())


def send_once(channel, post):
    draft = channel.render(post)
    return draft, channel.send(post, draft, {"intent": channel.prepare(post, draft)})


def test_little_text_escaping():
    text = "Costs (less) than [new] ones: a_b * c ~ d | e {f} <g> @h \\ #Email #顧客"
    escaped = escape_little_text(text)
    assert little_text_problem(escaped) == ""
    assert escaped.startswith(r"Costs \(less\) than \[new\] ones: a\_b \* c \~ d \| e \{f\}")
    assert escaped.endswith(r"{hashtag|\#|Email} {hashtag|\#|顧客}")
    assert little_text_problem(text) != ""


def test_retry_after_reads_seconds_dates_and_resets():
    assert retry_after({"Retry-After": "12"}) == 12
    assert 25 < retry_after({"x-ratelimit-reset": str(int(time.time()) + 30)}) <= 30
    assert retry_after({"ratelimit-reset": "7"}) == 7
    assert retry_after({}) is None


def test_check_reads_userinfo(li):
    result = channel_for(li).check()
    assert result.ok and "Maren Holt" in result.detail and li.author in result.detail


def test_check_refuses_a_token_of_another_member(li):
    env = {**li.env(), "LINKEDIN_AUTHOR_URN": "urn:li:person:someoneelse"}
    with pytest.raises(AuthError) as err:
        channel_for(li, env).check()
    assert "LINKEDIN_AUTHOR_URN" in str(err.value)


def test_send_posts_commentary_and_article(li):
    channel = channel_for(li)
    post = make_post()
    draft, remote = send_once(channel, post)
    assert remote.id.startswith("urn:li:share:")
    assert remote.url == f"https://www.linkedin.com/feed/update/{remote.id}/"
    assert li.delivered(post.url) == 1
    stored = li.posts[0]
    assert stored["content"]["article"] == {
        "source": post.url,
        "title": post.title,
        "description": post.summary_text,
    }
    assert stored["commentary"] == escape_little_text(draft.text)
    assert "{hashtag|\\#|EmailMarketing}" in stored["commentary"]
    request = li.calls("POST", "/rest/posts")[0]
    assert request.headers["linkedin-version"] == VERSION
    assert request.headers["x-restli-protocol-version"] == "2.0.0"


def test_find_existing_by_article_source(li):
    channel = channel_for(li)
    post = make_post()
    assert channel.find_existing(post, {}) is None
    _, remote = send_once(channel, post)
    send_once(channel, make_post(2))
    assert channel_for(li).find_existing(post, {}) == remote
    assert channel.find_existing(post, {"history": [{"remote_id": remote.id}]}) is None
    query = li.calls("GET", "/rest/posts")[-1].query
    assert query["q"] == ["author"] and query["author"] == [li.author]


def test_expired_version_is_permanent_with_a_hint(li):
    channel = channel_for(li, SYNDICATE_LINKEDIN_VERSION="202001")
    with pytest.raises(PermanentError) as err:
        send_once(channel, make_post())
    assert "SYNDICATE_LINKEDIN_VERSION" in str(err.value)
    assert "not active" in err.value.service_text
    li.violations.clear()  # the stand-in counted the refused version as a bad request


def test_expired_token_is_an_auth_error(li):
    env = {**li.env(), "LINKEDIN_ACCESS_TOKEN": "expired-token"}
    with pytest.raises(AuthError) as err:
        send_once(channel_for(li, env), make_post())
    assert "LINKEDIN_ACCESS_TOKEN" in str(err.value)
    assert err.value.service_text == "Invalid access token"
    assert "expired-token" not in str(err.value)


def test_rate_limit_with_retry_after(li):
    li.inject(
        "status",
        status=429,
        match="POST /rest/posts",
        headers={"Retry-After": "17"},
        body={"status": 429, "message": "Resource level throttle limit reached"},
    )
    with pytest.raises(RateLimited) as err:
        send_once(channel_for(li), make_post())
    assert err.value.retry_after == 17
    assert "throttle" in err.value.service_text


@pytest.mark.parametrize(
    ("fault", "kwargs", "expected"),
    [
        ("status", {"status": 500, "body": {"message": "Internal"}}, TransientError),
        ("status", {"status": 504, "body": {"message": "Gateway timeout"}}, TransientError),
        ("reset", {}, TransientError),
        ("timeout", {"delay": 3.0}, TransientError),
        ("status", {"status": 422, "body": {"message": "/commentary :: bad"}}, PermanentError),
    ],
)
def test_faults_map_to_typed_errors(li, fault, kwargs, expected):
    channel = channel_for(li)
    post = make_post()
    li.inject(fault, match="POST /rest/posts", **kwargs)
    with pytest.raises(expected) as err:
        send_once(channel, post)
    assert err.value.channel == "linkedin" and err.value.post == post.slug
    if expected is PermanentError:
        assert not isinstance(err.value, TransientError)
        assert err.value.service_text == "/commentary :: bad"
    if fault == "timeout":
        time.sleep(1.2)  # the first request still went through
        assert channel.find_existing(post, {}) is not None
    else:
        send_once(channel, post)
    assert li.delivered(post.url) == 1
