"""Stopping a worker within its grace period, whatever it is doing when SIGTERM arrives.

The loop runs in its own thread; a stop lets the round in progress finish, since a finished round
settles its claims. A round that is still running when the grace period is over (a portal that hangs,
a long rate-limit wait) is abandoned: its claims are released, pending again without an attempt
counted, and the process exits. Nothing is lost: events are only ever settled by a finished round,
deletes are idempotent and audited before they are sent, and a claim that could not be released is
taken by another worker once its lease runs out.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

log = logging.getLogger(__name__)

# Below the 20 s that `serve` and the 30 s that Kubernetes' default grace give a process before SIGKILL.
GRACE_SECONDS = 15.0


class Loop(Protocol):
    """A worker loop (`Worker`, or `PortalWorkers` in application mode)."""

    def run(self, stop: threading.Event) -> None: ...

    def abandon(self) -> int: ...


def run_until_stopped(worker: Loop, stop: threading.Event, grace: float = GRACE_SECONDS) -> bool:
    """Run `worker` until `stop` is set; True when it stopped cleanly within `grace` seconds after it,
    False when its round was abandoned (the caller should exit the process now)."""
    loop = threading.Thread(target=worker.run, args=(stop,), name="worker-loop", daemon=True)
    loop.start()
    while loop.is_alive() and not stop.wait(0.2):  # a short wait: signals reach this thread in between
        pass
    loop.join(grace)
    if not loop.is_alive():
        return True
    released = worker.abandon()
    log.warning(
        "grace period over: round abandoned, its tasks given back",
        extra={"grace_s": grace, "released": released},
    )
    return False
