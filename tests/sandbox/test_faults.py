"""Fault injection: error rate, outage window, forced errors, latency, hangs, determinism."""

from __future__ import annotations

import time

import pytest
import requests

from service.sandbox import Portal, SandboxServer, apply_config

from .conftest import Client, FakeClock


def test_error_rate_one_fails_every_request(client: Client, sandbox: SandboxServer) -> None:
    apply_config(sandbox.portal, {"faults": {"error_rate": 1.0, "error_statuses": [500]}})
    response = client.call("tasks.task.get", {"taskId": 691})
    assert response.status_code == 500
    assert response.json()["error"] == "INTERNAL_SERVER_ERROR"


def test_injected_503_is_a_gateway_page(client: Client, sandbox: SandboxServer) -> None:
    apply_config(sandbox.portal, {"faults": {"error_rate": 1.0, "error_statuses": [503]}})
    response = client.call("tasks.task.get", {"taskId": 691})
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")


def test_error_rate_is_deterministic_per_seed() -> None:
    def pattern(seed: int) -> list[bool]:
        portal = Portal(seed=seed)
        apply_config(portal, {"faults": {"error_rate": 0.5}})
        return [portal.faults.for_request(0.0).error is None for _ in range(40)]

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    assert 5 < sum(pattern(7)) < 35


def test_fail_all_for_a_period(client: Client, sandbox: SandboxServer, clock: FakeClock) -> None:
    apply_config(sandbox.portal, {"faults": {"fail_all_for": 30}})
    assert client.call("tasks.task.get", {"taskId": 691}).status_code == 500
    clock.advance(31)
    assert client.call("tasks.task.get", {"taskId": 691}).status_code == 200


def test_forced_error_on_one_method(client: Client, sandbox: SandboxServer) -> None:
    forced = {"task.elapseditem.delete": {"code": "ACCESS_DENIED", "count": 1}}
    apply_config(sandbox.portal, {"faults": {"forced": forced}})
    first = client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": 1})
    assert first.status_code == 403
    assert first.json()["error"] == "ACCESS_DENIED"
    assert client.call("tasks.task.get", {"taskId": 691}).status_code == 200
    assert client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": 1}).status_code == 200


def test_forced_error_inside_batch(client: Client, sandbox: SandboxServer) -> None:
    apply_config(sandbox.portal, {"faults": {"forced": {"tasks.task.get": {"code": "insufficient_scope"}}}})
    body = client.call("batch", {"cmd": {"t": "tasks.task.get?taskId=691"}}).json()
    assert body["result"]["result_error"]["t"]["error"] == "insufficient_scope"


def test_latency_is_added(client: Client, sandbox: SandboxServer) -> None:
    apply_config(sandbox.portal, {"faults": {"latency": 0.2}})
    started = time.monotonic()
    client.call("tasks.task.get", {"taskId": 691})
    assert time.monotonic() - started >= 0.2


def test_timeout_does_the_work_but_the_answer_is_late(client: Client, sandbox: SandboxServer) -> None:
    apply_config(sandbox.portal, {"faults": {"timeout_rate": 1.0, "hang_seconds": 5}})
    with pytest.raises(requests.Timeout):
        client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": 1}, timeout=0.3)
    assert 1 not in sandbox.portal.entries
    sandbox.portal.wake.set()  # let the hung request thread finish


def test_lost_answer_deletes_but_the_client_gets_no_reply(client: Client, sandbox: SandboxServer) -> None:
    apply_config(sandbox.portal, {"faults": {"lost_answer_rate": 1.0}})
    with pytest.raises(requests.ConnectionError):
        client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": 1})
    assert 1 not in sandbox.portal.entries  # the portal acted
    assert sandbox.portal.stats.dropped["lost"] == 1
    assert sandbox.portal.calls("task.elapseditem.delete")[-1]["status"] == 200


def test_lost_answer_of_a_batch_runs_every_command(client: Client, sandbox: SandboxServer) -> None:
    apply_config(sandbox.portal, {"faults": {"lost_answer_rate": 1.0}})
    cmd = {
        "a": "task.elapseditem.delete?TASKID=691&ITEMID=1",
        "b": "task.elapseditem.delete?TASKID=691&ITEMID=2",
    }
    with pytest.raises(requests.ConnectionError):
        client.call("batch", {"cmd": cmd})
    assert 1 not in sandbox.portal.entries
    assert 2 not in sandbox.portal.entries


def test_reset_answers_nothing_and_does_nothing(client: Client, sandbox: SandboxServer) -> None:
    apply_config(sandbox.portal, {"faults": {"reset_rate": 1.0}})
    with pytest.raises(requests.ConnectionError) as caught:
        client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": 1})
    assert "reset" in str(caught.value).lower()  # a TCP RST, not a polite close
    assert 1 in sandbox.portal.entries
    assert sandbox.portal.calls("task.elapseditem.delete") == []
    assert sandbox.portal.stats.dropped["reset"] == 1


def test_dropped_connections_leave_the_server_serving(client: Client, sandbox: SandboxServer) -> None:
    apply_config(sandbox.portal, {"faults": {"reset_rate": 0.5, "lost_answer_rate": 0.5}, "seed": 3})
    outcomes = []
    for _ in range(20):
        try:
            outcomes.append(client.call("tasks.task.get", {"taskId": 691}).status_code)
        except requests.ConnectionError:
            outcomes.append(0)
    assert 0 in outcomes
    assert 200 in outcomes
    apply_config(sandbox.portal, {"faults": {"reset_rate": 0.0, "lost_answer_rate": 0.0}})
    assert client.call("tasks.task.get", {"taskId": 691}).status_code == 200
    summary = client.control("GET", "/stats").json()["dropped"]
    assert summary["reset"] + summary["lost"] == outcomes.count(0)


def test_drop_rates_set_through_the_control_api(client: Client, sandbox: SandboxServer) -> None:
    config = client.control("POST", "/config", {"faults": {"lost_answer_rate": 0.2, "reset_rate": 0.1}})
    assert config.json()["faults"]["lost_answer_rate"] == 0.2
    assert config.json()["faults"]["reset_rate"] == 0.1


def test_forced_error_aimed_at_one_task(client: Client, sandbox: SandboxServer) -> None:
    denied = "TASKS_ERROR_EXCEPTION_#4; Action is not allowed; 4/TE/ACTION_NOT_ALLOWED<br>"
    forced = {"code": "ERROR_CORE", "status": 400, "description": denied, "task_id": 693}
    apply_config(sandbox.portal, {"faults": {"forced": {"task.elapseditem.delete": forced}}})
    refused = client.call("task.elapseditem.delete", {"TASKID": 693, "ITEMID": 5})
    assert refused.status_code == 400
    assert refused.json()["error_description"] == denied
    assert client.call("task.elapseditem.delete", {"TASKID": 691, "ITEMID": 1}).status_code == 200
