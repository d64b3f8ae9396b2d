"""The whole conversation loop, end to end, with real parts only.

Publish a post (`python -m syndicate`, what `invoke syndicate` runs) to the Mailchimp,
Mastodon and Bluesky stand-ins; readers reply there; `invoke fetch-replies` brings the
replies home; a rebuild shows them under the post, threaded, with "Reply on Mastodon /
Bluesky" links, in headless Chromium; `invoke report` then lists the post's numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from syndicate.ledger import Ledger
from tests.browser import CHROMIUM, launch, serve_directory
from tests.sitebuild import ROOT, build_site, write_post
from tests.standins.bluesky import BlueskyStandIn
from tests.standins.mailchimp import MailchimpStandIn
from tests.standins.mastodon import MastodonStandIn
from tests.standins.openapi import specs_dir
from tests.syndicate_fixtures import clean_env, run_cli, write_settings

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not (specs_dir() / "mailchimp").is_dir(), reason="../shared/specs absent"),
]
SITEURL = "https://blog.example"
POST = """
    Title: Answer the angry comment first
    Date: 2026-11-20 09:00
    Category: Conversation
    Tags: customers, complaints
    Summary: A complaint answered in public wins loyalty.

    Answer every comment, the negative ones first.
    """


def build(tmp: Path) -> Path:
    return build_site(
        tmp,
        content=tmp / "content",
        SITEURL=SITEURL,
        DATA_PATH=str(tmp / "data"),
        MANIFEST_PATH=str(tmp / "var" / "manifest"),
    )


def invoke(task: str, settings: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "invoke", task, "--settings", str(settings)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_publish_reply_fetch_rebuild_see_and_report(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    write_post(tmp_path / "content", "answer.md", POST)
    (tmp_path / "content" / "pages").mkdir(exist_ok=True)
    build(tmp_path)
    settings = write_settings(
        tmp_path,
        tmp_path / "var" / "manifest",
        SYNDICATE_CHANNELS=["mailchimp", "mastodon", "bluesky"],
        SYNDICATE_TIMEOUT=3.0,
        SYNDICATE_MASTODON_TIMEOUT=3.0,
        REPORT_PATH=str(tmp_path / "reports"),
        REPORT_ISSO_URL="",
    )
    with MailchimpStandIn() as mc, MastodonStandIn() as masto, BlueskyStandIn() as bsky:
        env = clean_env({**mc.env(), **masto.env(), **bsky.env()})

        # 1. publish: the post goes out once to each channel
        sent = run_cli(settings, env=env, cwd=tmp_path)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        ledger = Ledger.load(tmp_path / "data" / "ledger.json")
        ((post_id, items),) = ledger.posts.items()
        assert {name: item["state"] for name, item in items.items()} == {
            "mailchimp": "sent",
            "mastodon": "sent",
            "bluesky": "sent",
        }
        status_id, record_uri = items["mastodon"]["remote_id"], items["bluesky"]["remote_id"]

        # 2. readers answer on both networks (and by email: opens and clicks)
        ann = masto.add_reply(
            status_id,
            "Did this with a refund request. It worked!",
            username="ann",
            display_name="Ann Reader",
        )
        masto.add_reply(ann, "Glad it helped, Ann.", own=True)
        masto.add_reply(status_id, "only for the writer", username="bob", visibility="direct")
        masto.boost(status_id, 2)
        masto.favourite(status_id, 3)
        cat = bsky.add_reply(
            record_uri,
            "Saving this for our support team.",
            handle="cat.bsky.example",
            display_name="Cat Support",
        )
        bsky.add_reply(cat, "Same here", handle="dee.bsky.example", display_name="Dee")
        bsky.like(record_uri, 4)
        mc.engage(items["mailchimp"]["remote_id"], opens=12, clicks=5, unsubscribes=1)

        # 3. invoke fetch-replies
        fetched = invoke("fetch-replies", settings, env)
        assert fetched.returncode == 0, fetched.stdout + fetched.stderr
        assert "answer-the-angry-comment-first" in fetched.stdout
        replies_file = tmp_path / "data" / "replies" / "answer-the-angry-comment-first.json"
        stored = json.loads(replies_file.read_text(encoding="utf-8"))
        assert stored["post_id"] == post_id and len(stored["replies"]) == 4

        # 6. invoke report (while the stand-ins still answer)
        reported = invoke("report", settings, env)
        assert mc.violations == [] and masto.violations == [] and bsky.violations == []
    assert reported.returncode == 0, reported.stdout + reported.stderr

    # 4. rebuild: the replies are data for the next build
    out = build(tmp_path)
    page_path = next(out.rglob("answer-the-angry-comment-first*/index.html"), None) or next(
        out.rglob("answer-the-angry-comment-first*.html")
    )
    relative = page_path.relative_to(out).as_posix()

    # 5. the reader sees them in Chromium, threaded, with the links to reply
    with serve_directory(out) as base:
        with playwright.sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_page()
            page.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith("http://127.0.0.1")
                    else route.abort()
                ),
            )
            page.goto(f"{base}/{relative}")
            section = page.locator("section.replies")
            section.wait_for()
            assert "4 replies" in section.locator("h2").inner_text()
            links = {
                a.inner_text(): a.get_attribute("href") for a in section.locator("a.reply-on").all()
            }
            assert links == {
                "Reply on Mastodon": items["mastodon"]["remote_url"],
                "Reply on Bluesky": items["bluesky"]["remote_url"],
            }
            top = section.locator(":scope > ol.replies-list > li.reply")
            assert top.count() == 2
            ann_item = top.filter(has_text="Did this with a refund request")
            assert ann_item.locator(".reply-author").first.inner_text() == "Ann Reader"
            nested = ann_item.locator("ol.replies-list > li.reply")
            assert nested.count() == 1 and "Glad it helped" in nested.inner_text()
            assert "reply-by-writer" in nested.get_attribute("class")  # the writer's own
            assert nested.locator(".reply-badge").inner_text() == "author"
            assert ann_item.locator(":scope > article .reply-badge").count() == 0
            cat_item = top.filter(has_text="Saving this for our support team")
            assert "on Bluesky" in cat_item.locator(".reply-network").first.inner_text()
            assert "Same here" in cat_item.locator("ol.replies-list > li.reply").inner_text()
            assert "only for the writer" not in section.inner_text()
            browser.close()

    # 7. the report lists the post's numbers
    data = json.loads((tmp_path / "reports" / "engagement.json").read_text(encoding="utf-8"))
    (post,) = data["posts"]
    assert post["id"] == post_id and post["tags"] == ["customers", "complaints"]
    assert post["email"]["opens"] == 12 and post["email"]["clicks"] == 5
    assert post["email"]["unsubscribes"] == 1
    assert {k: post["mastodon"][k] for k in ("boosts", "favourites", "replies")} == {
        "boosts": 2,
        "favourites": 3,
        "replies": 2,
    }
    assert {k: post["bluesky"][k] for k in ("reposts", "likes", "replies")} == {
        "reposts": 0,
        "likes": 4,
        "replies": 1,
    }
    for name in data["charts"].values():
        root = etree.parse(str(tmp_path / "reports" / name)).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
    row = next(line for line in reported.stdout.splitlines() if "Answer the angry" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[2:] == ["12", "5", "1", "2", "3", "2", "0", "4", "1", "–", "29"]
