"""`syndicate --dry-run` on the sample site: the outbox on disk and in headless Chromium."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from tests.browser import launch
from tests.syndicate_fixtures import clean_env, run_cli, write_settings

SAMPLE_SITEURL = "http://localhost:8000"  # pelicanconf.py's, which the sample build uses


@pytest.fixture(scope="module")
def outbox(real_site, tmp_path_factory):
    """Dry run of the project's own content (no credentials in the environment)."""
    tmp = tmp_path_factory.mktemp("outbox")
    manifest = real_site.parent / "var" / "manifest"
    settings = write_settings(tmp, manifest, SITEURL=SAMPLE_SITEURL, SYNDICATE_MAX_NEW=100)
    settings.write_text(
        settings.read_text().replace("SYNDICATE_EXTRA_CHANNELS = {", "_UNUSED = {"),
        encoding="utf-8",
    )
    result = run_cli(settings, "--dry-run", env=clean_env(), cwd=tmp, timeout=120)
    return tmp / "outbox", manifest, result


def test_dry_run_writes_every_item_and_sends_nothing(outbox):
    folder, manifest, result = outbox
    assert result.returncode == 0, result.stdout + result.stderr
    assert "nothing was sent" in result.stdout.lower()
    index = json.loads((manifest / "index.json").read_text())
    tree = etree.parse(str(folder / "index.html"), etree.HTMLParser())
    sections = tree.findall(".//section[@class='post']")
    assert len(sections) == len(index["posts"]) > 3
    assert not tree.findall(".//*[@class='error']")
    for section in sections:
        channels = [a.get("data-channel") for a in section.iter("article")]
        assert "mailchimp" in channels or "mastodon" in channels
    for meta_path in folder.glob("*/*.json"):
        meta = json.loads(meta_path.read_text())
        text = meta_path.with_suffix(".txt").read_text()
        assert text.strip(), meta_path
        if meta["limit"]:
            assert 0 < meta["length"] <= meta["limit"], meta_path
            # the link is whole: in the text, or the link card carries it (LinkedIn)
            assert meta["url"] in text or meta["card"].get("url") == meta["url"], meta_path
        if meta["channel"] == "mailchimp":
            email = etree.parse(str(meta_path.with_suffix(".html")), etree.HTMLParser())
            assert email.find(".//body") is not None
    assert not (outbox[0].parent / "data" / "ledger.json").exists()


def test_default_limit_refuses_the_whole_archive(real_site, tmp_path):
    manifest = real_site.parent / "var" / "manifest"
    settings = write_settings(tmp_path, manifest, SITEURL=SAMPLE_SITEURL, SYNDICATE_MAX_NEW=3)
    result = run_cli(settings, "--dry-run", env=clean_env(), cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert "--baseline" in result.stderr
    tree = etree.parse(str(tmp_path / "outbox" / "index.html"), etree.HTMLParser())
    assert tree.findall(".//p[@class='refused']")
    assert not tree.findall(".//section[@class='post']")


@pytest.mark.browser
def test_outbox_in_headless_chromium(outbox):
    from playwright.sync_api import sync_playwright

    folder, _, result = outbox
    assert result.returncode == 0
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((folder / "index.html").as_uri())
            assert "Outbox" in page.title()
            items = page.locator("article.item")
            assert items.count() > 3
            counts = page.locator("p.count")
            assert counts.count() > 0
            for i in range(counts.count()):
                assert "ok" in counts.nth(i).get_attribute("class")
                assert counts.nth(i).is_visible()
            social = page.locator("article.item[data-channel=mastodon] .text").first
            assert social.is_visible() and "http" in social.inner_text()
            frames = page.locator("iframe")
            if frames.count():
                frame = page.frame_locator("iframe").first
                assert frame.locator("body").inner_text(timeout=10_000).strip()
            assert errors == []
        finally:
            browser.close()
