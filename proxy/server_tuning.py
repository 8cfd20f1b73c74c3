"""What a long-running server process sets for itself once its application has started.

Python's cyclic garbage collector is the largest hidden cost of the data path: with the default
thresholds it runs a young collection every 700 allocations (a request makes thousands) and,
every so often, a full collection that walks every object of the process, the ~150,000 objects
of the imported libraries and of the started application included. Once the application is
up, :func:`settle_heap` freezes what exists (``gc.freeze``: never collected, never walked
again) and makes young collections rarer (:data:`GC_THRESHOLDS`). Reference counting still
frees almost everything at once; only cyclic garbage waits a little longer.

Process-wide, so only the ``serve`` command (and the benchmark, which measures what production
runs) install it: never tests, which start many applications in one process.
"""

from __future__ import annotations

import gc

from aiohttp import web

#: Young collection every 10,000 net allocations (default 700); older generations as default.
GC_THRESHOLDS = (10_000, 10, 10)


def tune_for_serving(app: web.Application) -> None:
    """Settle the heap once ``app`` has started (its cleanup contexts have run)."""
    app.on_startup.append(settle_heap)


async def settle_heap(_app: web.Application) -> None:
    """Collect once, freeze the survivors, raise the young-generation threshold."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
