"""Replies fetched from social networks, rendered under the post: threaded and harmless."""

import json

import pytest
from lxml import html as lxml_html

from plugins.replies.replies import sanitize, thread
from tests.browser import launch, serve_directory
from tests.sitebuild import build_site, write_post

HOSTILE = [
    "<p>hi<script>window.__pwned = 1; alert(1)</script></p>",
    '<p><img src=x onerror="window.__pwned=2;alert(2)">image</p>',
    '<p><a href="javascript:window.__pwned=3">click me</a></p>',
    '<p style="background:url(javascript:alert(4))" onclick="alert(5)">styled</p>',
    "<style>body{display:none}</style><p>css</p>",
    '<svg onload="window.__pwned=6"><script>alert(6)</script></svg><p>svg</p>',
    '<p>broken <a href="https://ok.example/" onmouseover="alert(7)">link<p><b>unclosed',
    '<iframe src="https://evil.example/"></iframe><p>frame</p>',
    '<p><a href="  JaVaScRiPt:alert(8)">spaced</a></p>',
    '<math><mi xlink:href="javascript:alert(9)">m</mi></math><p>math</p>',
    '<p><span class="h-card"><a class="u-url mention evil" href="https://m.example/@a">'
    "@<span>a</span></a></span> hello</p>",
]


def reply(n, parent=None, html="<p>text</p>", network="mastodon", **author):
    return {
        "id": f"{network}:{n}",
        "network": network,
        "parent": f"{network}:{parent}" if parent else None,
        "url": f"https://social.example/@someone/{n}",
        "html": html,
        "date": f"2026-11-2{n % 10}T10:00:00+00:00",
        "author": {
            "name": author.get("name", f"Reader {n}"),
            "handle": f"@r{n}@social.example",
            "url": author.get("url", f"https://social.example/@r{n}"),
            "avatar": "https://social.example/a.png",
        },
    }


@pytest.mark.parametrize("payload", HOSTILE)
def test_sanitize_keeps_only_links_paragraphs_breaks_and_mentions(payload):
    cleaned = sanitize(payload)
    tree = lxml_html.fragment_fromstring(cleaned or "<p></p>", create_parent="div")
    tags = {el.tag for el in tree.iter()} - {"div"}
    assert tags <= {"a", "p", "br", "span"}
    for el in tree.iter():
        for name, value in el.attrib.items():
            assert not name.startswith("on")
            assert name in {"href", "class", "rel"}
            assert "javascript" not in value.lower()
        if el.tag == "a" and el.get("href"):
            assert el.get("href").startswith(("http://", "https://"))
            assert el.get("rel") == "nofollow ugc noopener"
    assert "script" not in cleaned.lower() and "alert" not in cleaned


def test_mentions_keep_their_classes():
    cleaned = sanitize(HOSTILE[-1])
    tree = lxml_html.fragment_fromstring(cleaned, create_parent="div")
    link = tree.xpath("//a")[0]
    assert set(link.get("class").split()) == {"u-url", "mention"}
    assert tree.xpath("//span[@class='h-card']")


def test_threading_nests_orders_and_never_loses_a_reply():
    items = [
        reply(3, parent=1),
        reply(1),
        reply(2),
        reply(4, parent=3),
        reply(5, parent=4),
        reply(6, parent=99),
        reply(7, parent=8),
        reply(8, parent=7),
        reply(1),
    ]
    roots = thread(items, max_depth=3)
    seen = []

    def walk(nodes, depth):
        for node in nodes:
            seen.append(node["id"])
            assert node["depth"] == depth
            assert depth <= 3
            walk(node["children"], depth + 1)

    walk(roots, 0)
    assert sorted(seen) == sorted({r["id"] for r in items})  # duplicates merged, none lost
    first = next(r for r in roots if r["id"] == "mastodon:1")
    assert [c["id"] for c in first["children"]] == ["mastodon:3"]
    # depth limit: reply 5 (4 levels down) is listed flat under reply 4's level
    assert first["children"][0]["children"][0]["id"] == "mastodon:4"
    assert "mastodon:6" in [r["id"] for r in roots]  # unknown parent: top level


@pytest.fixture
def replies_site(tmp_path):
    content = tmp_path / "content"
    write_post(
        content,
        "talk.md",
        """
        Title: Let's talk
        Date: 2026-11-20 09:00
        Category: Conversation
        Tags: replies
        Slug: lets-talk
        ID: tag:test.example,2026-11-20:lets-talk

        Tell me what you think.
    """,
    )
    data = tmp_path / "data"
    (data / "replies").mkdir(parents=True)
    replies = [reply(i + 1, html=h) for i, h in enumerate(HOSTILE)]
    replies.append(reply(40, parent=1, html="<p>A threaded answer</p>"))
    replies.append(
        reply(41, network="bluesky", html="<p>From Bluesky</p>", url="javascript:alert(10)")
    )
    (data / "replies" / "lets-talk.json").write_text(
        json.dumps(
            {
                "post_id": "tag:test.example,2026-11-20:lets-talk",
                "threads": {
                    "mastodon": "https://social.example/@me/100",
                    "bluesky": "https://bsky.app/profile/me.example/post/3abc",
                    "x": "javascript:alert(11)",
                },
                "replies": replies,
            }
        ),
        encoding="utf-8",
    )
    out = build_site(tmp_path, content=content, DATA_PATH=str(data))
    return out, out / "2026" / "11" / "lets-talk" / "index.html", len(replies)


def test_built_page_shows_threaded_replies_and_reply_links(replies_site):
    _, page, total = replies_site
    doc = lxml_html.parse(str(page)).getroot()
    section = doc.xpath("//section[contains(@class,'replies')]")[0]
    assert f"{total} replies" in section.xpath("string(.//h2)")
    links = {
        a.text_content().strip(): a.get("href")
        for a in section.xpath(".//a[@class and contains(@class,'reply-on ')]")
    }
    assert links == {
        "Reply on Bluesky": "https://bsky.app/profile/me.example/post/3abc",
        "Reply on Mastodon": "https://social.example/@me/100",
    }
    nested = section.xpath(".//li[.//text()[contains(., 'Reader 1')]]//ol/li")
    assert any("A threaded answer" in li.text_content() for li in nested)
    assert not section.xpath(".//script | .//style | .//svg | .//iframe | .//img")
    for el in section.iter():
        for name, value in el.attrib.items():
            assert not name.startswith("on")
            assert not value.strip().lower().startswith("javascript:")
    for a in section.xpath(".//div[@class='reply-body']//a"):
        assert a.get("rel") == "nofollow ugc noopener"


@pytest.mark.browser
def test_hostile_replies_execute_nothing_in_chromium(replies_site):
    from playwright.sync_api import sync_playwright

    out, page_path, _ = replies_site
    dialogs, external = [], []

    def only_local(route):
        if "127.0.0.1" in route.request.url:
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    with serve_directory(out) as base, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.route("**/*", only_local)
        page.goto(f"{base}/{page_path.relative_to(out).as_posix()}", wait_until="load")
        for link in page.query_selector_all(".replies a"):
            link.hover()
        page.wait_for_timeout(300)
        pwned = page.evaluate("() => window.__pwned")
        visible = page.is_visible("text=A threaded answer")
        browser.close()
    assert dialogs == []
    assert pwned is None
    assert visible
    # nothing from the hostile HTML was fetched (no frames, images or avatars)
    assert not [u for u in external if "evil.example" in u or "social.example" in u]
