"""post_nav: older/newer links and series parts, from a real build."""

from __future__ import annotations

from lxml import html

from tests.sitebuild import build_site, write_post


def _post(content, name, title, date, extra=""):
    write_post(
        content,
        name,
        f"""
        Title: {title}
        Date: {date}
        Category: Email
        Summary: {title}.
        {extra}

        Body of {title}.
        """,
    )


def test_series_order_and_neighbours(tmp_path):
    content = tmp_path / "content"
    # Part numbers win over dates; a post outside the series sits between them.
    _post(content, "b.md", "Series two", "2010-01-01", "Series: Lists\n        SeriesPart: 2")
    _post(content, "a.md", "Series one", "2010-02-01", "Series: Lists\n        SeriesPart: 1")
    _post(content, "c.md", "Standalone", "2010-01-15")
    _post(content, "d.md", "Only by email", "2010-03-01", "Newsletter: only")
    out = build_site(tmp_path, content=content)

    one = html.parse(str(out / "2010/02/series-one/index.html")).getroot()
    parts = [li.text_content().strip() for li in one.xpath("//nav[@class='series-nav']//li")]
    assert parts == ["Series one", "Series two"]
    assert "part 1 of 2" in one.xpath("string(//nav[@class='series-nav'])")

    # Chronological neighbours: Series two (Jan 1) < Standalone (Jan 15) < Series one (Feb 1).
    standalone = html.parse(str(out / "2010/01/standalone/index.html")).getroot()
    prev = standalone.xpath("//nav[@class='prev-next']/a[@rel='prev']")[0]
    nxt = standalone.xpath("//nav[@class='prev-next']/a[@rel='next']")[0]
    assert "Series two" in prev.text_content()
    assert "Series one" in nxt.text_content()
    # The email-only post is never linked from the site.
    assert not one.xpath("//nav[@class='prev-next']/a[@rel='next']")
    assert not standalone.xpath("//nav[@class='series-nav']")
