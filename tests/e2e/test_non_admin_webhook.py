"""A webhook of a user who is no administrator: the service says so, deletes nothing, records nothing.

Such a user cannot see other people's tasks: `tasks.task.get` answers `[]`, getlist fails #1, delete
fails #512 — what a deleted task looks like. Taking that for "already gone" would report success while
nothing is deleted; instead the worker waits, `/readyz` says why and `doctor` names the fix.
"""

from __future__ import annotations

from pathlib import Path

import requests

from service.plumbing.clock import utcnow
from service.sandbox import SandboxServer
from service.store.db import open_database
from service.store.journal import Journal
from tests.e2e.commands import audit_records, run_cli
from tests.e2e.harness import Service, database_url, running, sample, service_env, wait_for

CODE = "n0tadm1nc0de7"


def test_non_admin_webhook_is_not_ready_doctor_names_the_fix_and_nothing_is_recorded(
    sandbox: SandboxServer, workdir: Path
) -> None:
    portal = sandbox.portal
    portal.create_task("Report", task_id=691, entries=[{"seconds": 0}, {"seconds": 0}, {"seconds": 60}])
    portal.add_webhook(7, CODE, admin=False)  # user 7 takes part in no task
    service = Service(workdir, service_env(workdir, sandbox.webhook_url_for(7, CODE)))

    with running(service):
        assert service.post_event(sample("ontaskupdate-webhook.form")).status_code == 200

        def not_ready() -> tuple[requests.Response] | None:
            answer = requests.get(service.url + "/readyz", timeout=10)
            return (answer,) if answer.status_code == 503 else None  # a 503 Response itself is falsy

        [readyz] = wait_for(not_ready, timeout=30)
        doctor = run_cli(service, "doctor", check=False)
        records = audit_records(service)
        engine = open_database(database_url(workdir))
        queue = Journal(engine).stats(utcnow())
        engine.dispose()

    body = readyz.json()
    assert body["status"] == "not ready"
    assert body["credentials"]["ok"] is False
    assert "user 7 is not a Bitrix24 administrator" in body["credentials"]["reason"]
    assert "\n" not in body["credentials"]["reason"]
    assert doctor.returncode == 1
    assert "FAIL  administrator" in doctor.stdout
    assert "fix: create the incoming webhook as a portal administrator" in doctor.stdout
    assert "Traceback" not in doctor.stdout + doctor.stderr
    assert records == []  # nothing recorded deleted, gone or failed
    assert [e.seconds for e in portal.entries_of(691)] == [0, 0, 60]
    assert portal.calls("task.elapseditem.delete") == []
    assert portal.calls("tasks.task.get") == []  # the worker did not even read the task
    assert (queue.pending, queue.dead) == (1, 0)  # the event waits: not dead-lettered, not done
    for text in (readyz.text, doctor.stdout, doctor.stderr, service.logs()):
        assert CODE not in text
