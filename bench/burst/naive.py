"""The baseline: what a simple handler does per event — read the task, list its entries, delete each
matching entry — one plain REST request each, within the portal's rate limit (a client-side bucket)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import requests

from service.core.bitrix.leaky import Bucket, take


class Pacer:
    """The client-side bucket a simple handler keeps: the portal's leaky bucket, in this process only."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate, self._burst = rate, burst
        self._bucket = Bucket(0.0, time.time())

    def wait_turn(self) -> None:
        while True:
            self._bucket, wait = take(self._bucket, self._rate, self._burst, time.time())
            if wait <= 0:
                return
            time.sleep(wait)


class NaiveClient:
    def __init__(self, webhook_url: str, rate: float, burst: int) -> None:
        self._base = webhook_url
        self._session = requests.Session()
        self._pacer = Pacer(rate, burst)
        self.rejected = 0  # 503 answers (then retried after a pause)

    def call(self, method: str, params: dict[str, Any]) -> Any:
        while True:
            self._pacer.wait_turn()
            response = self._session.post(self._base + method, json=params, timeout=30)
            if response.status_code != 503:
                response.raise_for_status()
                return response.json().get("result")
            self.rejected += 1
            time.sleep(1.0)

    def handle(self, task_id: int) -> int:
        """One event: the three-step handler; returns the number of entries it deleted."""
        self.call("tasks.task.get", {"taskId": task_id, "select": ["ID", "STATUS"]})
        entries = self.call("task.elapseditem.getlist", {"TASKID": task_id, "ORDER": {"ID": "asc"}})
        zero = [int(e["ID"]) for e in entries or [] if int(e["SECONDS"]) == 0]
        for item_id in zero:
            self.call("task.elapseditem.delete", {"TASKID": task_id, "ITEMID": item_id})
        return len(zero)


def run_naive(webhook_url: str, events: Sequence[int], rate: float, burst: int) -> tuple[float, int]:
    """Handle `events` (task ids) in order; (seconds taken, 503 answers met)."""
    client = NaiveClient(webhook_url, rate, burst)
    start = time.monotonic()
    for task_id in events:
        client.handle(task_id)
    return time.monotonic() - start, client.rejected
