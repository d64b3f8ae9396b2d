"""Text fitting: every network's text fits its limit and keeps the URL whole."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicate import textfit
from syndicate.channels import bluesky, linkedin, mastodon, x

URL = "https://frontporch.example/2026/11/talking-with-customers/"
TEMPLATE = "{title}\n\n{summary}\n\n{url}\n\n{hashtags}"

# Characters that break naive counting: emoji (ZWJ families, flags, skin tones,
# keycaps), CJK, combining marks, RTL, zero-width joiners, plain words.
TRICKY = [
    "👩‍👩‍👧‍👦",
    "🇬🇧",
    "👍🏽",
    "#️⃣",
    "❤️",
    "漢字",
    "日本語のテキスト",
    "한국어",
    "e\u0301",
    "a\u0308\u0323",
    "مرحبا",
    "\u200d",
    "ﬁ",
    "Ω",
    "…",
    "a.co",
    "word",
    "customer",
    "https://other.example/x",
    "{url}",
    "{title}",
]
pieces = st.one_of(st.sampled_from(TRICKY), st.text(min_size=1, max_size=12))
words = st.lists(pieces, max_size=60).map(" ".join)
long_word = st.integers(min_value=50, max_value=700).map(lambda n: "x" * n)
fields = st.one_of(words, long_word, st.text(max_size=400))
tag_lists = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=30)), max_size=40)

COUNTERS = [
    textfit.mastodon_counter(500, 23),
    textfit.mastodon_counter(120, 23),
    textfit.bluesky_counter(),
    textfit.x_counter(),
]


def url_kept_whole(text: str, url: str) -> bool:
    """The URL appears exactly as given, as its own whitespace-separated token."""
    return url in text.split()


@pytest.mark.parametrize("counter", COUNTERS, ids=lambda c: f"{c.network}-{c.limit}")
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=fields, summary=fields, tags=tag_lists, max_tags=st.integers(0, 30))
def test_any_post_fits_and_keeps_the_url(counter, title, summary, tags, max_tags):
    fitted = textfit.fit(
        counter, TEMPLATE, title=title, summary=summary, url=URL, tags=tags, max_hashtags=max_tags
    )
    assert counter.fits(fitted.text)
    assert fitted.length == counter.length(fitted.text) <= counter.limit
    assert url_kept_whole(fitted.text, URL)
    assert unicodedata.is_normalized("NFC", fitted.text)
    if counter.max_bytes:
        assert len(fitted.text.encode("utf-8")) <= counter.max_bytes


@pytest.mark.parametrize("counter", COUNTERS, ids=lambda c: f"{c.network}-{c.limit}")
@settings(max_examples=40, deadline=None)
@given(custom=fields, title=fields)
def test_custom_text_fits_and_keeps_the_url(counter, custom, title):
    fitted = textfit.fit(counter, TEMPLATE, title=title, summary="", url=URL, custom=custom)
    assert counter.fits(fitted.text)
    assert url_kept_whole(fitted.text, URL)


@settings(max_examples=60, deadline=None)
@given(text=words)
def test_cut_text_is_a_word_prefix_with_an_ellipsis(text):
    counter = textfit.x_counter(60)
    fitted = textfit.fit(counter, "{title}\n{url}", title=text, summary="", url=URL)
    first_line = fitted.text.split("\n")[0] if "\n" in fitted.text else ""
    clean = textfit.clean(text)
    if not fitted.truncated:
        assert first_line == unicodedata.normalize("NFC", clean)
    elif first_line:
        assert first_line.endswith(textfit.ELLIPSIS)
        kept = first_line[: -len(textfit.ELLIPSIS)]
        # whole words, or (only for a first word too long to fit) whole graphemes of it
        norm = unicodedata.normalize("NFC", clean)
        assert norm.startswith(kept)
        first_word = norm.split(" ")[0]
        assert (
            norm[len(kept) : len(kept) + 1] in {" ", ""}
            or norm[len(kept) :].lstrip(textfit.CUT_TRAIL.strip())[:1] in {" ", ""}
            or len(kept) < len(first_word)
        )


def test_grapheme_counting_keeps_clusters_whole():
    assert textfit.grapheme_count("👩‍👩‍👧‍👦") == 1
    assert textfit.grapheme_count("e\u0301") == 1
    assert textfit.grapheme_count("🇬🇧🇫🇷") == 2
    assert textfit.grapheme_count("漢字") == 2


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello", 5),
        ("漢字", 4),  # CJK weighs 2
        ("👩‍👩‍👧‍👦", 2),  # one emoji sequence
        ("🇬🇧", 2),
        ("👍🏽", 2),
        (URL, 23),
        ("see " + URL + ".", 4 + 23 + 1),
        ("“quoted”", 8),  # general punctuation U+2018–201F is light
        ("e\u0301", 1),  # NFC makes it one code point
        ("example.com", 23),  # bare domains count as links
        ("Node.js", 7),  # "js" is no top-level domain
    ],
)
def test_x_weighted_length(text, length):
    assert textfit.x_length(text) == length


def test_mastodon_counts_urls_as_reserved_and_graphemes_once():
    assert textfit.mastodon_length("a " + URL) == 2 + 23
    assert textfit.mastodon_length("a " + URL, url_length=30) == 2 + 30
    assert textfit.mastodon_length("👩‍👩‍👧‍👦 e\u0301") == 3


def test_long_text_is_cut_at_a_word_and_hashtags_go_first():
    counter = textfit.mastodon_counter(120)
    summary = "Answer every comment, the negative ones first, because a complaint answered wins."
    fitted = textfit.fit(
        counter,
        TEMPLATE,
        title="Talking with customers",
        summary=summary,
        url=URL,
        tags=["customer service", "email"],
    )
    lines = fitted.text.split("\n")
    assert lines[0] == "Talking with customers"
    assert lines[2].endswith("…") and summary.startswith(lines[2][:-1])
    assert lines[4] == URL
    assert "#" not in fitted.text  # hashtags were dropped before the summary was cut
    assert fitted.truncated and fitted.length <= 120


def test_hashtags_from_tags():
    tags = ["customer service", "email", "Email", "C++", "2024", "顧客", "e-mail tips"]
    assert textfit.hashtags(tags) == ["#CustomerService", "#Email", "#C", "#顧客", "#EMailTips"]
    assert textfit.hashtags(tags, max_count=2) == ["#CustomerService", "#Email"]


def test_fields_in_values_are_not_expanded_again():
    fitted = textfit.fit(
        textfit.x_counter(),
        TEMPLATE,
        title="About {url} and {summary}",
        summary="short",
        url=URL,
    )
    assert fitted.text.startswith("About {url} and {summary}\n")
    assert fitted.text.split().count(URL) == 1


def test_custom_text_with_and_without_url_field():
    counter = textfit.mastodon_counter()
    with_field = textfit.fit(
        counter, TEMPLATE, title="T", summary="S", url=URL, custom="New: {url} {title}"
    )
    assert with_field.text == f"New: {URL} T"
    plain = textfit.fit(counter, TEMPLATE, title="T", summary="S", url=URL, custom="My own words")
    assert plain.text == f"My own words\n\n{URL}"


def test_pick_custom_prefers_the_network():
    social = {"": "everywhere", "mastodon": "for the fediverse"}
    assert textfit.pick_custom(social, "mastodon") == "for the fediverse"
    assert textfit.pick_custom(social, "x") == "everywhere"
    assert textfit.pick_custom({}, "x") == ""


def _facet_text(text: str, facet: dict) -> str:
    raw = text.encode("utf-8")
    return raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8")


def test_bluesky_facets_point_at_the_right_bytes():
    text = f"Grüße 👩‍👩‍👧 漢字 — read {URL}.\n\n#CustomerService #顧客 #2024"
    found = textfit.facets(text)
    kinds = [(f["features"][0]["$type"].split("#")[1], _facet_text(text, f)) for f in found]
    assert kinds == [("link", URL), ("tag", "#CustomerService"), ("tag", "#顧客")]
    assert found[0]["features"][0]["uri"] == URL
    assert found[2]["features"][0]["tag"] == "顧客"


@settings(max_examples=60, deadline=None)
@given(title=fields, tags=tag_lists)
def test_bluesky_facets_always_match_their_substrings(title, tags):
    counter = textfit.bluesky_counter()
    fitted = textfit.fit(counter, TEMPLATE, title=title, summary="", url=URL, tags=tags)
    raw = fitted.text.encode("utf-8")
    links = []
    for facet in textfit.facets(fitted.text):
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        assert 0 <= start < end <= len(raw)
        piece = raw[start:end].decode("utf-8")  # never splits a character
        feature = facet["features"][0]
        if feature["$type"].endswith("#link"):
            assert piece == feature["uri"]
            links.append(piece)
        else:
            assert piece == "#" + feature["tag"] or piece == "＃" + feature["tag"]
    assert URL in links


def test_too_long_url_is_refused():
    with pytest.raises(textfit.TextTooLong):
        textfit.fit(textfit.bluesky_counter(20), "{url}", title="", summary="", url=URL)


def test_every_social_channel_setting_is_in_the_readme():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for module in (mastodon, bluesky, x, linkedin):
        missing = [k for k in module.DEFAULTS if not re.search(rf"\b{re.escape(k)}\b", readme)]
        assert missing == [], f"{module.__name__}: settings missing from README.md: {missing}"
