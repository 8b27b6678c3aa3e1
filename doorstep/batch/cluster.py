"""The Dask client the batch runs on: a cluster the lender runs, or one started here.

Built by the CLI only (collaborators are passed in): `run_batch` takes any `Client`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster

CONNECT_TIMEOUT_S = 20
"""How long to wait for a remote scheduler to answer before saying it did not."""


class ClusterUnavailable(RuntimeError):
    """The scheduler does not answer, or a local cluster cannot start; says what to check."""


def default_workers() -> int:
    """One worker process per CPU this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


@contextmanager
def dask_client(scheduler: str | None, *, workers: int) -> Iterator[tuple[Client, str]]:
    """A client and a label for the run record: on the scheduler at `scheduler`
    (e.g. tcp://host:8786), or on a new `LocalCluster` of `workers` processes with one
    thread each (OR-Tools holds a thread for the whole solve, so threads would only wait).
    The local cluster stops when the block ends; a remote one is left running.
    """
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            msg = (
                f"the Dask scheduler at {scheduler} did not answer ({type(exc).__name__}: "
                f"{exc}); check --scheduler or DOORSTEP_DASK_SCHEDULER and that the scheduler "
                "runs"
            )
            raise ClusterUnavailable(msg) from None
        try:
            yield client, scheduler
        finally:
            client.close()
        return
    try:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # The scheduler serves health checks over HTTP even without a dashboard: on a
            # free loopback port, not 8787 (taken by any other cluster on the machine).
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.WARNING,
        )
    except (OSError, RuntimeError) as exc:
        msg = f"could not start a local Dask cluster of {workers} workers: {exc}"
        raise ClusterUnavailable(msg) from None
    client = Client(cluster)
    try:
        yield client, f"local ({workers} workers)"
    finally:
        client.close()
        cluster.close()
