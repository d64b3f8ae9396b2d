"""`invoke new-post`: a draft with a full header and a unique slug, never overwriting."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sitetools.newpost import create_post
from tests.sitebuild import ROOT, build_site, messages

WHEN = datetime(2026, 5, 4, 9, 30, tzinfo=timezone(timedelta(hours=2)))


def _header(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").split("\n\n", 1)[0].splitlines()
    return dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "") for line in lines)


def test_header_is_complete(tmp_path):
    posts = tmp_path / "posts"
    path = create_post(
        "Answering reviews, kindly!", posts, category="Conversation", tags=["a", "b"], now=WHEN
    )
    assert path == posts / "answering-reviews-kindly.md"
    header = _header(path)
    assert header == {
        "Title": "Answering reviews, kindly!",
        "Slug": "answering-reviews-kindly",
        "Date": "2026-05-04 09:30+02:00",
        "Category": "Conversation",
        "Tags": "a, b",
        "Summary": header["Summary"],
        "Status": "draft",
    }
    assert header["Summary"]


def test_slug_is_unique_and_nothing_is_overwritten(tmp_path):
    posts = tmp_path / "posts"
    first = create_post("Same title", posts, category="Email", now=WHEN)
    second = create_post("Same title", posts, category="Email", now=WHEN)
    third = create_post("Same  title", posts, category="Email", now=WHEN)
    assert [p.name for p in (first, second, third)] == [
        "same-title.md",
        "same-title-2.md",
        "same-title-3.md",
    ]
    assert _header(second)["Slug"] == "same-title-2"
    # A post elsewhere whose *title* gives the slug also takes it.
    (posts / "old-file-name.md").write_text("Title: Fresh start\nDate: 2010-01-01\n\nx\n")
    assert create_post("Fresh start", posts, now=WHEN).name == "fresh-start-2.md"


def test_category_defaults_to_the_usual_one(tmp_path):
    posts = tmp_path / "posts"
    for i, cat in enumerate(["Email", "Email", "Strategy"]):
        (posts).mkdir(exist_ok=True)
        (posts / f"p{i}.md").write_text(f"Title: P{i}\nCategory: {cat}\n\nx\n")
    assert _header(create_post("New one", posts, now=WHEN))["Category"] == "Email"


def test_empty_title_is_refused(tmp_path):
    with pytest.raises(ValueError, match="needs a title"):
        create_post("   ", tmp_path / "posts")


def test_new_draft_builds_and_stays_out_of_the_site(tmp_path):
    content = tmp_path / "content"
    create_post("Draft in progress", content / "posts", category="Email", now=WHEN)
    create_post("Published one", content / "posts", category="Email", now=WHEN)
    published = content / "posts" / "published-one.md"
    published.write_text(published.read_text().replace("Status: draft\n", ""), encoding="utf-8")
    out = build_site(tmp_path, content=content)
    assert not [m for m in messages() if "content_checks" in m]
    assert (out / "2026/05/published-one/index.html").is_file()
    assert not (out / "2026/05/draft-in-progress").exists()


def test_invoke_new_post_command(tmp_path):
    """`invoke new-post` from a project folder writes under its content/posts."""
    project = tmp_path / "project"
    (project / "content" / "posts").mkdir(parents=True)
    (project / "tasks.py").write_text((ROOT / "tasks.py").read_text())
    (project / "pelicanconf.py").write_text('PATH = "content"\nARTICLE_PATHS = ["posts"]\n')
    invoke = Path(sys.executable).parent / "invoke"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [str(invoke), "new-post", "Hello porch", "--tags", "x, y"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    path = project / "content" / "posts" / "hello-porch.md"
    assert "Created content/posts/hello-porch.md" in result.stdout
    assert _header(path)["Tags"] == "x, y"
