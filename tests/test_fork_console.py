"""A process forked while another thread holds Pelican's console lock can still log."""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
import time

from tests.sitebuild import ROOT

sys.path.insert(0, str(ROOT / "plugins"))

from fastbuild import forked
from pelican.log import DEFAULT_LOG_HANDLER, console


def warn_through_the_console(item):
    logger = logging.getLogger("fork-console-test")
    logger.handlers, logger.propagate = [DEFAULT_LOG_HANDLER], False
    logger.warning("from a forked worker: %s", item)
    return item


def test_fork_waits_for_the_console_lock_and_the_child_can_log():
    taken, hold = threading.Event(), 0.3

    def refresher():  # what rich's status line refresh thread does, slowly
        with console._lock:
            taken.set()
            time.sleep(hold)

    thread = threading.Thread(target=refresher)
    thread.start()
    taken.wait()
    started = time.monotonic()
    read_end, pid = forked.fork_worker(warn_through_the_console, [1])
    try:
        ready, _, _ = select.select([read_end], [], [], 10)
        assert ready, "the forked worker hung on the console lock it inherited"
        assert forked.report(read_end, pid) == {"ok": [1]}
    finally:
        if not ready:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        thread.join()
    assert time.monotonic() - started >= hold * 0.5  # the fork waited for the lock
