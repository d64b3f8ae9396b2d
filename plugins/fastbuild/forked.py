"""Work shared out to forked worker processes, the results coming back in order."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing


@contextlib.contextmanager
def console_held():
    """Hold the locks of Pelican's console, and of its live status line, while forking.

    `pelican` shows "Generating..." with rich, whose refresh thread takes those locks
    several times a second. A process forked while that thread held one would inherit
    it locked, with no thread left to release it, and wait forever the first time it
    logged something. Taken in the thread's own order; the forking thread owns them in
    both processes, so both release them on the way out."""
    locks = []
    try:
        from pelican.log import console

        locks = [live._lock for live in getattr(console, "_live_stack", [])]
        locks.append(console._lock)
    except (ImportError, AttributeError):
        locks = []
    for lock in locks:
        lock.acquire()
    try:
        yield
    finally:
        for lock in reversed(locks):
            lock.release()


def forked_map(func, items: list, workers: int):
    """Yield func(item) for each of `items`, in order, computed in `workers` forked
    processes (each inherits the parent as it is: nothing but the items is pickled).

    While the workers run, the collector leaves the parent's existing objects alone, so
    the workers' collectors do not write to (and so copy) the memory they share with it.
    """
    chunk = max(1, min(32, len(items) // (workers * 8)))
    gc.freeze()
    try:
        with console_held():
            pool = multiprocessing.get_context("fork").Pool(workers)
        with pool:
            yield from pool.imap(func, items, chunksize=chunk)
    finally:
        gc.unfreeze()
