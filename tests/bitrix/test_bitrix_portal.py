"""The portal gateway packs reads and deletions into few batches and maps answers per task/item."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from b24fake import FakePortal, batch_answer, ok, parse_cmd

from service.bitrix.client import BitrixClient
from service.bitrix.limiter import SharedLimiter
from service.bitrix.portal import PortalGateway, TaskState
from service.core.bitrix import BitrixError, NotFound, PermanentError, TransientError
from service.store.ratebucket import SqlRateBucket

WEBHOOK = "https://acme.bitrix24.com/rest/1/code/"
GONE_ITEM = {"error": "ERROR_CORE", "error_description": "TASKS_ERROR_EXCEPTION_#512; x; TE_ITEM_NOT_FOUND"}
GONE_TASK = {"error": "ERROR_CORE", "error_description": "Task not found"}


@pytest.fixture
def gateway(session: requests.Session, rate_bucket: SqlRateBucket) -> PortalGateway:
    limiter = SharedLimiter(rate_bucket, "acme", 1000.0, 1000, sleep=lambda s: None)
    return PortalGateway(BitrixClient(WEBHOOK, limiter, session=session, sleep=lambda s: None))


def fake_batch(
    tasks: dict[int, list[dict[str, Any]]], denied: frozenset[int] | set[int] = frozenset()
) -> Any:
    """A handler answering task.get / getlist / history / delete sub-commands from `tasks`."""

    def handle(method: str, body: dict[str, Any]) -> tuple[int, Any]:
        assert method == "batch"
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for key, cmd in body["cmd"].items():
            sub, params = parse_cmd(cmd)
            task_id = int(params.get("taskId") or params["TASKID"])
            if task_id in denied:
                errors[key] = {"error": "ERROR_CORE", "error_description": "ACTION_NOT_ALLOWED"}
            elif sub == "tasks.task.get":
                results[key] = {"task": {"id": str(task_id)}} if task_id in tasks else []
            elif task_id not in tasks:
                errors[key] = GONE_TASK
            elif sub == "task.elapseditem.getlist":
                results[key] = tasks[task_id]
            elif sub == "tasks.task.history.list":
                results[key] = {"list": [{"field": "STATUS", "value": {"from": "5", "to": "2"}}]}
            elif sub == "task.elapseditem.delete":
                item = int(params["ITEMID"])
                entries = tasks[task_id]
                if any(int(e["ID"]) == item for e in entries):
                    tasks[task_id] = [e for e in entries if int(e["ID"]) != item]
                    results[key] = None
                else:
                    errors[key] = GONE_ITEM
        return batch_answer(results, errors)

    return handle


def test_fetch_packs_tasks_into_batches_of_at_most_50_commands(
    gateway: PortalGateway, portal: FakePortal
) -> None:
    tasks = {i: [{"ID": str(i * 10)}] for i in range(1, 41)}
    portal.handler = fake_batch(tasks)
    out = gateway.fetch(list(range(1, 41)), ["ID", "STATUS"], with_history=range(1, 11))
    assert [len(body["cmd"]) for _, body in portal.sent] == [50, 40]  # 10*3 + 10*2, then 20*2
    assert all(len(body["cmd"]) <= 50 for _, body in portal.sent)
    state = out[1]
    assert isinstance(state, TaskState)
    assert state.task == {"id": "1"}
    assert state.entries == [{"ID": "10"}]
    assert state.history == [{"field": "STATUS", "value": {"from": "5", "to": "2"}}]
    later = out[20]
    assert isinstance(later, TaskState)
    assert later.history is None


def test_fetch_gone_and_denied_tasks(gateway: PortalGateway, portal: FakePortal) -> None:
    portal.handler = fake_batch({1: []}, denied={3})
    out = gateway.fetch([1, 2, 3, 2], ["ID"], with_history={2})
    assert list(out) == [1, 2, 3]
    assert out[1] == TaskState({"id": "1"}, [], None)
    assert out[2] == TaskState(None, [], None)
    assert isinstance(out[3], PermanentError)
    assert len(portal.sent) == 1


def test_delete_in_batches_across_tasks_with_gone_items(gateway: PortalGateway, portal: FakePortal) -> None:
    tasks = {1: [{"ID": str(i)} for i in range(1, 60)], 2: [{"ID": "100"}]}
    portal.handler = fake_batch(tasks, denied={3})
    items = [(1, i) for i in range(1, 60)] + [(1, 999), (2, 100), (3, 5), (1, 1)]
    out = gateway.delete(items)
    assert [len(body["cmd"]) for _, body in portal.sent] == [50, 12]
    assert out[(1, 1)] == "deleted"
    assert out[(2, 100)] == "deleted"
    assert out[(1, 999)] == "gone"
    assert isinstance(out[(3, 5)], PermanentError)
    assert tasks[1] == []
    assert tasks[2] == []
    assert gateway.delete([(1, 1)]) == {(1, 1): "gone"}  # idempotent: a second run deletes nothing


def test_delete_batch_failure_answers_every_remaining_item(
    gateway: PortalGateway, portal: FakePortal
) -> None:
    portal.script += [
        batch_answer({f"d{i}": None for i in range(50)}),
        (500, {"error": "INTERNAL_SERVER_ERROR"}),
    ]
    out = gateway.delete([(1, i) for i in range(120)])
    assert len(portal.sent) == 2
    assert all(out[(1, i)] == "deleted" for i in range(50))
    failed = [out[(1, i)] for i in range(50, 120)]
    assert all(isinstance(v, TransientError) and v.code == "INTERNAL_SERVER_ERROR" for v in failed)


def test_add_entry_returns_new_id(gateway: PortalGateway, portal: FakePortal) -> None:
    portal.script.append(ok(5))
    assert gateway.add_entry(691, 113, "restored", user_id=3) == 5
    assert portal.sent[0] == (
        "task.elapseditem.add",
        {"TASKID": 691, "ARFIELDS": {"SECONDS": 113, "COMMENT_TEXT": "restored", "USER_ID": 3}},
    )
    portal.script.append(ok(None))
    with pytest.raises(PermanentError):
        gateway.add_entry(691, 1, "x")


def rows(*pairs: tuple[int, str]) -> dict[str, Any]:
    return {"tasks": [{"id": str(i), "changedDate": d} for i, d in pairs]}


def test_changed_since_pages_by_moving_the_boundary(gateway: PortalGateway, portal: FakePortal) -> None:
    t0, t1, t2 = "2025-01-01T10:00:00+00:00", "2025-01-01T10:00:05+00:00", "2025-01-01T10:00:09+00:00"
    portal.script += [
        ok(rows(*[(i, t0) for i in range(1, 49)], (49, t1), (50, t1)), next=50, total=120),
        ok(rows((51, t1), (52, t2)), total=4),  # 49..52 changed at or after t1
    ]
    since = datetime(2025, 1, 1, 10, tzinfo=UTC)
    seen = list(gateway.changed_since(since))
    assert [i for i, _ in seen] == list(range(1, 53))
    assert seen[-1][1] == datetime(2025, 1, 1, 10, 0, 9, tzinfo=UTC)
    first, second = (body for _, body in portal.sent)
    assert (first["filter"], first["start"]) == ({">=CHANGED_DATE": t0}, 0)
    assert (second["filter"], second["start"]) == ({">=CHANGED_DATE": t1}, 2)


def test_changed_since_same_timestamp_pages_use_start(gateway: PortalGateway, portal: FakePortal) -> None:
    t0 = "2025-01-01T10:00:00+00:00"
    portal.script += [
        ok(rows(*[(i, t0) for i in range(1, 51)]), next=50),
        ok(rows(*[(i, t0) for i in range(51, 101)]), next=100),
        ok(rows()),
    ]
    seen = list(gateway.changed_since(datetime(2025, 1, 1, 10, tzinfo=UTC)))
    assert len(seen) == 100
    assert [body["start"] for _, body in portal.sent] == [0, 50, 100]


def test_changed_since_bad_rows_are_an_unexpected_answer(gateway: PortalGateway, portal: FakePortal) -> None:
    portal.script.append(ok({"tasks": [{"id": "x", "changedDate": "yesterday"}]}))
    with pytest.raises(BitrixError):
        list(gateway.changed_since(datetime(2025, 1, 1, tzinfo=UTC)))


def test_not_found_is_a_permanent_error_kind() -> None:
    assert issubclass(NotFound, PermanentError)


def entry_rows(*pairs: tuple[int, int]) -> list[dict[str, str]]:
    return [{"ID": str(entry_id), "TASK_ID": str(task_id)} for entry_id, task_id in pairs]


def test_entries_after_pages_by_the_highest_id_seen(gateway: PortalGateway, portal: FakePortal) -> None:
    portal.script += [
        ok(entry_rows(*[(100 + i, i % 7) for i in range(1, 51)]), total=60),
        ok(entry_rows(*[(150 + i, 9) for i in range(1, 11)]), total=10),
    ]
    seen = list(gateway.entries_after(100, max_pages=5))
    assert [entry_id for entry_id, _ in seen] == list(range(101, 161))
    assert seen[-1] == (160, 9)
    assert [body["FILTER"] for _, body in portal.sent] == [{">ID": 100}, {">ID": 150}]
    assert all(list(body) == ["ORDER", "FILTER", "SELECT", "PARAMS"] for _, body in portal.sent)


def test_entries_after_stops_at_max_pages(gateway: PortalGateway, portal: FakePortal) -> None:
    portal.script += [ok(entry_rows(*[(i, 1) for i in range(1, 51)])) for _ in range(3)]
    assert len(list(gateway.entries_after(0, max_pages=2))) == 100
    assert len(portal.sent) == 2


def test_newest_entry_id(gateway: PortalGateway, portal: FakePortal) -> None:
    portal.script += [ok(entry_rows((977, 5))), ok([])]
    assert gateway.newest_entry_id() == 977
    assert gateway.newest_entry_id() == 0
    assert portal.sent[0][1]["ORDER"] == {"ID": "desc"}


def test_bad_entry_rows_are_an_unexpected_answer(gateway: PortalGateway, portal: FakePortal) -> None:
    portal.script.append(ok([{"ID": "x"}]))
    with pytest.raises(TransientError, match="bad entry row"):
        list(gateway.entries_after(0, max_pages=1))
