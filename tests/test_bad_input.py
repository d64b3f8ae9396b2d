"""Broken posts: one clear line each, the rest of the site still builds, `check` fails."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from lxml import html

from sitetools.check import run_check
from tests.sitebuild import ROOT, build_site, write_post

GOOD = """
    Title: A perfectly good post
    Date: 2010-05-04 10:00
    Category: Conversation
    Tags: customers
    Summary: Still here.

    This one is fine.
    """

HEADER_OK = "Date: 2010-05-05 10:00\nCategory: Conversation\nSummary: x\n"

CASES = {
    "no-title": (f"{HEADER_OK}\nA body but no title.\n".encode(), "no Title"),
    "blank-title": (f"Title:   \n{HEADER_OK}\nBody.\n".encode(), "no Title"),
    "no-date": (b"Title: Undated\nCategory: Conversation\n\nBody.\n", "no Date"),
    "bad-date": (
        b"Title: When?\nDate: next tuesday-ish\nCategory: Conversation\n\nBody.\n",
        "unparsable Date 'next tuesday-ish'",
    ),
    "bad-status": (
        f"Title: Typo\n{HEADER_OK}Status: pubished\n\nBody.\n".encode(),
        "unknown Status 'pubished' (use published, draft or hidden)",
    ),
    "bad-utf8": (
        "Title: Caf\u00e9\n".encode("latin-1") + HEADER_OK.encode() + b"\nBody.\n",
        "not valid UTF-8 (byte 0xe9 at offset 10)",
    ),
    "empty": (b"", "empty file"),
    "whitespace-only": (b"\n  \n\t\n", "empty file"),
    "bad-modified": (
        f"Title: Edited\n{HEADER_OK}Modified: the other day\n\nBody.\n".encode(),
        "could not be read: 'the other day' is not a valid date",
    ),
}


def _content_with(tmp_path: Path, name: str, raw: bytes) -> Path:
    content = tmp_path / "content"
    write_post(content, "good.md", GOOD)
    (content / "posts" / f"{name}.md").write_bytes(raw)
    return content


def _problems(records, needle: str) -> list[logging.LogRecord]:
    return [r for r in records if r.levelno >= logging.WARNING and needle in r.getMessage()]


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_clear_line_and_the_site_still_builds(tmp_path, case):
    raw, problem = CASES[case]
    content = _content_with(tmp_path, case, raw)
    out = build_site(tmp_path, content=content)

    lines = _problems(build_site.last_logs, f"{case}.md")
    assert len(lines) == 1, [r.getMessage() for r in lines]
    message = lines[0].getMessage()
    assert lines[0].levelno == logging.ERROR
    assert "\n" not in message
    assert message.endswith(f"posts/{case}.md: {problem}"), message

    # The good post is built and listed; the broken one is nowhere.
    assert (out / "2010/05/a-perfectly-good-post/index.html").is_file()
    index = html.parse(str(out / "index.html")).getroot()
    titles = [
        a.text_content() for a in index.xpath("//*[contains(@class, 'post-summary__title')]/a")
    ]
    assert titles == ["A perfectly good post"]


def _check(tmp_path, content) -> tuple[int, str]:
    """`invoke check`'s function on `content`, leaving the repository's data alone."""
    out = io.StringIO()
    code = run_check(
        str(ROOT / "pelicanconf.py"),
        out=out,
        PATH=str(content),
        POST_IDS_REGISTRY=str(tmp_path / "ids.json"),
        MANIFEST_PATH=str(tmp_path / "manifest.json"),
        DATA_PATH=str(tmp_path / "data"),
        SUBSCRIBE_MAILCHIMP_ACTION="https://example.us1.list-manage.com/subscribe/post?u=a&id=b",
    )
    return code, out.getvalue()


@pytest.mark.parametrize("case", ["no-title", "bad-utf8", "empty"])
def test_check_fails_and_names_the_file(tmp_path, case):
    raw, problem = CASES[case]
    content = _content_with(tmp_path, case, raw)
    code, out = _check(tmp_path, content)
    report = out
    assert code == 1
    assert f"posts/{case}.md: {problem}" in report
    assert "check: 1 problem" in report


def test_check_passes_on_good_content(tmp_path):
    content = tmp_path / "content"
    write_post(content, "good.md", GOOD)
    code, out = _check(tmp_path, content)
    assert out.strip().splitlines()[-1] == "check: no problems", out
    assert code == 0


def test_invoke_check_exits_non_zero(tmp_path):
    """The real command line: `invoke check` in a project whose content has a broken post."""
    project = tmp_path / "project"
    content = project / "content"
    write_post(content, "good.md", GOOD)
    (content / "posts" / "broken.md").write_bytes(CASES["no-title"][0])
    shutil.copy(ROOT / "tasks.py", project / "tasks.py")
    (project / "pelicanconf.py").write_text(
        textwrap.dedent(
            f"""
            import runpy
            _real = runpy.run_path({str(ROOT / "pelicanconf.py")!r})
            globals().update({{k: v for k, v in _real.items() if k.isupper()}})
            PATH = "content"
            THEME = {str(ROOT / "theme")!r}
            PLUGIN_PATHS = [{str(ROOT / "plugins")!r}]
            POST_IDS_REGISTRY = {str(tmp_path / "ids.json")!r}
            MANIFEST_PATH = {str(tmp_path / "manifest.json")!r}
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    invoke = Path(sys.executable).parent / "invoke"
    result = subprocess.run(
        [str(invoke), "check"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "posts/broken.md: no Title" in result.stderr


def test_broken_pages_are_reported_too(tmp_path):
    content = tmp_path / "content"
    write_post(content, "good.md", GOOD)
    pages = content / "pages"
    pages.mkdir()
    (pages / "about.md").write_text("Title: About\n\nWho we are.\n", encoding="utf-8")
    (pages / "untitled.md").write_text("Summary: forgot the title\n\nText.\n", encoding="utf-8")
    (pages / "latin1.md").write_bytes("Title: \u00c0 propos\n\nText.\n".encode("latin-1"))
    out = build_site(tmp_path, content=content)
    assert len(_problems(build_site.last_logs, "pages/untitled.md: no Title")) == 1
    assert len(_problems(build_site.last_logs, "pages/latin1.md: not valid UTF-8")) == 1
    assert (out / "about" / "index.html").is_file()
    assert not (out / "untitled").exists()


def test_a_file_broken_after_it_was_stored_is_still_caught(tmp_path):
    fine = textwrap.dedent(GOOD).lstrip().replace("A perfectly good post", "Another post")
    content = _content_with(tmp_path, "fine", fine.encode())
    build_site(tmp_path, content=content)
    index = tmp_path / "cache" / "fastbuild" / "articles" / "index.json"
    stored = json.loads(index.read_text())["articles"]
    assert sorted(os.path.basename(p) for p in stored) == ["fine.md", "good.md"]
    for rel, (stamp, _name, digest) in stored.items():
        st = os.stat(content / rel)
        assert [st.st_size, st.st_mtime_ns] == stamp
        assert hashlib.sha256((content / rel).read_bytes()).hexdigest() == digest

    # Broken after it was stored: caught, named, and the rest still builds.
    (content / "posts" / "fine.md").write_bytes(b"Title: Fine\nDate: 2010-05-05\n\n\xe9t\xe9\n")
    out = build_site(tmp_path, content=content)
    lines = _problems(build_site.last_logs, "fine.md")
    assert len(lines) == 1 and "not valid UTF-8" in lines[0].getMessage()
    assert (out / "2010/05/a-perfectly-good-post/index.html").is_file()
    stored = json.loads(index.read_text())["articles"]
    assert sorted(os.path.basename(p) for p in stored) == ["good.md"]


UNDATED = b"Title: Undated\nCategory: Conversation\nSummary: x\n\nBody.\n"


@pytest.mark.parametrize(
    ("name", "overrides", "url"),
    [
        # DEFAULT_DATE = "fs": Pelican dates the post by its file's time
        ("undated", {"DEFAULT_DATE": "fs"}, None),
        # a fixed default date
        ("undated", {"DEFAULT_DATE": (2011, 2, 3)}, "2011/02/undated/index.html"),
        # the date in the file name, read by FILENAME_METADATA
        (
            "2012-03-04_undated",
            {"FILENAME_METADATA": r"(?P<date>\d{4}-\d{2}-\d{2})_(?P<slug>.*)"},
            "2012/03/undated/index.html",
        ),
    ],
)
def test_a_date_pelican_supplies_is_enough(tmp_path, name, overrides, url):
    content = _content_with(tmp_path, name, UNDATED)
    out = build_site(tmp_path, content=content, **overrides)
    assert not _problems(build_site.last_logs, f"{name}.md")
    built = sorted(p.relative_to(out).as_posix() for p in out.glob("*/*/undated/index.html"))
    assert len(built) == 1
    if url:
        assert built == [url]


def test_a_file_that_passed_the_screen_is_read_again_only_when_it_changes(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "plugins"))
    from content_checks import content_checks

    screened = []
    original = content_checks.problem_in_bytes

    def spy(raw):  # counts the screen's reads (the checked reader asks too)
        if sys._getframe(1).f_code.co_name == "_screen":
            screened.append(raw[:12])
        return original(raw)

    monkeypatch.setattr(content_checks, "problem_in_bytes", spy)
    fine = textwrap.dedent(GOOD).lstrip().replace("A perfectly good post", "Another post")
    content = _content_with(tmp_path, "fine", fine.encode())

    def build() -> int:
        screened.clear()
        build_site(tmp_path, content=content)
        return len(screened)

    assert build() == 2
    assert build() == 0  # nothing changed: nothing read
    (content / "posts" / "fine.md").write_bytes(b"Title: Fine\nDate: 2010-05-05\n\n\xe9t\xe9\n")
    for _ in range(2):  # a broken file is read, and reported, on every build
        assert build() == 1
        lines = _problems(build_site.last_logs, "fine.md")
        assert len(lines) == 1 and "not valid UTF-8" in lines[0].getMessage()
    (content / "posts" / "fine.md").write_bytes(fine.encode())
    assert build() == 1 and not _problems(build_site.last_logs, "fine.md")
    assert build() == 0
