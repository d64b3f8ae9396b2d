"""sitemap: a real build, sitemap.xml parsed back with lxml."""

from __future__ import annotations

from datetime import datetime

import pytest
from lxml import etree

from tests.engagement_site import build

SITEURL = "https://blog.example.org"
NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture(scope="module")
def sitemap(tmp_path_factory):
    output = build(tmp_path_factory.mktemp("sitemap"), SITEURL=SITEURL)
    tree = etree.parse(str(output / "sitemap.xml"))
    entries = {
        url.findtext("s:loc", namespaces=NS): url.findtext("s:lastmod", namespaces=NS)
        for url in tree.getroot().iterfind("s:url", NS)
    }
    return output, tree, entries


def test_root_is_a_sitemaps_urlset(sitemap):
    _, tree, entries = sitemap
    assert tree.getroot().tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
    assert tree.docinfo.encoding.lower() == "utf-8"
    assert len(entries) == len(tree.getroot())  # no duplicate URLs


def test_lists_every_public_page_with_absolute_urls(sitemap):
    output, _, entries = sitemap
    for url in entries:
        assert url.startswith(SITEURL + "/")
        # every listed URL is a file the build wrote
        assert (output / url[len(SITEURL) + 1 :]).is_file(), url
    articles = {p.relative_to(output).as_posix() for p in output.glob("20*/*/*/index.html")}
    assert len(articles) == 3
    expected = {f"{SITEURL}/{path}" for path in articles} | {
        f"{SITEURL}/index.html",
        f"{SITEURL}/about-this-site/index.html",
        f"{SITEURL}/subscribe/index.html",
        f"{SITEURL}/tag/email/index.html",
        f"{SITEURL}/tag/complaints/index.html",
        f"{SITEURL}/category/posts/index.html",
    }
    assert expected <= set(entries)


def test_hidden_pages_and_helper_pages_are_left_out(sitemap):
    output, _, entries = sitemap
    assert (output / "secret-page" / "index.html").is_file()
    assert f"{SITEURL}/secret-page/index.html" not in entries
    assert not any("share/mastodon" in url for url in entries)


def test_lastmod_is_a_w3c_datetime(sitemap):
    _, _, entries = sitemap
    hostile = next(url for url in entries if "/say-hi" in url)
    assert entries[hostile] == "2024-03-06T12:00:00+00:00"  # Modified wins over Date
    # the index and the tag page carry their newest post's date
    assert entries[f"{SITEURL}/index.html"] == "2024-03-06T12:00:00+00:00"
    assert entries[f"{SITEURL}/tag/complaints/index.html"] == "2024-03-01T08:00:00+00:00"
    for lastmod in filter(None, entries.values()):
        assert datetime.fromisoformat(lastmod).tzinfo is not None


def test_robots_txt_names_the_sitemap(tmp_path):
    from tests.sitebuild import ROOT, build_site

    output = build_site(tmp_path, SITEURL="https://blog.example.org")
    robots = (output / "robots.txt").read_text(encoding="utf-8").splitlines()
    assert robots.count("Sitemap: https://blog.example.org/sitemap.xml") == 1
    source = (ROOT / "content" / "extra" / "robots.txt").read_text(encoding="utf-8")
    assert all(line in robots for line in source.splitlines())
