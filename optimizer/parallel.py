"""Solver work on several processes, where the caller allows it and the process can have any.

`solve` runs in Flask request threads and inside Dask worker processes (which are daemonic and
may not start children), so more than one worker is always the caller's explicit choice, and
a daemonic process quietly works alone. Children come from a fork server: a clean process
started once, with the solver imported, so that a child neither inherits the caller's
threads and locks (a plain fork from a threaded web server can deadlock) nor pays for
importing OR-Tools each time.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

_PRELOAD = ["optimizer.solver"]


def usable_workers(num_workers: int) -> int:
    """How many processes may work: `num_workers`, or 1 in a daemonic process."""
    if num_workers < 1:
        msg = f"num_workers must be at least 1, got {num_workers}"
        raise ValueError(msg)
    if num_workers > 1 and multiprocessing.current_process().daemon:
        log.info("in a daemonic process (e.g. a Dask worker): solving on 1 worker")
        return 1
    return num_workers


class Workers:
    """Submit calls to run in the background; with one worker they run on submission."""

    def __init__(self, pool: ProcessPoolExecutor | None) -> None:
        self._pool = pool

    @property
    def parallel(self) -> bool:
        return self._pool is not None

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        if self._pool is not None:
            return self._pool.submit(fn, *args)
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args))
        except Exception as exc:  # handed to the caller through the future, as a pool would
            done.set_exception(exc)
        return done


@contextmanager
def workers(num_workers: int) -> Iterator[Workers]:
    """A pool of `num_workers` processes (none for one), shut down on exit."""
    if num_workers <= 1:
        yield Workers(None)
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    pool = ProcessPoolExecutor(max_workers=num_workers, mp_context=context)
    try:
        yield Workers(pool)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
