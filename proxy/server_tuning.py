"""What a long-running server process sets for itself once its application has started.

Python's cyclic garbage collector is the largest hidden cost of the data path: with the default
thresholds it runs a young collection every 700 allocations (a request makes thousands) and,
every so often, a full collection that walks every object of the process, the ~150,000 objects
of the imported libraries and of the started application included. Once the application is
up, :func:`settle_heap` freezes what exists (``gc.freeze``: never collected, never walked
again) and makes young collections rarer (:data:`GC_THRESHOLDS`). Reference counting still
frees almost everything at once; only cyclic garbage waits a little longer.

The event loop is libuv's (uvloop, :func:`serving_loop`) unless ``PASSERELLE_EVENT_LOOP`` says
``asyncio``: the same code on a loop whose sockets, timers and callbacks cost less Python.
Measured against the standard loop in one invocation (``python bench/bench_ab.py .
--new-loop uvloop [--postgres]``, bench/README.md): CPU per request x0.93-0.97, requests/s
x0.99-1.12 over four runs; the bare pass-through gains as much, so ``bench_proxy.py`` runs both
on one loop (``--event-loop``).

Process-wide, so only the ``serve`` command (and the benchmark, which measures what production
runs) install these: never tests, which start many applications in one process.
"""

from __future__ import annotations

import asyncio
import gc
import logging

from aiohttp import web

from proxy.environment import InvalidConfiguration

log = logging.getLogger("passerelle.serve")

#: ``PASSERELLE_EVENT_LOOP`` values.
EVENT_LOOPS = ("uvloop", "asyncio")


def serving_loop(name: str) -> asyncio.AbstractEventLoop:
    """A new event loop of kind ``name`` (:data:`EVENT_LOOPS`) for the server to run on;
    :class:`~proxy.environment.InvalidConfiguration` for another name (it refuses to start).
    Where uvloop is not installed (it has no Windows build, so the dependency is not declared
    there) ``uvloop`` gives the standard loop, with a warning: :func:`loop_kind` says which."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("uvloop is not installed here: serving on the standard asyncio loop")
            return asyncio.new_event_loop()
        return uvloop.new_event_loop()
    if name == "asyncio":
        return asyncio.new_event_loop()
    raise InvalidConfiguration(f"PASSERELLE_EVENT_LOOP is {name!r}; use one of "
                               f"{', '.join(EVENT_LOOPS)}.")


def loop_kind(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: which loop ``loop`` is (for the start line)."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


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
