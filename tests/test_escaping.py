"""Hostile titles and metadata are shown as text on every page, never run as markup."""

from tests.engagement_site import HOSTILE_TITLE, article_file, build, parse


def test_hostile_title_is_text_everywhere(tmp_path):
    out = build(tmp_path)
    pages = [article_file(out, "say-hi"), out / "index.html", out / "archives" / "index.html"]
    pages += list((out / "tag").glob("*/index.html"))
    checked = 0
    for path in pages:
        doc = parse(path)
        # the only scripts are our own: JSON-LD, theme scripts, comment embeds
        for script in doc.xpath("//script"):
            assert (
                "alert(1)" not in (script.text or "") or script.get("type") == "application/ld+json"
            )
        texts = [el.text_content() for el in doc.xpath("//h1 | //h2 | //h3 | //a | //title")]
        if any(HOSTILE_TITLE in t for t in texts):
            checked += 1
    assert checked >= 3  # the article, the index and the archives show the exact title
    article = parse(article_file(out, "say-hi"))
    assert article.xpath("string(//h1)").strip() == HOSTILE_TITLE
    assert article.xpath("//title")[0].text_content().startswith(HOSTILE_TITLE)
