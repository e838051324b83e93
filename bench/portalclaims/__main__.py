"""python -m bench.portalclaims [--backlog 100000] [--polls 40] [--runs 3] [--postgres]

What a quiet portal's claim poll costs while another portal has a backlog (application mode: every
portal's events share one table). One portal holds `--backlog` pending events; a second portal has
none, and its worker polls (`Journal.claim`, as the worker does every 0.5 s when idle). Measured: the
median time of one such poll, with the `events_by_portal` index (member id, id) and, as the baseline in
the same run, with that index dropped (the schema before version 7); and the busy portal's own next
claim (one poll that takes tasks), which the index must not slow down. Also the cost the index adds to
ingest: `append_many` of 16 events per commit (the intake's group commit), 20,000 events, with and
without it. And the status page's audit list (newest 50) of a quiet portal beside `--backlog` audit
rows of a busy one (`bench/ui/seed.py`'s history), with the `audit_by_portal` index (portal, id) and
without. Runs alternate between the two shapes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from bench.ui.seed import seed
from service.core.events import TaskEvent
from service.store.audit import AuditLog
from service.store.db import open_database
from service.store.journal import Journal
from tests.pgschema import throwaway_schema

BUSY, QUIET = "a" * 32, "b" * 32


@contextmanager
def database(postgres: bool) -> Iterator[Engine]:
    if postgres:
        with throwaway_schema("bench_portalclaims") as url:
            engine = open_database(url)
            yield engine
            engine.dispose()
        return
    engine = open_database(f"sqlite:///{tempfile.mkdtemp(prefix='bench-portalclaims-')}/db.sqlite3")
    yield engine
    engine.dispose()


def drop_index(engine: Engine, name: str = "events_by_portal") -> None:
    with engine.begin() as connection:
        connection.execute(text(f"DROP INDEX {name}"))


def poll_ms(postgres: bool, indexed: bool, backlog: int, polls: int) -> tuple[float, float]:
    """The quiet portal's median idle poll, and the busy portal's claim right after (milliseconds)."""
    with database(postgres) as engine:
        if not indexed:
            drop_index(engine)
        busy, now = Journal(engine).for_portal(BUSY), datetime.now(UTC)
        for start in range(0, backlog, 5000):
            tasks = list(range(start + 1, min(backlog, start + 5000) + 1))
            busy.enqueue_tasks(tasks, now - timedelta(minutes=5), source="sweep")
        if postgres:
            with engine.begin() as connection:
                connection.execute(text("ANALYZE events"))
        quiet = Journal(engine).for_portal(QUIET)
        times = []
        for _ in range(polls):
            started = time.perf_counter()
            claimed = quiet.claim("bench", now, lease=timedelta(seconds=30))
            times.append(time.perf_counter() - started)
            assert claimed == [], "the quiet portal has nothing to claim"
        started = time.perf_counter()
        assert busy.claim("bench", now, lease=timedelta(seconds=30)), "the busy portal has work"
        return statistics.median(times) * 1000, (time.perf_counter() - started) * 1000


def ingest_s(postgres: bool, indexed: bool, events: int = 20_000) -> float:
    with database(postgres) as engine:
        if not indexed:
            drop_index(engine)
        journal, now = Journal(engine), datetime.now(UTC)
        batch = [TaskEvent("ONTASKUPDATE", 1000 + n, 1, "h", "p.example", BUSY, "t") for n in range(16)]
        started = time.perf_counter()
        for _ in range(events // len(batch)):
            journal.append_many(batch, now, ["pending"] * len(batch))
        return time.perf_counter() - started


def audit_page_ms(postgres: bool, indexed: bool, rows: int, repeat: int = 20) -> float:
    """The quiet portal's audit list (newest 50 of its rows: it has none) beside `rows` of another's."""
    with database(postgres) as engine:
        if not indexed:
            drop_index(engine, "audit_by_portal")
        seed(engine, rows, datetime.now(UTC), days=30)
        quiet, times = AuditLog(engine, QUIET), []
        for _ in range(repeat):
            started = time.perf_counter()
            assert quiet.query(limit=50, portal=QUIET) == []
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--polls", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL (127.0.0.1:5432, test)")
    args = parser.parse_args()
    engines = [False, True] if args.postgres else [False]
    for postgres in engines:
        name = "PostgreSQL" if postgres else "SQLite"
        for run in range(1, args.runs + 1):
            before, busy_before = poll_ms(postgres, False, args.backlog, args.polls)
            after, busy_after = poll_ms(postgres, True, args.backlog, args.polls)
            plain, indexed = ingest_s(postgres, False), ingest_s(postgres, True)
            page_before = audit_page_ms(postgres, False, args.backlog)
            page_after = audit_page_ms(postgres, True, args.backlog)
            print(
                f"{name} run {run}: quiet portal's claim poll beside a backlog of {args.backlog:,}: "
                f"{after:.2f} ms with the index vs {before:.2f} ms without ({after / before:.3f}); "
                f"the busy portal's claim {busy_after:.1f} ms vs {busy_before:.1f} ms "
                f"({busy_after / busy_before:.2f}); ingest of 20,000 events {indexed:.2f} s vs {plain:.2f} s "
                f"({indexed / plain:.3f}); quiet portal's audit page {page_after:.2f} ms "
                f"vs {page_before:.2f} ms ({page_after / page_before:.3f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
