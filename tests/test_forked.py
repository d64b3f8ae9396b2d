"""fastbuild's forked shapes: the relay of short-lived workers and the round-robin split
return every item once, in order."""

from __future__ import annotations

import os
import sys
import time

import pytest

from tests.sitebuild import ROOT

sys.path.insert(0, str(ROOT / "plugins"))

from fastbuild import forked

PARENT = [0]  # the test's own process


def where(item):
    return [item * 2, os.getpid()]


def slow_here(item):
    """`where`, taking a millisecond in the test's own process: the renderers, which
    take no time, then report while this process still has items left."""
    if os.getpid() == PARENT[0]:
        time.sleep(0.001)
    return where(item)


def children() -> list[int]:
    """Processes this one has started and not yet reaped (zombies included)."""
    path = f"/proc/{os.getpid()}/task/{os.getpid()}/children"
    with open(path) as f:
        return [int(pid) for pid in f.read().split()]


@pytest.mark.parametrize("procs", [2, 3])
def test_every_item_once_in_order_with_chunks_from_the_front(procs):
    PARENT[0] = os.getpid()
    items = list(range(10 * forked.RELAY_CHUNK + 5))
    results = forked.relay_map(items, procs, slow_here)
    assert [r[0] for r in results] == [i * 2 for i in items]
    me = os.getpid()
    pids = [r[1] for r in results]
    assert pids[-1] == me  # this process works from the end
    assert pids[0] != me  # a forked renderer took the first chunk
    firsts = {}
    for index, pid in enumerate(pids):
        if pid != me:
            firsts.setdefault(pid, index)
    # each renderer took one whole chunk, and a new one was forked for each, but one
    # of the last ones took half of the less than two chunks left
    order = sorted(firsts, key=firsts.get)
    whole = [pid for pid in order if pids.count(pid) == forked.RELAY_CHUNK]
    assert all(first % forked.RELAY_CHUNK == 0 for first in firsts.values())
    assert order[: len(whole)] == whole and len(whole) >= 2
    for pid in order[len(whole) :]:  # at most one, half of what it found left
        assert forked.RELAY_CHUNK // 2 <= pids.count(pid) < forked.RELAY_CHUNK
    assert len(order) - len(whole) <= 1


def test_less_than_two_chunks_are_shared_evenly_with_the_last_renderer():
    PARENT[0] = os.getpid()
    items = list(range(forked.RELAY_CHUNK * 3 // 2))
    pids = [r[1] for r in forked.relay_map(items, 2, slow_here)]
    me = os.getpid()
    assert pids.count(me) == len(items) - len(items) // 2
    assert pids[: len(items) // 2] == [pids[0]] * (len(items) // 2) and pids[0] != me
    assert children() == []
    assert children() == []  # all reaped


def test_chunks_grow_with_the_list_between_bounds():
    """The fork count no longer grows with the list once chunks do (each fork costs in
    proportion to the parent's memory, which grows with the site)."""
    low, high, share = forked.RELAY_CHUNK, forked.RELAY_CHUNK_MAX, forked.RELAY_SHARE
    assert forked.relay_chunk(10) == low
    assert forked.relay_chunk(low * share) == low
    assert forked.relay_chunk((low + 72) * share) == low + 72
    assert forked.relay_chunk(high * share * 5) == high
    PARENT[0] = os.getpid()
    items = list(range((low + 72) * share))
    results = forked.relay_map(items, 2, slow_here)
    assert [r[0] for r in results] == [i * 2 for i in items]
    me = os.getpid()
    pids = [r[1] for r in results]
    firsts = {}
    for index, pid in enumerate(pids):
        if pid != me:
            firsts.setdefault(pid, index)
    *whole, last = sorted(firsts, key=firsts.get)
    assert whole and all(pids.count(pid) == low + 72 for pid in whole)
    assert pids.count(last) <= low + 72
    assert all(first % (low + 72) == 0 for first in firsts.values())


def unencodable(item):
    return {item} if os.getpid() != PARENT[0] else [item]


def test_a_result_that_cannot_be_reported_is_an_error_and_the_child_still_leaves():
    """A renderer whose results cannot be sent as JSON reports that as its error and
    exits there: it never runs on into the parent's code."""
    PARENT[0] = os.getpid()
    me = os.getpid()
    with pytest.raises(RuntimeError, match="not JSON serializable"):
        forked.relay_map(list(range(4 * forked.RELAY_CHUNK)), 2, unencodable)
    assert os.getpid() == me
    assert children() == []


def test_few_items_are_worked_through_here():
    items = list(range(forked.RELAY_CHUNK))
    assert forked.relay_map(items, 2, where) == [[i * 2, os.getpid()] for i in items]


DONE_HERE: list[int] = []


def fails_in_a_child(item):
    if os.getpid() != PARENT[0]:
        if item == 3:
            raise ValueError("item three")
    else:
        DONE_HERE.append(item)
        time.sleep(0.001)
    return item


def test_a_renderers_error_is_raised_with_its_traceback_and_stops_the_relay():
    PARENT[0] = os.getpid()
    DONE_HERE.clear()
    with pytest.raises(RuntimeError, match="worker process failed") as caught:
        forked.relay_map(list(range(4 * forked.RELAY_CHUNK)), 2, fails_in_a_child)
    assert "ValueError: item three" in str(caught.value)
    assert children() == []
    assert 0 < len(DONE_HERE) < forked.RELAY_CHUNK  # this process stopped early too


def test_an_error_here_reaps_the_live_renderers():
    def fails_here(item):
        if item == 4 * forked.RELAY_CHUNK - 1 and os.getpid() == me:
            raise KeyError("the last one")
        return item

    me = os.getpid()
    with pytest.raises(KeyError, match="the last one"):
        forked.relay_map(list(range(4 * forked.RELAY_CHUNK)), 2, fails_here)
    assert children() == []


def test_split_shares_round_robin_and_keeps_the_order():
    items = list(range(101))
    results = forked.split_map(items, 2, where)
    assert [r[0] for r in results] == [i * 2 for i in items]
    assert {r[1] for r in results[0::2]} == {os.getpid()}
    assert os.getpid() not in {r[1] for r in results[1::2]}
    assert children() == []


def test_while_the_build_holds_the_heap_frozen_garbage_goes_before_each_fork():
    """forked.hold_frozen: the forks' freezing is not undone when they are done, no
    automatic full collection runs, and what became garbage since the last freeze is
    collected before a fork freezes everything again (it would stay frozen, and alive,
    until the build lets go)."""
    import gc
    import weakref

    class Node:
        pass

    thresholds = gc.get_threshold()
    forked.hold_frozen(True)
    try:
        assert gc.get_threshold()[2] > thresholds[2]
        node = Node()
        node.itself = node
        ref = weakref.ref(node)
        del node  # garbage only the cyclic collector can free
        items = list(range(3 * forked.RELAY_CHUNK))
        results = forked.relay_map(items, 2, where)
        assert [r[0] for r in results] == [i * 2 for i in items]
        assert {r[1] for r in results} - {os.getpid()}  # a renderer was forked
        assert ref() is None
        assert gc.get_freeze_count() > 0  # still frozen after the relay
    finally:
        forked.hold_frozen(False)
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0
