"""The newsletter email, rendered from posts of a real Pelican build, parsed with lxml."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from syndicate import email
from syndicate.manifest import Manifest
from syndicate.post import Post
from tests.sitebuild import build_site, site_settings, write_post

MERGE_TAG = re.compile(r"^\*\|[A-Z_:]+\|\*$")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A two-post site built by real Pelican; returns (settings, {slug: Post})."""
    tmp = tmp_path_factory.mktemp("emailsite")
    content = tmp / "content"
    write_post(
        content,
        "answer.md",
        """
        Title: Answer the angry ones first
        Date: 2024-03-04 09:00
        Category: Conversation
        Tags: email, complaints
        Summary: A complaint answered in public wins more loyalty than no complaint at all.
        Image: images/porch.png
        ImageAlt: A front porch with two chairs

        Every comment deserves an answer, and the **negative** ones come first.

        See [how we reply](../../../2024/02/replies/index.html)
        and [our mailbox](mailto:hi@frontporch.example).

        ![Reply chart](/images/chart.png)

        <script>alert("no")</script>
        <iframe src="https://video.example/embed/1"></iframe>

        > Keeping a customer costs less than finding one.
        """,
    )
    write_post(
        content,
        "exclusive.md",
        """
        Title: Subscribers only: the spring offer
        Date: 2024-03-05 09:00
        Category: Offers
        Newsletter: only
        EmailSubject: Your spring offer inside
        Summary: Something exclusive for the people who read every letter.

        Thank you for reading. Here is **20% off** until April.
        """,
    )
    (content / "images").mkdir(parents=True)
    overrides = {"SITEURL": "https://frontporch.example", "PATH": str(content)}
    build_site(tmp, content=content, **overrides)
    settings = dict(site_settings(tmp, content=content, **overrides))
    manifest = Manifest(Path(settings["MANIFEST_PATH"]).with_suffix(""))
    posts = {e.slug: manifest.post(e) for e in manifest.entries}
    return settings, posts


def parse(html: str):
    return lxml.html.document_fromstring(html)


def styles(doc) -> str:
    return " ".join(el.get("style", "") for el in doc.iter() if isinstance(el.tag, str))


def test_email_links_the_post_comments_site_and_profiles_with_absolute_urls(built):
    settings, posts = built
    post = posts["answer-the-angry-ones-first"]
    doc = parse(email.render(post, settings).html)
    hrefs = [a.get("href") for a in doc.iter("a")]
    for href in hrefs:
        assert href.startswith(("https://", "mailto:")) or MERGE_TAG.match(href), href
    for img in doc.iter("img"):
        assert img.get("src", "").startswith("https://frontporch.example/"), img.get("src")
        assert img.get("alt") is not None
    assert post.url in hrefs
    assert post.url.startswith("https://frontporch.example/")
    assert any(h.startswith(post.url) and h.endswith("#comments") for h in hrefs)
    assert "https://frontporch.example/" in hrefs
    for _name, url in settings["SOCIAL_PROFILES"]:
        assert url in hrefs
    # The relative link in the Markdown was resolved against the post's URL.
    assert "https://frontporch.example/2024/02/replies/index.html" in hrefs
    assert "mailto:hi@frontporch.example" in hrefs
    hero = doc.xpath("//td[contains(@class,'hero')]//img")[0]
    assert hero.get("src") == "https://frontporch.example/images/porch.png"
    assert hero.get("alt") == "A front porch with two chairs"


def test_email_has_the_unsubscribe_and_address_merge_tags(built):
    settings, posts = built
    doc = parse(email.render(posts["answer-the-angry-ones-first"], settings).html)
    hrefs = [a.get("href") for a in doc.iter("a")]
    assert "*|UNSUB|*" in hrefs and "*|UPDATE_PROFILE|*" in hrefs
    footer = doc.xpath("//td[contains(@class,'footer')]")[0].text_content()
    assert "*|LIST:ADDRESSLINE|*" in footer and "*|REWARDS|*" in footer


def test_css_is_inlined_and_only_media_queries_stay_in_style(built):
    settings, posts = built
    doc = parse(email.render(posts["answer-the-angry-ones-first"], settings).html)
    style_blocks = [s.text or "" for s in doc.iter("style")]
    assert style_blocks, "the @media rules for phones stay"
    for css in style_blocks:
        assert css.strip().startswith("@media"), css[:80]
    body_cell = doc.xpath("//td[contains(@class,'body-cell')]")[0]
    assert "font-size: 17px" in body_cell.get("style")
    paragraph = body_cell.xpath(".//p[not(@class)]")[0]
    assert "margin: 0 0 16px 0" in paragraph.get("style")
    link = body_cell.xpath(".//a[starts-with(@href,'https://frontporch.example/2024/02')]")[0]
    assert "color:" in link.get("style")
    assert doc.xpath("//body")[0].get("style")


def test_layout_is_tables_that_survive_outlook_and_gmail(built):
    settings, posts = built
    html = email.render(posts["answer-the-angry-ones-first"], settings).html
    doc = parse(html)
    tables = doc.xpath("//table")
    assert len(tables) >= 3
    assert all(t.get("role") == "presentation" for t in tables)
    container = doc.xpath("//table[contains(@class,'container')]")[0]
    assert container.get("width") == "600" and container.get("bgcolor") == "#ffffff"
    assert doc.xpath("//table[contains(@class,'wrapper')]")[0].get("bgcolor")
    all_css = styles(doc) + " ".join(s.text or "" for s in doc.iter("style"))
    assert "flex" not in all_css and "grid" not in all_css
    assert not doc.xpath("//div[contains(@class,'container')]")
    comments = [c.text for c in doc.iter(etree.Comment)]
    assert any(c.startswith("[if mso]") and 'width="600"' in c for c in comments)
    assert any("OfficeDocumentSettings" in c for c in comments)
    # Post content cannot smuggle scripts or frames into an email.
    assert not doc.xpath("//script|//iframe")
    assert "alert(" not in html


def test_preheader_carries_the_summary_hidden(built):
    settings, posts = built
    post = posts["answer-the-angry-ones-first"]
    message = email.render(post, settings)
    doc = parse(message.html)
    pre = doc.xpath("//div[contains(@class,'preheader')]")[0]
    assert pre.text_content().startswith(post.summary_text)
    assert "display: none" in pre.get("style")
    assert message.preheader == post.summary_text
    assert message.subject == "Answer the angry ones first"


def test_plain_text_part_has_the_post_and_every_link(built):
    settings, posts = built
    post = posts["answer-the-angry-ones-first"]
    text = email.render(post, settings).text
    assert "<" not in text.replace("<angry>", "")
    assert "Every comment deserves an answer" in text
    assert f"Read it on the site: {post.url}" in text
    assert (post.comments_url or f"{post.url}#comments") in text
    assert "*|UNSUB|*" in text and "*|LIST:ADDRESSLINE|*" in text
    for _name, url in settings["SOCIAL_PROFILES"]:
        assert url in text


def test_email_only_post_is_rendered_with_its_own_subject(built):
    settings, posts = built
    post = posts["subscribers-only-the-spring-offer"]
    assert post.newsletter == "only"
    message = email.render(post, settings)
    assert message.subject == "Your spring offer inside"
    doc = parse(message.html)
    assert doc.xpath("//h1")[0].text_content() == "Subscribers only: the spring offer"
    assert "20% off" in doc.text_content()
    # It has no page on the site, so nothing links to one (no 404s from the inbox).
    hrefs = [a.get("href") for a in doc.iter("a")]
    assert not [h for h in hrefs if "spring-offer" in h]
    assert "https://frontporch.example/" in hrefs
    assert "spring-offer" not in message.text and "20% off" in message.text


def test_titles_are_escaped_and_content_links_made_absolute(built):
    settings, _ = built
    post = Post(
        id="tag:x,2024:/esc",
        slug="esc",
        title="Fish & chips <b>now</b>",
        url="https://frontporch.example/2024/01/esc/",
        date=datetime(2024, 1, 1, tzinfo=UTC),
        content_html=(
            '<p><a href="../other/">x</a> <img src="pic.png" alt="p" onerror="x()"></p>'
            '<p><img src="/wide.png" alt="wide" width="1600" height="900"></p>'
        ),
    )
    doc = parse(email.render(post, settings).html)
    assert doc.xpath("//h1/a")[0].text_content() == "Fish & chips <b>now</b>"
    assert not doc.xpath("//h1//b")
    body = doc.xpath("//td[contains(@class,'body-cell')]")[0]
    assert body.xpath(".//a[.='x']/@href") == ["https://frontporch.example/2024/01/other/"]
    img = body.xpath(".//img")[0]
    assert img.get("src") == "https://frontporch.example/2024/01/esc/pic.png"
    assert img.get("onerror") is None
    # Outlook ignores max-width: wide images get a width the 536 px column can hold.
    wide = body.xpath(".//img[@alt='wide']")[0]
    assert wide.get("width") == "536" and wide.get("height") is None


def test_digest_lists_every_post_newest_first(built):
    settings, posts = built
    message = email.render_digest(list(posts.values()), settings)
    doc = parse(message.html)
    titles = [h.text_content() for h in doc.xpath("//td[contains(@class,'body-cell')]//h2")]
    assert titles == ["Subscribers only: the spring offer", "Answer the angry ones first"]
    assert message.subject.endswith("and 1 more")
    hrefs = [a.get("href") for a in doc.iter("a")]
    assert "*|UNSUB|*" in hrefs
    public = posts["answer-the-angry-ones-first"]
    assert public.url in hrefs and public.url in message.text
    assert not [h for h in hrefs if "spring-offer" in h]


def test_preheader_is_cut_at_a_word():
    text = "word " * 60
    cut = email.preheader(text, 40)
    assert len(cut) <= 40 and cut.endswith("…") and not cut[:-1].endswith(" ")
    assert email.preheader("short", 40) == "short"


def test_bad_width_names_the_valid_range():
    with pytest.raises(ValueError, match="between 320 and 900"):
        email.get_settings({"EMAIL_WIDTH": 2000})


def test_render_time_is_measured(built):
    settings, posts = built
    seconds = email.time_render(posts["answer-the-angry-ones-first"], settings, repeat=5)
    assert 0 < seconds < 0.5
