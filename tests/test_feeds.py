"""feeds: every feed parses back (feedparser, lxml) with the right entries, IDs and dates."""

from __future__ import annotations

import gc
import json
import sys
import weakref
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.html
import pytest
from lxml import etree

from tests.sitebuild import ROOT, build_site, write_post

sys.path.insert(0, str(ROOT / "plugins"))

from feeds import feeds

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_NS = "{http://purl.org/rss/1.0/modules/content/}"
SITEURL = "https://porch.example.org"
HOSTILE = "Quotes \"here\" & <script>alert('x')</script> café #1 🎉"
AUDIO_BYTES = b"ID3" + b"\0" * 997

# (file, title, date) of the public posts, newest first.
PUBLIC = [
    ("audio.md", "Episode one", "2011-09-01T18:00:00+01:00"),
    ("hostile.md", HOSTILE, "2011-02-01T12:00:00+00:00"),
    ("links.md", "Links inside", "2010-06-01T08:00:00+01:00"),
    ("first.md", "The first post", "2009-04-14T09:30:00+01:00"),
]


def make_content(root: Path) -> Path:
    content = root / "content"
    (content / "images").mkdir(parents=True)
    (content / "images" / "porch.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 92)
    (content / "extra").mkdir()
    (content / "extra" / "episode-1.mp3").write_bytes(AUDIO_BYTES)
    write_post(
        content,
        "first.md",
        """
        Title: The first post
        Date: 2009-04-14 09:30
        Category: Conversation
        Tags: customers, comments

        The very first post.
        """,
    )
    write_post(
        content,
        "links.md",
        """
        Title: Links inside
        Date: 2010-06-01 08:00
        Modified: 2010-07-02 10:00
        Category: Conversation
        Tags: customers
        Image: images/porch.png

        See [the first post]({filename}first.md), [a relative page](../other/),
        [an anchor](#part-2), [mail](mailto:hi@porch.example.org) and this picture:

        ![The porch]({static}/images/porch.png)

        <img src="../../../images/porch.png" alt="again"
          srcset="../../../images/porch.png 1x, /images/porch.png 2x">
        """,
    )
    write_post(
        content,
        "hostile.md",
        f"""
        Title: {HOSTILE}
        Date: 2011-02-01 12:00
        Category: Email
        Tags: email

        Body with <b>bold</b> text.
        """,
    )
    write_post(
        content,
        "audio.md",
        """
        Title: Episode one
        Date: 2011-09-01 18:00
        Category: Email
        Tags: email, customers
        Audio: extra/episode-1.mp3
        Summary: Listen to the first episode.

        Show notes.
        """,
    )
    write_post(
        content,
        "draft.md",
        """
        Title: A draft
        Date: 2011-10-01 10:00
        Status: draft
        Tags: email

        Not yet.
        """,
    )
    write_post(
        content,
        "members.md",
        """
        Title: Subscribers only
        Date: 2011-11-01 10:00
        Newsletter: only
        Tags: email

        For the list.
        """,
    )
    return content


def _build(root: Path, name: str, **settings) -> Path:
    content = root / "content"
    if not content.exists():
        make_content(root)
    data = root / "data"
    data.mkdir(exist_ok=True)
    overrides = {"SITEURL": SITEURL, "DATA_PATH": str(data), **settings}
    return build_site(root / name, content=content, **overrides)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("feeds"), "site")


def _atom(path: Path):
    return etree.parse(str(path)).getroot()


def _entries(path: Path):
    return _atom(path).findall(f"{ATOM}entry")


def test_every_feed_file_parses_without_errors(site):
    feeds = site / "feeds"
    files = sorted(p.relative_to(feeds).as_posix() for p in feeds.rglob("*") if p.is_file())
    assert files == [
        "atom.xml",
        "category/conversation.atom.xml",
        "category/email.atom.xml",
        "feed.json",
        "index.html",
        "rss.xml",
        "tag/comments.atom.xml",
        "tag/customers.atom.xml",
        "tag/email.atom.xml",
    ]
    for path in feeds.rglob("*.xml"):
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert parsed.entries, path
        etree.parse(str(path))  # well-formed XML
    assert feedparser.parse((feeds / "rss.xml").read_bytes()).version == "rss20"
    assert feedparser.parse((feeds / "atom.xml").read_bytes()).version == "atom10"


def test_site_feed_has_every_public_post_newest_first_with_stable_ids(site):
    registry = json.loads((site.parent.parent / "data" / "post-ids.json").read_text())
    parsed = feedparser.parse((site / "feeds" / "atom.xml").read_bytes())
    assert [e.title for e in parsed.entries] == [title for _, title, _ in PUBLIC]
    assert [e.id for e in parsed.entries] == [registry[f"posts/{name}"] for name, _, _ in PUBLIC]
    assert all(e.id.startswith("tag:frontporch.example,") for e in parsed.entries)
    # Drafts and email-only posts are in no feed.
    for path in (site / "feeds").rglob("*.xml"):
        titles = {e.title for e in feedparser.parse(path.read_bytes()).entries}
        assert not titles & {"A draft", "Subscribers only"}, path


def test_dates_carry_their_timezone(site):
    root = _atom(site / "feeds" / "atom.xml")
    published = [
        datetime.fromisoformat(e.findtext(f"{ATOM}published"))
        for e in _entries(site / "feeds" / "atom.xml")
    ]
    assert [d.isoformat() for d in published] == [date for _, _, date in PUBLIC]
    for text in [e.text for e in root.iter(f"{ATOM}updated")]:
        assert datetime.fromisoformat(text).tzinfo is not None
    # `updated` of an edited post is its Modified date; the feed's is the newest of all.
    links = next(
        e
        for e in _entries(site / "feeds" / "atom.xml")
        if e.findtext(f"{ATOM}title") == "Links inside"
    )
    assert links.findtext(f"{ATOM}updated") == "2010-07-02T10:00:00+01:00"
    assert root.findtext(f"{ATOM}updated") == "2011-09-01T18:00:00+01:00"
    rss = etree.parse(str(site / "feeds" / "rss.xml")).getroot()
    dates = [parsedate_to_datetime(d.text) for d in rss.iter("pubDate")]
    assert [d.isoformat() for d in dates] == [date for _, _, date in PUBLIC]


def test_rss_and_json_feed_say_the_same_as_atom(site):
    atom = feedparser.parse((site / "feeds" / "atom.xml").read_bytes())
    rss_root = etree.parse(str(site / "feeds" / "rss.xml")).getroot()
    guids = rss_root.findall("channel/item/guid")
    assert [g.text for g in guids] == [e.id for e in atom.entries]
    assert {g.get("isPermaLink") for g in guids} == {"false"}
    doc = json.loads((site / "feeds" / "feed.json").read_text())
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["feed_url"] == f"{SITEURL}/feeds/feed.json"
    assert [i["id"] for i in doc["items"]] == [e.id for e in atom.entries]
    assert [i["title"] for i in doc["items"]] == [e.title for e in atom.entries]
    assert [i["url"] for i in doc["items"]] == [e.link for e in atom.entries]
    for item in doc["items"]:
        assert datetime.fromisoformat(item["date_published"]).tzinfo is not None
        assert item["content_html"] and item["authors"][0]["name"] == "Maren Holt"


def test_hostile_title_survives_every_format(site):
    atom = feedparser.parse((site / "feeds" / "atom.xml").read_bytes())
    rss = feedparser.parse((site / "feeds" / "rss.xml").read_bytes())
    doc = json.loads((site / "feeds" / "feed.json").read_text())
    assert atom.entries[1].title == HOSTILE
    assert rss.entries[1].title == HOSTILE
    assert doc["items"][1]["title"] == HOSTILE


def test_links_and_images_inside_content_are_absolute(site):
    # Read the raw Atom (feedparser's sanitiser would drop srcset).
    entry = next(
        e
        for e in _entries(site / "feeds" / "atom.xml")
        if e.findtext(f"{ATOM}title") == "Links inside"
    )
    content = entry.findtext(f"{ATOM}content")
    fragment = lxml.html.fragment_fromstring(content, create_parent="div")
    urls = {
        (el.tag, attr): el.get(attr)
        for el in fragment.iter()
        for attr in ("href", "src")
        if el.get(attr)
    }
    hrefs = [el.get("href") for el in fragment.iter("a")]
    srcs = [el.get("src") for el in fragment.iter("img")]
    assert urls and all(urlsplit(u).scheme in ("https", "mailto") for u in urls.values())
    page = f"{SITEURL}/2010/06/links-inside/index.html"
    assert hrefs == [
        f"{SITEURL}/2009/04/the-first-post/index.html",
        urljoin(page, "../other/"),
        page + "#part-2",
        "mailto:hi@porch.example.org",
    ]
    assert srcs == [f"{SITEURL}/images/porch.png"] * 2
    srcset = fragment.xpath("//img[@srcset]")[0].get("srcset")
    assert srcset == f"{SITEURL}/images/porch.png 1x, https://porch.example.org/images/porch.png 2x"


def test_enclosures_for_audio_and_image(site):
    atom_entries = {e.findtext(f"{ATOM}title"): e for e in _entries(site / "feeds" / "atom.xml")}
    audio = atom_entries["Episode one"].findall(f"{ATOM}link[@rel='enclosure']")
    assert [(a.get("href"), a.get("type"), a.get("length")) for a in audio] == [
        (f"{SITEURL}/extra/episode-1.mp3", "audio/mpeg", str(len(AUDIO_BYTES)))
    ]
    image = atom_entries["Links inside"].findall(f"{ATOM}link[@rel='enclosure']")
    assert [(i.get("href"), i.get("type")) for i in image] == [
        (f"{SITEURL}/images/porch.png", "image/png")
    ]
    # Exactly one alternate link per entry (the enclosure is not a second one).
    for entry in atom_entries.values():
        assert len(entry.findall(f"{ATOM}link[@rel='alternate']")) == 1
    rss = feedparser.parse((site / "feeds" / "rss.xml").read_bytes())
    episode = next(e for e in rss.entries if e.title == "Episode one")
    assert episode.enclosures[0]["href"] == f"{SITEURL}/extra/episode-1.mp3"
    assert episode.enclosures[0]["length"] == str(len(AUDIO_BYTES))
    doc = json.loads((site / "feeds" / "feed.json").read_text())
    item = next(i for i in doc["items"] if i["title"] == "Episode one")
    assert item["attachments"] == [
        {
            "url": f"{SITEURL}/extra/episode-1.mp3",
            "mime_type": "audio/mpeg",
            "size_in_bytes": len(AUDIO_BYTES),
        }
    ]


def test_category_and_tag_feeds_hold_only_their_posts(site):
    email = feedparser.parse((site / "feeds" / "category" / "email.atom.xml").read_bytes())
    assert [e.title for e in email.entries] == ["Episode one", HOSTILE]
    customers = feedparser.parse((site / "feeds" / "tag" / "customers.atom.xml").read_bytes())
    assert [e.title for e in customers.entries] == ["Episode one", "Links inside", "The first post"]
    assert customers.feed.title == "Front Porch Notes · customers"
    assert customers.feed.link == f"{SITEURL}/tag/customers/index.html"


def test_every_page_links_its_feeds_for_discovery(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) > 5
    for page in pages:
        doc = lxml.html.parse(str(page)).getroot()
        links = doc.xpath("//head/link[@rel='alternate']")
        types = {link.get("type") for link in links}
        assert {"application/atom+xml", "application/rss+xml", "application/feed+json"} <= types, (
            page
        )
        for link in links:  # every href resolves to a file that was written
            target = (page.parent / link.get("href")).resolve()
            assert target.is_file(), (page, link.get("href"))
    tag_page = lxml.html.parse(str(site / "tag" / "email" / "index.html")).getroot()
    hrefs = tag_page.xpath("//head/link[@rel='alternate']/@href")
    assert any(h.endswith("feeds/tag/email.atom.xml") for h in hrefs)


def test_feeds_page_lists_every_feed(site):
    page = site / "feeds" / "index.html"
    doc = lxml.html.parse(str(page)).getroot()
    listed = {
        (page.parent / href).resolve()
        for href in doc.xpath("//main//a[@class='feed-list__link']/@href")
    }
    written = {p.resolve() for p in (site / "feeds").rglob("*") if p.suffix in (".xml", ".json")}
    assert listed == written
    assert doc.xpath("//main//h1")[0].text_content() == "Follow by feed"


def test_summary_only_and_item_limit(tmp_path):
    out = _build(tmp_path, "short", FEEDS_SUMMARY_ONLY=True, FEEDS_MAX_ITEMS=2)
    root = _atom(out / "feeds" / "atom.xml")
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Episode one", HOSTILE]
    assert root.findall(f".//{ATOM}content") == []
    assert entries[0].findtext(f"{ATOM}summary") == "<p>Listen to the first episode.</p>"
    rss = etree.parse(str(out / "feeds" / "rss.xml")).getroot()
    assert rss.findall(f".//{CONTENT_NS}encoded") == []
    customers = _entries(out / "feeds" / "tag" / "customers.atom.xml")
    assert len(customers) == 2
    doc = json.loads((out / "feeds" / "feed.json").read_text())
    assert len(doc["items"]) == 2
    assert doc["items"][0]["content_html"] == "<p>Listen to the first episode.</p>"


def test_bad_item_limit_fails_the_build(tmp_path):
    with pytest.raises(ValueError, match="FEEDS_MAX_ITEMS must be a whole number"):
        _build(tmp_path, "bad", FEEDS_MAX_ITEMS="twenty")


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("", ""),
        ("plain text & more", "plain text &amp; more"),
        (
            '<p>a <a href="b/">b</a></p><!-- note -->',
            '<p>a <a href="https://x.example/p/b/">b</a></p><!-- note -->',
        ),
        (
            '<p>unclosed <a href="?q=1">q',
            '<p>unclosed <a href="https://x.example/p/index.html?q=1">q</a></p>',
        ),
        (
            '<video poster="p.jpg" src="//cdn.example/v.mp4"></video>',
            '<video poster="https://x.example/p/p.jpg" src="https://cdn.example/v.mp4"></video>',
        ),
        (
            '<a href="HTTPS://Other.example/">o</a> <a href="tel:+44">t</a>',
            '<a href="HTTPS://Other.example/">o</a> <a href="tel:+44">t</a>',
        ),
    ],
)
def test_absolutize_html_edge_cases(fragment, expected):
    from plugins.feeds.feeds import absolutize_html

    assert absolutize_html(fragment, "https://x.example/p/index.html") == expected


def test_rebuild_rewrites_only_the_feeds_whose_posts_changed(tmp_path):
    content = make_content(tmp_path)
    out = _build(tmp_path, "out")
    feeds = [*sorted((out / "feeds").rglob("*.xml")), out / "feeds" / "feed.json"]
    stamps = {p: p.stat().st_mtime_ns for p in feeds}

    # Nothing changed: no feed is written again.
    _build(tmp_path, "out")
    assert {p: p.stat().st_mtime_ns for p in feeds} == stamps

    # A new paragraph in a post tagged only "customers": the site feeds, its category
    # feed and its tag feed change; the "comments" and "audio" feeds stay as they were.
    post = content / "posts" / "links.md"
    post.write_text(post.read_text() + "\nA paragraph added later.\n")
    _build(tmp_path, "out")
    changed = {str(p.relative_to(out)) for p in feeds if p.stat().st_mtime_ns != stamps[p]}
    assert changed == {
        "feeds/atom.xml",
        "feeds/rss.xml",
        "feeds/feed.json",
        "feeds/category/conversation.atom.xml",
        "feeds/tag/customers.atom.xml",
    }
    assert "A paragraph added later." in (out / "feeds" / "tag" / "customers.atom.xml").read_text()

    # A deleted feed file is written again; a new setting rewrites every feed.
    (out / "feeds" / "tag" / "comments.atom.xml").unlink()
    _build(tmp_path, "out")
    assert (out / "feeds" / "tag" / "comments.atom.xml").exists()
    stamps = {p: p.stat().st_mtime_ns for p in feeds}
    _build(tmp_path, "out", SITENAME="A new name")
    assert all(p.stat().st_mtime_ns != stamps[p] for p in feeds)
    assert "A new name" in (out / "feeds" / "tag" / "comments.atom.xml").read_text()

    # The same tree as a build with the cache switched off.
    clean = _build(tmp_path, "clean", SITENAME="A new name", FEEDS_CACHE=False)
    for p in feeds:
        assert p.read_bytes() == (clean / p.relative_to(out)).read_bytes(), p


def test_entries_are_made_once_and_let_go_after_their_last_feed(tmp_path, monkeypatch):
    """Feeds are written one at a time: a post's entry (its absolutized body) is made
    once however many feeds list it, and is not kept after the last of them."""
    made: dict[str, weakref.ref] = {}
    seen_feeds = []

    class Entry(dict):  # a dict that can be watched through a weak reference
        pass

    real_entry_data, real_iter_feeds = feeds.entry_data, feeds.iter_feeds

    def entry_data(article, settings, conf):
        assert article.source_path not in made, f"{article.source_path}: entry made twice"
        data = Entry(real_entry_data(article, settings, conf))
        made[article.source_path] = weakref.ref(data)
        return data

    def iter_feeds(articles, settings, groups=None):
        groups = list(feeds.feed_groups(articles, settings) if groups is None else groups)
        last = {}
        for index, group in enumerate(groups):
            for article in group[4]:
                last[article.source_path] = index
        for index, feed in enumerate(real_iter_feeds(articles, settings, groups)):
            # the writer still holds the previous feed; anything older must be gone
            gc.collect()
            done = [path for path, final in last.items() if final <= index - 2]
            assert [path for path in done if made[path]() is not None] == []
            seen_feeds.append((feed.path, len(done)))
            yield feed

    content = make_content(tmp_path)
    write_post(  # listed by the site feed and its category feed only, both early
        content,
        "untagged.md",
        """
        Title: No tags at all
        Date: 2008-01-01 10:00
        Category: Announcements

        Nothing to tag.
        """,
    )
    monkeypatch.setattr(feeds, "entry_data", entry_data)
    monkeypatch.setattr(feeds, "iter_feeds", iter_feeds)
    out = _build(tmp_path, "out", FEEDS_CACHE=False)
    public = [name for name, _, _ in PUBLIC] + ["untagged.md"]
    assert sorted(Path(p).name for p in made) == sorted(public)
    assert len(seen_feeds) == len(list((out / "feeds").rglob("*.atom.xml"))) + 1
    assert seen_feeds[-1][1] > 0  # by the last feed, some entries had been let go
