"""Which process holds a lock, and whether it still lives: for locks that outlive a crash.

The nightly batch's day lock and the web app's planning jobs both record the host and
process id of their holder; a holder on this host whose process is gone is dead at once,
without waiting for its heartbeat to go stale.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: a host and a process id."""

    host: str
    pid: int

    @classmethod
    def this_process(cls) -> Holder:
        return cls(socket.gethostname(), os.getpid())


def process_alive(pid: int) -> bool:
    """Whether process `pid` of this host is running (a zombie is not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return _not_a_zombie(pid)


def _not_a_zombie(pid: int) -> bool:
    """A killed child that its parent has not reaped yet still answers signal 0."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (not Linux): trust the signal
