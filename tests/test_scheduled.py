"""Scheduled posts: a post dated a little ahead is left out until its date, then published once.

The writer pushes a future-dated post; the push publishes the site without it. After its
date a scheduled run (the hook with --scheduled, as cron runs it; GitHub Actions runs
`invoke publish` hourly the same way) publishes and syndicates it, and a further run
sends nothing. Pelican reads the real clock, so the post is dated a few seconds ahead
of the push (measured from a first push) rather than a full minute: the test waits only
as long as it has to.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from lxml import html

from tests.test_git_hook import (
    HookSite,
    post_text,
    post_url,
    remote_lines,
    standin_env,
    standins,  # noqa: F401  (fixture)
    syndicate_available,
)


def published(done) -> str:
    """The hook's output, after checking that it published (git push exits 0 regardless)."""
    out = remote_lines(done) or done.stdout + done.stderr
    assert "publish: done" in out and "FAILED" not in out, out
    return out


def feed_entries(site: HookSite) -> str:
    index = html.parse(str(site.web_root / "index.html")).getroot()
    return index.text_content()


@pytest.mark.slow
def test_future_post_waits_for_its_date_then_goes_out_once(tmp_path, standins):  # noqa: F811
    syndicate = syndicate_available()
    site = HookSite(tmp_path, syndicate=syndicate, env=standin_env(standins))
    now = datetime.now(UTC).replace(microsecond=0)
    site.write("old.md", post_text("Old news", now - timedelta(days=1)))
    published(site.commit_and_push("Old news"))
    site.pull()
    # how long a push takes once the stand-ins have loaded their API specs
    started = time.monotonic()
    published(site.commit_and_push("Nothing new"))
    push_seconds = time.monotonic() - started

    # dated ahead by comfortably more than a push takes
    ahead = max(3, round(2 * push_seconds + 2))
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=ahead)
    url = post_url("Coming soon", when)
    site.write("soon.md", post_text("Coming soon", when))
    published(site.commit_and_push("Schedule a post"))
    assert datetime.now(UTC) < when, f"the push took longer than {ahead}s: premise broken"
    assert not site.page(url).exists()
    assert "Coming soon" not in feed_entries(site)
    assert "Old news" in feed_entries(site)
    for s in standins:
        assert s.delivered(url) == 0, s.name

    time.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()) + 0.3)
    done = site.run_scheduled()
    published(done)
    assert done.returncode == 0
    page = html.parse(str(site.page(url))).getroot()
    assert page.findtext(".//h1").strip() == "Coming soon"
    assert "Coming soon" in feed_entries(site)
    for s in standins:
        assert s.delivered(url) == 1, s.name

    again = site.run_scheduled()
    published(again)
    assert again.returncode == 0
    for s in standins:
        assert s.delivered(url) == 1, s.name
        # requests the stand-ins reject; endpoints a stand-in lacks altogether (read by
        # `invoke fetch-replies`, which the scheduled run calls) are that stand-in's gap
        rejected = [v for v in s.violations if "MethodNotImplemented" not in v]
        assert rejected == [], s.name
    if syndicate:
        assert "Nothing new to send" in again.stdout + again.stderr
    print(f"push {push_seconds:.1f}s; post dated {ahead}s ahead")
