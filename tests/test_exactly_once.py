"""Exactly once, whatever happens: SIGKILL at every request, and every injected fault.

Each channel whose stand-in exists (tests/standins/<channel>.py, plus the echo network of
tests/syndicate_fixtures.py, which has no idempotency key at all) gets a run of 5 posts.
The syndicate process is killed when the Nth request reaches a stand-in — before the
service handles it, and after it answered — for every N of a full run; then the run is
repeated until it succeeds, and every post must have been delivered exactly once.
Faults (reset, timeout, 429 with reset, 500, 401) are injected the same way, at every
request of a run, followed by a clean re-run.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest

from syndicate.cli import main
from tests.syndicate_fixtures import (
    POSTS,
    Killer,
    build_manifest,
    clean_env,
    ledger,
    manifest_urls,
    popen_cli,
    standin_classes,
    write_settings,
)

CHANNELS = standin_classes()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exactly-once-site")
    manifest = build_manifest(tmp, POSTS)
    return manifest, manifest_urls(manifest)


class Rig:
    """Fresh stand-ins, ledger and settings for one scenario."""

    def __init__(self, folder: Path, manifest: Path, names: list[str], **settings):
        self.folder = folder
        folder.mkdir(parents=True)
        self.standins = {name: CHANNELS[name]() for name in names}
        self.killer = Killer()
        env = {}
        for standin in self.standins.values():
            standin.start()
            standin.hooks.append(self.killer)
            env.update(standin.env())
        self.env = clean_env(env)
        self.settings = write_settings(
            folder,
            manifest,
            SYNDICATE_CHANNELS=names,
            SYNDICATE_MAX_NEW=10,
            SYNDICATE_TIMEOUT=1.5,
            SYNDICATE_MASTODON_TIMEOUT=1.5,
            **settings,
        )

    def stop(self):
        # shutdown() waits up to half a second for the serving loop: not in the test's time
        for standin in self.standins.values():
            threading.Thread(target=standin.stop, daemon=True).start()

    def requests(self) -> int:
        return self.killer.count

    def run_in_process(self) -> int:
        out = io.StringIO()
        with (
            mock.patch.dict(os.environ, self.env, clear=True),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(out),
        ):
            code = main(["--settings", str(self.settings)])
        self.last_output = out.getvalue()
        return code

    def run_killed(self, at: int, phase: str) -> bool:
        """Run `python -m syndicate` killed at request `at`; True if the kill happened."""
        self.killer.at, self.killer.phase = at, phase
        proc = popen_cli(self.settings, env=self.env, cwd=self.folder)
        self.killer.pid = proc.pid
        try:
            proc.communicate(timeout=60)
        finally:
            self.killer.at, self.killer.pid = 0, None
        return self.killer.fired.is_set()

    def run_forked_killed(self, at: int, phase: str) -> bool:
        """The same in a forked child of this process (no interpreter start-up to pay).

        The child is a separate process running syndicate.cli.main: SIGKILL ends it just
        as abruptly; it waits on a pipe until the killer knows its pid.
        """
        self.killer.at, self.killer.phase = at, phase
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 3
            try:
                os.close(ready_w)
                os.read(ready_r, 1)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                os.chdir(self.folder)
                os.environ.clear()
                os.environ.update(self.env)
                code = main(["--settings", str(self.settings)])
            finally:
                os._exit(code)
        os.close(ready_r)
        self.killer.pid = pid
        os.write(ready_w, b"go")
        os.close(ready_w)
        try:
            os.waitpid(pid, 0)
        finally:
            self.killer.at, self.killer.pid = 0, None
        return self.killer.fired.is_set()

    def finish(self, tries: int = 3) -> None:
        """Re-run until a run succeeds (a run may stop on an auth error or a budget)."""
        for _ in range(tries):
            if self.run_in_process() == 0:
                return
        raise AssertionError(f"no clean run after {tries} tries:\n{self.last_output}")

    def assert_exactly_once(self, urls: dict[str, str], context: str) -> None:
        for name, standin in self.standins.items():
            counts = {slug: standin.delivered(url) for slug, url in urls.items()}
            assert counts == dict.fromkeys(urls, 1), f"{name} {context}: {counts}"
            assert standin.violations == [], f"{name} {context}: {standin.violations}"
        posts = ledger(self.folder)["posts"]
        states = {
            (pid, ch): item["state"] for pid, chans in posts.items() for ch, item in chans.items()
        }
        assert len(states) == len(urls) * len(self.standins), context
        assert set(states.values()) == {"sent"}, f"{context}: {states}"


def full_run_requests(folder: Path, manifest: Path, names: list[str]) -> int:
    rig = Rig(folder, manifest, names)
    try:
        assert rig.run_in_process() == 0, rig.last_output
        return rig.requests()
    finally:
        rig.stop()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_sigkill_at_every_request(name, site, tmp_path):
    manifest, urls = site
    total = full_run_requests(tmp_path / "count", manifest, [name])
    assert total >= len(urls) + 1  # a check and at least one call per post
    # before the request reaches the service and after it answered, at every request
    plan = [(at, phase) for at in range(1, total + 1) for phase in ("before", "after")]
    kills = 0
    for at, phase in plan:
        rig = Rig(tmp_path / f"{at}-{phase}", manifest, [name])
        try:
            kills += rig.run_forked_killed(at, phase)
            rig.finish()
            rig.assert_exactly_once(urls, f"killed {phase} request {at}/{total}")
        finally:
            rig.stop()
    assert kills == len(plan)  # the kill really happened at every point


@pytest.mark.slow
def test_sigkill_with_every_channel_at_once(site, tmp_path):
    manifest, urls = site
    names = sorted(CHANNELS)
    total = full_run_requests(tmp_path / "count", manifest, names)
    step = max(1, total // 4)
    for at in range(1, total + 1, step):
        rig = Rig(tmp_path / f"all-{at}", manifest, names)
        try:
            assert rig.run_killed(at, "after")
            rig.finish()
            rig.assert_exactly_once(urls, f"all channels, killed after request {at}/{total}")
        finally:
            rig.stop()


def _reset_at() -> str:
    return (datetime.now(UTC) + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")


FAULTS = {
    "reset": {"kind": "reset"},
    "timeout": {"kind": "timeout", "delay": 1.8},
    "429": {
        "kind": "status",
        "status": 429,
        "body": {"error": "Too many requests", "title": "Too Many Requests", "status": 429},
        "headers": {"Retry-After": "1", "X-RateLimit-Remaining": "0"},
    },
    "500": {
        "kind": "status",
        "status": 500,
        "body": {"error": "Internal Server Error", "title": "Internal", "status": 500},
    },
    "401": {
        "kind": "status",
        "status": 401,
        "body": {"error": "The access token is invalid", "title": "API Key Invalid", "status": 401},
    },
}


class FaultAt:
    """Hook: inject `fault` into the stand-in when the Nth request (over all) arrives."""

    def __init__(self, rig: Rig, at: int, fault: dict):
        self.rig, self.at, self.fault = rig, at, dict(fault)
        self.fired = False

    def __call__(self, req, phase):
        if phase != "before" or self.fired or self.rig.killer.count != self.at:
            return
        for standin in self.rig.standins.values():
            if standin.url == req.host_url:
                fault = dict(self.fault)
                kind = fault.pop("kind")
                if "headers" in fault:
                    fault["headers"] = {**fault["headers"], "X-RateLimit-Reset": _reset_at()}
                standin.inject(kind, match=f"{req.method} {req.path}", **fault)
                self.fired = True


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_fault_at_every_request(name, fault, site, tmp_path):
    manifest, urls = site
    total = full_run_requests(tmp_path / "count", manifest, [name])
    failed_runs = 0
    for at in range(1, total + 1):
        rig = Rig(tmp_path / f"{fault}-{at}", manifest, [name])
        hook = FaultAt(rig, at, FAULTS[fault])
        for standin in rig.standins.values():
            standin.hooks.append(hook)  # after the counter
        try:
            code = rig.run_in_process()
            assert hook.fired, f"fault {fault} not injected at request {at}"
            token_values = [v for k, v in rig.env.items() if "TOKEN" in k or "KEY" in k]
            for secret in token_values:
                assert secret not in rig.last_output
            if code != 0:
                failed_runs += 1
                assert fault in ("401", "reset", "timeout", "429", "500"), rig.last_output
                rig.finish()
            rig.assert_exactly_once(urls, f"{fault} at request {at}/{total}")
        finally:
            rig.stop()
    if fault == "401":
        assert failed_runs >= 1  # a 401 is never retried: the run reports it


@pytest.mark.slow
@pytest.mark.skipif("mailchimp" not in CHANNELS, reason="no Mailchimp stand-in")
def test_sigkill_during_a_digest(site, tmp_path):
    manifest, urls = site
    rig = Rig(tmp_path / "count", manifest, ["mailchimp"], NEWSLETTER_MODE="digest")
    try:
        assert rig.run_in_process() == 0, rig.last_output
        total = rig.requests()
    finally:
        rig.stop()
    for at in range(1, total + 1):
        for phase in ("before", "after"):
            rig = Rig(tmp_path / f"{at}-{phase}", manifest, ["mailchimp"], NEWSLETTER_MODE="digest")
            try:
                assert rig.run_forked_killed(at, phase)
                rig.finish()
                mail = rig.standins["mailchimp"]
                assert len(mail.sends) == 1, f"killed {phase} request {at}"
                assert {mail.delivered(u) for u in urls.values()} == {1}
                items = ledger(rig.folder)["posts"]
                members = [
                    c["mailchimp"] for pid, c in items.items() if c["mailchimp"].get("digest")
                ]
                assert len(members) == len(urls) and {m["state"] for m in members} == {"sent"}
            finally:
                rig.stop()
