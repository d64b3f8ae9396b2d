"""fastbuild must be invisible in the output: every lever on or off, the same bytes.

Real Pelican builds (in-process, project settings, theme and every plugin) of the
sample content/ and of a generated 300-post corpus; output trees are compared file
by file. An incremental rebuild after edits is compared with a clean build of the
edited content.
"""

from __future__ import annotations

import difflib
import gc
import json
import logging
import os
import shutil
import sys
import weakref
from pathlib import Path

import pytest
from lxml import html as lxml_html
from pelican import Pelican, signals

from tests.sitebuild import ROOT, build_site, messages, site_settings, write_post

sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "plugins"))

import gen_corpus
from fastbuild import fastbuild

ALL_OFF = {"FASTBUILD_ENABLED": False}
ALL_ON = {
    "FASTBUILD_ENABLED": True,
    "FASTBUILD_PARALLEL_MARKDOWN": True,
    "FASTBUILD_MARKDOWN_CACHE": True,
    "FASTBUILD_PARALLEL_WRITE": True,
    "FASTBUILD_PARALLEL_CHECK": True,
    "FASTBUILD_INCREMENTAL": True,
    "FASTBUILD_SKIP_UNCHANGED": True,
    "FASTBUILD_WORKERS": 2,  # the forked paths run even on a one-core machine
}
# the default: pages checked in two processes, the stale ones rendered in one
CHECK_APART = ALL_ON | {"FASTBUILD_PARALLEL_WRITE": False}


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def assert_same_tree(got: Path, want: Path) -> None:
    a, b = tree(got), tree(want)
    only_got, only_want = sorted(set(a) - set(b))[:5], sorted(set(b) - set(a))[:5]
    assert sorted(a) == sorted(b), f"only in {got}: {only_got}; only in {want}: {only_want}"
    differ = [name for name in a if a[name] != b[name]]
    if differ:
        first = differ[0]
        diff = "\n".join(
            difflib.unified_diff(
                b[first].decode(errors="replace").splitlines(),
                a[first].decode(errors="replace").splitlines(),
                lineterm="",
                n=1,
            )
        )
        pytest.fail(f"{len(differ)} files differ, first {first}:\n{diff[:3000]}")
    assert len(a) > 0


def test_writer_shares_work_per_post_with_a_forked_process(tmp_path):
    """FastWriter.map_shares: `work` is called once per process with its round-robin
    share of the items; one share of them all, here, when a fork is not worth it."""
    from fastbuild.writer import FastWriter

    def run(items, at_least=48, **levers):
        settings = site_settings(tmp_path, **(ALL_ON | levers))
        writer = FastWriter(str(tmp_path / "output"), settings=settings)
        return writer.map_shares(lambda share: [[i * 3 for i in share], os.getpid()], items,
                                 at_least=at_least)  # fmt: skip

    many = list(range(200))
    got = run(many)
    assert [g[0] for g in got] == [[i * 3 for i in many[0::2]], [i * 3 for i in many[1::2]]]
    assert got[0][1] == os.getpid()
    assert got[1][1] != os.getpid()
    # few items, or the lever off: all here, in one call
    assert run(many[:60]) == [[[i * 3 for i in many[:60]], os.getpid()]]
    assert len({g[1] for g in run(many[:60], at_least=30)}) == 2
    assert run(many, FASTBUILD_PARALLEL_WRITE=False) == [[[i * 3 for i in many], os.getpid()]]


def assert_same_index(got: Path, want: Path) -> None:
    """Two manifests list the same posts (build times and fingerprints aside: a body
    fastbuild keeps packed is fingerprinted as it is held)."""
    a, b = (json.loads((folder / "index.json").read_text()) for folder in (got, want))
    assert a.pop("built") and b.pop("built")
    for entry in a["posts"] + b["posts"]:
        assert entry.pop("fingerprint")
    assert a == b and len(a["posts"]) > 0


def rendered_count(tmp_path: Path) -> int:
    """Pages the last build into tmp_path rendered (fastbuild's state file says)."""
    state = tmp_path / "cache" / "fastbuild" / "output-state.json"
    return json.loads(state.read_text())["last_build"]["rendered"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    return gen_corpus.generate(300, root / "content")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A copy of data/, so builds of generated posts never touch the real one."""
    dest = tmp_path_factory.mktemp("data") / "data"
    shutil.copytree(ROOT / "data", dest)
    return dest


def test_sample_site_identical_with_and_without(tmp_path):
    on = build_site(tmp_path / "on", **ALL_ON)
    off = build_site(tmp_path / "off", **ALL_OFF)
    assert_same_tree(on, off)
    # Again from every cache (stored articles with {static} and {filename} links among
    # them) into an empty output folder.
    shutil.rmtree(on)
    build_site(tmp_path / "on", **ALL_ON)
    assert len(_stored_articles(tmp_path / "on")) >= 12
    assert_same_tree(on, off)
    doc = lxml_html.parse(str(on / "index.html")).getroot()
    assert doc.xpath("//a[@href]"), "the sample index links somewhere"


@pytest.fixture(scope="module")
def corpus_off(tmp_path_factory, corpus, data_dir) -> Path:
    """The corpus built with every lever off: the reference output."""
    where = tmp_path_factory.mktemp("off")
    return build_site(where, content=corpus, DATA_PATH=str(data_dir), **ALL_OFF)


@pytest.mark.slow  # builds of a 300-post corpus
def test_corpus_identical_with_and_without(tmp_path, corpus, data_dir, corpus_off, monkeypatch):
    from fastbuild.writer import FastWriter

    shared = []
    map_shares = FastWriter.map_shares

    def spy(self, work, items, **kwargs):
        results = map_shares(self, work, items, **kwargs)
        shared.append((work.__name__, len(items), len(results)))
        return results

    monkeypatch.setattr(FastWriter, "map_shares", spy)
    off = corpus_off
    on = build_site(tmp_path / "on", content=corpus, DATA_PATH=str(data_dir), **ALL_ON)
    # the manifest's records, and the feeds, dealt out to two processes
    assert [(name, results) for name, _, results in shared] == [
        ("records", 2),
        ("write_feeds", 2),
    ]
    assert shared[0][1] == 300 and shared[1][1] > 20
    # every feed file, wherever it was written, is in the state a rebuild checks
    feed_state = json.loads((tmp_path / "on" / "cache" / "feeds-state.json").read_text())
    recorded = [file for _, files in feed_state["feeds"].values() for file in files]
    written = [p for p in (on / "feeds").rglob("*") if p.suffix in (".xml", ".json")]
    assert sorted(recorded) == sorted(str(p.relative_to(on)) for p in written)
    assert len(recorded) > 20
    assert rendered_count(tmp_path / "on") > 300  # every page rendered on a cold build
    assert_same_tree(on, off)
    # the manifest's post files, written half here and half in a forked process
    # (FastWriter.map_shares), are those written by Pelican's writer in one process
    assert_same_tree(
        on.parent / "var" / "manifest" / "posts", off.parent / "var" / "manifest" / "posts"
    )
    assert_same_index(on.parent / "var" / "manifest", off.parent / "var" / "manifest")
    # one entry per post (in folders), beside the index of sources' sizes and times
    cached = list((tmp_path / "on" / "cache" / "fastbuild" / "markdown").glob("*/*.json"))
    assert len(cached) == 300
    # every article was made in the workers, and the store's index lists them all
    assert len(_stored_articles(tmp_path / "on")) == 300
    assert list((tmp_path / "on" / "cache" / "fastbuild" / "templates").iterdir())
    # A warm cache into an empty output folder gives the same site again.
    shutil.rmtree(on)
    on = build_site(tmp_path / "on", content=corpus, DATA_PATH=str(data_dir), **ALL_ON)
    assert_same_tree(on, off)
    page = lxml_html.parse(str(next(on.glob("20*/*/post-00007/index.html")))).getroot()
    assert page.xpath("//blockquote"), "converted Markdown (blockquote) is on the page"


@pytest.mark.slow  # builds of a 300-post corpus
def test_levers_alone_give_the_same_bytes(tmp_path, corpus, data_dir, corpus_off):
    # Parallel Markdown without its cache, and the parallel writer without the
    # incremental skip: the two paths the all-on build does not take by themselves.
    only = {k: False for k in fastbuild._BOOL_KEYS} | {"FASTBUILD_ENABLED": True}
    only |= {"FASTBUILD_WORKERS": 2, "FASTBUILD_JINJA_AUTO_RELOAD": True}
    only |= {"FASTBUILD_PARALLEL_MARKDOWN": True, "FASTBUILD_PARALLEL_WRITE": True}
    out = build_site(tmp_path, content=corpus, DATA_PATH=str(data_dir), **only)
    assert not (tmp_path / "cache" / "fastbuild").exists()
    assert_same_tree(out, corpus_off)


@pytest.mark.slow  # builds of a 300-post corpus
@pytest.mark.parametrize("levers", [ALL_ON, CHECK_APART], ids=["render-apart", "check-apart"])
def test_rebuild_after_edits_equals_clean_build(tmp_path, corpus, data_dir, levers):
    content = tmp_path / "content"
    shutil.copytree(corpus, content)
    out = build_site(tmp_path / "inc", content=content, DATA_PATH=str(data_dir), **levers)
    total = rendered_count(tmp_path / "inc")
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.html")}
    # the first build named and fingerprinted its manifest files in two processes
    records = tmp_path / "inc" / "var" / "manifest" / "posts"
    made = {p.name: p.stat().st_mtime_ns for p in records.iterdir()}

    # 0. nothing changed: nothing rendered, nothing written
    build_site(tmp_path / "inc", content=content, DATA_PATH=str(data_dir), **levers)
    assert rendered_count(tmp_path / "inc") == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.html")} == before
    assert len(made) == 300  # and every fingerprint was found the same afterwards
    assert {p.name: p.stat().st_mtime_ns for p in records.iterdir()} == made

    # 1. the body of one post: only its own page may change on disk
    body = content / "posts" / "post-00150.md"
    body.write_text(body.read_text() + "\nA paragraph added later.\n")
    build_site(tmp_path / "inc", content=content, DATA_PATH=str(data_dir), **levers)
    assert rendered_count(tmp_path / "inc") < total / 20
    changed = [p for p in out.rglob("*.html") if p.stat().st_mtime_ns != before[p]]
    assert [str(p.relative_to(out)).split("/")[-2] for p in changed] == ["post-00150"]
    page = lxml_html.parse(str(changed[0])).getroot()
    assert "A paragraph added later." in page.text_content()

    # 2. a title: listings and neighbours change, not every page
    meta = content / "posts" / "post-00010.md"
    meta.write_text(meta.read_text().replace("Title: ", "Title: Renamed ", 1))
    build_site(tmp_path / "inc", content=content, DATA_PATH=str(data_dir), **levers)
    assert 0 < rendered_count(tmp_path / "inc") < total / 2

    # 3. a new tag: a new tag page, and whatever lists tags or tag feeds
    meta.write_text(meta.read_text().replace("Tags: ", "Tags: brand-new-tag, ", 1))
    build_site(tmp_path / "inc", content=content, DATA_PATH=str(data_dir), **levers)
    assert rendered_count(tmp_path / "inc") > 0

    clean = build_site(tmp_path / "clean", content=content, DATA_PATH=str(data_dir), **ALL_OFF)
    assert_same_tree(out, clean)
    assert (out / "tag" / "brand-new-tag" / "index.html").exists()


@pytest.mark.slow  # builds of a 300-post corpus
@pytest.mark.parametrize("levers", [ALL_ON, CHECK_APART], ids=["render-apart", "check-apart"])
def test_a_page_that_cannot_render_fails_the_build_with_its_error(
    tmp_path, corpus, data_dir, levers
):
    theme = tmp_path / "theme"
    shutil.copytree(ROOT / "theme", theme)
    article = theme / "templates" / "article.html"
    article.write_text(
        article.read_text().replace(
            "{{ article.content|safe }}", "{{ article.content|safe }}{{ article.no_such.part }}"
        )
    )
    with pytest.raises(Exception, match="no_such") as caught:
        build_site(tmp_path, content=corpus, DATA_PATH=str(data_dir), THEME=str(theme), **levers)
    if isinstance(caught.value, RuntimeError):  # raised in a forked worker: its traceback
        assert "UndefinedError" in str(caught.value)


def test_theme_change_rerenders_everything(tmp_path):
    theme = tmp_path / "theme"
    shutil.copytree(ROOT / "theme", theme)
    build_site(tmp_path, THEME=str(theme), **ALL_ON)
    total = rendered_count(tmp_path)
    base = theme / "templates" / "base.html"
    base.write_text(base.read_text().replace("</body>", "<!-- changed --></body>"))
    out = build_site(tmp_path, THEME=str(theme), **ALL_ON)
    assert rendered_count(tmp_path) == total
    assert "<!-- changed -->" in (out / "index.html").read_text()


def test_deleted_or_edited_output_is_rewritten(tmp_path):
    out = build_site(tmp_path, **ALL_ON)
    index = out / "index.html"
    good = index.read_bytes()
    index.write_text("tampered")
    victim = sorted(out.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/*/index.html"))[0]  # a post
    victim.unlink()
    build_site(tmp_path, **ALL_ON)
    assert rendered_count(tmp_path) == 2
    assert index.read_bytes() == good
    assert victim.exists()


def test_broken_post_is_reported_not_fatal(tmp_path, data_dir):
    content = tmp_path / "content"
    for i in range(3):
        write_post(content, f"ok-{i}.md", f"Title: Fine {i}\nDate: 2020-01-0{i + 1}\n\nText {i}.\n")
    bad = b"Title: Bad\nDate: 2020-02-01\n\n\xff\xfe oops\n"  # not UTF-8
    (content / "posts" / "broken.md").write_bytes(bad)
    on = build_site(tmp_path / "on", content=content, DATA_PATH=str(data_dir), **ALL_ON)
    on_logs = " ".join(messages())
    off = build_site(tmp_path / "off", content=content, DATA_PATH=str(data_dir), **ALL_OFF)
    assert_same_tree(on, off)
    assert "broken.md" in on_logs
    assert len(list(on.glob("2020/01/*/index.html"))) == 3


@pytest.mark.parametrize(
    ("key", "value"),
    [("FASTBUILD_WORKERS", -1), ("FASTBUILD_WORKERS", "2"), ("FASTBUILD_INCREMENTAL", "yes")],
)
def test_bad_settings_are_refused(key, value):
    with pytest.raises(ValueError, match=key):
        fastbuild.get_settings({key: value})


def test_master_switch_turns_every_lever_off():
    conf = fastbuild.get_settings({"FASTBUILD_ENABLED": False, "CACHE_PATH": "/x"})
    levers = [k for k in fastbuild._BOOL_KEYS if k != "FASTBUILD_JINJA_AUTO_RELOAD"]
    assert not any(conf[k] for k in levers)
    assert conf["FASTBUILD_CACHE_PATH"] == os.path.join("/x", "fastbuild")
    pelican_obj = type("P", (), {"settings": {"FASTBUILD_ENABLED": False}})
    assert fastbuild.on_get_writer(pelican_obj) is None


def test_summary_converted_once_with_pelicans_result():
    html, fields = fastbuild.convert_markdown(
        "Title: T\nSummary: *Short* and `sweet`\nTags: a, b\n\nBody **text**.\n",
        {"extensions": ["markdown.extensions.meta"], "output_format": "html5"},
        ["summary"],
    )
    assert html == "<p>Body <strong>text</strong>.</p>"
    assert ("summary", "html", "<p><em>Short</em> and <code>sweet</code></p>") in fields
    assert ("tags", "raw", ["a, b"]) in fields


# Posts whose extensions keep state while converting: footnotes, abbreviations,
# heading IDs made unique within a document, the meta header.
STATEFUL_POSTS = [
    "Title: One\nSummary: A note[^n] on *HTML*\n    [^n]: Noted in the summary.\n\n"
    "## Intro\n\nHTML here[^n].\n\n[^n]: The footnote.\n\n"
    "*[HTML]: Hyper Text Markup Language\n\n## Intro\n",
    'Title: Two\nSummary: No notes, "quoted"\n\n## Intro\n\nHTML again[^n] -- plain.\n',
    "No header at all. HTML[^n].\n\n## Intro\n",
]


def _fresh_conversion(text: str, settings: dict) -> tuple[str, list]:
    """What Pelican's own reader does: a new Markdown object for every post."""
    import markdown

    md = markdown.Markdown(**settings)
    html = md.convert(text)
    fields = []
    md.preprocessors.deregister("meta")
    for name, values in getattr(md, "Meta", {}).items():
        if name == "summary":
            md.reset()
            fields.append((name, "html", md.convert("\n".join(values))))
        else:
            fields.append((name, "raw", list(values)))
    return html, fields


def test_markdown_objects_reused_between_posts_carry_nothing_over(tmp_path):
    settings = site_settings(tmp_path)["MARKDOWN"]
    settings["extensions"] = [*settings["extension_configs"], "markdown.extensions.meta"]
    for _round in range(2):
        for text in STATEFUL_POSTS:
            got = fastbuild.convert_markdown(text, settings, ["summary"])
            assert got == _fresh_conversion(text, settings), text
    # one pair of Markdown objects served every post above
    from fastbuild import inline_quick, markdown_cache

    assert markdown_cache._converters(settings) is markdown_cache._converters(dict(settings))
    # ... made with the inline processor the quick-inline switch gives new objects
    try:
        for on in (True, False):
            inline_quick.activate(on)
            body_md, field_md = markdown_cache._converters(settings)
            for md in (body_md, field_md):
                inline = md.treeprocessors["inline"]
                assert isinstance(inline, inline_quick.QuickInlineProcessor) is on
    finally:
        inline_quick.activate(True)


def _stored_articles(tmp_path: Path) -> dict:
    index = tmp_path / "cache" / "fastbuild" / "articles" / "index.json"
    return json.loads(index.read_text())["articles"]


def test_stored_articles_follow_sources_settings_and_dates(tmp_path, data_dir):
    content = tmp_path / "content"
    write_post(content, "old.md", "Title: Old\nDate: 2020-01-02\nTags: a\n\n" + "word " * 460)
    write_post(content, "soon.md", "Title: Soon\nDate: 2999-01-01\n\nNot yet.\n")
    build = {"content": content, "DATA_PATH": str(data_dir), **ALL_ON}
    out = build_site(tmp_path, **build)
    # The future post is a draft today and is never stored: it must be read again
    # on the build after its date.
    assert sorted(_stored_articles(tmp_path)) == ["posts/old.md"]
    page = out / "2020" / "01" / "old" / "index.html"
    assert "2 min read" in page.read_text()

    # Unchanged: served from the store, same page.
    before = page.read_bytes()
    build_site(tmp_path, **build)
    assert page.read_bytes() == before

    # A setting that the stored article depends on (its reading time): read again.
    build_site(tmp_path, **build, READING_TIME_WPM=100)
    assert "5 min read" in page.read_text()

    # An edited source is read again; a deleted one leaves the store.
    (content / "posts" / "old.md").write_text("Title: Old\nDate: 2020-01-02\n\nShort now.\n")
    (content / "posts" / "new.md").write_text("Title: New\nDate: 2020-03-04\n\nHello.\n")
    build_site(tmp_path, **build, READING_TIME_WPM=100)
    assert "1 min read" in page.read_text()
    assert sorted(_stored_articles(tmp_path)) == ["posts/new.md", "posts/old.md"]
    (content / "posts" / "new.md").unlink()
    build_site(tmp_path, **build, READING_TIME_WPM=100)
    assert sorted(_stored_articles(tmp_path)) == ["posts/old.md"]
    stored = list((tmp_path / "cache" / "fastbuild" / "articles").glob("*.pickle"))
    assert len(stored) == 1


def test_stored_articles_carry_the_slugs_of_their_tags_and_category(tmp_path, data_dir):
    """Slugs are worked out before an article is stored (once per name), so the process
    that loads every article does not slugify each tag again; a name with no usable slug
    is left for Pelican to work out, and warn about, as it would."""
    import io

    from fastbuild.articles import _Unpickler

    content = tmp_path / "content"
    write_post(
        content,
        "a.md",
        "Title: A\nDate: 2020-01-02\nCategory: Field Notes\nTags: Big Data, ###\n\nA.\n",
    )
    write_post(
        content, "b.md", "Title: B\nDate: 2020-01-03\nCategory: Field Notes\nTags: big data\n\nB.\n"
    )
    out = build_site(tmp_path, content=content, DATA_PATH=str(data_dir), **ALL_ON)
    assert (out / "tag" / "big-data" / "index.html").exists()
    assert any("Unable to generate valid slug" in m for m in messages(logging.WARNING))
    folder = tmp_path / "cache" / "fastbuild" / "articles"
    stored = {}
    for rel, entry in _stored_articles(tmp_path).items():
        raw = (folder / entry[1]).read_bytes()
        stored[rel] = _Unpickler(io.BytesIO(raw), {}, {}).load().__dict__
    a, b = stored["posts/a.md"], stored["posts/b.md"]
    assert a["category"].__dict__["_slug"] == b["category"].__dict__["_slug"] == "field-notes"
    big, empty = a["tags"]
    assert big.__dict__["_slug"] == b["tags"][0].__dict__["_slug"] == "big-data"
    assert empty.__dict__["_slug"] is None  # worked out again where Pelican uses it


def _store_use() -> str:
    return next(m for m in messages(logging.INFO) if "articles from the cache" in m)


def test_stored_article_found_by_its_bytes_after_a_fresh_checkout(tmp_path, data_dir, caplog):
    """A clone or a restored CI cache gives every source a new modification time:
    same bytes, same stored article. Unless the post's date is the file's time."""
    caplog.set_level(logging.INFO)
    content = tmp_path / "content"
    post = write_post(content, "same.md", "Title: Same\nDate: 2020-01-02\n\nBody.\n")
    build = {"content": content, "DATA_PATH": str(data_dir), **ALL_ON}
    build_site(tmp_path, **build)
    os.utime(post, ns=(1_600_000_000 * 10**9, 1_600_000_000 * 10**9))
    build_site(tmp_path, **build)
    assert _store_use() == "fastbuild: 1 articles from the cache, 0 read"
    stamp = _stored_articles(tmp_path)["posts/same.md"][0]
    assert stamp[1] == 1_600_000_000 * 10**9  # the index follows the file

    # DEFAULT_DATE = "fs": an undated post's date is its file's time, so a new time
    # means a new article although the bytes are the same.
    undated = write_post(
        content, "undated.md", "Title: Undated\nID: tag:example.org,2020:u\n\nNo date line.\n"
    )
    fs = {**build, "DEFAULT_DATE": "fs", "CONTENT_CHECKS_ARTICLE_REQUIRED": ("title",)}
    build_site(tmp_path, **fs)
    os.utime(undated, ns=(1_700_000_000 * 10**9, 1_700_000_000 * 10**9))
    out = build_site(tmp_path, **fs)
    assert _store_use() == "fastbuild: 1 articles from the cache, 1 read"
    assert (out / "2023" / "11" / "undated" / "index.html").exists()


def test_articles_made_in_workers_leave_problems_to_pelican(tmp_path, data_dir, caplog, capfd):
    """A first build makes its articles in worker processes. A post the workers are unsure
    of (a warning, an error, a date in the future) is read again by Pelican's own loop:
    reported once, built as without the workers."""
    caplog.set_level(logging.INFO)
    content = tmp_path / "content"
    for i in range(60):
        write_post(
            content, f"p{i:02d}.md", f"Title: Post {i}\nDate: 2020-01-{i % 28 + 1:02d}\n\nHi.\n"
        )
    write_post(content, "twice.md", "Title: One\nDate: 2021-01-01\nDate: 2021-02-02\n\nBody.\n")
    write_post(content, "untitled.md", "Date: 2021-01-02\n\nNo title.\n")
    write_post(content, "later.md", "Title: Later\nDate: 2999-01-01\n\nNot yet.\n")
    build = {"content": content, "DATA_PATH": str(data_dir), **ALL_ON}
    console = logging.StreamHandler(sys.stderr)  # inherited by the forked workers
    logging.getLogger().addHandler(console)
    try:
        out = build_site(tmp_path, **build)
    finally:
        logging.getLogger().removeHandler(console)
    assert _store_use() == "fastbuild: 0 articles from the cache, 61 read (60 in worker processes)"
    printed = capfd.readouterr().err
    assert printed.count("Duplicate definition of `date`") == 1
    assert printed.count("untitled.md: no Title") == 1
    twice = [m for m in messages() if "Duplicate definition of `date`" in m]
    assert len(twice) == 1 and "twice.md" in twice[0]
    untitled = [m for m in messages() if "untitled.md" in m]
    assert len(untitled) == 1 and "no Title" in untitled[0]
    assert (out / "2021" / "01" / "one" / "index.html").exists()
    assert not list(out.rglob("later/index.html"))  # a draft until its date, as ever
    # what the workers stored is the next build's store
    assert len(_stored_articles(tmp_path)) == 61
    build_site(tmp_path, **build)
    assert _store_use() == "fastbuild: 61 articles from the cache, 0 read"
    # the same site with the workers off
    off = build_site(tmp_path / "off", **{**build, "FASTBUILD_PARALLEL_ARTICLES": False})
    assert_same_tree(out, off)
    assert _store_use() == "fastbuild: 0 articles from the cache, 61 read"


def test_a_new_run_lets_go_of_the_documents_of_the_last_one(tmp_path):
    """Pelican memoises post bodies per document on its Content class; under autoreload
    the same process builds again and again, and no earlier run's post may stay alive."""
    seen = []

    def remember(generator):
        seen.extend(weakref.ref(a) for a in generator.articles)

    pelican_obj = Pelican(site_settings(tmp_path, **(ALL_ON | {"FASTBUILD_GC_FREEZE": False})))
    signals.article_generator_finalized.connect(remember)
    try:
        pelican_obj.run()
        first = list(seen)
        assert first and all(ref() is not None for ref in first)
        pelican_obj.run()
    finally:
        signals.article_generator_finalized.disconnect(remember)
    gc.collect()
    assert [ref for ref in first if ref() is not None] == []


def test_site_left_to_the_collector_only_from_the_next_build(tmp_path):
    """FASTBUILD_GC_FREEZE: after a build, what it left is out of the collector's reach
    (a quick exit); the next build in the same process hands it back, so autoreload
    does not keep the garbage of every earlier build."""

    class Node:  # garbage only the cyclic collector can free
        pass

    litter, held = [], []

    def make_a_cycle(generators):  # alive, and held, while the build runs
        node = Node()
        node.itself = node
        held.append(node)
        litter.append(weakref.ref(node))

    signals.all_generators_finalized.connect(make_a_cycle)
    try:
        gc.collect()
        build_site(tmp_path / "one", **ALL_ON)
    finally:
        signals.all_generators_finalized.disconnect(make_a_cycle)
    assert litter and gc.get_freeze_count() > 0
    held.clear()  # now garbage that only the collector could free
    gc.collect()
    assert litter[0]() is not None  # frozen: the collector leaves it alone

    build_site(tmp_path / "two", **(ALL_ON | {"FASTBUILD_GC_FREEZE": False}))
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert litter[0]() is None

    # autoreload runs one Pelican object again and again: each run first hands back, and
    # collects, what the run before it left (the build freezes its own objects again)
    litter.clear()
    pelican_obj = Pelican(site_settings(tmp_path / "three", **ALL_ON))
    signals.all_generators_finalized.connect(make_a_cycle)
    try:
        pelican_obj.run()
        assert gc.get_freeze_count() > 0
        first_run = litter[0]
        held.clear()
        gc.collect()
        assert first_run() is not None  # frozen after its run
        pelican_obj.run()
        assert first_run() is None and litter[1]() is not None
    finally:
        signals.all_generators_finalized.disconnect(make_a_cycle)
        held.clear()
        gc.unfreeze()


def test_the_collector_walks_only_what_each_stage_made(tmp_path):
    """FASTBUILD_GC_FREEZE: while the site is built, what each stage completed (the
    articles, the whole context) is out of the collector's reach, so its collections do
    not walk the site again and again; the next build gives it all back."""
    seen, reachable, full_collections = [], [], []
    thresholds = gc.get_threshold()

    def at_context_done(generators):
        full_collections.append(gc.get_threshold()[2] <= thresholds[2])
        articles = [a for g in generators for a in getattr(g, "articles", [])]
        tracked = {id(o) for o in gc.get_objects()}  # frozen objects are not listed
        reachable.append(any(id(a) in tracked for a in articles))
        seen.append([weakref.ref(a) for a in articles])

    signals.all_generators_finalized.connect(at_context_done)
    try:
        build_site(tmp_path / "on", **ALL_ON)
        build_site(tmp_path / "off", **(ALL_ON | {"FASTBUILD_GC_FREEZE": False}))
    finally:
        signals.all_generators_finalized.disconnect(at_context_done)
    assert reachable == [False, True]
    # no automatic full collection while the build holds the site; the collector's own
    # settings again afterwards
    assert full_collections == [False, True]
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0
    gc.collect()  # the first build's site went back to the collector: freed
    assert seen[0] and [ref for ref in seen[0] if ref() is not None] == []


def _articles_of_a_build(tmp_path: Path, **overrides) -> list:
    kept = []

    def keep(generators):
        for generator in generators:
            kept.extend(getattr(generator, "articles", []))

    signals.all_generators_finalized.connect(keep)
    try:
        build_site(tmp_path, **overrides)
    finally:
        signals.all_generators_finalized.disconnect(keep)
    return kept


def test_post_bodies_kept_packed_read_as_pelican_made_them(tmp_path):
    """FASTBUILD_PACK_CONTENT: long post bodies are held compressed; `_content`, and
    `content` through Pelican's memo, give the same text as an unpacked build."""
    from fastbuild import packed
    from pelican.contents import Content

    siteurl = "https://elsewhere.example"
    unpacked = _articles_of_a_build(tmp_path / "off", **ALL_OFF)
    plain = {a.source_path: a._content for a in unpacked}
    resolved = {a.source_path: a.get_content(siteurl) for a in unpacked}
    links = {a.source_path: a.get_static_links() for a in unpacked}
    assert any(links.values()), "some sample post links a {static} file"
    for name in ("cold", "warm"):  # made now, then loaded from the article store
        articles = _articles_of_a_build(tmp_path / "on", **ALL_ON)
        assert {a.source_path: a._content for a in articles} == plain, name
        assert {a.source_path: a.get_content(siteurl) for a in articles} == resolved, name
        # Pelican asks every post for its static files: answered without unpacking
        assert {a.source_path: a.get_static_links() for a in articles} == links, name
        long = [a for a in articles if len(plain[a.source_path]) >= 2000]
        assert long, "the sample site has long posts"
        for article in long:
            assert "_content" not in vars(article) and packed.PACKED in vars(article)
            assert len(vars(article)[packed.PACKED]) < 0.7 * len(plain[article.source_path])
    # a body linking nothing in Pelican's {filename} way is given as it is, unsearched
    unlinked = [a for a in long if vars(a)[packed.STATIC_LINKS] == packed.NO_LINKS]
    linking = [a for a in articles if vars(a).get(packed.STATIC_LINKS, ()) != packed.NO_LINKS]
    assert len(unlinked) > 1 and linking
    assert any("{static}" in plain[a.source_path] for a in linking)
    wrapper = Content.__dict__["get_content"].func  # also what the feeds plugin calls
    searched = []
    original = wrapper.raw  # Pelican's get_content, which searches the body
    wrapper.raw = lambda doc, url: searched.append(doc) or original(doc, url)
    try:
        assert unlinked[0].content == plain[unlinked[0].source_path]
        assert searched == []
        assert linking[0].content == original(linking[0], linking[0].get_siteurl())
        assert searched == [linking[0]]
        assert wrapper(unlinked[1], siteurl) == plain[unlinked[1].source_path]
        assert searched == [linking[0]]
    finally:
        wrapper.raw = original
    memo = Content.__dict__["get_content"].cache
    memo.clear()
    article = long[0]
    assert article.content == article.content
    assert not [key for key in memo if key[0] is article], "an unpacked copy was kept"
    article._content = "<p>replaced</p>"  # a plugin writing the body unpacks it
    assert packed.PACKED not in vars(article) and article.content == "<p>replaced</p>"
    assert [key for key in memo if key[0] is article], "an unpacked body is memoised again"


def test_cache_files_are_written_whole_into_new_folders(tmp_path, caplog):
    from fastbuild.files import read_json, write_atomic

    target = tmp_path / "a" / "b" / "entry.json"
    assert write_atomic(target, '{"n": 1}', "the test entry")  # its folders are new
    assert write_atomic(target, b'{"n": 2}', "the test entry")  # replaced whole
    assert read_json(target) == {"n": 2}
    assert sorted(p.name for p in target.parent.iterdir()) == ["entry.json"]  # no temp left
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with caplog.at_level(logging.WARNING):
        assert not write_atomic(blocker / "x" / "entry.json", "{}", "the blocked entry")
    assert "cannot write the blocked entry" in caplog.text


def test_document_digests_made_in_two_processes_are_those_made_in_one():
    """FastWriter.flush works out each document's own digests in several processes
    (Fingerprints.own_digests, prime): the page fingerprints made from them are those
    made in one process, and a document with no reliable digest stays unprimed."""
    from fastbuild.fingerprints import Fingerprints, _Unstable
    from fastbuild.forked import split_map
    from pelican.contents import Article
    from pelican.settings import DEFAULT_CONFIG
    from pelican.urlwrappers import Tag
    from pelican.utils import SafeDatetime

    settings = dict(DEFAULT_CONFIG, PATH="/site")
    posts = []
    for i in range(120):
        meta = {"title": f"P{i}", "date": SafeDatetime(2020, 1, 1 + i % 28), "slug": f"p{i}"}
        meta["tags"] = [Tag(f"t{i % 7}", settings)]
        posts.append(Article(f"<p>{i}</p>", metadata=meta, settings=settings))
    for i, post in enumerate(posts):
        post.related_posts = [posts[(i + 1) % 120], posts[(i + 5) % 120]]
        post.reading_time = i % 9
    posts[7].odd = object()  # its repr names a memory address: no reliable digest

    one, two = Fingerprints(), Fingerprints()
    two.prime(posts, split_map(posts, 2, two.own_digests))
    assert len(two._memo) == len(posts) - 1  # primed: every post but the odd one
    unstable = []
    for post in posts:
        for full in (True, False):
            try:
                want = one.content(post, full)
            except _Unstable:  # the odd post, and the posts it is related to
                unstable.append(post.title)
                with pytest.raises(_Unstable):
                    two.content(post, full)
                continue
            assert two.content(post, full) == want
    assert sorted(set(unstable)) == ["P2", "P6", "P7"]


def test_the_article_stores_tables_are_let_go_once_the_articles_are_loaded(
    tmp_path, data_dir, caplog
):
    """After the article generator has finished, the store's per-build tables (index,
    stamps, digests) are emptied: the rest of the build, and every fork it makes, does
    without them. What they held was saved: the next build takes every article from it."""
    caplog.set_level(logging.INFO)
    stores = []

    def keep(generators):
        stores.extend(getattr(g, "_fastbuild_articles", None) for g in generators)

    content = tmp_path / "content"
    for i in range(5):
        write_post(content, f"p{i}.md", f"Title: Post {i}\nDate: 2020-01-0{i + 1}\n\nHi.\n")
    build = {"content": content, "DATA_PATH": str(data_dir), **ALL_ON}
    signals.all_generators_finalized.connect(keep)
    try:
        build_site(tmp_path, **build)
        build_site(tmp_path, **build)
    finally:
        signals.all_generators_finalized.disconnect(keep)
    stores = [store for store in stores if store is not None]
    assert len(stores) == 2
    for store in stores:
        tables = (store.old, store.new, store._made, store._stamps, store._digests)
        assert not any(tables) and not store._slugs
    assert _store_use() == "fastbuild: 5 articles from the cache, 0 read"
