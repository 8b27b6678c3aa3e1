"""Workers: an explicit choice of the caller, and never children of a daemonic process."""

from __future__ import annotations

import multiprocessing

import pytest

from optimizer.parallel import usable_workers, workers


def _report(queue: multiprocessing.Queue[int]) -> None:
    queue.put(usable_workers(2))


def test_a_daemonic_process_works_alone() -> None:
    """Inside a daemonic process (as in a Dask worker) two workers fall back to one."""
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[int] = context.Queue()
    child = context.Process(target=_report, args=(queue,), daemon=True)
    child.start()
    assert queue.get(timeout=60) == 1
    child.join(timeout=60)


def test_workers_are_counted_from_one() -> None:
    """The caller's count stands outside daemonic processes; below one is refused."""
    assert usable_workers(1) == 1
    assert usable_workers(2) == 2
    with pytest.raises(ValueError, match="num_workers must be at least 1, got 0"):
        usable_workers(0)


def test_one_worker_runs_calls_at_once() -> None:
    """Without a pool a submitted call has run, its result or error in the future."""
    with workers(1) as pool:
        assert not pool.parallel
        assert pool.submit(divmod, 7, 2).result() == (3, 1)
        with pytest.raises(ZeroDivisionError):
            pool.submit(divmod, 1, 0).result()
