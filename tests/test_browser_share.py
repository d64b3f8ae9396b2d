"""Share links in headless Chromium: valid absolute URLs carrying the encoded title,
copy-link with and without JavaScript, and the Mastodon share page's GET form."""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser import CHROMIUM, launch, serve_directory
from tests.engagement_site import HOSTILE_TITLE, article_file, build

pytestmark = pytest.mark.browser

# networks whose link carries the title (Facebook and LinkedIn take only the URL)
TITLED = {"x", "bluesky", "mastodon", "reddit", "hackernews", "threads", "whatsapp"}
TITLED |= {"telegram", "email"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The test site built for, and served on, a local port: (base URL, article URL)."""
    tmp = tmp_path_factory.mktemp("browser-share")
    output = tmp / "output"
    output.mkdir()
    with serve_directory(output) as base:
        build(tmp, SITEURL=base)
        page = article_file(output, "say-hi")
        yield base, f"{base}/{page.relative_to(output).as_posix()}"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (make test installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            yield browser
        finally:
            browser.close()


def _local_only(base, external, route):
    """Let the site's own requests through; record and refuse everything else.

    The comment widget's script comes from the Isso server `invoke serve` runs next
    to the site (not running here): an empty script stands in for it.
    """
    if route.request.url.startswith(base + "/"):
        route.continue_()
    elif route.request.url.endswith("/js/embed.min.js"):
        route.fulfill(status=200, content_type="text/javascript", body="")
    else:
        external.append(route.request.url)
        route.abort()


def _context(browser, base, **options):
    context = browser.new_context(**options)
    external: list[str] = []
    errors: list[str] = []
    context.route("**/*", functools.partial(_local_only, base, external))
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, external, errors


def test_every_share_link_is_absolute_and_carries_the_title(browser, served):
    base, article_url = served
    context, page, external, errors = _context(browser, base)
    try:
        page.goto(article_url, wait_until="load")
        links = page.eval_on_selector_all(
            ".share-links a",
            """links => links.map(a => {
                const url = new URL(a.getAttribute("href"));  // throws if not absolute
                const values = [];
                const query = url.protocol === "mailto:" ? url.pathname + url.search : url.search;
                new URLSearchParams(query.slice(query.indexOf("?") + 1))
                    .forEach(v => values.push(v));
                return {network: a.dataset.network || "copy", href: a.href,
                        attr: a.getAttribute("href"), protocol: url.protocol, values};
            })""",
        )
        assert len(links) == 12
        for link in links:
            assert link["href"] == link["attr"], "the browser reads the URL as written"
            if link["network"] == "email":
                assert link["protocol"] == "mailto:"
            else:
                assert link["protocol"] in ("https:", "http:")
            if link["network"] in TITLED:
                assert any(HOSTILE_TITLE in v for v in link["values"]), link
            if link["network"] not in ("copy", "email", "mastodon"):
                assert urlsplit(link["href"]).scheme == "https"
        assert external == [] and errors == []
    finally:
        context.close()


def test_copy_link_puts_the_post_url_on_the_clipboard(browser, served):
    base, article_url = served
    context, page, external, errors = _context(browser, base)
    try:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page.goto(article_url, wait_until="load")
        control = page.locator("a[data-copy-link]")
        assert control.inner_text() == "Copy link"  # the script took over
        assert control.get_attribute("role") == "button"
        control.click()
        page.wait_for_selector(".share-links__status:has-text('Link copied')")
        assert page.evaluate("navigator.clipboard.readText()") == article_url
        assert page.url == article_url  # the click did not navigate
        assert errors == [] and external == []
    finally:
        context.close()


def test_copy_link_degrades_to_a_plain_link_without_javascript(browser, served):
    base, article_url = served
    context, page, external, _ = _context(browser, base, java_script_enabled=False)
    try:
        page.goto(article_url, wait_until="load")
        control = page.locator("a[data-copy-link]")
        assert control.inner_text() == "Link to this post"
        assert control.get_attribute("href") == article_url
        control.click()
        page.wait_for_load_state("load")
        assert page.url == article_url
        assert external == []
    finally:
        context.close()


def test_mastodon_share_page_builds_the_instance_link(browser, served):
    base, article_url = served
    context, page, external, errors = _context(browser, base)
    try:
        page.goto(article_url, wait_until="load")
        page.locator('a[data-network="mastodon"]').click()
        page.wait_for_url("**/share/mastodon/index.html?text=*")
        page.wait_for_load_state("load")
        assert page.url.startswith(f"{base}/share/mastodon/index.html?text=")
        text = page.input_value("#mastodon-share-text")
        assert text.startswith(HOSTILE_TITLE) and text.endswith(article_url)
        page.fill("#mastodon-share-instance", "@reader@Social.Example.net")
        page.click("#mastodon-share-form button[type=submit]")
        page.wait_for_selector("#mastodon-share-result:not([hidden])")
        # the form was a plain GET back to this page
        query = parse_qs(urlsplit(page.url).query)
        assert query["instance"] == ["@reader@Social.Example.net"]
        href = page.get_attribute("#mastodon-share-link", "href")
        parts = urlsplit(href)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", "social.example.net", "/share")
        assert parse_qs(parts.query)["text"] == [text]
        assert errors == [] and external == []
    finally:
        context.close()


def test_mastodon_share_page_rejects_a_bad_instance(browser, served):
    base, _ = served
    context, page, external, errors = _context(browser, base)
    try:
        page.goto(f"{base}/share/mastodon/index.html?instance=javascript:alert(1)&text=hi")
        page.wait_for_selector("#mastodon-share-error:has-text('server name')")
        assert page.locator("#mastodon-share-result").is_hidden()
        assert errors == [] and external == []
    finally:
        context.close()
