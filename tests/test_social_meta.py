"""social_meta: Open Graph, Twitter card, fediverse, canonical and JSON-LD in real builds."""

from __future__ import annotations

import json

import pytest

from plugins.social_meta import social_meta
from tests.engagement_site import HOSTILE_TITLE, PLAIN_TITLE, article_file, build, parse

SITEURL = "https://blog.example.org"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build(tmp_path_factory.mktemp("meta"), SITEURL=SITEURL)


def props(doc) -> dict[str, list[str]]:
    """All meta values by property or name, in document order."""
    found: dict[str, list[str]] = {}
    for meta in doc.xpath("//head/meta[@property or @name]"):
        key = meta.get("property") or meta.get("name")
        found.setdefault(key, []).append(meta.get("content"))
    return found


def jsonld(doc) -> dict:
    (script,) = doc.xpath('//script[@type="application/ld+json"]')
    return json.loads(script.text)


def url_of(output, page) -> str:
    return f"{SITEURL}/{page.relative_to(output).as_posix()}"


def test_article_open_graph_and_twitter(site):
    page = article_file(site, "say-hi")
    doc = parse(page)
    meta = props(doc)
    url = url_of(site, page)
    assert meta["og:type"] == ["article"]
    assert meta["og:title"] == [HOSTILE_TITLE]
    assert meta["twitter:title"] == [HOSTILE_TITLE]
    assert meta["og:url"] == [url]
    assert meta["og:site_name"] == ["Front Porch Notes"]
    # the summary is Markdown (smarty quotes); tags are dropped, entities decoded
    assert meta["og:description"] == ["Quotes “inside” & bold summary."]
    assert meta["og:image"] == [f"{SITEURL}/images/hostile-card.png"]
    assert meta["og:image:alt"] == ['A "card" & more']
    assert meta["twitter:card"] == ["summary_large_image"]
    assert meta["twitter:site"] == ["@frontporch"]
    assert meta["fediverse:creator"] == ["@frontporch@mastodon.social"]
    assert meta["article:published_time"] == ["2024-03-05T09:30:00+00:00"]
    assert meta["article:modified_time"] == ["2024-03-06T12:00:00+00:00"]
    assert sorted(meta["article:tag"]) == ["customers", "email"]
    assert doc.xpath('//head/link[@rel="canonical"]/@href') == [url]


def test_hostile_values_are_escaped_in_the_markup(site):
    page = article_file(site, "say-hi")
    raw = page.read_text(encoding="utf-8")
    head = raw[: raw.index("</head>")]
    # the only <script elements in <head> are the JSON-LD block (and the theme's own)
    assert "<script>alert" not in head
    assert 'content="Say &#34;hi&#34; &amp; &#39;bye&#39; #1 &lt;script&gt;' in head


def test_json_ld_blog_posting_is_script_safe(site):
    page = article_file(site, "say-hi")
    doc = parse(page)
    data = jsonld(doc)
    assert data["@type"] == "BlogPosting"
    assert data["@context"] == "https://schema.org"
    assert data["headline"] == HOSTILE_TITLE
    assert data["url"] == url_of(site, page)
    assert data["mainEntityOfPage"]["@id"] == url_of(site, page)
    assert data["datePublished"] == "2024-03-05T09:30:00+00:00"
    assert data["dateModified"] == "2024-03-06T12:00:00+00:00"
    assert data["author"] == {"@type": "Person", "name": "Maren Holt"}
    assert data["image"] == f"{SITEURL}/images/hostile-card.png"
    (script,) = doc.xpath('//script[@type="application/ld+json"]')
    assert not any(c in script.text for c in "<>&")
    assert "\\u003c/script\\u003e" in script.text


def test_default_image_when_the_post_has_none(site):
    meta = props(parse(article_file(site, "answering-complaints")))
    assert meta["og:title"] == [PLAIN_TITLE]
    assert meta["og:image"] == [f"{SITEURL}/images/default-card.png"]
    assert meta["twitter:card"] == ["summary_large_image"]
    assert "article:modified_time" not in meta


def test_summary_card_without_any_image(tmp_path):
    output = build(
        tmp_path,
        SITEURL=SITEURL,
        SOCIAL_META_DEFAULT_IMAGE="",
        SOCIAL_META_TWITTER_SITE="",
        SOCIAL_META_FEDIVERSE_CREATOR="",
    )
    doc = parse(article_file(output, "answering-complaints"))
    meta = props(doc)
    assert meta["twitter:card"] == ["summary"]
    assert "og:image" not in meta and "twitter:site" not in meta
    assert "fediverse:creator" not in meta
    assert "image" not in jsonld(doc)


def test_pages_are_websites(site):
    page = site / "about-this-site" / "index.html"
    doc = parse(page)
    meta = props(doc)
    assert meta["og:type"] == ["website"]
    assert meta["og:title"] == ["About this site"]
    assert meta["og:url"] == [f"{SITEURL}/about-this-site/index.html"]
    assert meta["og:description"] == ["Who writes here."]
    assert jsonld(doc)["@type"] == "WebPage"
    assert "article:published_time" not in meta


def test_index_has_site_level_meta(site):
    doc = parse(site / "index.html")
    meta = props(doc)
    assert meta["og:type"] == ["website"]
    assert meta["og:title"] == ["Front Porch Notes"]
    assert meta["og:url"] == [f"{SITEURL}/index.html"]
    assert doc.xpath('//head/link[@rel="canonical"]/@href') == [f"{SITEURL}/index.html"]
    data = jsonld(doc)
    assert data["@type"] == "WebSite" and data["url"] == SITEURL
    # a tag page points at itself, not at the index
    tag = parse(site / "tag" / "email" / "index.html")
    assert tag.xpath('//head/link[@rel="canonical"]/@href') == [f"{SITEURL}/tag/email/index.html"]


def test_helpers():
    assert social_meta.absolute("https://a.example/", "{static}/images/x.png") == (
        "https://a.example/images/x.png"
    )
    assert social_meta.absolute("https://a.example", "https://cdn.example/x.png") == (
        "https://cdn.example/x.png"
    )
    assert social_meta.plain_text("<p>Fish &amp; <em>chips</em></p>\n<p>too</p>") == (
        "Fish & chips too"
    )
    safe = social_meta.script_safe_json({"t": "</script><!-- & \u2028"})
    assert "<" not in safe and ">" not in safe and "&" not in safe
    assert json.loads(safe) == {"t": "</script><!-- & \u2028"}
