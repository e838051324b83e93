"""/metrics as Prometheus sees it: summed over gunicorn processes and serve's worker, gauges read from the
database, and a scaled worker serving its own samples on --metrics-port."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from service.sandbox import SandboxServer, apply_config
from service.store.db import make_engine
from service.store.journal import Journal
from tests.e2e.harness import (
    FORM,
    NOT_ALLOWED,
    Scrape,
    Service,
    free_port,
    running,
    sample,
    scrape,
    service_env,
    wait_for,
)
from tests.e2e.workers import WorkerProcess, scaled

pytestmark = pytest.mark.slow
RULE = "drop-zero-duration-entries"


def events_by_process(folder: Path) -> dict[str, float]:
    """`b24rules_events_received_total{outcome="queued"}` of each process, from its own sample file."""
    counts: dict[str, float] = {}
    for path in folder.glob("counter_*.db"):
        alone = Path(tempfile.mkdtemp(prefix="b24rules-prom-"))
        try:
            shutil.copy(path, alone)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]
            value = registry.get_sample_value(
                "b24rules_events_received_total", {"event": "ONTASKUPDATE", "outcome": "queued"}
            )
        finally:
            shutil.rmtree(alone, ignore_errors=True)
        if value:
            counts[path.stem] = value
    return counts


def in_flight(journal: Journal) -> int:
    """Events pending or being processed (the worker counts a task's metrics before it settles it)."""
    stats = journal.stats(datetime.now(UTC))
    return stats.pending + stats.processing


def evaluated_lines(logs: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("msg") == "evaluated"]


def test_serve_metrics_sum_every_process_and_the_gauges_follow_the_queue(
    sandbox: SandboxServer, workdir: Path
) -> None:
    portal = sandbox.portal
    # User 7's webhook deletes the 0-second entry on 691; the portal refuses the one on 700.
    portal.add_webhook(7, "notadmin77code", admin=True)
    portal.create_task("mine", task_id=691, entries=[{"seconds": 0, "user_id": 7}, {"seconds": 60}])
    portal.create_task("theirs", task_id=700, entries=[{"seconds": 0, "user_id": 1}])
    refused = {**NOT_ALLOWED, "task_id": 700}
    apply_config(portal, {"faults": {"forced": {"task.elapseditem.delete": refused}}})
    env = service_env(workdir, sandbox.webhook_url_for(7, "notadmin77code"), B24_RETRY_BASE_SECONDS="0.5")
    service = Service(workdir, env)
    prom = workdir / "prom"
    service.env["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
    metrics_url = service.url + "/metrics"
    update = sample("ontaskupdate-webhook.form")

    with running(service):
        wait_for(lambda: portal.calls("profile"), timeout=30)  # the worker checked the webhook's rights
        apply_config(portal, {"faults": {"fail_all_for": 600}})  # the portal is down: events wait
        posted = 0
        # Each post is a new connection; go on until both gunicorn processes have taken some.
        while posted < 8 or (len(events_by_process(prom)) < 2 and posted < 300):
            body = update if posted % 4 else update.replace(b"=691", b"=700")
            answer = service.post_event(body)
            assert answer.status_code == 200
            assert answer.json()["status"] == "queued"
            posted += 1
        per_process = events_by_process(prom)
        assert len(per_process) >= 2, per_process
        assert sum(per_process.values()) == posted
        assert scrape(metrics_url).value("b24rules_events_received_total", outcome="queued") == posted

        def failing_and_waiting() -> Scrape | None:
            found = scrape(metrics_url)
            failed = found.value("b24rules_rest_requests_total", method="batch", result="transient")
            return found if failed and found.value("b24rules_queue_oldest_age_seconds") >= 2 else None

        waiting = wait_for(failing_and_waiting, timeout=60)
        assert waiting.value("b24rules_queue_depth") >= 1  # pending again, waiting for its retry

        apply_config(portal, {"faults": {"fail_all_for": 0}})  # back: the retries go through
        dead = len(range(0, posted, 4))  # every event of task 700 ends as a dead letter
        journal = Journal(make_engine(service.env["B24_DATABASE_URL"]))

        def settled_scrape() -> Scrape | None:
            # The queue-depth gauge counts waiting events only: a task in the worker's hands shows
            # depth 0 before the worker has counted its evaluation. Scrape once nothing is in flight.
            if in_flight(journal):
                return None
            found = scrape(metrics_url)
            dead_now = found.value("b24rules_dead_letter_events")
            return found if dead_now == dead and found.value("b24rules_queue_depth") == 0 else None

        settled = wait_for(settled_scrape, timeout=60)
        logs = service.logs()

    assert [e.seconds for e in portal.entries_of(691)] == [60]
    assert len(portal.entries_of(700)) == 1
    assert_worker_counters_in_serve(settled, posted, dead)
    # One JSON line per evaluation; a task's events may be split over several if a retry raced a post.
    events: dict[int, set[int]] = {691: set(), 700: set()}
    outcomes: dict[int, Counter[str]] = {691: Counter(), 700: Counter()}
    for line in evaluated_lines(logs):
        task = int(line["task_id"])
        events[task].update(line["events"])
        outcomes[task].update(line["outcomes"])
        assert line["rules"][RULE] == {"applies": True, "selected": 1}
    assert (len(events[691]), len(events[700])) == (posted - dead, dead)
    assert outcomes[691] == {"deleted": 1}
    assert set(outcomes[700]) == {"failed"}


def assert_worker_counters_in_serve(metrics: Scrape, posted: int, dead: int) -> None:
    """What serve's worker process counted shows on the web's /metrics."""
    assert metrics.value("b24rules_events_received_total", event="ONTASKUPDATE", outcome="queued") == posted
    assert metrics.value("b24rules_evaluations_total", rule=RULE, acted="true") >= 2
    assert metrics.value("b24rules_evaluations_total", rule="void-time-before-reopen", acted="false") >= 2
    assert metrics.value("b24rules_deletions_total", rule=RULE, outcome="deleted") == 1
    assert metrics.value("b24rules_deletions_total", rule=RULE, outcome="failed") >= 1
    assert metrics.value("b24rules_rest_calls_total", method="task.elapseditem.delete", result="ok") == 1
    assert (
        metrics.value("b24rules_rest_calls_total", method="task.elapseditem.delete", result="permanent") == 1
    )
    assert metrics.value("b24rules_rest_calls_total", method="tasks.task.get", result="ok") >= 1
    assert metrics.value("b24rules_dead_letters_total", reason="permanent") == dead
    assert metrics.value("b24rules_dead_letter_events") == dead
    assert metrics.value("b24rules_queue_oldest_age_seconds") == 0
    assert metrics.value("b24rules_rules_ok") == 1


def test_a_scaled_worker_serves_its_own_metrics_on_its_port(sandbox: SandboxServer, workdir: Path) -> None:
    portal = sandbox.portal
    portal.create_task("t", task_id=691, entries=[{"seconds": 0}, {"seconds": 60}])
    service = Service(workdir, service_env(workdir, sandbox.webhook_url))
    worker_port = free_port()
    with scaled(service, workers=0):
        worker = _worker_with_metrics(service, worker_port, workdir / "worker-prom")
        try:
            assert service.post_event(sample("ontaskupdate-webhook.form")).json()["status"] == "queued"
            wait_for(lambda: [e.seconds for e in portal.entries_of(691)] == [60], timeout=30)
            own = wait_for(lambda: _scrape_quietly(f"http://127.0.0.1:{worker_port}/metrics"), timeout=20)
            web = scrape(service.url + "/metrics")
        finally:
            worker.stop()

    # The worker's own counters, on its own port; the web half's intake on the web's /metrics.
    assert own.value("b24rules_deletions_total", rule=RULE, outcome="deleted") == 1
    assert own.value("b24rules_evaluations_total", rule=RULE, acted="true") == 1
    assert own.value("b24rules_rest_calls_total", method="task.elapseditem.delete", result="ok") == 1
    assert own.value("b24rules_rest_requests_total", method="batch", result="ok") >= 2
    assert not own.has("b24rules_events_received_total")
    assert web.value("b24rules_events_received_total", event="ONTASKUPDATE", outcome="queued") == 1
    assert not web.has("b24rules_deletions_total")
    assert web.value("b24rules_queue_depth") == 0


def _worker_with_metrics(service: Service, port: int, prom: Path) -> WorkerProcess:
    worker = WorkerProcess(service, "worker-metrics", sweep=True)
    # As in the image: PROMETHEUS_MULTIPROC_DIR is set in every container, the worker's too.
    worker.env.update(B24_METRICS_PORT=str(port), PROMETHEUS_MULTIPROC_DIR=str(prom))
    prom.mkdir()
    return worker.start()


def _scrape_quietly(url: str) -> Scrape | None:
    try:
        found = scrape(url)
    except requests.RequestException:
        return None
    return found if found.has("b24rules_deletions_total") else None


def test_a_chunked_body_over_64_kib_is_413_through_gunicorn(sandbox: SandboxServer, workdir: Path) -> None:
    service = Service(workdir, service_env(workdir, sandbox.webhook_url))
    body = sample("ontaskupdate-webhook.form") + b"&pad=" + b"x" * (70 * 1024)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    with running(service, "web"):
        answer = requests.post(
            service.url + "/bitrix24/events", data=chunks(), headers={"Content-Type": FORM}, timeout=10
        )
        metrics = scrape(service.url + "/metrics")
    assert answer.status_code == 413
    assert metrics.value("b24rules_events_received_total", outcome="too_large") == 1
    assert metrics.value("b24rules_queue_depth") == 0
