"""fastbuild's memoised Pelican helpers return exactly what Pelican's own return."""

from __future__ import annotations

import datetime as dt
import sys
from zoneinfo import ZoneInfo

import pytest
from pelican import readers, utils
from pelican.contents import Article
from pelican.settings import DEFAULT_CONFIG
from pelican.utils import SafeDatetime
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

from tests.sitebuild import ROOT

sys.path.insert(0, str(ROOT / "plugins"))

from fastbuild import speedups


@pytest.fixture
def active():
    speedups.activate(True)
    yield
    speedups.activate(False)


@pytest.mark.parametrize(
    "text",
    ["2012-03-04", "2012-03-04 10:20", "2012-03-04T10:20:30", "2012-03-04_10:20"],
)
def test_plain_dates_parse_as_pelican_parses_them(active, text):
    pelican_value = readers.METADATA_PROCESSORS["date"](text, {})
    fast = speedups.parse_date(text)
    assert fast is not None  # these take the fast path ...
    assert fast == pelican_value  # ... and give Pelican's answer
    assert type(fast) is type(pelican_value)
    assert fast.tzinfo is None and pelican_value.tzinfo is None


@pytest.mark.parametrize(
    "text",
    ["2012-03-04 10:20+02:00", "March 4, 2012", "2012-03-04 10:20:30.5", "2012-13-40", "2012-3-4"],
)
def test_anything_else_is_left_to_pelican(active, text):
    assert speedups.parse_date(text) is None


def test_inactive_or_replaced_processor_means_no_fast_path(monkeypatch):
    speedups.activate(False)
    assert speedups.parse_date("2012-03-04") is None
    speedups.activate(True)
    try:
        monkeypatch.setitem(readers.METADATA_PROCESSORS, "date", lambda x, y: x)
        assert speedups.parse_date("2012-03-04") is None
    finally:
        speedups.activate(False)


def test_strftime_is_remembered_per_zone_and_format(active):
    utc = SafeDatetime(2020, 5, 6, 22, 30, tzinfo=ZoneInfo("UTC"))
    tokyo = utc.astimezone(ZoneInfo("Asia/Tokyo"))
    assert utc == tokyo  # the same instant ...
    for fmt in ("%Y-%m-%d %H:%M %Z", "%-d %B %Y", "%a %-H"):
        for value in (utc, tokyo, dt.date(2020, 5, 6), dt.datetime(2020, 5, 6, 7, 8)):
            # ... formatted in its own zone, and twice the same way.
            want = speedups._original_strftime(value, fmt)
            assert utils.strftime(value, fmt) == want
            assert utils.strftime(value, fmt) == want
    offset = readers.METADATA_PROCESSORS["date"]("2026-05-04 09:30+02:00", {})
    assert offset.strftime("%-d %B %Y %H:%M") == "4 May 2026 09:30"  # unhashable zone
    assert utc.strftime("%H %Z") == "22 UTC"
    assert tokyo.strftime("%H %Z") == "07 JST"


def test_relative_source_path_matches_pelican(active, tmp_path):
    settings = dict(DEFAULT_CONFIG, PATH=str(tmp_path))
    source = tmp_path / "posts" / "a.md"
    article = Article(
        "<p>x</p>", metadata={"title": "A", "date": SafeDatetime(2020, 1, 1)},
        settings=settings, source_path=str(source),
    )  # fmt: skip
    want = speedups._original_relative_source_path(article)
    assert want == "posts/a.md"
    assert article.get_relative_source_path() == want
    assert article.get_relative_source_path() == want  # remembered
    other = str(tmp_path / "pages" / "b.md")
    assert article.get_relative_source_path(other) == "pages/b.md"


def _posts(count: int) -> list[Article]:
    settings = dict(DEFAULT_CONFIG, PATH="/site")
    posts = []
    for i in range(count):
        date = SafeDatetime(2020 + i % 3, 1 + i % 4, 1 + i % 5, 10, i % 60)
        meta = {"title": f"P{i}", "date": date, "slug": f"p{i}"}
        posts.append(Article(f"<p>{i}</p>", metadata=meta, settings=settings))
    return posts


def test_period_archives_match_pelicans(active):
    posts = _posts(40)
    newest_first = sorted(posts, key=lambda p: p.date, reverse=True)
    by_title = sorted(posts, key=lambda p: p.title)
    settings = dict(
        DEFAULT_CONFIG,
        YEAR_ARCHIVE_SAVE_AS="{date:%Y}/index.html",
        YEAR_ARCHIVE_URL="{date:%Y}/",
        MONTH_ARCHIVE_SAVE_AS="{date:%Y}/{date:%m}/index.html",
        MONTH_ARCHIVE_URL="{date:%Y}/{date:%m}/",
        DAY_ARCHIVE_SAVE_AS="{date:%Y}/{date:%m}/{date:%d}/index.html",
        DAY_ARCHIVE_URL="",
    )
    ours = speedups._period_archives(None, newest_first, by_title, settings)
    pelicans = speedups._original_period_archives(None, newest_first, by_title, settings)
    assert set(ours) == {"year", "month", "day"} == set(pelicans)
    for granularity in ours:
        assert len(ours[granularity]) == len(pelicans[granularity]) > 1
        for mine, theirs in zip(ours[granularity], pelicans[granularity], strict=True):
            assert list(mine) == list(theirs)  # same keys, same order
            for key in mine:
                if key in ("dates", "articles"):
                    assert [id(p) for p in mine[key]] == [id(p) for p in theirs[key]]
                else:
                    assert mine[key] == theirs[key]


def test_listing_members_answer_by_identity():
    posts = _posts(5)
    members = speedups._Members(posts[1:3])
    assert members == posts[1:3] and isinstance(members, list)
    assert [p in members for p in posts] == [False, True, True, False, False]


class _Key:
    def __init__(self, name):
        self.save_as = self.url = self.page_name = self.slug = name


class _Generator:
    """What ArticlesGenerator.generate_tags/categories/authors read from their object."""

    def __init__(self, posts, groups):
        self.dates = sorted(posts, key=lambda p: p.date)
        self.articles = list(reversed(self.dates))
        self.context = {}
        self.tags = {key: members for key, members in groups}
        self.categories = list(groups)
        self.authors = list(groups)

    def get_template(self, name):
        return name


@pytest.mark.parametrize("name", ["generate_tags", "generate_categories", "generate_authors"])
def test_listing_pages_get_pelicans_posts_in_date_order(active, name):
    posts = _posts(9)
    # groups listed in no particular order, one with a post twice, one with a post
    # the site does not date (then Pelican's own filter is used for that group)
    stray = _posts(1)[0]
    groups = [
        (_Key("a"), [posts[5], posts[0], posts[7]]),
        (_Key("b"), [posts[3], posts[3], posts[8], posts[1]]),
        (_Key("c"), [posts[2], stray, posts[6]]),
    ]

    def written(function):
        calls = []
        function(_Generator(posts, groups), lambda *a, **kw: calls.append(kw))
        return [[id(p) for p in kw["dates"]] for kw in calls]

    ours = written(getattr(speedups._Articles, name))
    pelicans = written(speedups._original_listings[name])
    assert ours == pelicans and len(ours) == 3 and all(ours)


def _translated(settings, folder: str) -> list[Article]:
    """Posts in groups by slug: alone, translated, marked as translations, two in one
    language (Pelican warns), every member a translation (Pelican warns)."""
    plan = [
        ("solo", "en", None), ("pair", "en", None), ("pair", "fr", None),
        ("marked", "de", "true"), ("marked", "en", None), ("marked", "fr", "false"),
        ("twice", "en", None), ("twice", "en", None), ("twice", "it", None),
        ("all", "fr", "true"), ("all", "de", "true"), ("zed", "en", None),
    ]  # fmt: skip
    posts = []
    for i, (slug, lang, translation) in enumerate(plan):
        meta = {"title": f"{slug}-{lang}-{i}", "date": SafeDatetime(2021, 1, 1 + i), "slug": slug}
        meta["lang"] = lang
        if translation is not None:
            meta["translation"] = translation
        path = f"/site/{folder}/{slug}-{i}.md"
        posts.append(Article(f"<p>{i}</p>", metadata=meta, settings=settings, source_path=path))
    posts.reverse()  # not in the order of any key
    return posts


@pytest.mark.parametrize("translation_id", ["slug", ("slug", "status"), None])
def test_translations_found_group_by_group_as_pelican_finds_them(active, caplog, translation_id):
    settings = dict(DEFAULT_CONFIG, PATH="/site")

    def titles(items):
        return [p.title for p in items]

    def run(function, folder):
        # each run's posts in their own folder: Pelican's log filter drops a message
        # it has seen before, and the source paths are in every warning
        posts = _translated(settings, folder)
        caplog.clear()
        index, translations = function(posts, translation_id)
        return (
            titles(posts),  # Pelican sorts the list it is given
            titles(index),
            titles(translations),
            {p.title: titles(getattr(p, "translations", [])) for p in posts},
            [r.getMessage().replace(f"/{folder}/", "/") for r in caplog.records],
        )

    ours = run(speedups._process_translations, "ours")
    pelicans = run(speedups._original_process_translations, "pelicans")
    assert ours == pelicans
    if translation_id:
        assert len(ours[2]) >= 4 and len(ours[4]) == 4  # translations found, warnings
    from pelican import generators

    assert generators.process_translations is speedups._process_translations


def test_translation_id_naming_a_missing_attribute_fails_as_in_pelican(active):
    settings = dict(DEFAULT_CONFIG, PATH="/site")
    for function in (speedups._process_translations, speedups._original_process_translations):
        with pytest.raises(AttributeError, match="Cannot use"):
            function(_translated(settings, "x"), ("slug", "nothing"))


class _Prefixed(HtmlFormatter):
    """A formatter that names its classes its own way: its tables are its own."""

    def _get_css_class(self, ttype):
        return "x-" + super()._get_css_class(ttype)


@pytest.mark.parametrize(
    ("cls", "options"),
    [
        (HtmlFormatter, {}),
        (HtmlFormatter, {"style": "monokai"}),
        (HtmlFormatter, {"classprefix": "hl-"}),
        (HtmlFormatter, {"style": "monokai", "classprefix": "hl-", "cssclass": "code"}),
        (_Prefixed, {}),
    ],
)
def test_code_highlighting_tables_are_pygments_own(active, cls, options):
    source = 'def greet(name):\n    return f"hello {name}"  # a comment\n'
    lexer = get_lexer_by_name("python")

    def made(stylesheet):
        HtmlFormatter._create_stylesheet = stylesheet
        try:
            formatters = [cls(**options) for _ in range(3)]
        finally:
            HtmlFormatter._create_stylesheet = speedups._create_stylesheet
        return [
            (f.ttype2class, f.class2style, highlight(source, lexer, f), f.get_style_defs())
            for f in formatters
        ]

    speedups._stylesheets.clear()
    ours = made(speedups._create_stylesheet)
    assert ours == made(speedups._original_stylesheet)
    assert len({id(tables) for made_by in ours for tables in made_by[:2]}) == 6  # own copies
    assert '<span class="' in ours[0][2]  # highlighted with classes


def test_code_highlighting_tables_differ_by_style_and_prefix(active):
    speedups._stylesheets.clear()
    plain, prefixed = HtmlFormatter(), HtmlFormatter(classprefix="hl-")
    dark, own = HtmlFormatter(style="monokai"), _Prefixed()
    assert set(prefixed.class2style) == {"hl-" + name for name in plain.class2style}
    assert set(own.class2style) == {"x-" + name for name in plain.class2style}
    assert dark.class2style != plain.class2style
    assert len(speedups._stylesheets) == 4
    plain.ttype2class.clear()  # what one formatter does to its tables stays its own
    prefixed.class2style.clear()
    assert HtmlFormatter().ttype2class and HtmlFormatter(classprefix="hl-").class2style
    speedups.activate(False)
    speedups._stylesheets.clear()
    HtmlFormatter()
    assert not speedups._stylesheets  # inactive: Pygments' own work, nothing kept


def test_a_style_that_cannot_be_a_key_is_worked_out_each_time(active):
    plain = HtmlFormatter()
    formatter = HtmlFormatter.__new__(HtmlFormatter)
    formatter.style = list(plain.style)  # its (token type, style) pairs: not hashable
    formatter.classprefix = ""
    speedups._stylesheets.clear()
    speedups._create_stylesheet(formatter)
    assert formatter.class2style == plain.class2style
    assert not speedups._stylesheets


def test_relative_paths_remembered_per_depth_are_pelicans(active):
    names = [
        "index.html", "a/index.html", "a/b/index.html", "a/b/other.html", "/a/b.html",
        "a//b.html", "./a/b.html", "a/b/", "a/./b.html", "../x.html", "a/b/c/d/e.html",
        "//x/y.html", "x/../y.html", "", "tag/x/page/2/index.html", "tag/y/page/2/index.html",
    ]  # fmt: skip
    speedups._depths.clear()
    assert utils.get_relative_path is speedups._relative_path  # what the writer calls
    for name in names * 2:  # the second time from the memo
        assert utils.get_relative_path(name) == speedups._original_relative_path(name), name
    assert speedups._depths[4] == "../../../.."
    assert len(speedups._depths) <= 6  # one per depth, not one per page
    speedups.activate(False)
    speedups._depths.clear()
    assert utils.get_relative_path("a/b/c.html") == "../.."
    assert not speedups._depths  # inactive: Pelican's own work, nothing kept
