"""The Mailchimp channel: the real mailchimp-marketing SDK against the spec-checked stand-in."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from syndicate.channels.mailchimp import (
    MailchimpChannel,
    campaign_title,
    get_settings,
    segments_for,
)
from syndicate.errors import (
    AuthError,
    ConfigError,
    PermanentError,
    RateLimited,
    TransientError,
)
from syndicate.post import Post
from tests.standins.mailchimp import MailchimpStandIn
from tests.standins.openapi import specs_dir

pytestmark = pytest.mark.skipif(
    not (specs_dir() / "mailchimp" / "marketing-openapi3.json").is_file(),
    reason="../shared/specs/mailchimp is not present",
)

SETTINGS = {
    "SITEURL": "https://frontporch.example",
    "SITENAME": "Front Porch Notes",
    "AUTHOR": "Maren Holt",
    "SOCIAL_PROFILES": [("Mastodon", "https://mastodon.social/@frontporch")],
    "SYNDICATE_TIMEOUT": 5.0,
}


def make_post(n: int = 1, **fields) -> Post:
    slug = fields.pop("slug", f"post-{n}")
    url = f"https://frontporch.example/2024/03/{slug}/"
    values = {
        "id": f"tag:frontporch.example,2024-03-0{n}:/{slug}",
        "slug": slug,
        "title": f"Answer every comment, part {n}",
        "url": url,
        "date": datetime(2024, 3, n, 9, 0, tzinfo=UTC),
        "summary_text": "Complaints answered in public win loyalty.",
        "content_html": "<p>Start with the negative ones.</p>",
        "text": "Start with the negative ones.",
        "comments_url": url + "#comments",
    }
    values.update(fields)
    return Post(**values)


@pytest.fixture(scope="module")
def server():
    with MailchimpStandIn() as standin:
        yield standin


@pytest.fixture
def mc(server):
    server.reset()
    yield server
    assert not server.violations, server.violations


def channel(mc: MailchimpStandIn, **settings) -> MailchimpChannel:
    return MailchimpChannel({**SETTINGS, **settings}, mc.env())


def run(ch: MailchimpChannel, post: Post, item: dict | None = None):
    draft = ch.render(post)
    item = item if item is not None else {"intent": ch.prepare(post, draft)}
    return ch.send(post, draft, item), draft


def test_creates_one_regular_campaign_and_sends_it(mc):
    ch = channel(mc, MAILCHIMP_REPLY_TO="hello@frontporch.example")
    result = ch.check()
    assert result.ok and "Front Porch Notes readers" in result.detail
    post = make_post(1, email_subject="Your complaints, answered")

    remote, draft = run(ch, post)

    assert mc.delivered(post.url) == 1
    assert mc.sends == [remote.id]
    campaign = mc.campaigns[remote.id]
    assert campaign["type"] == "regular"
    assert campaign["recipients"]["list_id"] == mc.list_id
    assert campaign["recipients"]["segment_opts"] == {}
    settings = campaign["settings"]
    assert settings["title"] == campaign_title(post.id)
    assert settings["subject_line"] == "Your complaints, answered"
    assert settings["preview_text"] == post.summary_text
    assert settings["from_name"] == "Maren Holt"  # the list's default from name
    assert settings["reply_to"] == "hello@frontporch.example"  # the setting wins
    assert mc.contents[remote.id] == {"html": draft.html, "plain_text": draft.text}
    assert remote.url == campaign["archive_url"] and remote.state == "sent"


def test_a_second_send_of_the_same_post_sends_nothing(mc):
    ch = channel(mc)
    post = make_post(2)
    first, _ = run(ch, post)
    again, _ = run(channel(mc), post)  # a fresh run, as after a crash
    assert again.id == first.id
    assert len(mc.sends) == 1 and len(mc.campaigns) == 1
    assert mc.delivered(post.url) == 1


def test_resumes_a_campaign_left_in_save(mc):
    post = make_post(3)
    left = mc.add_campaign(campaign_title(post.id), status="save", html="stale")
    remote, draft = run(channel(mc), post)
    assert remote.id == left
    assert len(mc.calls("POST", "/3.0/campaigns")) == 1  # only the send action
    assert mc.contents[left]["html"] == draft.html  # fresh content replaced the stale
    assert mc.campaigns[left]["settings"]["subject_line"] == post.title
    assert mc.sends == [left]


def test_a_campaign_found_sent_counts_as_delivered(mc):
    post = make_post(4)
    sent = mc.add_campaign(campaign_title(post.id), status="sent", html=post.url)
    ch = channel(mc)
    found = ch.find_existing(post, {"intent": ch.prepare(post, ch.render(post))})
    assert found is not None and found.id == sent and found.state == "sent"
    remote, _ = run(ch, post)
    assert remote.id == sent
    assert mc.sends == [] and len(mc.campaigns) == 1


def test_other_posts_campaigns_are_not_mistaken_for_this_one(mc):
    mc.add_campaign(campaign_title("tag:other"), status="sent")
    post = make_post(5)
    ch = channel(mc)
    assert ch.find_existing(post, {}) is None
    remote, _ = run(ch, post)
    assert mc.sends == [remote.id]


def test_the_intent_title_is_reused_after_the_post_id_changed(mc):
    """A crash, then a re-run: the ledger's intent decides which campaign is ours."""
    post = make_post(6)
    intent = {"title": campaign_title("tag:the-id-at-first-attempt")}
    left = mc.add_campaign(intent["title"], status="sending", html=post.url)
    remote, _ = run(channel(mc), post, {"intent": intent})
    assert remote.id == left and mc.sends == []


def test_connection_reset_before_send_then_retry_sends_once(mc):
    post = make_post(7)
    ch = channel(mc)
    mc.inject("reset", match="/actions/send")
    with pytest.raises(TransientError) as info:
        run(ch, post)
    assert "network error" in str(info.value)
    assert ch.find_existing(post, {}) is None  # still in save: not delivered
    remote, _ = run(ch, post)
    assert mc.sends == [remote.id] and len(mc.campaigns) == 1
    assert mc.delivered(post.url) == 1


def test_send_that_timed_out_but_happened_is_found(mc):
    post = make_post(8)
    ch = channel(mc, SYNDICATE_TIMEOUT=0.3)
    mc.inject("timeout", match="/actions/send", delay=0.6)
    with pytest.raises(TransientError):
        run(ch, post)
    deadline = time.monotonic() + 3
    while not mc.sends and time.monotonic() < deadline:
        time.sleep(0.05)
    found = ch.find_existing(post, {})
    assert found is not None and found.id == mc.sends[0]
    run(ch, post)  # a retry sends nothing
    assert len(mc.sends) == 1 and mc.delivered(post.url) == 1


def test_wrong_api_key_is_an_auth_error_with_a_hint_and_no_secret(mc):
    env = {**mc.env(), "MAILCHIMP_API_KEY": "f" * 32 + "-us21"}
    ch = MailchimpChannel(SETTINGS, env)
    with pytest.raises(AuthError) as info:
        ch.check()
    text = str(info.value)
    assert "API Key Invalid" in text and "MAILCHIMP_API_KEY" in text
    assert env["MAILCHIMP_API_KEY"] not in text and mc.api_key not in text


def test_api_key_without_data_centre_is_a_config_error():
    ch = MailchimpChannel(SETTINGS, {"MAILCHIMP_API_KEY": "abc", "MAILCHIMP_LIST_ID": "x"})
    with pytest.raises(ConfigError, match="data centre"):
        ch.check()


def test_unknown_list_fails_the_preflight(mc):
    env = {**mc.env(), "MAILCHIMP_LIST_ID": "nosuchlist"}
    with pytest.raises(ConfigError) as info:
        MailchimpChannel(SETTINGS, env).check()
    assert "'nosuchlist' not found" in str(info.value)
    assert "Resource Not Found" in str(info.value)


def test_missing_reply_to_fails_the_preflight(mc):
    mc.lists[mc.list_id]["campaign_defaults"]["from_email"] = ""
    with pytest.raises(ConfigError, match="reply-to"):
        channel(mc).check()
    assert channel(mc, MAILCHIMP_REPLY_TO="me@frontporch.example").check().ok


def test_refused_content_is_permanent_with_the_service_text(mc):
    mc.fail(400, detail="Content has invalid merge tags.", match="/content")
    with pytest.raises(PermanentError) as info:
        run(channel(mc), make_post(9))
    assert not isinstance(info.value, TransientError)
    assert "Content has invalid merge tags." in str(info.value)
    assert info.value.channel == "mailchimp" and info.value.post == "post-9"
    assert mc.sends == []


def test_rate_limit_is_transient_and_keeps_retry_after(mc):
    mc.fail(
        429,
        detail="You have exceeded the limit of 10 simultaneous connections.",
        headers={"Retry-After": "7"},
    )
    with pytest.raises(RateLimited) as info:
        channel(mc).check()
    assert info.value.retry_after == 7.0
    assert "simultaneous connections" in str(info.value)


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_transient_even_with_an_empty_body(mc, status):
    mc.inject("status", status=status, match="POST /3.0/campaigns")  # no body at all
    with pytest.raises(TransientError) as info:
        run(channel(mc), make_post(10))
    assert f"HTTP {status}" in str(info.value)
    assert not isinstance(info.value, PermanentError)


def test_forbidden_is_an_auth_error(mc):
    mc.fail(403, detail="You don't have permission to access this resource.")
    with pytest.raises(AuthError):
        channel(mc).check()


SEGMENTS = {
    "tag:email": "interest:Topics/Email marketing",
    "tag:social": ["interest:Topics/Social media", "tag:Customers"],
    "category:Offers": "tag:Customers",
}


def test_segments_turn_into_segment_opts(mc):
    email = mc.add_interest("Topics", "Email marketing")
    social = mc.add_interest("Topics", "Social media")
    mc.add_interest("Region", "Europe")
    customers = mc.add_tag("Customers")
    ch = channel(mc, MAILCHIMP_SEGMENTS=SEGMENTS)
    assert "3 segment(s) mapped" in ch.check().detail
    post = make_post(11, tags=("email", "social"), category="Notes")

    remote, draft = run(ch, post)

    assert draft.extra["segments"] == [
        "interest:Topics/Email marketing",
        "interest:Topics/Social media",
        "tag:Customers",
    ]
    opts = mc.campaigns[remote.id]["recipients"]["segment_opts"]
    assert opts["match"] == "any"
    interests = [c for c in opts["conditions"] if c["condition_type"] == "Interests"]
    assert len(interests) == 1 and sorted(interests[0]["value"]) == sorted([email, social])
    assert interests[0]["op"] == "interestcontains"
    statics = [c for c in opts["conditions"] if c["condition_type"] == "StaticSegment"]
    assert statics == [
        {
            "condition_type": "StaticSegment",
            "field": "static_segment",
            "op": "static_is",
            "value": customers,
        }
    ]


def test_posts_without_mapped_segments_go_to_the_whole_list(mc):
    mc.add_interest("Topics", "Email marketing")
    ch = channel(mc, MAILCHIMP_SEGMENTS={"tag:email": "interest:Topics/Email marketing"})
    remote, draft = run(ch, make_post(12, tags=("unrelated",)))
    assert draft.extra["segments"] == []
    assert mc.campaigns[remote.id]["recipients"]["segment_opts"] == {}


def test_a_missing_segment_fails_the_preflight_with_its_name(mc):
    mc.add_interest("Topics", "Email marketing")
    ch = channel(mc, MAILCHIMP_SEGMENTS=SEGMENTS)
    with pytest.raises(ConfigError) as info:
        ch.check()
    text = str(info.value)
    assert "interest:Topics/Social media" in text and "tag:Customers" in text
    assert "Email marketing" not in text.split("missing", 1)[1].split("—")[0]


def test_segment_lookup_is_case_insensitive_on_post_metadata():
    post = make_post(1, tags=("Email",), category="offers")
    assert segments_for(post, SEGMENTS) == [
        "interest:Topics/Email marketing",
        "tag:Customers",
    ]


@pytest.mark.parametrize(
    "settings",
    [
        {"NEWSLETTER_MODE": "weekly"},
        {"MAILCHIMP_SEGMENT_MATCH": "some"},
        {"MAILCHIMP_SEGMENTS": {"email": "tag:x"}},
        {"MAILCHIMP_SEGMENTS": {"tag:email": "interest:no-group"}},
        {"MAILCHIMP_SEGMENTS": {"tag:email": "group:x"}},
    ],
)
def test_bad_settings_name_the_valid_values(settings):
    with pytest.raises(ConfigError) as info:
        get_settings(settings)
    assert info.value.hint


def test_test_email_goes_to_the_address_and_the_list_gets_nothing(mc):
    ch = channel(mc)
    post = make_post(13)
    draft = ch.render(post)
    item = {"intent": ch.prepare(post, draft)}
    ch.send_test(post, draft, item, ["maren@frontporch.example"])
    assert len(mc.tests) == 1
    assert mc.tests[0]["emails"] == ["maren@frontporch.example"]
    assert mc.sends == [] and mc.delivered(post.url) == 0
    (cid,) = mc.campaigns
    assert mc.campaigns[cid]["status"] == "save"
    # The real send later reuses the campaign the test email created.
    remote = ch.send(post, draft, item)
    assert remote.id == cid and mc.sends == [cid]


def test_render_is_offline_and_shows_what_would_be_sent():
    ch = MailchimpChannel(SETTINGS, {})  # no credentials: a dry run
    post = make_post(14, tags=("email",))
    draft = ch.render(post)
    assert draft.channel == "mailchimp" and draft.subject == post.title
    assert post.url in draft.html and post.url in draft.text
    assert draft.extra["title"] == campaign_title(post.id)
    assert draft.extra["from_name"] == "Maren Holt"
    assert draft.extra["reply_to"] == "(list default)"
    assert ch.prepare(post, draft)["title"] == campaign_title(post.id)


def test_digest_is_one_campaign_for_several_posts_found_again_after_a_crash(mc):
    mc.add_interest("Topics", "Email marketing")
    segments = {"tag:email": "interest:Topics/Email marketing"}
    ch = channel(mc, NEWSLETTER_MODE="digest", MAILCHIMP_SEGMENTS=segments)
    assert ch.digest_mode
    posts = [make_post(n, tags=("email",)) for n in (15, 16, 17)]
    post, draft = ch.digest(posts)
    # The same posts in another order make the same digest (same campaign title).
    again, _ = ch.digest(list(reversed(posts)))
    assert again.id == post.id and draft.extra["title"] == campaign_title(post.id)
    assert draft.extra["posts"] == [p.id for p in reversed(posts)]
    assert draft.extra["segments"] == ["interest:Topics/Email marketing"]
    item = {"intent": ch.prepare(post, draft)}
    remote = ch.send(post, draft, item)
    assert mc.sends == [remote.id]
    for p in posts:
        assert mc.delivered(p.url) == 1
    assert mc.campaigns[remote.id]["recipients"]["segment_opts"]["conditions"]
    assert ch.find_existing(post, item).id == remote.id
    # A post for the whole list makes the whole digest go to the whole list.
    _, wide = ch.digest([*posts, make_post(18)])
    assert wide.extra["segments"] == []


def test_digest_mode_is_off_by_default(mc):
    assert not channel(mc).digest_mode


# -- the whole command, end to end: a real build, the CLI, the stand-in ---------------------
SITE_POSTS = {
    "one.md": """
        Title: Keep the customers you have
        Date: 2024-05-01 09:00
        Tags: email
        Summary: Keeping a customer costs less than finding one.

        Talk to them regularly.
        """,
    "two.md": """
        Title: Segment your list
        Date: 2024-05-02 09:00
        Tags: social
        Summary: One email fits nobody.

        Send each segment what is worth its time.
        """,
    "only.md": """
        Title: Subscribers only: the spring offer
        Date: 2024-05-03 09:00
        Newsletter: only
        Summary: Something exclusive.

        Twenty percent off, for readers of the letter.
        """,
    "quiet.md": """
        Title: A note for the site only
        Date: 2024-05-04 09:00
        Newsletter: no

        Not for the inbox.
        """,
}


@pytest.fixture(scope="module")
def cli_site(tmp_path_factory):
    from tests.sitebuild import build_site, write_post

    tmp = tmp_path_factory.mktemp("mailchimp-cli")
    content = tmp / "content"
    for name, text in SITE_POSTS.items():
        write_post(content, name, text)
    (content / "pages").mkdir()
    manifest = tmp / "var" / "manifest"
    build_site(
        tmp,
        content=content,
        SITEURL="https://frontporch.example",
        MANIFEST_PATH=str(manifest),
        PLUGINS=["post_ids", "manifest"],
    )
    return manifest


def _settings_file(folder, manifest, **values) -> str:
    from tests.sitebuild import ROOT

    values = {
        "SITEURL": "https://frontporch.example",
        "DATA_PATH": str(folder / "data"),
        "MANIFEST_PATH": str(manifest),
        "SYNDICATE_OUTBOX": str(folder / "outbox"),
        "SYNDICATE_CHANNELS": ["mailchimp"],
        "SYNDICATE_MAX_NEW": 10,
        "SYNDICATE_TIMEOUT": 2.0,
        "SYNDICATE_RETRY_BASE": 0.01,
        "MAILCHIMP_REPLY_TO": "maren@frontporch.example",
        **values,
    }
    lines = ["import sys", f"sys.path.insert(0, {str(ROOT)!r})", "from pelicanconf import *"]
    lines += [f"{key} = {value!r}" for key, value in values.items()]
    path = folder / "settings.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _cli(mc, settings: str, *args: str) -> tuple[int, str]:
    import contextlib
    import io
    import os
    from unittest import mock

    from syndicate.cli import main

    out = io.StringIO()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILCHIMP_")}
    env.update(mc.env())
    with (
        mock.patch.dict(os.environ, env, clear=True),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(out),
    ):
        code = main(["--settings", settings, *args])
    return code, out.getvalue()


def test_cli_check_test_email_then_one_campaign_per_emailed_post(mc, cli_site, tmp_path):
    settings = _settings_file(tmp_path, cli_site)

    code, out = _cli(mc, settings, "--check")
    assert code == 0, out
    assert "Front Porch Notes readers" in out
    assert mc.api_key not in out

    code, out = _cli(
        mc, settings, "--test-email", "maren@frontporch.example", "--post", "segment-your-list"
    )
    assert code == 0, out
    assert [t["emails"] for t in mc.tests] == [["maren@frontporch.example"]]
    assert mc.sends == []

    code, out = _cli(mc, settings)
    assert code == 0, out
    subjects = sorted(mc.campaigns[cid]["settings"]["subject_line"] for cid in mc.sends)
    assert subjects == [
        "Keep the customers you have",
        "Segment your list",
        "Subscribers only: the spring offer",
    ]
    assert len(mc.campaigns) == 3  # the test email's campaign was the one sent
    for slug in ("keep-the-customers-you-have", "segment-your-list"):
        assert mc.delivered(f"https://frontporch.example/2024/05/{slug}/index.html") == 1
    only = next(c for c in mc.contents.values() if "Twenty percent off" in c["html"])
    assert "spring-offer" not in only["html"]  # no link to a page that does not exist

    requests_before = len(mc.requests)
    code, out = _cli(mc, settings)
    assert code == 0, out
    assert len(mc.sends) == 3
    assert not [r for r in mc.requests[requests_before:] if r.method != "GET"]


def test_the_services_own_rate_limit_is_rate_limited(mc):
    mc.limit(2, per_seconds=60)
    ch = channel(mc)
    ch.check()  # ping + list: the two allowed requests
    with pytest.raises(RateLimited) as info:
        run(ch, make_post(19))
    assert "Too Many Requests" in str(info.value)
    assert info.value.retry_after is None  # Mailchimp sends no Retry-After: the runner backs off
    assert mc.sends == []


def test_every_mailchimp_and_email_setting_is_in_the_readme():
    from syndicate import email
    from syndicate.channels import mailchimp
    from tests.sitebuild import ROOT

    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### Mailchimp", 1)[1]
    for key in [*mailchimp.DEFAULTS, *email.DEFAULTS]:
        assert f"`{key}`" in section, f"{key} is not documented under ### Mailchimp"


def test_service_unreachable_is_transient():
    standin = MailchimpStandIn()
    standin.start()
    env = standin.env()
    standin.stop()  # nothing listens on that port any more
    with pytest.raises(TransientError) as info:
        MailchimpChannel(SETTINGS, env).check()
    assert "network error (ConnectionError)" in str(info.value)
    assert not isinstance(info.value, PermanentError)
