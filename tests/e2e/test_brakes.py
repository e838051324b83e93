"""The brakes, end to end: shadow and dry-run delete nothing but record; a rule over its limit or its
hourly budget trips, tells Sentry once and stays tripped across restarts until `rearm`; our own
deletions do not make a rule act again on the task moments later, but a retry still finishes its work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.sandbox import SandboxServer
from service.sandbox.control import apply_config
from tests.e2e.commands import audit_records, run_cli, write_rules
from tests.e2e.harness import SentryReceiver, Service, running, sample, service_env, wait_for

pytestmark = pytest.mark.slow

RULE = "drop-zero-duration-entries"
ZERO = """
- name: drop-zero-duration-entries
  on: [ONTASKADD, ONTASKUPDATE]
  where: {entry.seconds: 0}
  action: delete
"""
SHORT_IN_SHADOW = """
- name: flag-short-entries
  on: [ONTASKUPDATE]
  where: {entry.seconds: {gt: 0, lt: 120}}
  action: delete
  mode: shadow
"""


def zero(comment: str = "slip") -> dict[str, Any]:
    return {"seconds": 0, "comment": comment}


def records_of(service: Service, task_id: int, want: Callable[[list[dict[str, Any]]], bool]) -> Any:
    """Wait until `audit --json --task` satisfies `want`; the records."""
    found: list[dict[str, Any]] = []

    def check() -> bool:
        found[:] = audit_records(service, "--task", str(task_id))
        return want(found)

    wait_for(check, timeout=30, interval=0.3)
    return found


def outcomes(records: list[dict[str, Any]]) -> list[str]:
    return sorted(r["outcome"] for r in records)


def delete_calls(sandbox: SandboxServer) -> int:
    return len(sandbox.portal.calls("task.elapseditem.delete"))


def test_shadow_and_dry_run_delete_nothing_and_record_what_they_would_have_done(
    sandbox: SandboxServer, workdir: Path
) -> None:
    sandbox.portal.create_task(
        "t", task_id=691, status=3, entries=[zero(), {"seconds": 60}, {"seconds": 3600}]
    )
    rules = write_rules(workdir, ZERO + SHORT_IN_SHADOW)
    service = Service(workdir, service_env(workdir, sandbox.webhook_url, rules=rules, B24_DRY_RUN="true"))

    with running(service):
        service.post_event(sample("ontaskupdate-webhook.form"))
        records = records_of(service, 691, lambda found: len(found) == 2)

    by_seconds = {r["entry"]["SECONDS"]: r for r in records}
    assert by_seconds["0"]["outcome"] == "dry-run"
    assert "B24_DRY_RUN" in by_seconds["0"]["reason"]
    assert (by_seconds["60"]["outcome"], by_seconds["60"]["rule"]) == ("shadow", "flag-short-entries")
    assert "shadow" in by_seconds["60"]["reason"]
    assert sorted(e.seconds for e in sandbox.portal.entries_of(691)) == [0, 60, 3600]
    assert delete_calls(sandbox) == 0


def test_a_rule_over_its_limit_trips_tells_sentry_once_and_stays_tripped_until_rearmed(
    sandbox: SandboxServer, sentry: SentryReceiver, workdir: Path
) -> None:
    portal = sandbox.portal
    portal.create_task("many slips", task_id=691, status=3, entries=[zero(), zero(), zero(), {"seconds": 60}])
    portal.create_task("one slip", task_id=692, status=3, entries=[zero()])
    rules = write_rules(workdir, ZERO + "  limit: 2\n")
    env = service_env(workdir, sandbox.webhook_url, rules=rules, SENTRY_DSN=sentry.dsn)
    service = Service(workdir, env)

    with running(service):
        sandbox.add_event_target(service.url + "/bitrix24/events")
        sandbox.sender.send("ONTASKUPDATE", 691)
        over = records_of(service, 691, lambda found: len(found) == 3)
        sandbox.sender.send("ONTASKUPDATE", 692)
        records_of(service, 692, lambda found: outcomes(found) == ["shadow"])
    reports_before_restart = _trip_reports(sentry)

    with running(service):  # a restart does not re-arm it
        sandbox.sender.send("ONTASKUPDATE", 692)
        after_restart = records_of(service, 692, lambda found: len(found) == 2)
        rearmed = run_cli(service, "rearm", RULE).stdout
        again = run_cli(service, "rearm", RULE).stdout
        sandbox.sender.send("ONTASKUPDATE", 692)
        records_of(service, 692, lambda found: "deleted" in outcomes(found))

    assert outcomes(over) == ["tripped"] * 3
    assert all("limit" in r["reason"] for r in over)
    assert len(portal.entries_of(691)) == 4
    assert outcomes(after_restart) == ["shadow", "shadow"]
    assert "rearm" in after_restart[0]["reason"]
    assert "rearmed" in rearmed
    assert "was not tripped" in again
    assert portal.entries_of(692) == []
    assert len(reports_before_restart) == 1
    assert reports_before_restart[0]["tags"]["rule"] == RULE
    assert len(_trip_reports(sentry)) == 1


def _trip_reports(sentry: SentryReceiver) -> list[dict[str, Any]]:
    return [e for e in sentry.events() if e.get("tags", {}).get("kind") == "circuit-breaker"]


def test_the_hourly_budget_trips_the_rule_and_it_deletes_nothing_more(
    sandbox: SandboxServer, workdir: Path
) -> None:
    portal = sandbox.portal
    portal.create_task("a", task_id=701, status=3, entries=[zero(), zero()])
    portal.create_task("b", task_id=702, status=3, entries=[zero(), {"seconds": 60}])
    portal.create_task("c", task_id=703, status=3, entries=[zero()])
    env = service_env(
        workdir, sandbox.webhook_url, rules=write_rules(workdir, ZERO), B24_MAX_DELETIONS_PER_HOUR="2"
    )
    service = Service(workdir, env)

    with running(service):
        sandbox.add_event_target(service.url + "/bitrix24/events")
        sandbox.sender.send("ONTASKUPDATE", 701)
        wait_for(lambda: portal.entries_of(701) == [], timeout=30)
        sandbox.sender.send("ONTASKUPDATE", 702)
        [tripped] = records_of(service, 702, lambda found: len(found) == 1)
        sandbox.sender.send("ONTASKUPDATE", 703)
        [shadowed] = records_of(service, 703, lambda found: len(found) == 1)
        listed = audit_records(service, "--outcome", "tripped")

    assert tripped["outcome"] == "tripped"
    assert "B24_MAX_DELETIONS_PER_HOUR" in tripped["reason"]
    assert shadowed["outcome"] == "shadow"
    assert [r["id"] for r in listed] == [tripped["id"]]
    assert len(portal.entries_of(702)) == 2
    assert len(portal.entries_of(703)) == 1
    assert delete_calls(sandbox) == 2


def test_our_own_deletion_does_not_make_the_rule_act_again_but_a_retry_finishes(
    sandbox: SandboxServer, workdir: Path
) -> None:
    portal = sandbox.portal
    portal.create_task("echo", task_id=691, status=3, entries=[zero(), {"seconds": 60}])
    portal.create_task("retry", task_id=692, status=3, entries=[zero("first"), zero("second")])
    service = Service(workdir, service_env(workdir, sandbox.webhook_url, rules=write_rules(workdir, ZERO)))

    with running(service):
        sandbox.add_event_target(service.url + "/bitrix24/events")
        sandbox.sender.send("ONTASKUPDATE", 691)
        wait_for(lambda: len(portal.entries_of(691)) == 1, timeout=30)
        portal.add_entry(691, 0, comment="logged right after")  # then the update that follows our delete
        sandbox.sender.send("ONTASKUPDATE", 691)
        echo = records_of(service, 691, lambda found: len(found) == 2)

        # One of two deletions fails (a 500 for that sub-command): the retry, seconds later and well
        # inside the echo window, still deletes the other entry.
        forced = {"task.elapseditem.delete": {"code": "INTERNAL_SERVER_ERROR", "status": 500, "count": 1}}
        apply_config(portal, {"faults": {"forced": forced}})
        sandbox.sender.send("ONTASKUPDATE", 692)
        wait_for(lambda: portal.entries_of(692) == [], timeout=30)
        retried = records_of(service, 692, lambda found: outcomes(found).count("deleted") == 2)

    assert outcomes(echo) == ["deleted", "skipped"]
    assert "self-echo" in next(r for r in echo if r["outcome"] == "skipped")["reason"]
    assert [e.comment for e in portal.entries_of(691) if e.seconds == 0] == ["logged right after"]
    assert outcomes(retried) == ["deleted", "deleted", "failed"]
