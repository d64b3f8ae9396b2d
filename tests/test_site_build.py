"""The real content/ built with the real settings, theme and plugins: assert on the files."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from dateutil import parser as dateparser
from lxml import html
from pelican.utils import slugify

from tests.sitebuild import ROOT, build_site

CONTENT = ROOT / "content"
PER_PAGE = 5


def _header(path: Path) -> dict[str, str]:
    header = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z]+):\s*(.*)$", line)
        if not m:
            break
        header[m.group(1).lower()] = m.group(2).strip()
    return header


SUBS = [(r"[^\w\s-]", ""), (r"(?u)\A\s*", ""), (r"(?u)\s*\Z", ""), (r"[-\s]+", "-")]


def _slug(text: str) -> str:
    return slugify(text, regex_subs=SUBS)


def _posts():
    """(header, expected output path) for every post in content/posts."""
    for path in sorted((CONTENT / "posts").glob("*.md")):
        h = _header(path)
        date = dateparser.parse(h["date"])
        slug = h.get("slug") or _slug(h["title"])
        yield h, f"{date:%Y}/{date:%m}/{slug}/index.html", date


PUBLISHED = [
    (h, p, d)
    for h, p, d in _posts()
    if h.get("status", "published") == "published" and d <= datetime.now()
]
UNPUBLISHED = [(h, p, d) for h, p, d in _posts() if (h, p, d) not in PUBLISHED]


def _doc(out: Path, rel: str):
    return html.parse(str(out / rel)).getroot()


def _by_class(doc, cls: str, tag: str = "*"):
    return doc.xpath(f"//{tag}[contains(concat(' ', normalize-space(@class), ' '), ' {cls} ')]")


def _summary_titles(doc) -> list[str]:
    return [a.text_content().strip() for a in doc.xpath("//*[@class='post-summary__title']/a")]


def test_content_has_what_the_issue_asks_for():
    assert len(PUBLISHED) >= 10
    years = {d.year for _, _, d in PUBLISHED}
    assert {2009, 2010, 2011, 2026} <= years
    statuses = {h.get("status") for h, _, _ in UNPUBLISHED}
    assert "draft" in statuses
    assert any(d.year >= 2027 for _, _, d in UNPUBLISHED)
    for h, _, _ in PUBLISHED:
        assert h.get("category") and h.get("tags") and h.get("summary"), h["title"]


def test_every_published_post_has_its_page(real_site):
    for header, rel, date in PUBLISHED:
        doc = _doc(real_site, rel)
        assert doc.xpath("string(//h1)").strip() == header["title"]
        time = doc.xpath("//p[@class='post-meta']/time")[0]
        assert time.get("datetime").startswith(date.strftime("%Y-%m-%dT%H:%M"))
        # Reading time, category, author and tags are shown.
        assert re.search(r"\b\d+ min read\b", doc.xpath("string(//p[@class='post-meta'])"))
        assert doc.xpath("//a[@rel='author']/text()") == ["Maren Holt"]
        shown_tags = {t.strip() for t in doc.xpath("//a[@rel='tag']/text()")}
        assert shown_tags == {t.strip() for t in header["tags"].split(",")}


def test_drafts_and_future_posts_appear_nowhere(real_site):
    titles = [h["title"] for h, _, _ in UNPUBLISHED]
    slugs = [Path(rel).parent.name for _, rel, _ in UNPUBLISHED]
    assert titles and slugs
    for path in real_site.rglob("*"):
        if path.is_dir():
            assert path.name not in slugs, path
            continue
        if path.suffix not in (".html", ".xml", ".json", ".txt"):
            continue
        text = path.read_text(encoding="utf-8")
        for needle in titles + slugs:
            assert needle not in text, f"{needle!r} leaked into {path.relative_to(real_site)}"


def test_index_is_paginated_newest_first(real_site):
    expected = [h["title"] for h, _, d in sorted(PUBLISHED, key=lambda x: x[2], reverse=True)]
    pages = -(-len(expected) // PER_PAGE)
    seen = []
    rel = "index.html"
    for number in range(1, pages + 1):
        doc = _doc(real_site, rel)
        seen += _summary_titles(doc)
        assert doc.xpath("string(//*[@class='pagination__where'])").strip() == (
            f"Page {number} of {pages}"
        )
        older = doc.xpath("//a[@rel='next' and @class='pagination__older']/@href")
        if number < pages:
            target = (real_site / rel).parent / older[0]
            assert target.resolve() == (real_site / f"page/{number + 1}/index.html").resolve()
            rel = f"page/{number + 1}/index.html"
        else:
            assert older == []
    assert seen == expected
    assert not (real_site / f"page/{pages + 1}").exists()


def test_archives_grouped_by_year_and_month(real_site):
    doc = _doc(real_site, "archives/index.html")
    years = [int(y) for y in doc.xpath("//section[@class='archive-year']/h2/a/text()")]
    assert years == sorted({d.year for _, _, d in PUBLISHED}, reverse=True)
    for _, rel, date in PUBLISHED:
        section = doc.xpath(f"//section[h2[@id='year-{date.year}']]")[0]
        months = [m.strip() for m in section.xpath(".//h3/a/text()")]
        assert date.strftime("%B") in months
        hrefs = [Path(h).as_posix() for h in section.xpath(".//ul/li/a/@href")]
        assert f"../{rel}" in hrefs
    # Period archives: a year page and a month page.
    for _, rel, date in PUBLISHED:
        for period_rel in (f"{date:%Y}/index.html", f"{date:%Y}/{date:%m}/index.html"):
            period = _doc(real_site, period_rel)
            links = {
                ((real_site / period_rel).parent / h).resolve()
                for h in period.xpath("//ul[@class='archive-list']/li/a/@href")
            }
            assert (real_site / rel).resolve() in links
    month = _doc(real_site, "2010/03/index.html")
    assert month.xpath("string(//h1)") == "Posts from March 2010"


def test_tags_and_categories(real_site):
    by_tag, by_category = {}, {}
    for h, _, _ in PUBLISHED:
        for tag in h["tags"].split(","):
            by_tag.setdefault(tag.strip(), set()).add(h["title"])
        by_category.setdefault(h["category"], set()).add(h["title"])

    tags_doc = _doc(real_site, "tags/index.html")
    listed = {a.text.strip() for a in _by_class(tags_doc, "tag", "a")}
    assert listed == set(by_tag)
    for tag, titles in by_tag.items():
        seen = set()
        rel = f"tag/{_slug(tag)}/index.html"
        while rel:
            doc = _doc(real_site, rel)
            assert doc.xpath("string(//h1)").strip() == tag
            seen.update(_summary_titles(doc))
            nxt = doc.xpath("//a[@class='pagination__older']/@href")
            rel = (
                ((real_site / rel).parent / nxt[0]).resolve().relative_to(real_site).as_posix()
                if nxt
                else None
            )
        assert seen == titles, tag

    cats_doc = _doc(real_site, "categories/index.html")
    assert {a.text.strip() for a in cats_doc.xpath("//ul[@class='term-list']/li/a")} == set(
        by_category
    )
    for category, titles in by_category.items():
        doc = _doc(real_site, f"category/{_slug(category)}/index.html")
        assert doc.xpath("string(//h1)").strip() == category
        assert set(_summary_titles(doc)) == titles


def test_404_page(real_site):
    doc = _doc(real_site, "404.html")
    assert doc.xpath("string(//h1)").strip() == "This page has wandered off"
    assert doc.xpath("//a[normalize-space()='Go to the front page']/@href")
    # Hidden: not in the menu of other pages.
    nav = _doc(real_site, "index.html").xpath("//nav[@aria-label='Main']//a/text()")
    assert "This page has wandered off" not in nav
    assert {"About", "Subscribe", "Archives"} <= set(nav)


def test_article_extras_series_image_code_table(real_site):
    part1 = "2010/02/segmenting-your-list-part-1-why-one-email-fits-nobody/index.html"
    part2 = "2010/03/segmenting-your-list-part-2-three-segments-to-start-with/index.html"
    for rel, position in ((part1, 1), (part2, 2)):
        doc = _doc(real_site, rel)
        nav = doc.xpath("//nav[@class='series-nav']")[0]
        assert f"part {position} of 2" in nav.text_content()
        assert nav.xpath(".//li/span[@aria-current='page']/text()") == [
            doc.xpath("string(//h1)").strip()
        ]
    doc = _doc(real_site, part2)
    assert doc.xpath("//div[contains(@class,'post-content')]//table/thead/tr/th")

    porch = _doc(real_site, "2010/11/the-website-is-the-front-porch/index.html")
    img = porch.xpath("//div[contains(@class,'post-content')]//img")[0]
    assert img.get("alt", "").startswith("A diagram")
    target = (real_site / "2010/11/the-website-is-the-front-porch" / img.get("src")).resolve()
    assert target.is_file() and target.suffix == ".png"

    code = _doc(real_site, "2026/09/counting-replies-with-a-few-lines-of-python/index.html")
    assert code.xpath("//div[contains(@class,'highlight')]//pre//span[@class='kn']")


def test_previous_and_next_links_follow_dates(real_site):
    ordered = sorted(PUBLISHED, key=lambda x: x[2])
    for i, (_, rel, _) in enumerate(ordered):
        doc = _doc(real_site, rel)
        here = (real_site / rel).parent
        prev = doc.xpath("//nav[@class='prev-next']/a[@rel='prev']/@href")
        nxt = doc.xpath("//nav[@class='prev-next']/a[@rel='next']/@href")
        if i == 0:
            assert prev == []
        else:
            assert (here / prev[0]).resolve() == (real_site / ordered[i - 1][1]).resolve()
        if i == len(ordered) - 1:
            assert nxt == []
        else:
            assert (here / nxt[0]).resolve() == (real_site / ordered[i + 1][1]).resolve()


def test_every_internal_link_resolves(real_site):
    broken = []
    for page in real_site.rglob("*.html"):
        doc = html.parse(str(page)).getroot()
        for attr in ("href", "src"):
            for value in doc.xpath(f"//*[@{attr}]/@{attr}"):
                parts = urlsplit(value)
                if parts.scheme or parts.netloc or value.startswith(("#", "mailto:")):
                    continue
                target = (page.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if not target.exists():
                    broken.append(f"{page.relative_to(real_site)} -> {value}")
    assert broken == []


def test_static_extras(real_site):
    assert "User-agent: *" in (real_site / "robots.txt").read_text()
    assert (real_site / "favicon.svg").read_text().lstrip().startswith("<svg")
    css = (real_site / "theme/css/site.css").read_text()
    for plugin in ("share_links", "subscribe", "related_posts", "comments", "replies", "feeds"):
        assert f'@import url("plugins/{plugin}.css")' in css
        assert (real_site / f"theme/css/plugins/{plugin}.css").is_file()
    assert "prefers-color-scheme: dark" in css


def test_no_external_fonts_or_scripts(real_site):
    for rel in ("index.html", PUBLISHED[0][1]):
        doc = _doc(real_site, rel)
        for url in doc.xpath("//link[@rel='stylesheet']/@href | //script/@src"):
            host = urlsplit(url).hostname
            assert host in (None, "localhost"), url  # localhost: Isso next to `make serve`


@pytest.mark.slow
def test_production_settings_give_clean_urls(tmp_path):
    out = build_site(tmp_path, settings_file="publishconf.py")
    doc = _doc(out, "index.html")
    older = doc.xpath("//a[@class='pagination__older']/@href")
    assert older == ["https://frontporch.example/page/2/"]
    first = doc.xpath("//*[@class='post-summary__title']/a/@href")[0]
    assert first.startswith("https://frontporch.example/2026/") and first.endswith("/")
    assert (out / "page/2/index.html").is_file()
    not_found = _doc(out, "404.html")
    assert not_found.xpath("//a[normalize-space()='Go to the front page']/@href") == [
        "https://frontporch.example/index.html"
    ]
