"""The nightly batch: plan every region of a day on a Dask cluster, unattended.

The driver (`doorstep.batch.driver.run_batch`) is the only part that touches the database:
it reads and prepares each region-day under its contact policy, sends plain inputs to the
workers (`doorstep.batch.tasks`), saves each plan that comes back together with the run's
record of it, and writes the morning report (`doorstep.batch.report`). A region too large
for one solve is cut into sub-regions (`doorstep.batch.split`) whose plans are stitched and
checked against the whole region (`doorstep.batch.stitch`). One batch per day runs at a time
(`doorstep.batch.lock`); a batch whose driver died is resumed by running it again.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BatchLockedError", "BatchOptions", "BatchOutcome", "run_batch"]


def __getattr__(name: str) -> Any:
    # Lazily: every `doorstep` command registers `batch`, and only `batch` needs Dask.
    if name in __all__:
        from doorstep.batch import driver

        return getattr(driver, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
