"""Complete lists: the gateway pages whenever an answer says (or might hide) more rows; slow answers
are waited for past the portal's own 60 s limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from b24fake import FakePortal, batch_answer, ok, parse_cmd

from service.bitrix.client import BitrixClient
from service.bitrix.limiter import SharedLimiter
from service.bitrix.portal import PortalGateway, TaskState
from service.core.bitrix import BitrixError, Call, TransientError
from service.sandbox import SandboxServer, apply_config
from service.store.ratebucket import SqlRateBucket

SELECT = ["ID", "STATUS"]


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        apply_config(server.portal, {"rate": 1000, "burst": 1000})
        yield server


def gateway_for(url: str, rate_bucket: SqlRateBucket) -> PortalGateway:
    limiter = SharedLimiter(rate_bucket, "sandbox", 1000.0, 1000, sleep=lambda s: None)
    return PortalGateway(BitrixClient(url, limiter, sleep=lambda s: None))


def state(answer: TaskState | BitrixError) -> TaskState:
    assert isinstance(answer, TaskState), answer
    return answer


def test_capped_entry_lists_are_read_to_the_end(sandbox: SandboxServer, rate_bucket: SqlRateBucket) -> None:
    apply_config(sandbox.portal, {"elapsed_page_cap": True})  # the docs: at most 50 rows an answer
    for task_id, count in ((900, 120), (901, 50), (902, 3)):
        sandbox.portal.create_task("t", task_id=task_id, entries=[{"seconds": i} for i in range(count)])
    fetched = gateway_for(sandbox.webhook_url, rate_bucket).fetch([900, 901, 902], SELECT)
    for task_id, count in ((900, 120), (901, 50), (902, 3)):
        ids = [int(e["ID"]) for e in state(fetched[task_id]).entries]
        assert len(ids) == count
        assert ids == sorted(set(ids))  # each entry once, in order
        assert {e.id for e in sandbox.portal.entries_of(task_id)} == set(ids)
    pages = [c for c in sandbox.portal.calls("task.elapseditem.getlist") if "PARAMS" in c["params"]]
    assert len(pages) == 2  # 900's rows 51-100 and 101-120; 901's total says it is whole


def test_uncapped_lists_cost_no_extra_request(sandbox: SandboxServer, rate_bucket: SqlRateBucket) -> None:
    sandbox.portal.create_task("t", task_id=900, entries=[{"seconds": i} for i in range(120)])
    fetched = gateway_for(sandbox.webhook_url, rate_bucket).fetch([900], SELECT)
    assert len(state(fetched[900]).entries) == 120
    assert len(sandbox.portal.calls("batch")) == 1


def _answers(pages: dict[int, list[dict[str, str]]], silent: bool) -> Any:
    """Task 5: an unpaged list of 50 rows; later pages from `pages` by the >ID filter."""

    def handle(method: str, body: dict[str, Any]) -> tuple[int, Any]:
        results: dict[str, Any] = {}
        totals: dict[str, Any] = {}
        for key, cmd in body["cmd"].items():
            sub, params = parse_cmd(cmd)
            if sub == "tasks.task.get":
                results[key] = {"task": {"id": "5"}}
                continue
            after = int(params.get("FILTER[>ID]", 0))
            rows = pages.get(after, [])
            results[key] = rows
            if not silent:
                totals[key] = len(rows)
        answer = batch_answer(results)
        answer[1]["result"]["result_total"] = totals or []
        return answer

    return handle


def entries(first: int, last: int) -> list[dict[str, str]]:
    return [{"ID": str(i), "TASK_ID": "5", "SECONDS": "0"} for i in range(first, last + 1)]


def test_a_full_page_that_says_nothing_is_never_taken_as_whole(
    session: requests.Session, portal: FakePortal, rate_bucket: SqlRateBucket
) -> None:
    limiter = SharedLimiter(rate_bucket, "acme", 1000.0, 1000, sleep=lambda s: None)
    gateway = PortalGateway(BitrixClient("https://acme.bitrix24.com/rest/1/c/", limiter, session=session))
    portal.handler = _answers({0: entries(1, 50), 50: entries(51, 60)}, silent=True)
    fetched = gateway.fetch([5], SELECT)
    assert [int(e["ID"]) for e in state(fetched[5]).entries] == list(range(1, 61))
    assert len(portal.sent) == 2


def test_a_failed_page_fails_the_task_instead_of_a_partial_list(
    session: requests.Session, portal: FakePortal, rate_bucket: SqlRateBucket
) -> None:
    limiter = SharedLimiter(rate_bucket, "acme", 1000.0, 1000, sleep=lambda s: None)
    gateway = PortalGateway(
        BitrixClient("https://acme.bitrix24.com/rest/1/c/", limiter, session=session, max_attempts=1)
    )
    portal.script.append(ok({"result": {"t5": {"task": {"id": "5"}}, "e5": entries(1, 50)}}))
    portal.script.append((500, {"error": "INTERNAL_SERVER_ERROR"}))
    fetched = gateway.fetch([5], SELECT)
    assert isinstance(fetched[5], TransientError)
    assert "HTTP 500" in str(fetched[5])


class TimeoutRecorder(FakePortal):
    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[Any] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.timeouts.append(kwargs.get("timeout"))
        return super().send(request, **kwargs)


def test_reads_wait_longer_than_the_portals_60_second_request_limit(rate_bucket: SqlRateBucket) -> None:
    recorder = TimeoutRecorder()
    recorder.script.append(ok([]))
    session = requests.Session()
    session.mount("https://", recorder)
    limiter = SharedLimiter(rate_bucket, "acme", 1000.0, 1000, sleep=lambda s: None)
    BitrixClient("https://acme.bitrix24.com/rest/1/c/", limiter, session=session).call(Call("scope"))
    [(connect, read)] = recorder.timeouts
    assert read > 60  # the portal stops a request at 60 s; its answer (or error) is still worth reading
    assert connect < 10
