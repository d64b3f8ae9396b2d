"""A reader comments through the real Isso embed in headless Chromium, reloads, sees it.

The site is a tiny real build served by http.server on 127.0.0.1; Isso is the real server
(sitetools/isso.py) on a free port with a temporary database. Every request the page makes
must stay on 127.0.0.1: Isso's client comes from Isso itself, no third-party script.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sitetools.isso import start_isso, stop_isso
from tests.browser import CHROMIUM, launch, serve_directory
from tests.sitebuild import build_site, write_post

pytestmark = pytest.mark.browser

COMMENT = "Answered in public, and the customer came back. Thank you!"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_site(tmp_path_factory):
    """(site base URL, Isso process): a built site and Isso that accepts its comments."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    root = tmp_path_factory.mktemp("browser-comments")
    out = root / "output"
    out.mkdir()
    with serve_directory(out) as site:
        isso_port = _free_port()
        content = root / "content"
        write_post(
            content,
            "answer.md",
            """
            Title: Answer the angry comment first
            Date: 2010-03-04 10:00
            Category: Conversation

            A complaint answered in public wins loyalty.
            """,
        )
        data = root / "data"
        (data / "comments").mkdir(parents=True)
        build_site(
            root,
            content=content,
            DATA_PATH=str(data),
            SITEURL=site,
            COMMENTS_ISSO_URL=f"http://127.0.0.1:{isso_port}/",
        )
        isso = start_isso("127.0.0.1", isso_port, db_path=root / "isso.db", site_origins=[site])
        try:
            yield site, isso, playwright
        finally:
            stop_isso(isso)


@pytest.fixture
def page(live_site):
    site, isso, playwright = live_site
    with playwright.sync_playwright() as p:
        browser = launch(p)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.foreign = []
            page.failed = []
            hosts = {urlsplit(site).netloc, urlsplit(isso.isso_url).netloc}

            def only_local(route):
                url = route.request.url
                if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc not in hosts:
                    page.foreign.append(url)
                    route.abort()
                else:
                    route.continue_()

            page.route("**/*", only_local)
            page.on(
                "response",
                lambda r: (
                    r.status >= 400 and page.failed.append((r.status, r.request.method, r.url))
                ),
            )
            yield page
        finally:
            browser.close()


def test_post_a_comment_reload_and_see_it(live_site, page):
    site, isso, _ = live_site
    url = f"{site}/2010/03/answer-the-angry-comment-first/index.html"
    page.goto(url)
    postbox = page.locator("#isso-thread .isso-postbox")
    postbox.wait_for()
    postbox.locator("textarea.isso-textarea").fill(COMMENT)
    postbox.locator("input[name='author']").fill("Dana")
    postbox.locator("input[type='submit']").click()
    posted = page.locator("#isso-thread .isso-comment .isso-text", has_text=COMMENT)
    posted.wait_for()

    page.reload()
    again = page.locator("#isso-thread .isso-comment[id^='isso-']", has_text=COMMENT)
    again.wait_for()
    assert again.locator(".isso-author").inner_text() == "Dana"
    assert page.locator("#isso-thread .isso-comment[id^='isso-']").count() == 1
    assert page.foreign == []
    # Every call to Isso succeeded (the tiny site has no favicon, hence the filter).
    assert [f for f in page.failed if f[2].startswith(isso.isso_url.rstrip("/"))] == []


def test_index_counts_the_comment(live_site, page):
    site, _, _ = live_site
    page.goto(f"{site}/index.html")
    link = page.locator("a.comment-count").first
    # count.min.js replaces the fallback text with the live count.
    page.wait_for_function(
        "() => document.querySelector('a.comment-count').textContent.trim() !== 'Comments'"
    )
    assert re.fullmatch(r"(One|1) Comments?", link.inner_text().strip())
    assert link.get_attribute("href").endswith("#isso-thread")
    assert page.foreign == []
