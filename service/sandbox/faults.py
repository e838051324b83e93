"""Fault injection: random server errors, latency, hangs, dropped connections, an outage window and
forced method errors.

Everything random comes from one ``random.Random(seed)`` so a run can be replayed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, system_error


@dataclass
class ForcedError:
    """Answer calls of one method with this error, ``remaining`` times (None: until cleared); with
    ``task_id``, only the calls about that task (its TASKID / taskId parameter)."""

    code: str
    status: int | None = None
    description: str | None = None
    remaining: int | None = None
    task_id: int | None = None

    def error(self) -> ApiError:
        return system_error(self.code, self.description, self.status)


@dataclass
class FaultConfig:
    error_rate: float = 0.0  # fraction of HTTP requests answered with a server error
    error_statuses: list[int] = field(default_factory=lambda: [500, 503])
    latency: float = 0.0  # seconds added to every HTTP request
    timeout_rate: float = 0.0  # fraction of requests that do the work, then hang ``hang_seconds``
    hang_seconds: float = 30.0
    reset_rate: float = 0.0  # fraction of requests whose connection is reset before the method runs
    lost_answer_rate: float = 0.0  # fraction of requests that do the work, then close without answering
    fail_all_until: float = 0.0  # portal clock time until which every request fails
    fail_all_status: int = 500
    forced: dict[str, ForcedError] = field(default_factory=dict)  # method (lower case) → error


@dataclass
class FaultDecision:
    error: ApiError | None = None
    html_503: bool = False
    hang: float = 0.0
    drop: str | None = None  # "reset" (before acting) or "lost" (after acting): no answer at all


class FaultInjector:
    def __init__(self, seed: int | None = None) -> None:
        self.config = FaultConfig()
        self.random = random.Random(seed)

    def reseed(self, seed: int | None) -> None:
        self.random = random.Random(seed)

    def for_request(self, now: float) -> FaultDecision:
        """What infrastructure trouble this HTTP request meets before the REST kernel sees it."""
        cfg = self.config
        if now < cfg.fail_all_until:
            return self._server_error(cfg.fail_all_status)
        if cfg.error_rate > 0 and self.random.random() < cfg.error_rate:
            return self._server_error(self.random.choice(cfg.error_statuses or [500]))
        if cfg.timeout_rate > 0 and self.random.random() < cfg.timeout_rate:
            return FaultDecision(hang=cfg.hang_seconds)
        if cfg.reset_rate > 0 and self.random.random() < cfg.reset_rate:
            return FaultDecision(drop="reset")
        if cfg.lost_answer_rate > 0 and self.random.random() < cfg.lost_answer_rate:
            return FaultDecision(drop="lost")
        return FaultDecision()

    @staticmethod
    def _server_error(status: int) -> FaultDecision:
        if status == 503:  # a gateway in front of the portal: HTML, not JSON
            return FaultDecision(error=system_error("INTERNAL_SERVER_ERROR", status=503), html_503=True)
        return FaultDecision(error=system_error("INTERNAL_SERVER_ERROR", status=status))

    def forced_error(self, method: str, task_id: int | None = None) -> ApiError | None:
        forced = self.config.forced.get(method)
        if forced is None or (forced.task_id is not None and forced.task_id != task_id):
            return None
        if forced.remaining is not None:
            forced.remaining -= 1
            if forced.remaining <= 0:
                del self.config.forced[method]
        return forced.error()

    def describe(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "error_rate": cfg.error_rate,
            "error_statuses": cfg.error_statuses,
            "latency": cfg.latency,
            "timeout_rate": cfg.timeout_rate,
            "hang_seconds": cfg.hang_seconds,
            "reset_rate": cfg.reset_rate,
            "lost_answer_rate": cfg.lost_answer_rate,
            "fail_all_until": cfg.fail_all_until,
            "fail_all_status": cfg.fail_all_status,
            "forced": {
                m: {"code": f.code, "status": f.status, "remaining": f.remaining, "task_id": f.task_id}
                for m, f in cfg.forced.items()
            },
        }
