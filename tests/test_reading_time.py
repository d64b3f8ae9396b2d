"""reading_time: word counts, minutes, and the word-count cache across builds."""

from __future__ import annotations

import json
import sys

import pytest
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


@pytest.mark.parametrize(("words", "wpm", "want"), [(0, 230, 1), (230, 230, 1), (231, 230, 2)])
def test_minutes_round_up_never_below_one(words, wpm, want):
    assert reading_time.minutes(words, wpm) == want


def _minutes_on_page(out, slug: str) -> str:
    page = lxml_html.parse(str(out / "2020" / "01" / slug / "index.html")).getroot()
    meta = page.xpath("//*[contains(@class, 'post-meta')]")[0].text_content()
    return " ".join(meta.split())


def test_counts_are_cached_and_recounted_only_when_the_text_changes(tmp_path, monkeypatch):
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
    cache = json.loads((tmp_path / "cache" / "reading_time.json").read_text())
    assert list(cache["words"].values()) == [460]

    # Unchanged text: the count comes from the cache, nothing is parsed.
    def must_not_count(html):
        raise AssertionError("counted again although the text did not change")

    monkeypatch.setattr(reading_time, "count_words", must_not_count)
    build_site(tmp_path, content=content)

    # Changed text: counted again, and the stale entry is dropped.
    monkeypatch.undo()
    post.write_text(post.read_text().replace(WORDS_460, "just a few words now"))
    out = build_site(tmp_path, content=content)
    assert "1 min read" in _minutes_on_page(out, "long-read")
    cache = json.loads((tmp_path / "cache" / "reading_time.json").read_text())
    assert list(cache["words"].values()) == [5]


def test_cache_can_be_switched_off_and_a_broken_cache_is_ignored(tmp_path):
    content = tmp_path / "content"
    write_post(content, "p.md", "Title: P\nDate: 2020-01-02\nSlug: p\n\nOne two three.\n")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "reading_time.json").write_text("{not json")
    out = build_site(tmp_path, content=content)
    assert "1 min read" in _minutes_on_page(out, "p")
    assert json.loads((tmp_path / "cache" / "reading_time.json").read_text())["words"]

    off = tmp_path / "off"
    build_site(off, content=content, READING_TIME_CACHE=False)
    assert not (off / "cache" / "reading_time.json").exists()
