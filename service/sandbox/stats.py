"""What the portal served: counters per method and per HTTP status, and an ordered request log.

Batch sub-commands are counted and logged one by one (``in_batch`` names the enclosing request).
"""

from __future__ import annotations

import copy
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestRecord:
    seq: int
    ts: float
    method: str
    params: dict[str, Any]
    status: int
    error: str | None
    user_id: int | None
    in_batch: int | None = None

    @property
    def keys(self) -> list[str]:
        return list(self.params)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "method": self.method,
            "params": self.params,
            "keys": self.keys,
            "status": self.status,
            "error": self.error,
            "user_id": self.user_id,
            "in_batch": self.in_batch,
        }


@dataclass
class Stats:
    log_size: int = 10_000
    http_total: int = 0
    http_by_status: Counter[int] = field(default_factory=Counter)
    calls_by_method: Counter[str] = field(default_factory=Counter)
    calls_by_method_status: dict[str, Counter[int]] = field(default_factory=dict)
    dropped: Counter[str] = field(default_factory=Counter)  # "reset" / "lost": requests left unanswered
    log: deque[RequestRecord] = field(default_factory=deque)
    _seq: int = 0

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def record_http(self, status: int) -> None:
        self.http_total += 1
        self.http_by_status[status] += 1

    def record_drop(self, how: str) -> None:
        self.dropped[how] += 1

    def record_call(self, record: RequestRecord) -> None:
        """One method call (a top-level request or one batch sub-command)."""
        record.params = copy.deepcopy(record.params)
        self.calls_by_method[record.method] += 1
        self.calls_by_method_status.setdefault(record.method, Counter())[record.status] += 1
        self.log.append(record)
        while len(self.log) > self.log_size:
            self.log.popleft()

    def summary(self) -> dict[str, Any]:
        return {
            "http": {
                "total": self.http_total,
                "by_status": {str(k): v for k, v in sorted(self.http_by_status.items())},
            },
            "dropped": dict(sorted(self.dropped.items())),
            "calls": {
                "total": sum(self.calls_by_method.values()),
                "by_method": dict(sorted(self.calls_by_method.items())),
                "by_method_status": {
                    m: {str(k): v for k, v in sorted(c.items())}
                    for m, c in sorted(self.calls_by_method_status.items())
                },
            },
        }
