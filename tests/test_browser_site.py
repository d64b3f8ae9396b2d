"""The real site in headless Chromium: no console errors, no serious a11y violations.

Screenshots (phone 390px and desktop 1280px, light and dark) go to tests/artifacts/.
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pelican.settings import get_settings_from_file

from tests.browser import CHROMIUM, launch
from tests.sitebuild import ROOT

pytestmark = pytest.mark.browser

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
PAGES = {
    "home": "index.html",
    # series navigation, a table, share links, related posts, comments
    "article": "2010/03/segmenting-your-list-part-2-three-segments-to-start-with/index.html",
    # a code block
    "code": "2026/09/counting-replies-with-a-few-lines-of-python/index.html",
}
SERIOUS = {"serious", "critical"}
ISSO_HOST = urlsplit(
    get_settings_from_file(str(ROOT / "pelicanconf.py")).get("COMMENTS_ISSO_URL", "")
).netloc


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


def _open(browser, url, viewport, scheme):
    """A page at url; returns (page, context, problems) where problems collects errors."""
    context = browser.new_context(viewport=VIEWPORTS[viewport], color_scheme=scheme)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
    )
    page.route("**/*", functools.partial(_only_local, url, problems))
    page.goto(url, wait_until="networkidle")
    return page, context, problems


def _only_local(page_url, problems, route):
    """Let requests to the site through; stand in for Isso's script; refuse the rest.

    The site loads nothing from elsewhere, except the comment widget from the Isso
    server that `invoke serve` runs next to it (not running in tests).
    """
    url = route.request.url
    if urlsplit(url).netloc == urlsplit(page_url).netloc:
        route.continue_()
    elif urlsplit(url).netloc == ISSO_HOST and urlsplit(url).path.endswith(".js"):
        route.fulfill(status=200, content_type="text/javascript", body="")
    else:
        problems.append(f"external request: {url}")
        route.abort()


def _serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(n["target"][0] for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]


@pytest.mark.parametrize("name", sorted(PAGES))
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_page_is_clean_and_accessible(browser, site_server, artifacts_dir, name, scheme):
    url = f"{site_server}/{PAGES[name]}"
    for viewport in ("phone", "desktop"):
        page, context, problems = _open(browser, url, viewport, scheme)
        try:
            page.screenshot(path=str(artifacts_dir / f"{name}-{viewport}-{scheme}.png"))
            assert problems == [], f"{name} ({viewport}, {scheme}): {problems}"
            # Nothing wider than the screen: no sideways scrolling on a phone.
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {viewport}"
            violations = _serious_violations(page)
            assert violations == [], "\n".join(violations)
        finally:
            context.close()


def test_skip_link_is_first_and_reaches_main(browser, site_server):
    page, context, _ = _open(browser, f"{site_server}/{PAGES['article']}", "desktop", "light")
    try:
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent.trim()")
        assert focused == "Skip to content"
        # The link is visible when focused (moved on screen by :focus).
        box = page.locator(".skip-link").bounding_box()
        assert box is not None and box["y"] >= 0
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
    finally:
        context.close()


def test_dark_scheme_changes_colours(browser, site_server):
    colours = {}
    for scheme in ("light", "dark"):
        page, context, _ = _open(browser, f"{site_server}/index.html", "desktop", scheme)
        try:
            colours[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        finally:
            context.close()
    assert colours["light"] != colours["dark"], colours
