"""The ledger file: atomic, durable writes, a lock, and loud failures on a bad file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from syndicate import ledger as ledger_mod
from syndicate.errors import LedgerError
from syndicate.ledger import Ledger


def test_update_writes_the_item_at_once(tmp_path):
    path = tmp_path / "data" / "ledger.json"
    led = Ledger.load(path)
    assert led.is_empty() and led.channel_is_empty("mastodon")
    led.update("tag:x,2024:a", "mastodon", state="pending", intent={"key": "k1"}, slug="a")
    on_disk = json.loads(path.read_text())
    assert on_disk["version"] == 1
    assert on_disk["posts"]["tag:x,2024:a"]["mastodon"] == {
        "state": "pending",
        "intent": {"key": "k1"},
        "slug": "a",
    }
    led.update("tag:x,2024:a", "mastodon", state="sent", remote_id="9", intent=None)
    again = Ledger.load(path)
    assert again.get("tag:x,2024:a", "mastodon") == {"state": "sent", "slug": "a", "remote_id": "9"}
    assert again.is_sent("tag:x,2024:a", "mastodon")
    assert not again.channel_is_empty("mastodon") and again.channel_is_empty("bluesky")


def test_unknown_state_is_refused(tmp_path):
    led = Ledger.load(tmp_path / "ledger.json")
    with pytest.raises(LedgerError, match="valid: pending, sending, sent, failed, skipped"):
        led.update("p", "x", state="done")


def test_write_fsyncs_file_and_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(ledger_mod.os, "fsync", lambda fd: synced.append(fd) or real(fd))
    Ledger.load(tmp_path / "ledger.json").update("p", "x", state="pending")
    assert len(synced) == 2  # the temp file, then the folder after the rename
    synced.clear()
    Ledger.load(tmp_path / "ledger.json", fsync=False).update("p", "x", state="sent")
    assert synced == []


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ledger.json"
    led = Ledger.load(path)
    led.update("p", "x", state="sent", remote_id="1")
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(ledger_mod.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        led.update("p", "y", state="pending")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.json"]


def test_killed_writer_never_leaves_half_a_file(tmp_path):
    """A process killed in a loop of writes leaves a ledger that always parses."""
    path = tmp_path / "ledger.json"
    code = (
        "import sys\n"
        "from syndicate.ledger import Ledger\n"
        "led = Ledger.load(sys.argv[1], fsync=False)\n"
        "i = 0\n"
        "while True:\n"
        "    i += 1\n"
        "    led.update(f'post-{i % 50}', 'x', state='sent', remote_id=str(i) * 200)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=os.getcwd())
    reads = 0
    deadline = time.monotonic() + 20
    try:
        while reads < 300 and time.monotonic() < deadline:
            if path.exists():
                json.loads(path.read_text())  # never a torn file
                reads += 1
    finally:
        proc.kill()
        proc.wait()
    assert reads == 300
    data = json.loads(path.read_text())
    assert data["posts"] and all(c["x"]["state"] == "sent" for c in data["posts"].values())


def test_second_run_is_locked_out(tmp_path):
    led = Ledger(tmp_path / "ledger.json")
    with led.locked():
        with pytest.raises(LedgerError, match="another syndicate run"):
            with Ledger(tmp_path / "ledger.json").locked():
                pass
    with Ledger(tmp_path / "ledger.json").locked():  # released afterwards
        pass


@pytest.mark.parametrize("text", ["{not json", '{"version": 7, "posts": {}}', "[]"])
def test_unreadable_ledger_is_an_error_never_an_empty_ledger(tmp_path, text):
    path = tmp_path / "ledger.json"
    path.write_text(text)
    with pytest.raises(LedgerError, match="restore it from git"):
        Ledger.load(path)
