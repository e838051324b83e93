"""What the pages show, from real rows in the store; bad filters are told, never a 500."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from service.assembly.resources import Resources
from service.plumbing.clock import utcnow
from service.store.audit import AuditDraft, AuditLog
from service.store.breakers import Breakers
from service.store.journal import Claim
from service.web.ui.pages import AUDIT_PAGE
from tests.web.ui.conftest import sign_in

RULE = "drop-zero-duration-entries"
TRACE = [{"path": "where.entry.seconds", "op": "eq", "expected": 0, "actual": 0, "ok": True}]


def record(audit: AuditLog, task_id: int, *, outcome: str = "pending", comment: str = "timer slip") -> int:
    entry = {"ID": str(task_id * 10), "SECONDS": "0", "USER_ID": "5", "COMMENT_TEXT": comment}
    draft = AuditDraft(
        task_id, task_id * 10, RULE, "abc123", "enforce", outcome, entry, TRACE, "why", "sweep"
    )
    [audit_id] = audit.record([draft], utcnow())
    return audit_id


def test_overview_shows_readiness_queue_dead_letters_tripped_rules_and_hits(
    signed_in: tuple[FlaskClient, str], resources: Resources
) -> None:
    client, _ = signed_in
    journal = resources.journal
    now = utcnow()
    journal.enqueue_task(41, now, source="replay")
    dead = journal.enqueue_task(42, now, source="replay")
    found: list[Claim | None] = [
        c for c in journal.claim("w", now, lease=timedelta(minutes=1)) if c.task_id == 42
    ]
    [claim] = found or [None]
    assert claim is not None
    journal.dead_letter(claim, now, error="permanent: ACCESS_DENIED at http://x/rest/1/webhookcode123/")
    Breakers(resources.engine).trip("void-time-before-reopen", "limit 20 exceeded on task 7", now)
    audit_id = record(AuditLog(resources.engine), 7)
    AuditLog(resources.engine).set_outcome(audit_id, "deleted", now)

    page = client.get("/ui/").text

    assert "Ready" in page
    assert "2 rule(s) running" in page
    assert "Dead letters (1)" in page
    assert f'data-event="{dead}"' in page
    assert "ACCESS_DENIED" in page
    assert "webhookcode123" not in page
    assert "limit 20 exceeded on task 7" in page
    assert "confirm/rearm?target=void-time-before-reopen" in page
    assert "1 entries deleted" in page
    assert "deleted 1" in page
    assert page.count("<rect ") == 48  # two bars for each of 24 hours


def test_audit_shows_the_entry_and_trace_and_pages_by_id(
    signed_in: tuple[FlaskClient, str], resources: Resources
) -> None:
    client, _ = signed_in
    audit = AuditLog(resources.engine)
    ids = [record(audit, 100 + n, comment=f"note {n}") for n in range(AUDIT_PAGE + 10)]
    audit.set_outcome(ids[-1], "deleted", utcnow())

    first = client.get("/ui/audit").text
    shown = re.findall(r'id="record-(\d+)"', first)
    assert [int(i) for i in shown] == ids[::-1][:AUDIT_PAGE]
    assert "where.entry.seconds" in first
    assert f"note {AUDIT_PAGE + 9}" in first
    assert f'id="restore-{ids[-1]}"' in first
    assert f'id="restore-{ids[-2]}"' not in first
    older = re.search(r'href="(/ui/audit\?before=\d+)"', first)
    assert older is not None
    second = client.get(older.group(1)).text
    assert [int(i) for i in re.findall(r'id="record-(\d+)"', second)] == ids[::-1][AUDIT_PAGE:]
    assert re.findall(r'id="record-(\d+)"', client.get("/ui/audit?task=105").text) == [str(ids[5])]
    only_deleted = client.get("/ui/audit?outcome=deleted").text
    assert re.findall(r'id="record-(\d+)"', only_deleted) == [str(ids[-1])]


def test_bad_filters_are_explained_and_ignored(signed_in: tuple[FlaskClient, str]) -> None:
    client, _ = signed_in
    for path in (
        "/ui/audit?task=abc&since=yesterday&outcome=nuked",
        "/ui/activity?task=-1&until=soon&before=x",
    ):
        answer = client.get(path)
        assert answer.status_code == 200
        assert "ignored" in answer.text
    assert "is not a whole number" in client.get("/ui/audit?task=%C2%B2").text


def test_activity_lists_events_and_sweeps(signed_in: tuple[FlaskClient, str], resources: Resources) -> None:
    client, _ = signed_in
    swept = resources.journal.enqueue_task(77, utcnow(), source="sweep")
    page = client.get("/ui/activity?source=sweep").text
    assert f"<td>{swept}</td>" in page
    assert "ONTASKUPDATE" in page
    assert "No events match" in client.get("/ui/activity?task=78").text


def test_rules_show_modes_limits_and_inline_test_results(signed_in: tuple[FlaskClient, str]) -> None:
    client, _ = signed_in
    page = client.get("/ui/rules").text
    assert 'id="rule-drop-zero-duration-entries"' in page
    assert 'id="rule-void-time-before-reopen"' in page
    assert "shadow" in page
    assert "<dd>20</dd>" in page
    assert page.count("<td>pass</td>") == 4
    assert "FAIL" not in page


def test_simulate_shows_the_report_or_why_it_could_not(
    make_app: Callable[..., Flask],
) -> None:
    asked: list[tuple[int, str]] = []

    def simulate(portal: str, task_id: int, event: str) -> str:
        asked.append((task_id, event))
        return "task 5: in_progress\nread-only: nothing was deleted, recorded or changed."

    def unreachable(portal: str, task_id: int, event: str) -> str:
        raise ConnectionError("portal http://x/rest/1/webhookcode123/ is down")

    client = make_app(simulate=simulate).test_client()
    csrf = sign_in(client)
    page = client.post("/ui/rules/simulate", data={"csrf": csrf, "task": "5", "event": "ONTASKADD"}).text
    assert asked == [(5, "ONTASKADD")]
    assert "read-only: nothing was deleted" in page
    assert "is not a whole number" in client.post("/ui/rules/simulate", data={"csrf": csrf, "task": "x"}).text

    failing = make_app(simulate=unreachable).test_client()
    csrf = sign_in(failing)
    answer = failing.post("/ui/rules/simulate", data={"csrf": csrf, "task": "5"})
    assert answer.status_code == 200
    assert "is down" in answer.text
    assert "webhookcode123" not in answer.text
