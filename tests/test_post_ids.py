"""post_ids: stable IDs, the registry of published IDs, and the build failure on a change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from plugins.post_ids.post_ids import dump_registry, reconcile, tag_uri
from tests.sitebuild import build_site, write_post

ATOM = "{http://www.w3.org/2005/Atom}"
AUTHORITY = "frontporch.example"
# Pelican imports the plugin as `post_ids.post_ids`, so its PostIdError is a different
# class object from the one `plugins.post_ids.post_ids` gives; both are ValueErrors.
PostIdError = ValueError


def _site(tmp_path: Path) -> tuple[Path, Path]:
    content = tmp_path / "content"
    write_post(
        content,
        "conversation.md",
        """
        Title: Conversation first
        Date: 2010-03-04 10:00
        Category: Conversation
        Tags: customers

        Talk with people.
        """,
    )
    write_post(
        content,
        "later.md",
        """
        Title: Later post
        Date: 2011-06-01 09:00
        Category: Email

        More.
        """,
    )
    write_post(
        content,
        "draft.md",
        """
        Title: Not yet
        Date: 2011-07-01 09:00
        Status: draft

        Draft.
        """,
    )
    write_post(
        content,
        "members.md",
        """
        Title: Only for subscribers
        Date: 2011-08-01 09:00
        Newsletter: only

        Just for the list.
        """,
    )
    data = tmp_path / "data"
    data.mkdir()
    return content, data


def _build(tmp_path: Path, content: Path, data: Path, name: str = "build", **settings) -> Path:
    return build_site(tmp_path / name, content=content, DATA_PATH=str(data), **settings)


def _atom_ids(out: Path) -> dict[str, str]:
    """Entry link -> entry ID in the site-wide Atom feed."""
    root = etree.parse(str(out / "feeds" / "atom.xml")).getroot()
    return {
        e.find(f"{ATOM}link[@rel='alternate']").get("href"): e.findtext(f"{ATOM}id")
        for e in root.iter(f"{ATOM}entry")
    }


def test_tag_uri_follows_rfc_4151():
    from datetime import date

    assert tag_uri(AUTHORITY, date(2010, 3, 4), "conversation-first") == (
        "tag:frontporch.example,2010-03-04:/conversation-first"
    )
    # Characters outside a URI's specific part are percent-encoded.
    assert tag_uri(AUTHORITY, date(2010, 3, 4), "café au lait").endswith(":/caf%C3%A9%20au%20lait")


def test_build_records_published_ids_including_email_only(tmp_path):
    content, data = _site(tmp_path)
    _build(tmp_path, content, data)
    registry = json.loads((data / "post-ids.json").read_text())
    assert registry == {
        "posts/conversation.md": "tag:frontporch.example,2010-03-04:/conversation-first",
        "posts/later.md": "tag:frontporch.example,2011-06-01:/later-post",
        "posts/members.md": "tag:frontporch.example,2011-08-01:/only-for-subscribers",
    }  # the draft is not published, so it is not recorded


def test_second_build_leaves_registry_untouched(tmp_path):
    content, data = _site(tmp_path)
    _build(tmp_path, content, data, "one")
    path = data / "post-ids.json"
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    _build(tmp_path, content, data, "two")
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert path.read_text() == dump_registry(json.loads(path.read_text()))


def test_ids_do_not_depend_on_siteurl(tmp_path):
    content, data = _site(tmp_path)
    first = _atom_ids(_build(tmp_path, content, data, "a", SITEURL="http://localhost:8000"))
    second = _atom_ids(_build(tmp_path, content, data, "b", SITEURL="https://blog.example.org"))
    assert all(link.startswith("http://localhost:8000/") for link in first)
    assert all(link.startswith("https://blog.example.org/") for link in second)
    assert sorted(first.values()) == sorted(second.values())
    assert "tag:frontporch.example,2010-03-04:/conversation-first" in first.values()


def test_changed_slug_fails_with_old_id_new_id_and_fix(tmp_path):
    content, data = _site(tmp_path)
    _build(tmp_path, content, data, "one")
    post = content / "posts" / "conversation.md"
    post.write_text(post.read_text().replace("Title: Conversation first", "Title: A new title"))
    with pytest.raises(PostIdError) as info:
        _build(tmp_path, content, data, "two")
    message = str(info.value)
    old = "tag:frontporch.example,2010-03-04:/conversation-first"
    assert "posts/conversation.md" in message
    assert old in message
    assert "tag:frontporch.example,2010-03-04:/a-new-title" in message
    assert f"add `ID: {old}` to its metadata" in message
    # The registry is untouched by the failed build.
    assert json.loads((data / "post-ids.json").read_text())["posts/conversation.md"] == old


def test_explicit_id_keeps_the_old_id_after_a_slug_and_date_change(tmp_path):
    content, data = _site(tmp_path)
    _build(tmp_path, content, data, "one")
    old = "tag:frontporch.example,2010-03-04:/conversation-first"
    post = content / "posts" / "conversation.md"
    text = post.read_text().replace("Title: Conversation first", f"Title: Renamed\nID: {old}")
    post.write_text(text.replace("2010-03-04 10:00", "2012-01-01 10:00"))
    out = _build(tmp_path, content, data, "two")
    ids = _atom_ids(out)
    assert ids["http://localhost:8000/2012/01/renamed/index.html"] == old
    assert json.loads((data / "post-ids.json").read_text())["posts/conversation.md"] == old


def test_renamed_file_keeps_its_id_and_moves_in_the_registry(tmp_path):
    content, data = _site(tmp_path)
    _build(tmp_path, content, data, "one")
    (content / "posts" / "conversation.md").rename(content / "posts" / "2010-conversation.md")
    _build(tmp_path, content, data, "two")
    registry = json.loads((data / "post-ids.json").read_text())
    assert "posts/conversation.md" not in registry
    assert registry["posts/2010-conversation.md"] == (
        "tag:frontporch.example,2010-03-04:/conversation-first"
    )


def test_duplicate_ids_fail_the_build(tmp_path):
    content, data = _site(tmp_path)
    write_post(
        content,
        "copy.md",
        """
        Title: Copy
        Date: 2012-01-01 10:00
        ID: tag:frontporch.example,2011-06-01:/later-post

        Same ID as later.md.
        """,
    )
    with pytest.raises(PostIdError, match="have the same ID") as info:
        _build(tmp_path, content, data)
    assert "posts/copy.md" in str(info.value) and "posts/later.md" in str(info.value)


def test_missing_authority_fails_with_a_clear_message(tmp_path):
    content, data = _site(tmp_path)
    with pytest.raises(PostIdError, match="POST_IDS_AUTHORITY must be a domain name"):
        _build(tmp_path, content, data, POST_IDS_AUTHORITY="https://frontporch.example/")


def test_check_only_mode_does_not_write(tmp_path):
    content, data = _site(tmp_path)
    _build(tmp_path, content, data, POST_IDS_UPDATE_REGISTRY=False)
    assert not (data / "post-ids.json").exists()


# --- the pure reconciliation --------------------------------------------------------


def test_reconcile_is_deterministic_and_handles_moves():
    registry = {
        "posts/a.md": "tag:x.example,2010-01-01:/a",
        "posts/gone.md": "tag:x.example,2009:/g",
    }
    current = [
        ("posts/b.md", "tag:x.example,2010-01-01:/a", False, True),  # a.md renamed to b.md
        ("posts/c.md", "tag:x.example,2011-01-01:/c", False, True),  # new post
        ("posts/d.md", "tag:x.example,2011-02-01:/d", False, False),  # draft: not recorded
    ]
    new, errors = reconcile(registry, current)
    assert errors == []
    assert new == {
        "posts/b.md": "tag:x.example,2010-01-01:/a",
        "posts/c.md": "tag:x.example,2011-01-01:/c",
        "posts/gone.md": "tag:x.example,2009:/g",  # deleted posts stay recorded
    }
    assert reconcile(registry, list(reversed(current)))[0] == new
    assert reconcile(new, current) == (new, [])


def test_reconcile_rejects_an_explicit_id_that_is_not_a_uri():
    _, errors = reconcile({}, [("posts/a.md", "my post", True, True)])
    assert len(errors) == 1
    assert "posts/a.md" in errors[0] and "is not a URI" in errors[0]
