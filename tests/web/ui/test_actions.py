"""Restore, rearm and replay from the page: a confirmation first, the existing code runs, and who did it
is recorded — also when it fails."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.assembly.resources import Resources
from service.plumbing.clock import utcnow
from service.store.audit import AuditLog
from service.store.breakers import Breakers
from service.store.operatoractions import OperatorActions
from tests.web.ui.conftest import OPERATOR, sign_in
from tests.web.ui.test_pages import record

TRIPPED = "void-time-before-reopen"


def act(client: FlaskClient, csrf: str, name: str, target: str, *, confirm: str = "yes") -> str:
    """POST the action as the confirmation page does; return the result page's text."""
    answer = client.post(f"/ui/act/{name}", data={"csrf": csrf, "target": target, "confirm": confirm})
    assert answer.status_code == 302, answer.text
    return client.get(answer.headers["Location"]).text


def dead_letter(resources: Resources, task_id: int) -> int:
    now = utcnow()
    event_id = resources.journal.enqueue_task(task_id, now, source="replay")
    [claim] = resources.journal.claim("w", now, lease=timedelta(minutes=1))
    resources.journal.dead_letter(claim, now, error="permanent: ACCESS_DENIED")
    return event_id


def test_restore_confirms_then_runs_restoration_and_records_who(
    make_app: Callable[..., Flask], resources: Resources
) -> None:
    restored: list[Sequence[int]] = []

    def restore(portal: str, ids: Sequence[int]) -> list[tuple[str, bool]]:
        restored.append(list(ids))
        return [(f"audit {ids[0]} (task 7, entry 70): restored as entry 71 (0 s, by user 5)", True)]

    client = make_app(restore=restore).test_client()
    csrf = sign_in(client)
    audit_id = record(AuditLog(resources.engine), 7)

    confirmation = client.get(f"/ui/confirm/restore?target={audit_id}").text
    assert f"Restore audit record {audit_id}?" in confirmation
    assert "timer slip" in confirmation
    assert restored == []  # looking at the confirmation does nothing
    result = act(client, csrf, "restore", str(audit_id))

    assert restored == [[audit_id]]
    assert "restored as entry 71" in result
    assert f"By {OPERATOR} (token)" in result
    [done] = OperatorActions(resources.engine).recent()
    assert (done.actor, done.action, done.target, done.ok) == (
        f"{OPERATOR} (token)",
        "restore",
        str(audit_id),
        True,
    )


def test_rearm_and_replay_use_the_breakers_and_the_journal(
    signed_in: tuple[FlaskClient, str], resources: Resources
) -> None:
    client, csrf = signed_in
    breakers = Breakers(resources.engine)
    breakers.trip(TRIPPED, "limit 20 exceeded on task 7", utcnow())
    first, second = dead_letter(resources, 1), dead_letter(resources, 2)

    assert "limit 20 exceeded" in client.get(f"/ui/confirm/rearm?target={TRIPPED}").text
    assert "rearmed: it enforces again" in act(client, csrf, "rearm", TRIPPED)
    assert not breakers.is_tripped(TRIPPED)
    assert "queued 1 event(s) again" in act(client, csrf, "replay", str(first))
    assert [resources.journal.get(i).status for i in (first, second)] == ["pending", "dead"]  # type: ignore[union-attr]
    assert "Replay all 1 dead letter(s)?" in client.get("/ui/confirm/replay?target=all").text
    assert "queued 1 event(s) again" in act(client, csrf, "replay", "all")
    assert resources.journal.stats(utcnow()).dead == 0
    assert [a.action for a in OperatorActions(resources.engine).recent()] == ["replay", "replay", "rearm"]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/ui/confirm/restore?target=999", 404),
        ("/ui/confirm/restore?target=abc", 400),
        ("/ui/confirm/rearm?target=not-tripped", 404),
        ("/ui/confirm/replay?target=123", 404),
        ("/ui/confirm/delete-everything?target=1", 404),
    ],
)
def test_a_confirmation_for_nothing_is_a_clear_error_page(
    signed_in: tuple[FlaskClient, str], path: str, code: int
) -> None:
    client, _ = signed_in
    answer = client.get(path)
    assert answer.status_code == code
    assert 'id="reason"' in answer.text


def test_an_unconfirmed_post_does_nothing(signed_in: tuple[FlaskClient, str], resources: Resources) -> None:
    client, csrf = signed_in
    event_id = dead_letter(resources, 3)
    answer = client.post("/ui/act/replay", data={"csrf": csrf, "target": str(event_id)})
    assert answer.status_code == 400
    assert resources.journal.get(event_id).status == "dead"  # type: ignore[union-attr]
    assert OperatorActions(resources.engine).recent() == []


def test_a_failing_action_is_shown_and_recorded_not_a_500(
    make_app: Callable[..., Flask], resources: Resources
) -> None:
    def restore(portal: str, ids: Sequence[int]) -> list[tuple[str, bool]]:
        raise RuntimeError("B24_WEBHOOK_URL http://x/rest/1/webhookcode123/ refused")

    client = make_app(restore=restore).test_client()
    csrf = sign_in(client)
    result = act(client, csrf, "restore", str(record(AuditLog(resources.engine), 8)))

    assert "failed" in result
    assert "refused" in result
    assert "webhookcode123" not in result
    [done] = OperatorActions(resources.engine).recent()
    assert not done.ok
    assert "webhookcode123" not in done.detail
