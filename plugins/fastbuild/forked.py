"""Work shared out to forked worker processes, the results coming back in order.

Three shapes: `forked_map` (a pool of workers, this process waiting), `split_map` (this
process and N-1 children, each working through its round-robin share once) and
`relay_map` (this process from the end, short-lived children taking chunks from the
front). Every fork holds the console's locks (`console_held`)."""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import select
import traceback

# Whether the build keeps the heap out of the collector's reach (hold_frozen): the forks'
# own freezing is then not undone when they are done.
_held = False
_thresholds = gc.get_threshold()  # the collector's, while the build holds it (hold_frozen)
_NO_FULL_COLLECTIONS = 1 << 30


def hold_frozen(on: bool, *, keep: bool = False) -> None:
    """Move every object alive now out of the cyclic collector's reach and keep it so,
    also past the forks below (on); or stop keeping it so (off), giving everything back
    to the collector unless `keep`. The collector then walks only what was made since the
    last freeze, instead of the whole site each time it runs."""
    global _held, _thresholds
    if on and not _held:
        # Full collections only where they are asked for (before each fork): the site
        # grows by thousands of objects between the freezes, and each automatic full
        # collection walked all of them. Young garbage is still collected as it comes.
        _thresholds = gc.get_threshold()
        gc.set_threshold(_thresholds[0], _thresholds[1], _NO_FULL_COLLECTIONS)
    elif not on and _held:
        gc.set_threshold(*_thresholds)
    _held = on
    if on:
        gc.freeze()
    elif not keep:
        gc.unfreeze()


def held() -> bool:
    return _held


def _thaw() -> None:
    """End of a fork's freeze: the collector gets the objects back, unless the build
    holds them frozen."""
    if not _held:
        gc.unfreeze()


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
        _thaw()


# Items a short-lived worker of relay_map takes at a time: a share of the list
# (RELAY_SHARE), at least RELAY_CHUNK and at most RELAY_CHUNK_MAX.
RELAY_CHUNK = 128
RELAY_CHUNK_MAX = 384
RELAY_SHARE = 28


def relay_chunk(count: int) -> int:
    """How many of `count` items a renderer of relay_map takes."""
    return max(RELAY_CHUNK, min(RELAY_CHUNK_MAX, count // RELAY_SHARE))


def relay_map(items, procs: int, work) -> list:
    """[work(item) for item in items]: this process works from the end of the list while
    forked renderers, one per spare core, take chunks (`relay_chunk`) from the front, a
    new one forked as each reports (JSON through a pipe), until the two ends meet.

    Why chunks: a forked process shares memory with this one only until either writes,
    and CPython writes a reference count into every object it reads. A renderer that
    lived for half the build came to own most of what it inherited (80 MB at 5,000
    posts). One that renders 128 pages and exits owns only what those pages touched,
    and what it owned goes when it exits; the next one starts from a fresh fork.

    Why chunks that grow with the list: each fork costs in proportion to this process's
    memory (its page tables, and the pages it uses on every item, which it copies again
    after each fork), and that memory grows with the site. With a fixed chunk the number
    of forks grew with the site too, and so their cost with its square: at 10,000 posts
    (21,000 pages) 128-page chunks spent 7.6 s in the relay, 384-page ones 6.0 s. The
    cap bounds what a renderer comes to own (20-30 KB a page). When less than two chunks
    are left, the next renderer takes half of them: a whole chunk would leave this process
    waiting for it with nothing left to do."""
    chunk = relay_chunk(len(items))
    results = [None] * len(items)
    front, back = 0, len(items)
    live: dict[int, tuple[int, int, int]] = {}  # pipe -> (pid, first, end) of a renderer
    failures: list[str] = []
    forked = False
    try:
        while True:
            while len(live) < procs - 1 and back - front > chunk:
                # the last chunk is half of what is left (less than two chunks), so that
                # this process and the renderer finish together
                first, front = front, front + min(chunk, (back - front) // 2)
                read_end, pid = fork_worker(work, items[first:front])
                live[read_end] = (pid, first, front)
                forked = True
            if back > front:
                back -= 1
                results[back] = work(items[back])
            elif not live:
                break
            if not live:
                continue
            ready, _, _ = select.select(list(live), [], [], 0 if back > front else None)
            for read_end in ready:
                pid, first, end = live.pop(read_end)
                payload = report(read_end, pid)
                if "error" in payload:
                    failures.append(payload["error"])
                    back = front  # nothing more is started; the live ones finish
                else:
                    results[first:end] = payload["ok"]
    finally:
        for read_end, (pid, _, _) in live.items():  # after an error here: reap them
            report(read_end, pid)
        if forked:
            _thaw()
    if failures:
        raise RuntimeError("fastbuild: a worker process failed:\n" + failures[0])
    return results


def split_map(items, procs: int, work) -> list:
    """[work(item) for item in items], shared out round-robin among `procs` processes:
    this one and forked children, each working through its share once."""
    children = [(index, *fork_worker(work, items[index::procs])) for index in range(1, procs)]
    results = [None] * len(items)
    error = None
    try:
        results[0::procs] = [work(item) for item in items[0::procs]]
    except BaseException as e:
        error = e
    failures = []
    for index, read_end, pid in children:
        payload = report(read_end, pid)
        if "error" in payload:
            failures.append(payload["error"])
        else:
            results[index::procs] = payload["ok"]
    if children:
        _thaw()
    if error is not None:
        raise error
    if failures:
        raise RuntimeError("fastbuild: a worker process failed:\n" + failures[0])
    return results


def fork_worker(work, items) -> tuple[int, int]:
    """Fork a process that reports [work(item) for item in items] and exits; return the
    read end of its pipe and its pid. The collector is frozen first: the child's
    collector then leaves everything it inherits alone, so it stays shared; it still
    collects what the child makes itself (Jinja leaves reference cycles on every page)."""
    if _held:  # what was made since the last freeze and is garbage goes first
        gc.collect()
    gc.freeze()
    read_end, write_end = os.pipe()
    with console_held():  # no lock of the console's refresh thread goes along locked
        pid = os.fork()
    if pid == 0:  # child: do its share, report, leave without cleanup
        os.close(read_end)
        status = 1
        try:  # whatever happens, the child leaves here: never back into the parent's code
            try:  # dumps, not dump: `dump` to a file encodes in pure Python
                text = json.dumps({"ok": [work(item) for item in items]})
                status = 0
            except BaseException:
                text = json.dumps({"error": traceback.format_exc()})
            with os.fdopen(write_end, "w", encoding="utf-8") as out:
                out.write(text)
        finally:
            os._exit(status)
    os.close(write_end)
    return read_end, pid


def report(read_end: int, pid: int) -> dict:
    """What the worker on `read_end` reported ({"ok": [...]} or {"error": text})."""
    with os.fdopen(read_end, encoding="utf-8") as inp:
        raw = inp.read()
    os.waitpid(pid, 0)
    try:
        return json.loads(raw)
    except ValueError:
        return {"error": "worker process died without a report"}
