"""The shared Bitrix24 rate limit: one leaky bucket per portal in the database, plus per-method pauses.

Every web/worker process and every replica of one portal takes its request tokens here, so together
they stay within the portal's limit (https://apidocs.bitrix24.com/limits.html). A take is one short
transaction that locks the bucket row: `SELECT … FOR UPDATE` on PostgreSQL; on SQLite the engine from
`service.store.db.make_engine` opens every transaction with BEGIN IMMEDIATE, which serialises writers.

Safety margin: the portal counts requests per portal and source IP, and other applications on the
same portal may already have used part of its bucket. Our bucket therefore holds at most `burst`
tokens (configure the portal's X, 50 unless Enterprise) and never assumes more; it is a ceiling on
what we send, not a promise the portal will accept it, so 503 QUERY_LIMIT_EXCEEDED is still handled
(backoff) by the client.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Column, Connection, Engine, Float, String, Table, and_, select, update

from service.core.bitrix.leaky import Bucket, take
from service.store.db import metadata, upsert

rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("level", Float, nullable=False),  # the request counter, drained at `rate` per second
    Column("at", Float, nullable=False),  # unix time `level` was computed for
)

method_pauses = Table(
    "rate_method_pauses",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("method", String(200), primary_key=True),
    Column("until", Float, nullable=False),  # unix time the method may be called again
)


class SqlRateBucket:
    """Leaky buckets and method pauses stored in the database behind `engine`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database for the rate bucket: {dialect}")
        self._lock = dialect == "postgresql"

    def take(self, key: str, rate: float, burst: int, now: float) -> float:
        """Take one request token for `key` at `now`: 0.0 if granted, else the seconds to wait first."""
        with self._engine.begin() as conn:
            level, at = self._locked_row(conn, key, now)
            bucket, wait = take(Bucket(level, at), rate, burst, now)
            conn.execute(
                update(rate_buckets).where(rate_buckets.c.key == key).values(level=bucket.level, at=bucket.at)
            )
            return wait

    def level(self, key: str, rate: float, now: float) -> float:
        """The counter of `key`'s bucket at `now` (drained since its last take); 0.0 for a new bucket.
        A read without a lock: what a worker consults to decide whether to wait, not to take a token."""
        query = select(rate_buckets.c.level, rate_buckets.c.at).where(rate_buckets.c.key == key)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return 0.0
        return max(0.0, float(row.level) - max(0.0, now - float(row.at)) * rate)

    def pause(self, key: str, method: str, until: float) -> None:
        """Record that `method` must not be called before `until` (keeps the later of two pauses)."""
        with self._engine.begin() as conn:
            insert = upsert(conn, method_pauses).values(key=key, method=method, until=until)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[method_pauses.c.key, method_pauses.c.method],
                    set_={"until": insert.excluded.until},
                    where=insert.excluded.until > method_pauses.c.until,
                )
            )

    def paused_until(self, key: str, method: str, now: float) -> float | None:
        """When `method` may be called again, if it is paused at `now`; None if it is not."""
        return self.pauses(key, (method,), now).get(method)

    def pauses(self, key: str, methods: Collection[str], now: float) -> dict[str, float]:
        """The methods among `methods` paused at `now`, with the time each pause ends (one query)."""
        if not methods:
            return {}
        query = select(method_pauses.c.method, method_pauses.c.until).where(
            and_(
                method_pauses.c.key == key,
                method_pauses.c.method.in_(list(methods)),
                method_pauses.c.until > now,
            )
        )
        with self._engine.connect() as conn:
            return {str(row.method): float(row.until) for row in conn.execute(query)}

    def _locked_row(self, conn: Connection, key: str, now: float) -> tuple[float, float]:
        query = select(rate_buckets.c.level, rate_buckets.c.at).where(rate_buckets.c.key == key)
        if self._lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            # A new bucket starts empty: the portal's own counter is the authority on what others used.
            insert = upsert(conn, rate_buckets).values(key=key, level=0.0, at=now)
            conn.execute(insert.on_conflict_do_nothing())
            row = conn.execute(query).one()
        return float(row.level), float(row.at)
