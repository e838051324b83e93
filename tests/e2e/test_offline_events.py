"""Offline delivery end to end: the portal queues changes while b24rules is down; started, it pulls,
journals once per message id, processes, and clears exactly what it stored. A poller killed (SIGKILL)
between get and clear loses nothing and stores nothing twice."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from service.sandbox import Portal, PortalConfig, SandboxServer
from service.store.db import make_engine
from tests.e2e.harness import Service, control, database_url, running, service_env, wait_for

TASKS = range(1000, 1300)  # 300 tasks, one change each while the service is down


@pytest.fixture
def portal() -> Iterator[SandboxServer]:
    server = SandboxServer(
        Portal(config=PortalConfig(domain="gamma.bitrix24.test", member_id="c" * 32))
    ).start()
    try:
        yield server
    finally:
        server.stop()


def _service(workdir: Path, portal: SandboxServer) -> Service:
    env = service_env(workdir, "", B24_APP_CLIENT_ID="local.sandbox0000000000.00000000",
                      B24_APP_CLIENT_SECRET="sandbox-client-secret",
                      B24_ENCRYPTION_KEY=Fernet.generate_key().decode(), B24_DELIVERY="offline",
                      B24_RATE_LIMIT="5", B24_RATE_BURST="250",
                      B24_OAUTH_URL=portal.url + "/oauth/token/")  # fmt: skip
    del env["B24_WEBHOOK_URL"], env["B24_APPLICATION_TOKEN"]
    service = Service(workdir, env)
    service.env["B24_PUBLIC_URL"] = service.url
    return service


def _change_tasks_while_down(portal: SandboxServer) -> None:
    for task_id in TASKS:
        portal.portal.create_task(f"t{task_id}", task_id=task_id, entries=[{"seconds": 0}, {"seconds": 90}])
        portal.sender.send("ONTASKADD", task_id)  # queued offline: nobody is listening online


def _all_cleaned(portal: SandboxServer) -> bool:
    return all(e.seconds != 0 for t in TASKS for e in portal.portal.entries_of(t))


def _journal(workdir: Path) -> tuple[int, int]:
    engine = make_engine(database_url(workdir))
    with engine.connect() as connection:
        events = connection.scalar(text("SELECT count(*) FROM events WHERE handler_id = 'offline'"))
        messages = connection.scalar(text("SELECT count(*) FROM offline_messages"))
    engine.dispose()
    return int(events or 0), int(messages or 0)


def _queued_message_ids(portal: SandboxServer) -> set[str]:
    return {row.message_id for row in portal.portal.app.offline}


def test_changes_made_while_down_are_all_processed_and_cleared_exactly(
    portal: SandboxServer, workdir: Path
) -> None:
    service = _service(workdir, portal)
    with running(service):
        control(portal.url, "POST", "app/install", {"url": service.url + "/bitrix24/install"})
        bindings = control(portal.url, "GET", "app")["bindings"]
        assert {b["event"] for b in bindings if b["event_type"] == "offline"} == {
            "ONTASKADD", "ONTASKUPDATE", "ONTASKDELETE"
        }  # fmt: skip
    _change_tasks_while_down(portal)
    queued = _queued_message_ids(portal)
    assert len(queued) == len(TASKS)

    with running(service):
        wait_for(lambda: _all_cleaned(portal) and not portal.portal.app.offline, timeout=50)

    cleared = [c for c in portal.portal.calls("event.offline.clear") if c["status"] == 200]
    cleared_ids = [m for call in cleared for m in call["params"]["message_id"]]
    assert sorted(cleared_ids) == sorted(queued)  # every one cleared, each once, nothing else
    assert _journal(workdir) == (len(TASKS), len(TASKS))


def test_a_poller_killed_between_get_and_clear_loses_nothing_and_stores_nothing_twice(
    portal: SandboxServer, workdir: Path
) -> None:
    service = _service(workdir, portal)
    with running(service):
        control(portal.url, "POST", "app/install", {"url": service.url + "/bitrix24/install"})
    _change_tasks_while_down(portal)
    # Every clear fails: the poller gets, stores, and is killed before any clear got through.
    control(
        portal.url,
        "POST",
        "config",
        {"faults": {"forced": {"event.offline.clear": {"code": "INTERNAL_SERVER_ERROR"}}}},
    )

    def failed_clear() -> list[dict[str, object]]:
        return [c for c in portal.portal.calls("event.offline.clear") if c["status"] != 200]

    service.start()
    try:
        wait_for(lambda: _journal(workdir)[1] >= 50 and failed_clear(), timeout=40)
        assert len(portal.portal.app.offline) == len(TASKS)  # nothing was cleared at the portal yet
    finally:
        assert service.process is not None
        os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait()
    control(portal.url, "POST", "config", {"faults": {"forced": {"event.offline.clear": None}}})

    with running(service):
        wait_for(lambda: _all_cleaned(portal) and not portal.portal.app.offline, timeout=50)

    assert _journal(workdir) == (len(TASKS), len(TASKS))  # one journal event per message, no twins
    deleted = [c for c in portal.portal.calls("task.elapseditem.delete") if c["status"] == 200]
    assert len(deleted) == len(TASKS)  # one zero-second entry per task, deleted once


def _notices(portal: SandboxServer) -> list[dict[str, object]]:
    with portal.portal.app.lock:
        return list(portal.portal.app.offline_notices)


def _gets(portal: SandboxServer) -> int:
    return len(portal.portal.calls("event.offline.get"))


def _zero_left(portal: SandboxServer, task_id: int) -> bool:
    return any(e.seconds == 0 for e in portal.portal.entries_of(task_id))


def test_onofflineevent_wakes_the_poller_out_of_its_long_interval(
    portal: SandboxServer, workdir: Path
) -> None:
    """Once the portal has sent ONOFFLINEEVENT the poller's REST interval is 30 s; each notice makes it
    pull within about a second. With the notice unbound, a change waits for the interval."""
    service = _service(workdir, portal)
    with running(service):
        control(portal.url, "POST", "app/install", {"url": service.url + "/bitrix24/install"})
        bound = {
            (b["event"], b["event_type"], b["handler"]) for b in control(portal.url, "GET", "app")["bindings"]
        }
        assert ("ONOFFLINEEVENT", "online", service.url + "/bitrix24/events") in bound
        wait_for(lambda: _gets(portal) >= 1)  # the portal's poller started

        # The first notice: from now on the poller's REST polls are 30 s apart.
        portal.portal.create_task("first", task_id=2000, entries=[{"seconds": 0}])
        portal.sender.send("ONTASKUPDATE", 2000)
        wait_for(lambda: not _zero_left(portal, 2000), timeout=10, interval=0.05)
        time.sleep(1.1)  # the portal's pause between two notices (minTimeout = 1 s)
        pulls = _gets(portal)

        portal.portal.create_task("woken", task_id=2001, entries=[{"seconds": 0}, {"seconds": 90}])
        started = time.monotonic()
        portal.sender.send("ONTASKUPDATE", 2001)  # queued offline; the portal posts ONOFFLINEEVENT to us
        wait_for(lambda: not _zero_left(portal, 2001), timeout=10, interval=0.05)
        took = time.monotonic() - started
        assert took < 5, took  # pulled on the notice (typically under a second), not after 30 s
        assert _gets(portal) == pulls + 1  # one pull, the woken one
        assert [d["status"] for d in _notices(portal)] == [200, 200]

        with portal.portal.app.lock:  # no more notices: the next change waits for the REST interval
            portal.portal.app.bindings = [
                b for b in portal.portal.app.bindings if b.event != "ONOFFLINEEVENT"
            ]
        pulls = _gets(portal)
        portal.portal.create_task("unwoken", task_id=2002, entries=[{"seconds": 0}])
        portal.sender.send("ONTASKUPDATE", 2002)
        time.sleep(5)  # what is asserted is that nothing happens within this time
        assert _zero_left(portal, 2002)
        assert _gets(portal) == pulls
