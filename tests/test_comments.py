"""comments: the provider partial, imported comments, counts, bad input, and the Isso runner."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import lxml.html
import pytest
import requests

from sitetools.isso import start_isso, stop_isso
from tests.sitebuild import build_site, messages, write_post

POST_ID = "tag:frontporch.example,2010-03-04:/answer-first"
ARTICLE = Path("2010/03/answer-first/index.html")


def _content(root: Path) -> Path:
    content = root / "content"
    write_post(
        content,
        "answer.md",
        """
        Title: Answer "first" & <fast>
        Slug: answer-first
        Date: 2010-03-04 10:00
        Category: Conversation

        Answer the angry comment first.
        """,
    )
    write_post(
        content,
        "quiet.md",
        """
        Title: A quiet post
        Date: 2010-04-01 10:00
        Category: Conversation
        Comments: off

        No thread here.
        """,
    )
    return content


def _data(root: Path, comments: dict | list | str | None = None) -> Path:
    data = root / "data"
    (data / "comments").mkdir(parents=True, exist_ok=True)
    if comments is not None:
        text = comments if isinstance(comments, str) else json.dumps(comments)
        (data / "comments" / "answer-first.json").write_text(text, encoding="utf-8")
    return data


def _build(root: Path, comments=None, **settings) -> Path:
    content = _content(root)
    data = _data(root, comments)
    return build_site(root, content=content, DATA_PATH=str(data), **settings)


def _page(out: Path, path: Path = ARTICLE):
    return lxml.html.parse(str(out / path)).getroot()


IMPORTED = {
    "source": "imported from the old blog",
    "comments": [
        {
            "author": "Second <b>writer</b>",
            "date": "2010-03-06T08:00:00+00:00",
            "text": "Plain text with <script>alert(1)</script> &amp; more\n\nSecond paragraph.",
        },
        {
            "author": "First writer",
            "url": "javascript:alert(1)",
            "date": "2010-03-05T09:00:00",
            "html": (
                '<p onclick="steal()">Nice <a href="javascript:alert(2)">bad</a> '
                '<a href="https://good.example/">good</a><script>alert(3)</script>'
                "<iframe src='https://evil.example'></iframe></p>"
            ),
            "replies": [
                {
                    "author": "Maren Holt",
                    "url": "https://frontporch.example/",
                    "date": "2010-03-05T10:00:00+00:00",
                    "text": "Thanks!",
                }
            ],
        },
    ],
}


def test_isso_thread_uses_the_stable_post_id(tmp_path):
    out = _build(tmp_path)
    page = _page(out)
    (thread,) = page.xpath("//div[@id='isso-thread']")
    assert thread.get("data-isso-id") == POST_ID
    assert thread.get("data-title") == 'Answer "first" & <fast>'
    (script,) = page.xpath("//script[contains(@src, 'embed.min.js')]")
    assert script.get("src") == "http://localhost:8080/js/embed.min.js"
    assert script.get("data-isso") == "http://localhost:8080/"
    # No third-party script on the page: Isso's own server serves its client.
    hosts = {
        s.get("src").split("/")[2] for s in page.xpath("//script[@src]") if "//" in s.get("src")
    }
    assert hosts <= {"localhost:8080"}


def test_isso_url_and_options_are_normalised(tmp_path):
    out = _build(
        tmp_path,
        COMMENTS_ISSO_URL="https://comments.example.org/index.html",
        COMMENTS_ISSO_OPTIONS={"require-author": "true", "vote": "false"},
    )
    (script,) = _page(out).xpath("//script[contains(@src, 'embed.min.js')]")
    assert script.get("src") == "https://comments.example.org/js/embed.min.js"
    assert script.get("data-isso") == "https://comments.example.org/"
    assert script.get("data-isso-require-author") == "true"
    assert script.get("data-isso-vote") == "false"


def test_comments_off_closes_the_thread(tmp_path):
    out = _build(tmp_path)
    page = _page(out, Path("2010/04/a-quiet-post/index.html"))
    assert page.xpath("//div[@id='isso-thread']") == []
    assert page.xpath("//script[contains(@src, 'embed.min.js')]") == []
    assert page.xpath("//p[@class='comments__closed']")[0].text_content().strip() == (
        "Comments are closed for this post."
    )


def test_imported_comments_render_above_the_thread_sanitised(tmp_path):
    out = _build(tmp_path, comments=IMPORTED)
    page = _page(out)
    section = page.xpath("//section[@id='comments']")[0]
    imported = section.xpath(".//div[@class='comments__imported']")[0]
    thread = section.xpath(".//div[@id='isso-thread']")[0]
    order = list(section.iter())
    assert order.index(imported) < order.index(thread)
    assert "3 earlier comments, imported from the old blog" in imported.text_content()
    # Oldest first; the reply is nested under its parent.
    top = imported.xpath("./ol/li")
    authors = [li.xpath("./article//*[contains(@class,'comment__author')]")[0] for li in top]
    assert [a.text_content() for a in authors] == ["First writer", "Second <b>writer</b>"]
    # A javascript: author URL is dropped; the name is text, not a link.
    assert authors[0].tag == "span"
    (reply,) = top[0].xpath("./ol/li")
    reply_author = reply.xpath(".//a[contains(@class,'comment__author')]")[0]
    assert reply_author.get("href") == "https://frontporch.example/"
    assert reply_author.get("rel") == "nofollow ugc noopener"
    # Dates without an offset are read in the site's timezone.
    assert top[0].xpath(".//time")[0].get("datetime") == "2010-03-05T09:00:00+00:00"
    # Sanitised: no script, iframe, event handler or javascript: link survives.
    for li in top:
        body = li.xpath("./article//div[@class='comment__text']")[0]
        assert body.xpath(".//script|.//iframe|.//*[@onclick]") == []
        assert all(not h.startswith("javascript:") for h in body.xpath(".//a/@href"))
    first_body = top[0].xpath("./article//div[@class='comment__text']")[0]
    assert first_body.xpath(".//a/@href") == ["https://good.example/"]
    second_body = top[1].xpath("./article//div[@class='comment__text']")[0]
    paragraphs = [p.text_content() for p in second_body.xpath("./p")]
    assert paragraphs == [
        "Plain text with <script>alert(1)</script> &amp; more",
        "Second paragraph.",
    ]
    assert page.xpath("//script[contains(., 'alert')]") == []


@pytest.mark.parametrize(
    ("provider", "settings", "check"),
    [
        (
            "giscus",
            {
                "COMMENTS_GISCUS": {
                    "repo": "o/r",
                    "repo-id": "R1",
                    "category": "C",
                    "category-id": "C1",
                }
            },
            lambda page: page.xpath("//script[@src='https://giscus.app/client.js']")[0].get(
                "data-term"
            ),
        ),
        (
            "utterances",
            {"COMMENTS_UTTERANCES": {"repo": "o/r"}},
            lambda page: page.xpath("//script[@src='https://utteranc.es/client.js']")[0].get(
                "issue-term"
            ),
        ),
        (
            "disqus",
            {"COMMENTS_DISQUS_SHORTNAME": "porch"},
            lambda page: json.loads(
                page.xpath("//script[contains(., 'disqus_config')]")[0]
                .text.split("this.page.identifier = ")[1]
                .split(";")[0]
            ),
        ),
        (
            "remark42",
            {"COMMENTS_REMARK42": {"host": "https://remark.example", "site_id": "porch"}},
            lambda page: json.loads(
                page.xpath("//script[contains(., 'remark_config')]")[0]
                .text.split("=", 1)[1]
                .rstrip(" ;")
            )["site_id"],
        ),
    ],
)
def test_other_providers_key_threads_on_the_post(tmp_path, provider, settings, check):
    out = _build(tmp_path, COMMENTS_PROVIDER=provider, **settings)
    page = _page(out)
    assert page.xpath("//div[@id='isso-thread']") == []
    value = check(page)
    assert value == ("porch" if provider == "remark42" else POST_ID)


def test_unknown_provider_fails_listing_valid_names(tmp_path):
    with pytest.raises(ValueError) as info:
        _build(tmp_path, COMMENTS_PROVIDER="facebook")
    message = str(info.value)
    assert "'facebook'" in message
    for name in ("isso", "giscus", "utterances", "disqus", "remark42", "none"):
        assert name in message


def test_half_configured_provider_warns_once_and_shows_no_thread(tmp_path):
    out = _build(tmp_path, comments=IMPORTED, COMMENTS_PROVIDER="giscus")
    warnings = [m for m in messages(logging.WARNING) if m.startswith("comments:")]
    assert len(warnings) == 1
    assert "COMMENTS_GISCUS lacks repo, repo-id, category, category-id" in warnings[0]
    page = _page(out)
    assert page.xpath("//script[contains(@src, 'giscus')]") == []
    assert page.xpath("//div[@class='comments__imported']")  # imported comments still show


def test_imported_comments_for_an_unknown_slug_warn(tmp_path):
    data = _data(tmp_path)
    (data / "comments" / "renamed-post.json").write_text('{"comments": []}', encoding="utf-8")
    _build(tmp_path)
    warnings = [m for m in messages(logging.WARNING) if m.startswith("comments:")]
    assert len(warnings) == 1
    assert "renamed-post.json" in warnings[0] and "match no post" in warnings[0]


def test_provider_none_renders_no_section(tmp_path):
    out = _build(tmp_path, COMMENTS_PROVIDER="none")
    assert _page(out).xpath("//section[@id='comments']") == []


@pytest.mark.parametrize(
    ("comments", "error"),
    [
        ("{not json", "is not readable JSON"),
        ({"comments": [{"author": "A", "date": "2010-01-01"}]}, "needs 'text' or 'html'"),
        ({"comments": [{"author": "A", "date": "yesterday", "text": "x"}]}, "is not an ISO 8601"),
        ({"comments": [{"text": "x", "date": "2010-01-01"}]}, "'author' is missing"),
    ],
)
def test_malformed_imported_comments_fail_naming_the_file(tmp_path, comments, error):
    with pytest.raises(ValueError, match=error) as info:
        _build(tmp_path, comments=comments)
    assert "answer-first.json" in str(info.value)


def test_index_shows_isso_count_links(tmp_path):
    out = _build(tmp_path)
    index = lxml.html.parse(str(out / "index.html")).getroot()
    links = index.xpath("//a[@class='comment-count']")
    if not links:
        pytest.skip("the theme's listing does not include partials/comment_count.html")
    assert {a.get("data-isso-id") for a in links} == {POST_ID}  # not for `Comments: off`
    assert all(a.get("href").endswith("#isso-thread") for a in links)
    scripts = index.xpath("//script[contains(@src, 'count.min.js')]")
    assert len(scripts) == 1
    assert scripts[0].get("data-isso") == "http://localhost:8080/"


# --- the local Isso server -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_local_isso_answers_with_cors_for_the_site_and_stores_comments(tmp_path):
    port = _free_port()
    origin = "http://localhost:8123"
    proc = start_isso("127.0.0.1", port, db_path=tmp_path / "comments.db", site_origins=[origin])
    try:
        base = f"http://127.0.0.1:{port}"
        embed = requests.get(f"{base}/js/embed.min.js", timeout=5)
        assert embed.status_code == 200 and "isso" in embed.text
        created = requests.post(
            f"{base}/new",
            params={"uri": POST_ID},
            json={"text": "Hello porch", "author": "Reader", "title": "A post"},
            headers={"Origin": origin, "Referer": origin + "/"},
            timeout=5,
        )
        assert created.status_code == 201
        assert created.headers["Access-Control-Allow-Origin"] == origin
        thread = requests.get(f"{base}/", params={"uri": POST_ID}, timeout=5).json()
        assert [c["text"].strip() for c in thread["replies"]] == ["<p>Hello porch</p>"]
        assert (tmp_path / "comments.db").exists()
    finally:
        stop_isso(proc)
    assert proc.poll() is not None
    assert not Path(proc.isso_workdir).exists()
