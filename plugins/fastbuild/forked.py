"""Work shared out to forked worker processes, the results coming back in order."""

from __future__ import annotations

import gc
import multiprocessing


def forked_map(func, items: list, workers: int):
    """Yield func(item) for each of `items`, in order, computed in `workers` forked
    processes (each inherits the parent as it is: nothing but the items is pickled).

    While the workers run, the collector leaves the parent's existing objects alone, so
    the workers' collectors do not write to (and so copy) the memory they share with it.
    """
    chunk = max(1, min(32, len(items) // (workers * 8)))
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(func, items, chunksize=chunk)
    finally:
        gc.unfreeze()
