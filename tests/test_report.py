"""`invoke report`: per-post numbers from the Mailchimp, Mastodon and Bluesky stand-ins and a
real Isso server, written as engagement.json, charts (valid SVG/PNG) and a page."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import requests
from lxml import etree
from lxml import html as lxml_html
from PIL import Image
from rich.console import Console

from sitetools.isso import start_isso, stop_isso
from syndicate import config as config_mod
from syndicate.report.cli import FAILED, OK, build_report, summary
from tests.standins.bluesky import BlueskyStandIn
from tests.standins.mailchimp import MailchimpStandIn
from tests.standins.mastodon import MastodonStandIn
from tests.standins.openapi import specs_dir
from tests.syndicate_fixtures import build_manifest

pytestmark = pytest.mark.skipif(
    not (specs_dir() / "mailchimp").is_dir(), reason="../shared/specs is absent"
)
POSTS = {
    "complaints.md": """\
        Title: Answering complaints in public
        Date: 2026-10-01 09:00
        Tags: customers, complaints
        Summary: Answer the negative ones first.

        Body.
        """,
    "segments.md": """\
        Title: Segment the list
        Date: 2026-10-08 09:00
        Tags: email
        Summary: Send each segment what is worth its time.

        Body.
        """,
    "quiet.md": """\
        Title: A quiet note
        Date: 2026-10-15 09:00
        Tags: customers

        Only on the site.
        """,
}


# The busiest post's row, the same in the HTML table and the terminal summary:
# title, date, then each channel's numbers, the comments and the total.
BUSY_ROW = ["Answering complaints in public", "2026-10-01",
            "40", "9", "1", "3", "5", "2", "1", "4", "1", "1", "66"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report-site")
    manifest = build_manifest(tmp, POSTS)
    index = json.loads((manifest / "index.json").read_text(encoding="utf-8"))
    return manifest, {e["slug"]: e["id"] for e in index["posts"]}


@pytest.fixture(scope="module")
def isso(tmp_path_factory):
    port = _free_port()
    db = tmp_path_factory.mktemp("isso") / "comments.db"
    origin = "http://localhost:8124"
    proc = start_isso("127.0.0.1", port, db_path=db, site_origins=[origin])
    yield f"http://127.0.0.1:{port}/", origin
    stop_isso(proc)


def comment(isso, thread: str, text: str) -> None:
    base, origin = isso
    answer = requests.post(
        base + "new",
        params={"uri": thread},
        json={"text": text, "author": "Reader", "title": "A post"},
        headers={"Origin": origin, "Referer": origin + "/"},
        timeout=5,
    )
    assert answer.status_code == 201


@pytest.fixture
def services():
    with MailchimpStandIn() as mc, MastodonStandIn() as masto, BlueskyStandIn() as bsky:
        yield mc, masto, bsky
        assert mc.violations == [] and masto.violations == [] and bsky.violations == []


def setup(tmp: Path, site, services, isso, **settings):
    manifest, ids = site
    mc, masto, bsky = services
    cid = mc.add_campaign("complaints", status="sent", html="<p>complaints</p>")
    mc.engage(cid, opens=40, unique_opens=25, clicks=9, unique_clicks=7, unsubscribes=1)
    status_a = masto.add_reply(None, "Answering complaints https://blog.example/c/", own=True)
    status_b = masto.add_reply(None, "Segment the list https://blog.example/s/", own=True)
    masto.boost(status_a, 3)
    masto.favourite(status_a, 5)
    masto.add_reply(status_a, "Yes!", username="ann")
    masto.add_reply(status_a, "private", username="bob", visibility="private")
    masto.favourite(status_b, 2)
    uri = bsky.add_post("Answering complaints https://blog.example/c/")
    bsky.like(uri, 4)
    bsky.repost(uri, 1)
    bsky.add_reply(uri, "Agreed", handle="cat.bsky.example")
    ledger = {
        "version": 1,
        "posts": {
            ids["answering-complaints-in-public"]: {
                "mailchimp": {
                    "state": "sent",
                    "slug": "answering-complaints-in-public",
                    "remote_id": cid,
                },
                "mastodon": {
                    "state": "sent",
                    "slug": "answering-complaints-in-public",
                    "remote_id": status_a,
                    "remote_url": "https://m.example/1",
                },
                "bluesky": {
                    "state": "sent",
                    "slug": "answering-complaints-in-public",
                    "remote_id": uri,
                    "remote_url": "https://bsky.app/x",
                },
            },
            ids["segment-the-list"]: {
                "mastodon": {"state": "sent", "slug": "segment-the-list", "remote_id": status_b},
                "bluesky": {"state": "failed", "slug": "segment-the-list"},
            },
        },
    }
    (tmp / "data").mkdir(exist_ok=True)
    (tmp / "data" / "ledger.json").write_text(json.dumps(ledger), encoding="utf-8")
    values = {
        "DATA_PATH": str(tmp / "data"),
        "MANIFEST_PATH": str(manifest),
        "REPORT_PATH": str(tmp / "reports"),
        "COMMENTS_PROVIDER": "isso",
        "COMMENTS_ISSO_URL": isso[0],
        "SYNDICATE_TIMEOUT": 3.0,
        "SYNDICATE_MASTODON_TIMEOUT": 3.0,
        "SYNDICATE_FSYNC": False,
        **settings,
    }
    env = {**mc.env(), **masto.env(), **bsky.env()}
    return config_mod.from_settings(values, root=tmp, environ=env), ids


def test_report_lists_each_posts_numbers_and_draws_the_charts(tmp_path, site, services, isso):
    config, ids = setup(tmp_path, site, services, isso)
    comment(isso, ids["answering-complaints-in-public"], "Thanks for this")
    comment(isso, ids["a-quiet-note"], "Quiet but good")

    report, folder = build_report(config, say=lambda _: None)

    data = json.loads((folder / "engagement.json").read_text(encoding="utf-8"))
    assert data["errors"] == [] and data["posts"] == report["posts"]
    posts = {p["slug"]: p for p in data["posts"]}
    assert list(posts) == ["answering-complaints-in-public", "segment-the-list", "a-quiet-note"]
    first = posts["answering-complaints-in-public"]
    assert first["title"] == "Answering complaints in public"
    assert first["email"] == {
        "campaign_id": first["email"]["campaign_id"],
        "emails_sent": 3,
        "opens": 40,
        "unique_opens": 25,
        "clicks": 9,
        "unique_clicks": 7,
        "unsubscribes": 1,
    }
    assert first["mastodon"] == {
        "url": first["mastodon"]["url"],
        "boosts": 3,
        "favourites": 5,
        "replies": 2,
    }
    assert first["bluesky"] == {
        "url": "https://bsky.app/x",
        "reposts": 1,
        "likes": 4,
        "replies": 1,
        "quotes": 0,
    }
    assert first["comments"] == 1
    assert first["totals"] == {
        "email": 49,
        "mastodon": 10,
        "bluesky": 6,
        "comments": 1,
        "total": 66,
    }
    second = posts["segment-the-list"]
    assert second["email"] is None and second["bluesky"] is None
    assert second["mastodon"]["favourites"] == 2 and second["comments"] == 0
    assert posts["a-quiet-note"]["comments"] == 1 and posts["a-quiet-note"]["mastodon"] is None
    assert list(data["tags"]) == ["customers", "complaints", "email"]
    assert data["tags"]["customers"] == {"posts": 2, "replies": 5, "clicks": 9}
    assert len(data["history"]) == 1

    for name in data["charts"].values():  # valid SVG documents
        root = etree.parse(str(folder / name)).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.xpath("//svg:path", namespaces={"svg": "http://www.w3.org/2000/svg"})
    tags_svg = (folder / data["charts"]["tags"]).read_text(encoding="utf-8")
    assert "customers" in tags_svg and "complaints" in tags_svg  # text kept as text

    page = lxml_html.parse(str(folder / "index.html")).getroot()
    rows = page.xpath("//table[@id='engagement']/tbody/tr")
    assert [r.get("data-post-id") for r in rows] == [p["id"] for p in data["posts"]]
    cells = [c.text_content().strip() for c in rows[0].xpath("td")]
    assert cells[:13] == BUSY_ROW
    assert {img.get("src") for img in page.xpath("//img")} == set(data["charts"].values())
    assert page.xpath("//meta[@name='robots']/@content") == ["noindex, nofollow"]

    console = Console(record=True, width=200)
    console.print(summary(report))
    text = console.export_text()
    line = next(row for row in text.splitlines() if "Answering complaints" in row)
    assert [cell.strip() for cell in line.split("│")[1:-1]] == BUSY_ROW
    quiet = next(row for row in text.splitlines() if "A quiet note" in row)
    assert quiet.count("–") == 9  # no email, Mastodon or Bluesky numbers: dashes, not zeros


def test_history_grows_and_a_failing_service_leaves_only_its_numbers_out(
    tmp_path, site, services, isso
):
    config, _ = setup(tmp_path, site, services, isso, REPORT_CHART_FORMAT="png")
    mc, masto, _bsky = services
    build_report(config, say=lambda _: None)
    masto.inject("status", status=503, match="GET /api/v1/statuses/", times=2)
    messages = []
    report, folder = build_report(config, say=messages.append)
    assert len(report["history"]) == 2
    posts = {p["slug"]: p for p in report["posts"]}
    assert posts["answering-complaints-in-public"]["mastodon"] is None
    assert posts["answering-complaints-in-public"]["email"]["opens"] == 40  # the rest is there
    assert len(report["errors"]) == 2 and all("mastodon" in e for e in report["errors"])
    assert messages == report["errors"]
    assert mc.api_key not in json.dumps(report)
    for name in report["charts"].values():
        assert name.endswith(".png")
        with Image.open(folder / name) as image:
            image.verify()
            assert image.format == "PNG"
    assert FAILED != OK


def test_invoke_report_exit_code_and_table(tmp_path, site, services, isso, monkeypatch):
    from syndicate.report import cli

    config, _ = setup(tmp_path, site, services, isso, REPORT_ISSO_URL="")
    monkeypatch.setattr(cli.config_mod, "load", lambda path: config)
    console = Console(record=True, width=200)
    monkeypatch.setattr(cli, "consoles", lambda: (console, console))
    assert cli.main(["--settings", "whatever.py"]) == OK
    text = console.export_text()
    assert "Engagement per post" in text and "Segment the list" in text
    assert f"Report: {tmp_path / 'reports' / 'index.html'}" in text
    data = json.loads((tmp_path / "reports" / "engagement.json").read_text(encoding="utf-8"))
    assert all(p["comments"] is None for p in data["posts"])  # no Isso asked
