"""python -m bench.rescan [--tasks 1000] [--per-task 10]

What the edit rescan (B24_RESCAN_HOURS) costs in REST requests, against a sandbox portal holding
`tasks * per-task` recent time entries (10,000 by default), measured in one run against two baselines
that read the same entries:
- rescan: `PortalGateway.recent_entries` — one getlist across all tasks (CREATED_DATE filter), then
  batches of 50 pages of 50;
- naive: one `task.elapseditem.getlist` request per task with recent entries;
- per-task, batched: the same per-task reads packed 50 to a `batch` (how the worker reads tasks).
Requests are counted by the portal (HTTP requests it served), not by us.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from service.bitrix.client import BitrixClient
from service.bitrix.portal import PortalGateway
from service.core.bitrix import entries_list
from service.sandbox import PortalConfig, SandboxServer


class Unlimited:
    """No client-side rate limit: the bench counts requests, it does not pace them."""

    def acquire(self, method: str, *, also: Collection[str] = ()) -> None:
        return None

    def pause(self, method: str, until: float) -> None:
        return None


def measure(sandbox: SandboxServer, read: Callable[[], int]) -> tuple[int, int, float]:
    """(HTTP requests the portal served, entries read, seconds) for one way of reading."""
    before = sandbox.portal.stats.summary()["http"]["total"]
    started = time.perf_counter()
    entries = read()
    return sandbox.portal.stats.summary()["http"]["total"] - before, entries, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rescan")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--per-task", type=int, default=10)
    args = parser.parse_args()
    with SandboxServer(config=PortalConfig(rate=1e6, burst=1e6)) as sandbox:
        for task_id in range(1, args.tasks + 1):
            seeded = [{"seconds": 60 * (n + 1)} for n in range(args.per_task)]
            sandbox.portal.create_task(f"task {task_id}", task_id=task_id, status=3, entries=seeded)
        # The sandbox filters in Python (a real portal uses an index): give its big batches time.
        client = BitrixClient(sandbox.webhook_url, Unlimited(), timeout=(3.05, 900.0))
        gateway = PortalGateway(client)
        since = datetime.now(UTC) - timedelta(hours=48)
        tasks = range(1, args.tasks + 1)

        def rescan() -> int:
            return sum(1 for _ in gateway.recent_entries(since, max_requests=1000))

        def naive() -> int:
            return sum(len(client.call(entries_list(task)).result) for task in tasks)

        def batched() -> int:
            reads = gateway.entry_ids(list(tasks))
            return sum(len(ids) for ids in reads.values() if isinstance(ids, frozenset))

        results = {name: measure(sandbox, read) for name, read in
                   (("rescan", rescan), ("naive", naive), ("per-task, batched", batched))}  # fmt: skip
    total = args.tasks * args.per_task
    naive_requests = results["naive"][0]
    print(f"{total:,} recent entries on {args.tasks:,} tasks")
    print(f"{'read':<20}{'requests':>10}{'per 10k entries':>17}{'vs naive':>10}{'entries':>9}{'s':>8}")
    for name, (requests, entries, seconds) in results.items():
        per_10k, ratio = requests * 10_000 / total, requests / naive_requests
        print(f"{name:<20}{requests:>10}{per_10k:>17.1f}{ratio:>10.4f}{entries:>9}{seconds:>8.2f}")


if __name__ == "__main__":
    main()
