"""The whole path over real HTTP: portal event → service → rules → task.elapseditem.delete."""

from __future__ import annotations

from pathlib import Path

import requests

from service.sandbox import SandboxServer, apply_config
from service.store.db import open_database
from service.store.journal import Journal
from tests.e2e.harness import (
    NOT_ALLOWED,
    SentryReceiver,
    Service,
    database_url,
    running,
    sample,
    service_env,
    wait_for,
)


def test_zero_second_entries_are_deleted_and_others_kept(sandbox: SandboxServer, workdir: Path) -> None:
    portal = sandbox.portal
    portal.create_task("Write report", task_id=691, status=3,
                       entries=[{"seconds": s, "comment": f"{s}s"} for s in (0, 0, 60, 3600)])  # fmt: skip
    service = Service(workdir, service_env(workdir, sandbox.webhook_url))

    with running(service):
        response = service.post_event(sample("ontaskupdate-webhook.form"))
        assert response.status_code == 200
        assert response.json()["status"] == "queued"
        wait_for(lambda: len(portal.entries_of(691)) == 2)

    assert sorted(e.seconds for e in portal.entries_of(691)) == [60, 3600]
    deletes = [c for c in portal.calls("task.elapseditem.delete") if c["status"] == 200]
    assert len(deletes) == 2
    for call in deletes:
        assert call["keys"] == ["TASKID", "ITEMID"], call
        assert str(call["params"]["TASKID"]) == "691"


def test_wrong_or_missing_token_is_refused_and_nothing_is_called(
    sandbox: SandboxServer, workdir: Path
) -> None:
    sandbox.portal.create_task("t", task_id=691, entries=[{"seconds": 0}])
    service = Service(workdir, service_env(workdir, sandbox.webhook_url))
    body = sample("ontaskupdate-webhook.form")
    forged = body.replace(b"k3v9w2x8y7z6q5p4o3n2m1l0k9j8h7g6", b"forgedforgedforgedforgedforged00")
    missing = b"&".join(p for p in body.split(b"&") if not p.startswith(b"auth%5Bapplication_token%5D"))

    with running(service):
        for bad in (forged, missing):
            response = service.post_event(bad)
            assert response.status_code == 401
            assert "token" in response.json()["reason"]
        stored = Journal(open_database(database_url(workdir))).find()
        queued = requests.get(service.url + "/metrics", timeout=5).text
        # The worker is alive: a genuine event posted afterwards is processed (so silence above means
        # nothing was handed to it, not that it had not got round to it yet).
        sandbox.portal.create_task("control", task_id=692, entries=[{"seconds": 0}])
        assert service.post_event(sample("ontaskadd-webhook.form")).status_code == 200
        wait_for(lambda: sandbox.portal.entries_of(692) == [])

    assert stored == []  # nothing of a refused event was stored
    assert 'outcome="unauthorized"' in queued
    assert len(sandbox.portal.entries_of(691)) == 1
    touched = {str(c["params"].get("TASKID", c["params"].get("taskId"))) for c in sandbox.portal.calls()}
    assert "691" not in touched  # no REST call ever concerned the forged events' task


STARTUP_CALLS = ("batch", "profile", "scope", "tasks.task.list")


def test_malformed_and_oversized_bodies(sandbox: SandboxServer, workdir: Path) -> None:
    service = Service(workdir, service_env(workdir, sandbox.webhook_url))
    body = sample("ontaskupdate-webhook.form")
    no_task = body.replace(b"data%5BFIELDS_AFTER%5D%5BID%5D=691", b"").replace(
        b"data%5BFIELDS_BEFORE%5D%5BID%5D=691", b""
    )
    with running(service):
        cases = {
            "json instead of a form": (b'{"event":"ONTASKUPDATE"}', "application/json"),
            "no task id": (no_task, "application/x-www-form-urlencoded"),
            "not a form": (b"%%%&&&===", "application/x-www-form-urlencoded"),
            "bad utf-8": (b"event=\xff\xfe", "application/x-www-form-urlencoded"),
        }
        for name, (payload, content_type) in cases.items():
            response = service.post_event(payload, content_type)
            assert response.status_code == 400, name
            reason = response.json()["reason"]
            assert reason, name
            assert "\n" not in reason, name
        big = body + b"&pad=" + b"x" * (70 * 1024)
        assert service.post_event(big).status_code == 413
    # Nothing refused reached the portal: no task was read or touched (the worker's own start-up calls,
    # its rights check and first sweep, may come at any moment and are not about these bodies).
    about_tasks = [c["method"] for c in sandbox.portal.calls() if c["method"] not in STARTUP_CALLS]
    assert about_tasks == []


def test_permanent_portal_error_reaches_sentry_with_tags_and_no_secret(
    sandbox: SandboxServer, sentry: SentryReceiver, workdir: Path
) -> None:
    portal = sandbox.portal
    portal.create_task("t", task_id=691, entries=[{"seconds": 0}])
    # An administrator's webhook (the service deletes nothing with any other), whose deletion the
    # portal refuses as it refuses a non-author who is no administrator.
    portal.add_webhook(7, "notadmincode77", admin=True)
    apply_config(portal, {"faults": {"forced": {"task.elapseditem.delete": NOT_ALLOWED}}})
    webhook = sandbox.webhook_url_for(7, "notadmincode77")
    env = service_env(workdir, webhook, SENTRY_DSN=sentry.dsn, SENTRY_ENVIRONMENT="e2e")
    service = Service(workdir, env)

    with running(service):
        assert service.post_event(sample("ontaskupdate-webhook.form")).status_code == 200
        events = wait_for(lambda: [e for e in sentry.events() if e.get("tags", {}).get("task_id") == "691"])

    event = events[0]
    tags = event["tags"]
    assert tags["rule"] == "drop-zero-duration-entries"
    assert tags["method"] == "task.elapseditem.delete"
    assert "ACTION_NOT_ALLOWED" in tags["error_code"] + str(event)
    assert tags["event"] == "ONTASKUPDATE"
    everything = b"".join(sentry.raw).decode(errors="replace") + service.logs()
    for secret in ("notadmincode77", "k3v9w2x8y7z6q5p4o3n2m1l0k9j8h7g6"):
        assert secret not in everything
    assert len(portal.entries_of(691)) == 1
