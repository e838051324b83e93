"""python -m bench.portals [--noisy-tasks 2000] [--quiet-tasks 100] [--runs 3]

Application mode, two installed portals: does a portal that has used up its REST budget slow another?
Each portal is a sandbox server at the standard limit (2 requests/s, burst 50). The quiet portal has
`--quiet-tasks` queued events (one zero-second entry each); the noisy one has `--noisy-tasks`, far more
than its budget serves in the measured time, so its worker spends the run waiting for request tokens.
Measured: seconds until every quiet-portal task is processed, (1) with the quiet portal alone (baseline)
and (2) with the noisy portal's backlog running at the same time in the same worker process. The ratio
(2)/(1) is the figure: ~1.0 means the noisy portal did not slow the quiet one. Real components
(`assembly/wiring.make_worker`, a throwaway SQLite file), in this process; see docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from bench.measure import projected
from service.assembly.application import make_application
from service.assembly.resources import build_resources
from service.assembly.wiring import make_worker
from service.core.events import TaskEvent
from service.plumbing.settings import Settings
from service.sandbox import Portal, PortalConfig, SandboxServer
from service.store.portals import Installation
from tests.pgschema import postgres_unavailable, throwaway_schema

RULE = "- name: drop-zero\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.seconds: 0}\n"


def _portal(name: str, tasks: int, rate: float = 2.0, burst: float = 50.0) -> SandboxServer:
    config = PortalConfig(domain=f"{name}.bitrix24.test", member_id=name * 4, rate=rate, burst=burst)
    server = SandboxServer(Portal(config=config)).start()
    for task_id in range(1, tasks + 1):
        server.portal.create_task(f"t{task_id}", task_id=task_id, entries=[{"seconds": 0}, {"seconds": 60}])
    return server


def _install(app: object, server: SandboxServer) -> str:
    portal = server.portal
    with portal.app.lock:
        portal.app.installed = True
        tokens = portal.app.issue(1, portal.clock())
    member = portal.config.member_id
    now = datetime.now(UTC)
    app.portals.install(  # type: ignore[attr-defined]
        Installation(member, portal.config.domain, f"{server.url}/rest/", f"{server.url}/rest/",
                     portal.app.application_token, tokens["access_token"], tokens["refresh_token"],
                     now + timedelta(hours=1)),
        now,
    )  # fmt: skip
    return member


def _left(server: SandboxServer) -> int:
    return sum(1 for e in server.portal.entries_of(None) if e.seconds == 0)


class Fleet:
    """Installed sandbox portals, each with one queued event per task, and one worker process's
    portal workers (one thread each) started on them; `stop` ends it all."""

    def __init__(self, portals: list[tuple[SandboxServer, int]], database_url: str | None = None) -> None:
        folder = Path(tempfile.mkdtemp(prefix="bench-portals-"))
        (folder / "rules").mkdir()
        (folder / "rules" / "r.yaml").write_text(RULE)
        settings = Settings(
            b24_database_url=database_url or f"sqlite:///{folder}/db.sqlite3", b24_rules_dir=folder / "rules",
            b24_app_client_id=portals[0][0].portal.app.client_id,
            b24_app_client_secret="sandbox-client-secret",  # type: ignore[arg-type]
            b24_encryption_key=Fernet.generate_key().decode(),  # type: ignore[arg-type]
            b24_public_url="http://127.0.0.1:9", b24_sweep_interval=0, b24_max_deletions_per_hour=10_000_000,
        )  # fmt: skip
        self.resources = build_resources(settings, component="worker", configure=False)
        app = make_application(self.resources)
        now = datetime.now(UTC)
        for server, count in portals:
            member = _install(app, server)
            domain = server.portal.config.domain
            batch = [
                TaskEvent("ONTASKUPDATE", task_id, None, "1", domain, member, "")
                for task_id in range(1, count + 1)
            ]
            self.resources.journal.append_many(batch, now, ["pending"] * count)
        self.servers = [server for server, _ in portals]
        workers = make_worker(self.resources)  # online delivery: the events are queued above
        self._stop = threading.Event()
        self._thread = threading.Thread(target=workers.run, args=(self._stop,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)
        for server in self.servers:
            server.stop()
        self.resources.engine.dispose()


def wait_clean(servers: list[SandboxServer], limit: float) -> list[float]:
    """Seconds until each of `servers` has no 0-second entry left (at most `limit`)."""
    started, done = time.monotonic(), [0.0] * len(servers)
    while not all(done) and time.monotonic() - started < limit:
        for n, server in enumerate(servers):
            if not done[n] and not _left(server):
                done[n] = time.monotonic() - started
        time.sleep(0.05)
    return [seconds or limit for seconds in done]


def run_once(noisy_tasks: int, quiet_tasks: int) -> tuple[float, int, int]:
    """Seconds until the quiet portal is clean; the noisy portal's tasks done and its requests meanwhile."""
    quiet = _portal("q", quiet_tasks)
    # The noisy portal's own budget is nearly spent already (another application on it, say): it
    # answers 503 QUERY_LIMIT_EXCEEDED beyond 5 requests, draining 0.2 per second.
    noisy = _portal("n", noisy_tasks, rate=0.2, burst=5) if noisy_tasks else None
    fleet = Fleet([(quiet, quiet_tasks), *([(noisy, noisy_tasks)] if noisy else [])])
    [elapsed] = wait_clean([quiet], 300)
    noisy_done = noisy_tasks - _left(noisy) if noisy else 0
    noisy_requests = noisy.portal.stats.summary()["http"]["total"] if noisy else 0
    fleet.stop()
    return elapsed, noisy_done, noisy_requests


def run_many(portals: int, tasks: int, database_url: str | None) -> tuple[list[float], list[int]]:
    """`portals` portals at 2 r/s with `tasks` queued tasks each: the seconds until each is clean, and
    the HTTP requests each served."""
    servers = [_portal(f"p{n}", tasks) for n in range(portals)]
    fleet = Fleet([(server, tasks) for server in servers], database_url)
    seconds = wait_clean(servers, 3600)
    requests = [server.portal.stats.summary()["http"]["total"] for server in servers]
    left = sum(_left(server) for server in servers)
    fleet.stop()
    if left:
        raise SystemExit(f"{left} zero-second entries left after {max(seconds):.0f} s")
    return seconds, requests


def many(counts: list[int], tasks: int, runs: int, postgres: bool) -> None:
    """Throughput per portal and in total for each number of portals, `runs` times each."""
    for run in range(1, runs + 1):
        for portals in counts:
            with database(postgres) as url:
                seconds, requests = run_many(portals, tasks, url)
            per_portal = statistics.median(tasks / s for s in seconds)
            floor, served = (
                statistics.median(projected(r, 2.0, 50.0) for r in requests),
                statistics.median(requests),
            )
            print(f"run {run}: {portals:>2} portal(s) x {tasks} tasks: all clean in {max(seconds):6.1f} s; "
                  f"per portal {per_portal:5.1f} tasks/s (median; {served:.0f} requests, "
                  f"rate-bound floor {floor:.0f} s); total {portals * tasks / max(seconds):6.1f} tasks/s; "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip


@contextmanager
def database(postgres: bool) -> Iterator[str | None]:
    if not postgres:
        yield None
        return
    if reason := postgres_unavailable():
        raise SystemExit(reason)
    with throwaway_schema("bench_portals") as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--noisy-tasks", type=int, default=2000)
    parser.add_argument("--quiet-tasks", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--many", help="instead: throughput with this many portals, e.g. 1,5,20")
    parser.add_argument("--tasks-each", type=int, default=1500, help="with --many: queued tasks per portal")
    parser.add_argument("--postgres", action="store_true", help="with --many: PostgreSQL, not SQLite")
    args = parser.parse_args()
    if args.many:
        many([int(n) for n in args.many.split(",")], args.tasks_each, args.runs, args.postgres)
        return
    alone, shared = [], []
    for run in range(args.runs):
        seconds, _, _ = run_once(0, args.quiet_tasks)
        alone.append(seconds)
        seconds, done, requests = run_once(args.noisy_tasks, args.quiet_tasks)
        shared.append(seconds)
        print(f"run {run + 1}: quiet alone {alone[-1]:.2f} s; beside the noisy portal {seconds:.2f} s "
              f"(noisy portal meanwhile: {done} tasks done, {requests} requests)")  # fmt: skip
    base, beside = statistics.median(alone), statistics.median(shared)
    print(f"median: alone {base:.2f} s, beside a saturated portal {beside:.2f} s, ratio {beside / base:.2f}")


if __name__ == "__main__":
    main()
