"""The runner and CLI on a real build: what is new, baseline, refusal, pre-flight, resend.

Channels are the echo network (tests/syndicate_fixtures.py) plus Mastodon and Mailchimp
where their adapters and stand-ins exist; each test starts fresh stand-ins and ledger.
"""

from __future__ import annotations

import json
import time

import pytest
from lxml import etree

from syndicate.runner import SleepBudget
from tests.syndicate_fixtures import (
    EXTRA_POSTS,
    POSTS,
    build_manifest,
    clean_env,
    ledger,
    manifest_urls,
    run_cli,
    run_main,
    standin_classes,
    write_settings,
)

STANDINS = standin_classes()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runner-site")
    manifest = build_manifest(tmp, {**POSTS, **EXTRA_POSTS})
    return manifest, manifest_urls(manifest)


@pytest.fixture
def rig(tmp_path, site):
    """Started stand-ins (echo, and mailchimp/mastodon if present) and a settings writer."""
    manifest, urls = site
    names = ["echo"] + [n for n in ("mailchimp", "mastodon") if n in STANDINS]
    standins = {n: STANDINS[n]() for n in names}
    env = {}
    for s in standins.values():
        s.start()
        env.update(s.env())

    class Rig:
        pass

    r = Rig()
    r.tmp, r.manifest, r.urls, r.standins, r.env = tmp_path, manifest, urls, standins, env
    r.settings = lambda **kw: write_settings(
        tmp_path, manifest, **{"SYNDICATE_CHANNELS": names, "SYNDICATE_MAX_NEW": 10, **kw}
    )
    r.run = lambda *args, env=None, **kw: run_main(
        r.settings(**kw), *args, env=clean_env(r.env if env is None else env), cwd=tmp_path
    )
    yield r
    for s in standins.values():
        s.stop()


def delivered(rig, name):
    return {slug: rig.standins[name].delivered(url) for slug, url in rig.urls.items()}


def test_run_sends_each_new_post_once_and_honours_metadata(rig):
    code, out = rig.run()
    assert code == 0, out
    echo = delivered(rig, "echo")
    assert echo["subscribers-only-the-spring-offer"] == 0  # email-only
    assert echo["a-quiet-note"] == 0  # Syndicate: no
    assert echo["only-on-the-echo-network"] == 1  # Syndicate: echo
    assert all(echo[f"post-number-{i}-talking-with-customers"] == 1 for i in range(1, 6))
    if "mailchimp" in rig.standins:
        mail = delivered(rig, "mailchimp")
        # an email-only post has no public URL to mention: the ledger says it went out
        sent = {
            i["slug"]
            for chans in ledger(rig.tmp)["posts"].values()
            for n, i in chans.items()
            if n == "mailchimp" and i["state"] == "sent"
        }
        assert "subscribers-only-the-spring-offer" in sent
        assert len(rig.standins["mailchimp"].sends) == 6
        assert mail["a-quiet-note"] == 0
        assert mail["only-on-the-echo-network"] == 0  # Newsletter: no and not in the subset
    if "mastodon" in rig.standins:
        assert delivered(rig, "mastodon")["subscribers-only-the-spring-offer"] == 0
    # a second run finds nothing new and sends nothing
    before = {n: len(s.requests) for n, s in rig.standins.items()}
    code, out = rig.run()
    assert code == 0 and "Nothing new" in out
    assert {n: len(s.requests) for n, s in rig.standins.items()} == before
    for secret in (v for k, v in rig.env.items() if "TOKEN" in k or "KEY" in k):
        assert secret not in out
        assert secret not in (rig.tmp / "data" / "ledger.json").read_text()


def test_refuses_to_mail_an_imported_archive_then_baseline(rig):
    code, out = rig.run(SYNDICATE_MAX_NEW=3)
    assert code == 1
    assert "--baseline" in out and "SYNDICATE_MAX_NEW" in out
    assert sum(delivered(rig, "echo").values()) == 0
    assert not any(ledger(rig.tmp)["posts"].values())
    code, out = rig.run("--baseline", SYNDICATE_MAX_NEW=3)
    assert code == 0 and "marked as sent" in out
    items = [i for chans in ledger(rig.tmp)["posts"].values() for i in chans.values()]
    assert items and all(i["state"] == "sent" and i["baseline"] for i in items)
    code, out = rig.run(SYNDICATE_MAX_NEW=3)
    assert code == 0 and "Nothing new" in out
    assert all(len(s.calls("POST", "")) == 0 for n, s in rig.standins.items() if n == "echo")
    assert sum(delivered(rig, "echo").values()) == 0


def test_since_ignores_older_posts(rig):
    code, out = rig.run(SYNDICATE_SINCE="2024-05-01")
    assert code == 0, out
    echo = delivered(rig, "echo")
    assert echo["post-number-4-talking-with-customers"] == 0
    assert echo["post-number-5-talking-with-customers"] == 1


def test_failing_check_of_one_channel_sends_nothing_anywhere(rig):
    env = dict(rig.env, ECHO_TOKEN="wrong-token-value")
    code, out = rig.run(env=env)
    assert code == 2
    assert "FAIL echo" in out and "nothing was sent" in out
    assert "wrong-token-value" not in out
    for name in rig.standins:
        assert sum(delivered(rig, name).values()) == 0, name
    assert not (rig.tmp / "data" / "ledger.json").exists()


def test_permanent_error_is_not_retried_and_other_channels_go_on(rig):
    rig.standins["echo"].inject(
        "status", match="POST /v1/posts", status=422, body={"error": "too long"}, times=1
    )
    code, out = rig.run()
    assert code == 1
    assert "too long" in out  # the service's own text
    first = json.loads((rig.tmp / "data" / "ledger.json").read_text())["posts"]
    failed = [i for chans in first.values() for n, i in chans.items() if n == "echo"]
    failed = [i for i in failed if i["state"] == "failed"]
    assert len(failed) == 1 and failed[0]["attempts"] == 1
    for name in set(rig.standins) - {"echo"}:
        assert sum(delivered(rig, name).values()) >= 5, name
    code, out = rig.run()  # the next run tries the failed item again
    assert code == 0, out
    assert set(delivered(rig, "echo").values()) <= {0, 1}


def test_rate_limit_longer_than_the_sleep_budget_is_left_for_the_next_run(rig):
    rig.standins["echo"].inject(
        "status", match="POST /v1/posts", status=429, headers={"Retry-After": "3600"}
    )
    started = time.monotonic()
    code, out = rig.run(SYNDICATE_MAX_SLEEP=5)
    assert time.monotonic() - started < 30
    assert code == 1 and "sleep budget" in out
    code, out = rig.run()
    assert code == 0
    assert all(v <= 1 for v in delivered(rig, "echo").values())
    assert delivered(rig, "echo")["post-number-1-talking-with-customers"] == 1


def test_status_lists_every_post_and_channel(rig):
    assert rig.run()[0] == 0
    result = run_cli(rig.settings(), "--status", env=clean_env(rig.env), cwd=rig.tmp)
    assert result.returncode == 0, result.stderr
    rows = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 7:
            rows[(cells[0], cells[2])] = cells
    echo_post = rows[("post-number-1-talking-with-customers", "echo")]
    assert echo_post[3] == "sent" and echo_post[4].startswith(rig.standins["echo"].url)
    assert rows[("a-quiet-note", "echo")][3] == "skipped (Syndicate: no)"
    assert rows[("subscribers-only-the-spring-offer", "echo")][3] == "skipped (email-only post)"


def test_resend_sends_one_item_again_on_purpose(rig):
    assert rig.run()[0] == 0
    code, out = rig.run(
        "--post", "post-number-2-talking-with-customers", "--channel", "echo", "--resend"
    )
    assert code == 0, out
    echo = delivered(rig, "echo")
    assert echo["post-number-2-talking-with-customers"] == 2
    assert echo["post-number-3-talking-with-customers"] == 1
    items = [
        i
        for chans in ledger(rig.tmp)["posts"].values()
        for n, i in chans.items()
        if n == "echo" and i["slug"] == "post-number-2-talking-with-customers"
    ]
    assert items[0]["generation"] == 1 and len(items[0]["history"]) == 1


def test_no_credentials_means_a_dry_run_that_says_so(rig):
    code, out = rig.run(env={})
    assert code == 0, out
    assert "dry run" in out.lower() and "nothing is sent" in out
    index = rig.tmp / "outbox" / "index.html"
    tree = etree.parse(str(index), etree.HTMLParser())
    channels = {a.get("data-channel") for a in tree.iter("article")}
    assert "echo" in channels
    assert all(len(s.requests) == 0 for s in rig.standins.values())
    assert not (rig.tmp / "data" / "ledger.json").exists()


def test_manifest_built_for_another_siteurl_is_refused(rig):
    code, out = rig.run(SITEURL="https://other.example")
    assert code == 2 and "SITEURL" in out
    assert all(len(s.requests) == 0 for s in rig.standins.values())


def test_sleep_budget_caps_total_sleep():
    slept = []
    budget = SleepBudget(total=10, base=1, cap=4, sleep=slept.append)
    assert [budget.delay(n, None) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 4, 4]
    assert budget.delay(1, 7.5) == 7.5  # the service's reset wins over the backoff
    assert budget.take(6) and budget.take(4)
    assert not budget.take(0.5)  # over the budget: no sleep at all
    assert slept == [6, 4] and budget.slept == 10


@pytest.mark.skipif("mailchimp" not in STANDINS, reason="no Mailchimp stand-in")
def test_digest_mode_sends_one_campaign_for_all_new_posts(rig):
    code, out = rig.run(NEWSLETTER_MODE="digest")
    assert code == 0, out
    mail = rig.standins["mailchimp"]
    assert len(mail.sends) == 1
    members = [
        i
        for chans in ledger(rig.tmp)["posts"].values()
        for n, i in chans.items()
        if n == "mailchimp" and i.get("digest")
    ]
    # five ordinary posts and the email-only one; not `Syndicate: no`, not `Newsletter: no`
    assert len(members) == 6
    assert {i["state"] for i in members} == {"sent"}
    assert len({i["remote_id"] for i in members}) == 1
    for i in range(1, 6):
        assert mail.delivered(rig.urls[f"post-number-{i}-talking-with-customers"]) == 1
    code, out = rig.run(NEWSLETTER_MODE="digest")
    assert code == 0 and "Nothing new" in out
    assert len(mail.sends) == 1


@pytest.mark.skipif("mailchimp" not in STANDINS, reason="no Mailchimp stand-in")
def test_test_email_sends_nothing_to_the_list_and_the_real_send_follows(rig):
    code, out = rig.run("--test-email", "maren@frontporch.example")
    assert code == 0, out
    mail = rig.standins["mailchimp"]
    assert mail.tests and mail.tests[0]["emails"] == ["maren@frontporch.example"]
    assert mail.sends == []
    code, out = rig.run()
    assert code == 0, out
    assert len(mail.sends) == 6  # the test campaign was reused, not doubled
    assert len(mail.campaigns) == 6


def test_invoke_task_runs_the_cli(rig):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    invoke = Path(sys.executable).with_name("invoke")
    result = subprocess.run(
        [str(invoke), "syndicate", "--status", "--settings", str(rig.settings())],
        cwd=root,
        env=clean_env(rig.env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "post-number-5-talking-with-customers" in result.stdout
    assert "pending (new)" in result.stdout


def test_every_syndicate_setting_is_documented():
    import re
    from pathlib import Path

    from syndicate.config import DEFAULTS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    missing = [k for k in DEFAULTS if not re.search(rf"`{re.escape(k)}`", readme)]
    assert missing == []


def test_credentials_from_a_dotenv_file_are_used_and_never_shown(rig):
    echo = rig.standins["echo"]
    (rig.tmp / ".env").write_text(
        f"ECHO_API_URL={echo.url}\nECHO_TOKEN={echo.token}\n", encoding="utf-8"
    )
    code, out = rig.run("--check", env={})
    assert code == 0, out
    assert "ok   echo" in out and echo.token not in out
    code, out = rig.run(env={}, SYNDICATE_CHANNELS=["echo"])
    assert code == 0, out
    assert delivered(rig, "echo")["post-number-1-talking-with-customers"] == 1
    assert echo.token not in out
