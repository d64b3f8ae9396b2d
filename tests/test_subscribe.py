"""subscribe: the Mailchimp hosted form, or feed links (never a dead form), in real builds."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from plugins.subscribe import subscribe
from tests.engagement_site import article_file, build, parse
from tests.sitebuild import messages

ACTION = "https://frontporch.us21.list-manage.com/subscribe/post?u=abc123def&id=99ff00aa11"


def subscribe_box(doc):
    (box,) = doc.xpath('//section[contains(@class,"subscribe")]')
    return box


def warnings_about_subscribe() -> list[str]:
    return [m for m in messages(logging.WARNING) if m.startswith("subscribe:")]


@pytest.fixture(scope="module")
def with_form(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("subscribe-form")
    output = build(tmp, SUBSCRIBE_MAILCHIMP_ACTION=ACTION, SUBSCRIBE_FIRST_NAME=True)
    return output, warnings_about_subscribe()


def test_form_posts_to_the_mailchimp_hosted_endpoint(with_form):
    output, warnings = with_form
    assert warnings == []
    box = subscribe_box(parse(article_file(output, "answering-complaints")))
    (form,) = box.xpath(".//form")
    assert form.get("method") == "post"
    action = urlsplit(form.get("action"))
    assert (action.scheme, action.netloc, action.path) == (
        "https",
        "frontporch.us21.list-manage.com",
        "/subscribe/post",
    )
    assert parse_qs(action.query) == {"u": ["abc123def"], "id": ["99ff00aa11"]}
    (email,) = form.xpath('.//input[@name="EMAIL"]')
    assert email.get("type") == "email" and email.get("required") is not None
    assert form.xpath(f'.//label[@for="{email.get("id")}"]')
    (fname,) = form.xpath('.//input[@name="FNAME"]')
    assert fname.get("required") is None
    assert form.xpath('.//button[@type="submit"]')


def test_honeypot_is_hidden_and_skipped_by_keyboard(with_form):
    output, _ = with_form
    form = subscribe_box(parse(article_file(output, "answering-complaints"))).xpath(".//form")[0]
    (trap,) = form.xpath('.//input[@name="b_abc123def_99ff00aa11"]')
    assert trap.get("tabindex") == "-1"
    assert trap.get("value") == ""
    holder = trap.getparent()
    assert holder.get("aria-hidden") == "true"
    style = holder.get("style").replace(" ", "")
    assert "position:absolute" in style and "left:-5000px" in style


def test_consent_note_feeds_and_profiles(with_form):
    output, _ = with_form
    page = article_file(output, "answering-complaints")
    box = subscribe_box(parse(page))
    text = " ".join(box.text_content().split())
    assert "only to send you new posts" in text
    assert "confirm" in text  # double opt-in note
    feeds = box.xpath('.//ul[contains(@class,"subscribe__feeds")]//a')
    assert feeds, "feed links are shown next to the form"
    for a in feeds:
        assert (page.parent / a.get("href")).resolve().is_relative_to(output.resolve())
    profiles = box.xpath('.//ul[contains(@class,"subscribe__profiles")]//a/@href')
    assert "https://mastodon.social/@frontporch" in profiles


def test_subscribe_page_shows_the_form(with_form):
    output, _ = with_form
    doc = parse(output / "subscribe" / "index.html")
    assert doc.xpath('//section[contains(@class,"subscribe")]//form//input[@name="EMAIL"]')


def test_form_from_account_parts(tmp_path):
    output = build(
        tmp_path,
        SUBSCRIBE_MAILCHIMP_ACTION="",
        SUBSCRIBE_MAILCHIMP_ACCOUNT="frontporch",
        SUBSCRIBE_MAILCHIMP_DC="us7",
        SUBSCRIBE_MAILCHIMP_U="u1",
        SUBSCRIBE_MAILCHIMP_ID="list2",
    )
    form = subscribe_box(parse(article_file(output, "segmenting"))).xpath(".//form")[0]
    assert form.get("action") == (
        "https://frontporch.us7.list-manage.com/subscribe/post?u=u1&id=list2"
    )
    assert form.xpath('.//input[@name="b_u1_list2"]')
    assert form.xpath('.//input[@name="FNAME"]') == []
    assert warnings_about_subscribe() == []


@pytest.fixture
def every_subscribe_record():
    """Turn off Pelican's process-wide de-duplication of log messages for the plugin.

    Pelican drops a message it has already logged once in this process, which would
    hide both a repeated warning and the warning of a second build.
    """
    logger = logging.getLogger("subscribe.subscribe")  # the plugin as Pelican loads it
    if hasattr(logger, "disable_filter"):
        logger.disable_filter()
    yield
    if hasattr(logger, "enable_filter"):
        logger.enable_filter()


def test_without_mailchimp_feed_links_and_one_warning(tmp_path, every_subscribe_record):
    output = build(tmp_path, SUBSCRIBE_MAILCHIMP_ACTION="")
    warnings = warnings_about_subscribe()
    assert len(warnings) == 1, warnings  # one per build, not one per page
    assert "SUBSCRIBE_MAILCHIMP_ACTION" in warnings[0]
    for page in (article_file(output, "say-hi"), output / "subscribe" / "index.html"):
        box = subscribe_box(parse(page))
        assert box.xpath(".//form") == [], "no dead form without Mailchimp settings"
        hrefs = box.xpath('.//ul[contains(@class,"subscribe__feeds")]//a/@href')
        assert any(h.endswith(".xml") for h in hrefs)
        types = box.xpath('.//ul[contains(@class,"subscribe__feeds")]//a/@type')
        assert "application/atom+xml" in types


@pytest.mark.parametrize(
    "action",
    [
        "http://frontporch.us21.list-manage.com/subscribe/post?u=a&id=b",  # not https
        "https://evil.example/subscribe/post?u=a&id=b",  # not Mailchimp
        "https://frontporch.us21.list-manage.com/subscribe/post?u=a",  # no list id
        "https://frontporch.us21.list-manage.com/subscribe/post?u=a%22&id=b",  # bad token
    ],
)
def test_malformed_action_warns_and_falls_back(action, caplog):
    conf = subscribe.get_settings({"SUBSCRIBE_MAILCHIMP_ACTION": action})
    with caplog.at_level(logging.WARNING):
        assert subscribe.build_form(conf) is None
    assert any(r.getMessage().startswith("subscribe:") for r in caplog.records)


def test_incomplete_parts_warn_and_fall_back(caplog):
    conf = subscribe.get_settings({"SUBSCRIBE_MAILCHIMP_ACCOUNT": "x"})
    with caplog.at_level(logging.WARNING):
        assert subscribe.build_form(conf) is None
    assert "must all be set" in caplog.text


def test_feed_list_accepts_both_shapes():
    context = {
        "SITEURL": "https://blog.example.org",
        "feed_links": [
            {"title": "A", "type": "application/atom+xml", "url": "https://x", "path": "f/a.xml"},
            ("B", "application/rss+xml", "https://blog.example.org/f/b.xml"),
            ("C", "application/feed+json", "https://elsewhere.example/c.json"),
        ],
    }
    rows = subscribe.feed_list(context, subscribe.get_settings({}))
    assert [(r["path"], r["url"]) for r in rows] == [
        ("f/a.xml", None),
        ("f/b.xml", None),
        (None, "https://elsewhere.example/c.json"),
    ]
