"""The leaky bucket (503 QUERY_LIMIT_EXCEEDED) and the per-method operating budget (429)."""

from __future__ import annotations

from service.sandbox import SandboxServer
from service.sandbox.limits import LeakyBucket, OperatingBudget

from .conftest import Client, FakeClock


def test_bucket_rejects_after_burst_and_recovers_after_drain(
    client: Client, sandbox: SandboxServer, clock: FakeClock
) -> None:
    sandbox.portal.configure(rate=2, burst=5)
    statuses = [client.call("tasks.task.get", {"taskId": 691}).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [503, 503]
    limited = client.call("tasks.task.get", {"taskId": 691})
    assert limited.json()["error"] == "QUERY_LIMIT_EXCEEDED"
    clock.advance(1)  # drains two requests
    statuses = [client.call("tasks.task.get", {"taskId": 691}).status_code for _ in range(3)]
    assert statuses == [200, 200, 503]
    assert sandbox.portal.served(503) == 4


def test_batch_is_one_request_for_the_bucket(client: Client, sandbox: SandboxServer) -> None:
    sandbox.portal.configure(rate=0.001, burst=2)
    cmd = {f"g{i}": "tasks.task.get?taskId=691" for i in range(50)}
    assert client.call("batch", {"cmd": cmd}).status_code == 200
    assert client.call("batch", {"cmd": cmd}).status_code == 200
    assert client.call("batch", {"cmd": cmd}).status_code == 503


def test_operating_limit_blocks_the_method_only(
    client: Client, sandbox: SandboxServer, clock: FakeClock
) -> None:
    sandbox.portal.configure(operating_limit=10, method_times={"tasks.task.get": 4})
    codes = [client.call("tasks.task.get", {"taskId": 691}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # 12 s > 10 s: the next call is blocked
    blocked = client.call("tasks.task.get", {"taskId": 691}).json()
    assert blocked["error"] == "OPERATION_TIME_LIMIT"
    reset_at = blocked["time"]["operating_reset_at"]
    assert reset_at > clock.now
    assert client.call("task.elapseditem.getlist", {"TASKID": 691}).status_code == 200
    clock.advance(reset_at - clock.now + 1)
    assert client.call("tasks.task.get", {"taskId": 691}).status_code == 200


def test_operating_counts_batch_subcommands(client: Client, sandbox: SandboxServer) -> None:
    sandbox.portal.configure(operating_limit=5, method_times={"tasks.task.get": 2})
    cmd = {f"g{i}": "tasks.task.get?taskId=691" for i in range(4)}
    body = client.call("batch", {"cmd": cmd}).json()["result"]
    assert list(body["result"]) == ["g0", "g1", "g2"]
    assert body["result_error"]["g3"]["error"] == "OPERATION_TIME_LIMIT"
    assert body["result_time"]["g2"]["operating"] == 6


def test_bucket_unit() -> None:
    bucket = LeakyBucket(rate=1, burst=2)
    assert [bucket.try_acquire(0.0) for _ in range(3)] == [True, True, False]
    assert bucket.try_acquire(1.0)
    assert not bucket.try_acquire(1.0)


def test_operating_window_is_ten_minutes() -> None:
    budget = OperatingBudget(limit=1)
    budget.spend("m", 0.0, 2)
    assert budget.blocked("m", 30.0)
    assert budget.reset_at("m", 30.0) == 600
    assert not budget.blocked("m", 600.0)


def test_bucket_never_drains_the_same_time_twice_when_stamps_arrive_out_of_order() -> None:
    # Requests are stamped on arrival and counted under the portal lock, so a slightly older stamp can
    # be counted after a newer one; it must not rewind the bucket's clock and earn a second drain.
    bucket = LeakyBucket(rate=2, burst=2)
    assert [bucket.try_acquire(10.0), bucket.try_acquire(10.0)] == [True, True]
    assert not bucket.try_acquire(9.5)
    assert not bucket.try_acquire(10.0)
    assert bucket.try_acquire(10.5)


def test_operating_baskets_open_at_their_first_call_not_on_the_minute() -> None:
    budget = OperatingBudget(limit=100)
    budget.spend("m", 45.0, 3)  # opens a basket at 45 s, not at the minute boundary 0 s
    budget.spend("m", 100.0, 2)  # 55 s later: same basket
    budget.spend("m", 105.0, 4)  # 60 s after it opened: a new basket
    assert budget.operating("m", 106.0) == 9
    assert budget.reset_at("m", 106.0) == 645
    assert budget.operating("m", 645.0) == 4  # the first basket (5 s) let go ten minutes after 45 s
    assert budget.reset_at("m", 645.0) == 705
    assert budget.operating("m", 705.0) == 0
