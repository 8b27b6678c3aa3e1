"""Structured logs of the batch: one JSON object per line on request, never borrower data.

Batch log records carry their facts as fields (`event`, `run_id`, `region`, counts and
seconds), set with `fields(...)` as `extra`; the JSON formatter writes them next to the
message. What the batch logs is ids of runs and regions, counts, durations and the kind of
a failure. The cause of a failure (which may name visits, rows or coordinates) goes to the
morning report and the database only.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FIELDS = "batch_fields"
"""The `LogRecord` attribute that holds a record's structured fields."""
NOISY_LOGGERS = ("distributed", "tornado", "bokeh")
"""Dask's own loggers: INFO there is cluster chatter, kept to warnings."""


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` for a log call: `log.info("region planned", extra=fields(region=r))`."""
    return {FIELDS: values}


class JsonLines(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and the
    record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, FIELDS, {}))
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: an exception's text may quote the data it choked on.
            data["exception"] = record.exc_info[0].__name__
        return json.dumps(data, default=str, ensure_ascii=False)


def configure(*, json_lines: bool, verbose: bool, stream: TextIO | None = None) -> None:
    """Send logs to `stream` (stderr): JSON lines at INFO with `json_lines`, else plain text
    at INFO with `verbose` and at WARNING without."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream or sys.stderr)
    if json_lines:
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO if json_lines or verbose else logging.WARNING)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
