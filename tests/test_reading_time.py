"""reading_time: word counts, minutes, and no recount while a post's text is unchanged."""

from __future__ import annotations

import html as html_module
import json
import random
import sys

import pytest
from lxml import etree
from lxml import html as lxml_html

from tests.sitebuild import ROOT, build_site, write_post

sys.path.insert(0, str(ROOT / "plugins"))

from reading_time import reading_time

WORDS_460 = " ".join(["word"] * 460)


def test_count_words_skips_markup_scripts_and_styles():
    html = (
        "<p>Don&#8217;t <em>panic</em>, it&rsquo;s fine.</p><script>var a = 1;</script>"
        "<style>p { color: red }</style><pre><code>print(x)</code></pre>"
    )
    assert reading_time.count_words(html) == 6  # Don't panic it's fine print x
    assert reading_time.count_words("") == 0
    assert reading_time.count_words("   ") == 0


@pytest.mark.parametrize(
    "html",
    [
        "<p>It's well-known: 3 cats_and dogs' toys, e.g. x'y'z and 'quoted' words.</p>",
        "<p>Café naïve — it’s Ünïcode, 日本語 text and d’Artagnan’s.</p>",
        "<p>don''t ' lone ' _under_ 42 4'2 a' 'b</p>",
    ],
)
def test_ascii_text_counts_the_words_the_unicode_rule_counts(html):
    text = " ".join(lxml_html.fragment_fromstring(html, create_parent="div").itertext())
    assert reading_time.count_words(html) == len(reading_time._WORD.findall(text)) > 5


def _by_the_rule(html: str) -> int:
    """The words the Unicode rule finds in the text of `html`, one regular expression."""
    text = html_module.unescape(reading_time._NOT_TEXT.sub(" ", html))
    return len(reading_time._WORD.findall(text))


def test_word_counts_follow_the_unicode_rule_whatever_the_characters():
    # apostrophes of both kinds, smarty's quotes and dashes, other letters and digits
    # than ASCII's, punctuation, entities and tags, in random order
    alphabet = [*"ab Z09_'’‘“”–—…«»\u00a0-.,;:!?()/\t\né中٣ ", "&rsquo;", "<em>", "</em>"]
    rng = random.Random(1234)
    for _ in range(3000):
        html = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert reading_time.count_words(html) == _by_the_rule(html), repr(html)


@pytest.mark.parametrize(
    ("html", "want"),
    [
        ("<p>don’t “say” it’s – fine — ok… «oui»</p>", 6),  # smarty's marks only: ASCII path
        ("<p>don't '' a''b ' x'y'z 'q'</p>", 5),
        ("<p>Café don’t</p>", 2),  # another letter: Unicode's rule
    ],
)
def test_typography_and_apostrophes(html, want):
    assert reading_time.count_words(html) == _by_the_rule(html) == want


def _words_of_the_tree(html: str) -> int:
    """The words of `html` read from a parsed tree, script and style left out."""
    root = lxml_html.fragment_fromstring(html, create_parent="div")
    etree.strip_elements(root, "script", "style", with_tail=False)
    return len(reading_time._WORD.findall(" ".join(root.itertext())))


@pytest.mark.parametrize(
    ("html", "want"),
    [
        ("<p>one<!-- two three <p>four</p> -->five</p>", 2),
        ('<script type="text/javascript">var x = "<p>no</p>";</script><p>yes words</p>', 2),
        ("<SCRIPT>a()</script ><Style media='x>y'>p {}</STYLE>one", 1),
        ("<p title=\"a > b\" data-x='c>d'>text</p>", 1),
        ("<p>a &lt; b and c &gt; d, a < b</p>", 7),
        ("<p>don&rsquo;t &amp; won&#39;t &#x2019;</p>", 2),
        ("<br>two<br/>three<hr />four", 3),
        ("<!DOCTYPE html><?xml version='1.0'?><![CDATA[ x ]]>one", 1),
        ('<img alt="not counted" src="x.png">after<td>cell</td>', 2),
        ("<p>caf\u00e9&nbsp;na\u00efve</p><textarea>in area</textarea>", 4),
    ],
)
def test_markup_is_not_counted_and_text_is(html, want):
    assert reading_time.count_words(html) == want == _words_of_the_tree(html)


def test_the_sample_site_counts_as_a_parsed_tree_does(tmp_path):
    """Every post of the sample site: the same count as reading a parsed tree."""
    build_site(tmp_path)
    from pelican.readers import MarkdownReader
    from pelican.settings import read_settings

    reader = MarkdownReader(read_settings(str(ROOT / "pelicanconf.py")))
    posts = sorted((ROOT / "content").rglob("*.md"))
    assert len(posts) > 5
    for post in posts:
        html, _ = reader.read(str(post))
        assert reading_time.count_words(html) == _words_of_the_tree(html), post


@pytest.mark.parametrize(("words", "wpm", "want"), [(0, 230, 1), (230, 230, 1), (231, 230, 2)])
def test_minutes_round_up_never_below_one(words, wpm, want):
    assert reading_time.minutes(words, wpm) == want


def _minutes_on_page(out, slug: str) -> str:
    page = lxml_html.parse(str(out / "2020" / "01" / slug / "index.html")).getroot()
    meta = page.xpath("//*[contains(@class, 'post-meta')]")[0].text_content()
    return " ".join(meta.split())


def test_words_are_counted_again_only_when_the_text_changes(tmp_path, monkeypatch):
    content = tmp_path / "content"
    post = write_post(
        content,
        "long.md",
        f"""
        Title: A long read
        Date: 2020-01-02 10:00
        Slug: long-read

        {WORDS_460}
        """,
    )
    out = build_site(tmp_path, content=content)
    assert "2 min read" in _minutes_on_page(out, "long-read")

    counted = []
    original = reading_time.count_words

    def spy(html):
        counted.append(html)
        return original(html)

    monkeypatch.setattr(reading_time, "count_words", spy)
    # Unchanged text: the stored article (fastbuild) keeps its count, nothing is parsed ...
    build_site(tmp_path, content=content)
    assert counted == []
    # ... which the spy would see if the article were made again.
    build_site(tmp_path / "nocache", content=content, FASTBUILD_ARTICLE_CACHE=False)
    assert len(counted) == 1

    # Changed text: counted again.
    post.write_text(post.read_text().replace(WORDS_460, "just a few words now"))
    out = build_site(tmp_path, content=content)
    assert "1 min read" in _minutes_on_page(out, "long-read")
    assert len(counted) == 2 and "just a few words now" in counted[-1]


def test_a_broken_article_store_is_ignored(tmp_path):
    content = tmp_path / "content"
    write_post(content, "p.md", "Title: P\nDate: 2020-01-02\nSlug: p\n\nOne two three.\n")
    store = tmp_path / "cache" / "fastbuild" / "articles"
    store.mkdir(parents=True)
    (store / "index.json").write_text("{not json")
    out = build_site(tmp_path, content=content)
    assert "1 min read" in _minutes_on_page(out, "p")
    assert json.loads((store / "index.json").read_text())["articles"]


def test_smartys_typography_is_counted_the_ascii_way(monkeypatch):
    html = "<p>‘Don’t’ – “say” it’s fine — ok… «oui»&nbsp;non</p>"
    want = _by_the_rule(html)
    monkeypatch.setattr(reading_time, "_WORD", None)  # Unicode's rule is not needed here
    assert reading_time.count_words(html) == want == 7
