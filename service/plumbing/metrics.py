"""Prometheus metrics, correct under several gunicorn workers and a separate worker process.

When PROMETHEUS_MULTIPROC_DIR is set (the CLI sets it for `serve` and `web`), every process writes its
samples there and `/metrics` aggregates them; gauges that describe the queue are read from the
database at scrape time, so every replica reports the same truth.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

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
# HTTP requests (a batch is one, labelled method="batch") are what the rate limit counts; REST calls are
# every method called, batch sub-commands included, so `task.elapseditem.delete` failures are visible.
REST_REQUESTS = Counter("b24rules_rest_requests_total", "HTTP requests to Bitrix24", ["method", "result"])
REST_CALLS = Counter(
    "b24rules_rest_calls_total",
    "Bitrix24 REST method calls, batch sub-commands included",
    ["method", "result"],
)
DEAD_LETTERS = Counter("b24rules_dead_letters_total", "Events that ended as dead letters", ["reason"])
RULE_RELOADS = Counter("b24rules_rule_reloads_total", "Rule set reloads", ["result"])


@dataclass(frozen=True)
class StoreState:
    """What the scrape reads from the database: the same truth on every replica."""

    pending: int
    dead: int
    oldest_pending_age_seconds: float | None
    tripped_rules: tuple[str, ...]


class QueueCollector(Collector):
    """Rule-set health, queue depth, oldest pending age, dead letters and tripped rules, read when scraped."""

    def __init__(self, read_state: Callable[[], StoreState], rules_ok: Callable[[], bool]) -> None:
        self._read_state = read_state
        self._rules_ok = rules_ok

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "b24rules_rules_ok", "1 when the rule files on disk are the set that runs", value=self._rules_ok()
        )
        try:
            state = self._read_state()
        except Exception:  # a scrape must not fail because the database blinked
            return
        yield GaugeMetricFamily("b24rules_queue_depth", "Events waiting to be processed", value=state.pending)
        yield GaugeMetricFamily(
            "b24rules_queue_oldest_age_seconds",
            "Age of the oldest pending event",
            value=state.oldest_pending_age_seconds or 0.0,
        )
        # Not `b24rules_dead_letters`: that is the family name of the dead_letters_total counter.
        yield GaugeMetricFamily(
            "b24rules_dead_letter_events",
            "Events in the dead-letter state (see replay --failed)",
            value=state.dead,
        )
        tripped = GaugeMetricFamily(
            "b24rules_rule_tripped",
            "1 for each rule tripped to shadow until `b24rules rearm`",
            labels=["rule"],
        )
        for rule in state.tripped_rules:
            tripped.add_metric([rule], 1)
        yield tripped


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
