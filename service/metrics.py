"""Prometheus metrics, correct under several gunicorn workers and a separate worker process.

When PROMETHEUS_MULTIPROC_DIR is set (the CLI sets it for `serve` and `web`), every process writes its
samples there and `/metrics` aggregates them; gauges that describe the queue are read from the
database at scrape time, so every replica reports the same truth.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

EVENTS_RECEIVED = Counter(
    "b24rules_events_received_total", "Events posted to /bitrix24/events", ["event", "outcome"]
)
INGEST_SECONDS = Histogram(
    "b24rules_event_ingest_seconds",
    "Time to accept and store one event",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
EVALUATIONS = Counter("b24rules_evaluations_total", "Rule evaluations per task", ["rule", "acted"])
DELETIONS = Counter("b24rules_deletions_total", "Deletion decisions by outcome", ["rule", "outcome"])
REST_CALLS = Counter("b24rules_rest_requests_total", "HTTP requests to Bitrix24", ["method", "result"])
DEAD_LETTERS = Counter("b24rules_dead_letters_total", "Events that ended as dead letters", ["reason"])
RULE_RELOADS = Counter("b24rules_rule_reloads_total", "Rule set reloads", ["result"])


class QueueCollector(Collector):
    """Rule-set health, queue depth, oldest pending age and dead letters, read when scraped."""

    def __init__(
        self, read_stats: Callable[[], tuple[int, int, float | None]], rules_ok: Callable[[], bool]
    ) -> None:
        self._read_stats = read_stats
        self._rules_ok = rules_ok

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "b24rules_rules_ok", "1 when the rule files on disk are the set that runs", value=self._rules_ok()
        )
        try:
            pending, dead, oldest_age = self._read_stats()
        except Exception:  # a scrape must not fail because the database blinked
            return
        yield GaugeMetricFamily("b24rules_queue_depth", "Events waiting to be processed", value=pending)
        yield GaugeMetricFamily(
            "b24rules_queue_oldest_age_seconds", "Age of the oldest pending event", value=oldest_age or 0.0
        )
        yield GaugeMetricFamily("b24rules_dead_letters", "Events in the dead-letter state", value=dead)


def render(extra: Collector | None = None) -> tuple[bytes, str]:
    """The exposition for /metrics: this process's registry, or all processes' in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shared = CollectorRegistry()
        multiprocess.MultiProcessCollector(shared)  # type: ignore[no-untyped-call]
        body = generate_latest(shared)
    else:
        body = generate_latest(REGISTRY)
    if extra is not None:
        scraped = CollectorRegistry()
        scraped.register(extra)
        body += generate_latest(scraped)
    return body, CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """gunicorn child_exit hook: drop live gauges of a dead worker (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
