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
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from service.assembly.application import make_application
from service.assembly.resources import build_resources
from service.assembly.wiring import make_worker
from service.core.events import TaskEvent
from service.plumbing.settings import Settings
from service.sandbox import Portal, PortalConfig, SandboxServer
from service.store.portals import Installation

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
    return sum(1 for e in server.portal.entries.values() if e.seconds == 0)


def run_once(noisy_tasks: int, quiet_tasks: int) -> tuple[float, int, int]:
    """Seconds until the quiet portal is clean; the noisy portal's tasks done and its requests meanwhile."""
    folder = Path(tempfile.mkdtemp(prefix="bench-portals-"))
    (folder / "rules").mkdir()
    (folder / "rules" / "r.yaml").write_text(RULE)
    quiet = _portal("q", quiet_tasks)
    # The noisy portal's own budget is nearly spent already (another application on it, say): it
    # answers 503 QUERY_LIMIT_EXCEEDED beyond 5 requests, draining 0.2 per second.
    noisy = _portal("n", noisy_tasks, rate=0.2, burst=5) if noisy_tasks else None
    settings = Settings(
        b24_database_url=f"sqlite:///{folder}/db.sqlite3", b24_rules_dir=folder / "rules",
        b24_app_client_id=quiet.portal.app.client_id,
        b24_app_client_secret="sandbox-client-secret",  # type: ignore[arg-type]
        b24_encryption_key=Fernet.generate_key().decode(),  # type: ignore[arg-type]
        b24_public_url="http://127.0.0.1:9", b24_sweep_interval=0,
    )  # fmt: skip
    resources = build_resources(settings, component="worker", configure=False)
    app = make_application(resources)
    now = datetime.now(UTC)
    for server, count in ((quiet, quiet_tasks), (noisy, noisy_tasks)):
        if server is None:
            continue
        member = _install(app, server)
        for task_id in range(1, count + 1):
            event = TaskEvent("ONTASKUPDATE", task_id, None, "1", server.portal.config.domain, member, "")
            resources.journal.append(event, now)
    workers = make_worker(resources)  # online delivery: the events are queued above, nothing to pull
    stop = threading.Event()
    thread = threading.Thread(target=workers.run, args=(stop,), daemon=True)
    started = time.monotonic()
    thread.start()
    while _left(quiet) and time.monotonic() - started < 300:
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    noisy_done = noisy_tasks - _left(noisy) if noisy else 0
    noisy_requests = noisy.portal.stats.summary()["http"]["total"] if noisy else 0
    stop.set()
    thread.join(timeout=120)
    for server in (quiet, noisy):
        if server is not None:
            server.stop()
    resources.engine.dispose()
    return elapsed, noisy_done, noisy_requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--noisy-tasks", type=int, default=2000)
    parser.add_argument("--quiet-tasks", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
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
