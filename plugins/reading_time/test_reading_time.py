"""reading_time: words of the rendered text, whole minutes, at least one."""

from __future__ import annotations

import logging

from lxml import html

from tests.sitebuild import build_site, write_post

from .reading_time import DEFAULTS, count_words, get_settings, minutes


def test_counts_text_not_markup():
    fragment = (
        '<p>Answer the <a href="https://example.com/very/long/url">angry</a> comment</p>'
        "<script>var ignored = 1;</script><style>p { color: red }</style>"
        "<pre><code>print(&quot;hi&quot;)</code></pre><p>don’t stop</p>"
    )
    # Answer, the, angry, comment, print, hi, don’t, stop
    assert count_words(fragment) == 8
    assert count_words("") == 0


def test_minutes_round_up_and_never_zero():
    assert minutes(0, 230) == 1
    assert minutes(230, 230) == 1
    assert minutes(231, 230) == 2
    assert minutes(2300, 230) == 10


def test_bad_speed_warns_and_falls_back(caplog):
    with caplog.at_level(logging.WARNING):
        settings = get_settings({"READING_TIME_WPM": 0})
    assert settings["READING_TIME_WPM"] == DEFAULTS["READING_TIME_WPM"]
    assert "reading_time: READING_TIME_WPM" in caplog.text


def test_shown_on_the_article(tmp_path):
    content = tmp_path / "content"
    words = " ".join(["word"] * 500)
    write_post(
        content,
        "long.md",
        f"""
        Title: A long read
        Date: 2011-01-02 10:00
        Category: Strategy
        Summary: Long.

        {words}
        """,
    )
    out = build_site(tmp_path, content=content, READING_TIME_WPM=200)
    doc = html.parse(str(out / "2011/01/a-long-read/index.html")).getroot()
    # 500 words (+ none from the header) at 200 wpm: 3 minutes.
    assert "3 min read" in doc.xpath("string(//p[@class='post-meta'])")
