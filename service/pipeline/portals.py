"""Application mode's worker: one `Worker` per installed portal, each in its own thread.

Every portal has its own journal scope, gateway (its OAuth token, its rate bucket), snapshots and
breakers, so a portal that waits for its REST budget, or whose token cannot be renewed, holds up only
its own thread. The set of portals is read again every `refresh_every`: a new install starts a thread,
an uninstall stops its thread after the round in progress.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from service.pipeline.offline import OfflinePoller
from service.pipeline.worker import Worker

log = logging.getLogger(__name__)


class PortalWorkers:
    def __init__(
        self,
        active: Callable[[], list[str]],
        build: Callable[[str], Worker],
        *,
        poller: Callable[[str], OfflinePoller] | None = None,
        refresh_every: timedelta = timedelta(seconds=5),
    ) -> None:
        self._active = active
        self._build = build
        self._poller = poller  # offline delivery: each portal also gets a poller thread
        self._refresh = refresh_every.total_seconds()
        self._workers: dict[str, Worker] = {}
        self._running: dict[str, tuple[list[threading.Thread], threading.Event]] = {}

    def worker(self, member_id: str) -> Worker:
        if member_id not in self._workers:
            self._workers[member_id] = self._build(member_id)
        return self._workers[member_id]

    def run(self, stop: threading.Event) -> None:
        log.info("portal workers started")
        while not stop.is_set():
            try:
                self._reconcile(set(self._active()))
            except Exception:  # a database blip: keep the running threads, look again later
                log.exception("could not list installed portals")
            stop.wait(self._refresh)
        self._reconcile(set())
        log.info("portal workers stopped")

    def drain(self, timeout: float | None = 60.0) -> int:
        """Pull what the portals queued (offline), then process every portal's queue until empty (CLI
        `worker --once`, tests); total rounds."""
        rounds = 0
        for member_id in self._active():
            if self._poller is not None:
                poller = self._poller(member_id)
                while poller.poll_once():
                    rounds += 1
            rounds += self.worker(member_id).drain(timeout)
        return rounds

    def abandon(self) -> int:
        """Give back the tasks of every portal's round in progress (shutdown past its grace)."""
        return sum(worker.abandon() for worker in list(self._workers.values()))

    def _reconcile(self, wanted: set[str]) -> None:
        for member_id in set(self._running) - wanted:
            threads, stop = self._running.pop(member_id)
            stop.set()
            for thread in threads:
                thread.join()
            self._workers.pop(member_id, None)  # a reinstall starts with fresh tokens
            log.info("portal worker stopped", extra={"member_id": member_id})
        for member_id in sorted(wanted - set(self._running)):
            stop = threading.Event()
            loops = [self.worker(member_id).run]
            if self._poller is not None:
                loops.append(self._poller(member_id).run)
            threads = [
                threading.Thread(target=loop, args=(stop,), name=f"portal-{member_id}-{n}", daemon=True)
                for n, loop in enumerate(loops)
            ]
            for thread in threads:
                thread.start()
            self._running[member_id] = (threads, stop)
            log.info("portal worker started", extra={"member_id": member_id})
