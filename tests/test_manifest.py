"""The manifest plugin on a real build with every plugin: contents, email-only posts, reuse."""

from __future__ import annotations

import json
import textwrap
from types import SimpleNamespace

import pytest
from lxml import etree, html

from plugins.manifest.manifest import DEFAULTS, _write_atomic, manifest_dir
from syndicate.manifest import Manifest, post_from_dict
from syndicate.markup import absolute_html_and_text
from tests.sitebuild import build_site
from tests.syndicate_fixtures import EXTRA_POSTS, POSTS, SITEURL, build_manifest, write_content

ONLY_SLUG = "subscribers-only-the-spring-offer"
ONLY_TITLE = "Subscribers only: the spring offer"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("manifest-site")
    manifest = build_manifest(tmp, {**POSTS, **EXTRA_POSTS}, full=True)
    return tmp, manifest


def test_manifest_lists_every_published_post_outside_output(built):
    tmp, folder = built
    assert not folder.is_relative_to(tmp / "output")
    m = Manifest(folder)
    assert m.siteurl == SITEURL
    assert len(m.entries) == 8
    assert [e.date for e in m.entries] == sorted(e.date for e in m.entries)
    assert len({e.id for e in m.entries}) == 8
    only = m.by_slug(ONLY_SLUG)
    assert only.newsletter == "only"
    assert m.by_slug("a-quiet-note").channels == ()
    assert m.by_slug("only-on-the-echo-network").channels == ("echo",)
    assert m.by_slug("post-number-1-talking-with-customers").channels is None


def test_post_record_has_absolute_content_text_and_metadata(built):
    _, folder = built
    m = Manifest(folder)
    post = m.post(m.by_slug("post-number-3-talking-with-customers"))
    assert post.url.startswith(SITEURL + "/2024/03/")
    assert post.title == "Post number 3: talking with customers"
    assert post.tags == ("customers", "email") and post.category == "Conversation"
    assert post.image == f"{SITEURL}/images/card-3.png"
    assert post.date.tzinfo is not None
    assert post.summary_text == "Summary of post 3, about answering every comment."
    assert post.comments_url == post.url + "#comments"
    assert post.content_hash.startswith("sha256:")
    doc = html.fragment_fromstring(post.content_html, create_parent="div")
    links = [el.get("href") for el in doc.iter("a")] + [el.get("src") for el in doc.iter("img")]
    assert links and all(u.startswith("https://") for u in links)
    assert f"{SITEURL}/about/" in links
    assert "<" not in post.text and f"the about page ({SITEURL}/about/)" in post.text
    # the build stored the body as Pelican made it; the links were made absolute on opening
    raw = json.loads((folder / "posts" / m.by_slug(post.slug).file).read_text())
    assert 'href="/about/"' in raw["content_html"] and "text" not in raw
    assert raw["title_html"] == post.title


def test_post_from_dict_parses_title_summary_and_body_when_opened():
    raw = {
        "id": "tag:site.example,2024-01-02:q-and-a",
        "slug": "q-and-a",
        "title_html": "Q&amp;A: <em>what</em> readers ask",
        "url": "https://site.example/2024/01/q-and-a/",
        "date": "2024-01-02T09:00:00+00:00",
        "summary_html": "<p>See <a href='../faq/'>the FAQ</a>.</p>",
        "content_html": "<p><img src='/i.png' alt='pic'> Body &amp; more</p>",
    }
    post = post_from_dict(raw)
    assert post.title == "Q&A: what readers ask"
    faq = "https://site.example/2024/01/faq/"
    assert post.summary_html == f'<p>See <a href="{faq}">the FAQ</a>.</p>'
    assert post.summary_text == "See the FAQ (https://site.example/2024/01/faq/)."
    assert 'src="https://site.example/i.png"' in post.content_html
    assert post.text == "[pic] Body & more"


def test_email_only_post_is_nowhere_on_the_public_site(built):
    tmp, folder = built
    output = tmp / "output"
    files = [p for p in output.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files)
    for path in files:
        if path.suffix == ".html":
            doc = html.parse(str(path))
            hrefs = [a.get("href") or "" for a in doc.iter("a", "link")]
            assert not [h for h in hrefs if ONLY_SLUG in h], path
            assert ONLY_TITLE not in doc.getroot().text_content(), path
        elif path.suffix in (".xml", ".atom", ".rss"):
            tree = etree.parse(str(path))
            assert ONLY_SLUG not in etree.tostring(tree, encoding="unicode"), path
        elif path.suffix in (".json", ".txt"):
            assert ONLY_SLUG not in path.read_text(encoding="utf-8"), path
    assert not list(output.rglob(f"*{ONLY_SLUG}*"))
    # ... and in the manifest, with its content, for the newsletter
    post = Manifest(folder).post(Manifest(folder).by_slug(ONLY_SLUG))
    assert "Something exclusive" in post.text and post.newsletter == "only"


def test_rebuild_rewrites_only_changed_posts(tmp_path):
    posts = dict(POSTS)
    folder = build_manifest(tmp_path, posts)
    files = {p.name: p.stat().st_mtime_ns for p in (folder / "posts").iterdir()}
    hashes = {e.slug: e.content_hash for e in Manifest(folder).entries}
    edited = posts["p2.md"].replace("Body of post 2.", "Body of post 2, edited.")
    (tmp_path / "content" / "posts" / "p2.md").write_text(textwrap.dedent(edited))
    (tmp_path / "content" / "posts" / "p5.md").unlink()
    build_site(
        tmp_path,
        content=tmp_path / "content",
        SITEURL=SITEURL,
        MANIFEST_PATH=str(folder),
        PLUGINS=["post_ids", "manifest"],
    )
    after = {p.name: p.stat().st_mtime_ns for p in (folder / "posts").iterdir()}
    changed = {n for n in after if files.get(n) != after[n]}
    assert len(changed) == 1 and "post-number-2" in changed.pop()
    assert len(after) == 4  # the deleted post's file is gone
    new_hashes = {e.slug: e.content_hash for e in Manifest(folder).entries}
    slug2 = "post-number-2-talking-with-customers"
    assert new_hashes[slug2] != hashes[slug2]
    slug1 = "post-number-1-talking-with-customers"
    assert new_hashes[slug1] == hashes[slug1]
    index = json.loads((folder / "index.json").read_text())
    assert {e["slug"] for e in index["posts"]} == set(new_hashes)


def test_bad_newsletter_value_fails_the_build(tmp_path):
    bad = {"bad.md": "Title: Bad\nDate: 2024-01-01\nNewsletter: maybe\n\nText.\n"}
    with pytest.raises(ValueError, match="yes, no, only"):
        build_manifest(tmp_path, bad)


TRICKY_HTML = [
    "",
    "  ",
    "Loose &amp; text <b>bold</b> tail &lt;tag&gt;",
    "<p>A <a href='../x/'>relative</a>, <a href='#n'>anchor</a> and "
    "<img src='/i.png' alt='pic'> <br>line</p><!-- a comment --><script>x=1</script>after",
    "<ol><li>one<ul><li>nested &rsquo;quote&rsquo;</li></ul></li></ol>"
    "<pre><code>  a &lt; b\n</code></pre><table><tr><td>c</td></tr></table>",
]


@pytest.mark.parametrize("html", TRICKY_HTML)
def test_text_read_from_the_parsed_tree_equals_text_of_the_written_html(html):
    """A post opened for sending is parsed once: the text read from the tree its links were
    made absolute in is what parsing the absolute HTML again gives."""
    base = "https://site.example/2024/01/post/"
    content, text = absolute_html_and_text(html, base)
    assert text == absolute_html_and_text(content, base)[1]
    again, _ = absolute_html_and_text(content, base)
    assert again == content  # already absolute: nothing left to change


def test_links_made_absolute_and_text_kept_escaped():
    content, text = absolute_html_and_text(TRICKY_HTML[3], "https://site.example/2024/01/post/")
    assert 'href="https://site.example/2024/01/x/"' in content
    assert 'src="https://site.example/i.png"' in content
    assert 'href="https://site.example/2024/01/post/#n"' in content
    assert "A relative (https://site.example/2024/01/x/)" in text
    assert "[pic]" in text and "x=1" not in text
    loose, loose_text = absolute_html_and_text(TRICKY_HTML[2], "https://site.example/")
    assert loose.startswith("Loose &amp; text <b>bold</b>") and loose.endswith("&lt;tag&gt;")
    assert loose_text == "Loose & text bold tail <tag>"


def test_settings_and_text_helpers():
    assert set(DEFAULTS) == {"MANIFEST_PATH"}
    assert manifest_dir("var/manifest.json").name == "manifest"
    _, text = absolute_html_and_text(
        "<h2>Head</h2><p>One <a href='https://a.example/x'>link</a>.</p>"
        "<ul><li>a</li><li>b</li></ul><pre>  keep\n  this</pre>",
        "https://site.example/",
    )
    assert text.splitlines() == [
        "Head",
        "",
        "One link (https://a.example/x).",
        "",
        "- a",
        "- b",
        "",
        "  keep",
        "  this",
    ]


def test_a_listing_of_every_post_parses_no_body(built, monkeypatch):
    """The conversation report lists every post: title, URL, date and tags only."""
    import syndicate.manifest as reader

    def no_parsing(*args):
        raise AssertionError("a listing parsed a body")

    monkeypatch.setattr(reader, "absolute_html_and_text", no_parsing)
    _, folder = built
    m = Manifest(folder)
    listings = [m.listing(e) for e in m.entries]
    assert len(listings) == 8
    third = m.listing(m.by_slug("post-number-3-talking-with-customers"))
    assert third.title == "Post number 3: talking with customers"
    assert third.url.startswith(SITEURL + "/2024/03/") and third.tags == ("customers", "email")
    assert third.date.tzinfo is not None
    with pytest.raises(AssertionError, match="parsed a body"):
        m.post(m.entries[0])  # the whole post still parses


def test_report_lists_posts_without_parsing_bodies(built, monkeypatch):
    import syndicate.manifest as reader
    from syndicate.report import gather

    monkeypatch.setattr(reader, "absolute_html_and_text", lambda *a: pytest.fail("parsed"))
    _, folder = built
    empty_ledger = SimpleNamespace(posts={})
    config = SimpleNamespace(manifest_path=folder, open_ledger=lambda: empty_ledger)
    found = gather.posts(config)
    assert {p["slug"] for p in found} == {e.slug for e in Manifest(folder).entries}
    assert all(p["title"] and p["url"].startswith(SITEURL) for p in found)


def test_files_are_written_whole_into_new_folders_and_a_failure_leaves_nothing(tmp_path):
    target = tmp_path / "new" / "posts" / "a.json"
    _write_atomic(target, '{"a": 1}', fsync=True)
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": 1}
    _write_atomic(target, '{"a": 2}')
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": 2}
    blocked = tmp_path / "new" / "posts" / "dir.json"
    blocked.mkdir()  # the rename onto a folder fails
    with pytest.raises(OSError):
        _write_atomic(blocked, "{}")
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.json", "dir.json"]


@pytest.mark.parametrize("plugins", [["post_ids", "manifest"], None])
def test_a_record_follows_the_url_of_a_post_it_links(tmp_path, plugins):
    """A body linking `{filename}b.md` is rewritten when b's URL changes, although its
    own text did not (with fastbuild, whose packed bodies note their links, and without)."""
    filler = " ".join(["Words around the link."] * 40)  # long enough to be packed
    head = "Category: Notes\nTags: links\nSummary: A post.\n"
    posts = {
        "a.md": f"Title: Post A\nDate: 2024-01-02 09:00\n{head}\n{filler} [B]({{filename}}b.md).\n",
        "b.md": f"Title: Post B\nDate: 2024-01-01 09:00\n{head}ID: tag:example.com,2024:b\n\nB.\n",
        "c.md": f"Title: Post C\nDate: 2024-01-03 09:00\n{head}\n{filler}\n",
    }
    overrides = {"SITEURL": SITEURL, "MANIFEST_PATH": str(tmp_path / "var" / "manifest")}
    if plugins:
        overrides["PLUGINS"] = plugins
    content = write_content(tmp_path / "content", posts)
    build_site(tmp_path, content=content, **overrides)
    folder = tmp_path / "var" / "manifest"
    manifest = Manifest(folder)
    assert "/post-b/" in manifest.post(manifest.by_slug("post-a")).content_html
    written = {p.name: p.stat().st_mtime_ns for p in (folder / "posts").iterdir()}
    (content / "posts" / "b.md").write_text(
        posts["b.md"].replace("\n\nB.", "\nSlug: b-moved\n\nB.")
    )
    build_site(tmp_path, content=content, **overrides)
    manifest = Manifest(folder)
    body = manifest.post(manifest.by_slug("post-a")).content_html
    assert "/b-moved/" in body and "/post-b/" not in body
    after = {p.name: p.stat().st_mtime_ns for p in (folder / "posts").iterdir()}
    unchanged = [name for name in after if "post-c" in name]
    assert unchanged and all(after[n] == written[n] for n in unchanged)
