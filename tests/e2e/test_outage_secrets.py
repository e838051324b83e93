"""A database with a password, a database outage and a failing portal, with Sentry at a local receiver:
no secret in anything that leaves the processes (envelopes, logs, /readyz, /metrics, CLI output), and
each failure episode is one Sentry report (and one recovery note), however many polls fail during it.

The outage is real: the service reaches PostgreSQL through a TCP proxy in this test, which is cut (every
connection dropped, new ones refused) and restored. The server trusts loopback connections, so the URL
carries a password the server never checks; the service still holds it, which is what matters here.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from service.sandbox import SandboxServer
from service.sandbox.control import apply_config
from tests.e2e.commands import run_cli
from tests.e2e.harness import TOKEN, SentryReceiver, Service, running, service_env, wait_for
from tests.e2e.workload import event_form, seed_tasks
from tests.pgschema import POSTGRES_URL, postgres_unavailable, throwaway_schema

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
DB_PASSWORD = "0utage-pa55w0rd-4d3c2b"
CODE = "0utagewh00kc0de9"
OUTAGE_SECONDS = 8


class CuttableProxy:
    """127.0.0.1:port → PostgreSQL; `cut()` drops every connection and refuses new ones until `restore()`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._up = threading.Event()
        self._up.set()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                client.close()  # refused while cut
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            return  # cut, or the other end went away
        finally:
            for end in (source, sink):
                end.close()

    def cut(self) -> None:
        self._up.clear()
        with self._lock:
            dropped, self._open = self._open, []
        for connection in dropped:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def restore(self) -> None:
        self._up.set()

    def close(self) -> None:
        self.cut()
        self._listener.close()


@pytest.fixture
def proxied_url() -> Iterator[tuple[str, CuttableProxy]]:
    if reason := postgres_unavailable():
        pytest.skip(reason)
    proxy = CuttableProxy(("127.0.0.1", 5432))
    with throwaway_schema("outage") as url:
        # The same database and schema, through the proxy, with a password in the URL.
        rest = url.split("@", 1)[1].split("/", 1)[1]
        assert POSTGRES_URL.startswith("postgresql://postgres@")
        try:
            yield f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:{proxy.port}/{rest}", proxy
        finally:
            proxy.close()


def reports(sentry: SentryReceiver) -> list[dict[str, object]]:
    return [event for event in sentry.events() if "tags" in event]


def episodes_reported(sentry: SentryReceiver) -> Counter[tuple[str, str]]:
    """(area, 'failure' | 'recovered') → how many reports."""
    found: Counter[tuple[str, str]] = Counter()
    for event in reports(sentry):
        tags = event["tags"]
        assert isinstance(tags, dict)
        if "episode" in tags:
            found[(str(tags["episode"]), "recovered" if tags.get("kind") == "recovered" else "failure")] += 1
    return found


WORKER_AREAS = ("worker-loop", "processing", "sweep", "notify")


def worker_episodes_closed(counted: Counter[tuple[str, str]]) -> bool:
    """The worker reported the database outage somewhere, and every episode it opened is closed."""
    failed = sum(counted[(area, "failure")] for area in WORKER_AREAS)
    closed = all(counted[(area, "recovered")] == counted[(area, "failure")] for area in WORKER_AREAS)
    # The portal's episode was one sweep failure; the database outage adds at least one more.
    return failed >= 2 and closed


def test_outage_and_failing_portal_leak_nothing_and_report_once_per_episode(
    sandbox: SandboxServer, sentry: SentryReceiver, workdir: Path, proxied_url: tuple[str, CuttableProxy]
) -> None:
    url, proxy = proxied_url
    portal = sandbox.portal
    sandbox.portal.add_webhook(1, CODE, admin=True)
    seeded = seed_tasks(portal, 3)
    env = service_env(
        workdir,
        sandbox.webhook_url_for(1, CODE),
        B24_DATABASE_URL=url,
        SENTRY_DSN=sentry.dsn,
        B24_SWEEP_INTERVAL="1",
        B24_LOG_LEVEL="DEBUG",
    )
    service = Service(workdir, env)
    service.env["B24_WORKERS"] = "1"  # one web process: one ingest episode per outage
    texts: dict[str, str] = {}

    with running(service):
        assert service.post_event(event_form(seeded.task_ids[0])).status_code == 200

        # The portal fails for a while: every sweep in that time fails, one episode.
        apply_config(portal, {"faults": {"fail_all_for": 6, "fail_all_status": 500}})
        wait_for(lambda: episodes_reported(sentry)[("sweep", "failure")] >= 1, timeout=30)
        wait_for(lambda: episodes_reported(sentry)[("sweep", "recovered")] >= 1, timeout=40)

        # The database goes away: web and worker fail on every request and poll, one episode each.
        proxy.cut()
        outage_started = time.monotonic()
        during = [service.post_event(event_form(task_id)) for task_id in seeded.task_ids]
        assert {response.status_code for response in during} == {503}
        texts["readyz during the outage"] = requests.get(service.url + "/readyz", timeout=10).text
        texts["metrics during the outage"] = requests.get(service.url + "/metrics", timeout=10).text
        for args in (["audit"], ["sweep"]):
            done = run_cli(service, *args, check=False)
            assert done.returncode != 0
            texts[f"cli {' '.join(args)} during the outage"] = done.stdout + done.stderr
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))
        proxy.restore()

        for task_id in seeded.task_ids:
            assert service.post_event(event_form(task_id)).status_code == 200
        # Where the worker first meets the outage (its claim, a sweep, a notification retry) depends on
        # which call comes first; whichever it is, that episode must end with its recovery note.
        wait_for(lambda: worker_episodes_closed(episodes_reported(sentry)), timeout=60)
        wait_for(lambda: episodes_reported(sentry)[("ingest", "recovered")] >= 1, timeout=20)
        wait_for(lambda: {e.seconds for e in portal.entries_of(None)} == {60, 300, 3600} or None, timeout=40)
        texts["readyz after"] = requests.get(service.url + "/readyz", timeout=10).text
        texts["metrics after"] = requests.get(service.url + "/metrics", timeout=10).text
        texts["cli audit after"] = run_cli(service, "audit").stdout
        time.sleep(3)  # room for a duplicate report to arrive if there were one

    texts["service log"] = service.logs()
    texts["sentry envelopes"] = b"".join(sentry.raw).decode(errors="replace")

    counted = episodes_reported(sentry)
    # 8 s of polls every half second, and a request per task, each failed: one report per episode.
    assert counted[("ingest", "failure")] == 1, counted
    assert counted[("sweep", "failure")] in (1, 2), counted  # the portal's episode, and the database's
    for area in ("worker-loop", "processing", "notify"):
        assert counted[(area, "failure")] <= 1, counted  # one episode each at most, not one per poll
    for area in ("ingest", *WORKER_AREAS):
        assert counted[(area, "recovered")] == counted[(area, "failure")], (area, counted)
    logged = ("worker round failed", "sweep failed", "notification retry failed", "processing round failed")
    assert any(line in texts["service log"] for line in logged)  # the failures were there, and logged
    assert (
        '"ok": false' in texts["readyz during the outage"]
        or '"ok":false' in texts["readyz during the outage"]
    )
    for where, text in texts.items():
        for secret in (DB_PASSWORD, CODE, TOKEN):
            assert secret not in text, f"{secret[:4]}… found in {where}"
