"""Hostile bodies against the real server: 2,000 fuzzed posts over keep-alive connections give no 5xx,
store exactly the events answered 200, and cause REST calls only for those; an early answer (413 …)
leaves a keep-alive connection usable, or says it closes and does."""

from __future__ import annotations

import contextlib
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from service.core.events import parse_form
from service.sandbox import SandboxServer
from service.web.drain import BODY_SECONDS
from tests.e2e.harness import FORM, MEMBER_ID, TOKEN, Service, running, service_env, wait_for
from tests.e2e.workload import database, event_form, rows, seed_tasks

pytestmark = pytest.mark.slow
BODIES, THREADS, SEED = 2000, 4, 20261201
REFUSED_IDS = range(700_001, 700_400)  # task ids only malformed or forged bodies name


def forged(token: str, position: int) -> str:
    return token[:position] + ("0" if token[position] != "0" else "1") + token[position + 1 :]


def hostile_bodies(rng: random.Random, valid_ids: tuple[int, ...]) -> Iterator[tuple[bytes, str]]:
    """(body, content type): valid events, forgeries, malformed and oversized bodies, random mutations."""
    for n in range(BODIES):
        refused_id = rng.choice(REFUSED_IDS)
        good = event_form(rng.choice(valid_ids))
        bad = event_form(refused_id)
        kind = n % 12
        if kind == 0:
            yield good, FORM
        elif kind == 1:  # the token changed at the first, a middle or the last character, or padded
            token = rng.choice(
                [forged(TOKEN, 0), forged(TOKEN, 16), forged(TOKEN, 31), f"%20{TOKEN}", f"{TOKEN}+"]
            )
            yield bad.replace(TOKEN.encode(), token.encode()), FORM
        elif kind == 2:  # the member id likewise
            yield bad.replace(MEMBER_ID.encode(), forged(MEMBER_ID, rng.randrange(32)).encode()), FORM
        elif kind == 3:  # task ids that are not quite numbers
            raw = rng.choice(["%0A", "%20", "+", ".0", "e3", "%00", "-"])
            yield bad.replace(str(refused_id).encode(), str(refused_id).encode() + raw.encode()), FORM
        elif kind == 4:  # random bytes flipped in an event for a task only refused bodies name
            body = bytearray(bad)
            for _ in range(rng.randint(1, 8)):
                body[rng.randrange(len(body))] = rng.randrange(256)
            yield bytes(body), FORM
        elif kind == 5:  # cut short
            yield bad[: rng.randrange(len(bad))], FORM
        elif kind == 6:  # padded past the limit, or just under it
            size = rng.choice([64 * 1024 - len(bad) - 10, 64 * 1024 + 1, 70 * 1024, 300 * 1024])
            yield bad + b"&pad=" + b"x" * max(0, size), FORM
        elif kind == 7:  # another content type
            yield bad, rng.choice(["application/json", "text/plain", "", "multipart/form-data; boundary=x"])
        elif kind == 8:  # duplicated and conflicting keys
            yield (
                bad
                + rng.choice(
                    [b"&auth=x", b"&data=1", b"&event%5B%5D=x", b"&auth%5Bapplication_token%5D%5Bx%5D=1"]
                ),
                FORM,
            )
        elif kind == 9:  # garbage
            yield bytes(rng.randrange(256) for _ in range(rng.randint(0, 400))), FORM
        elif kind == 10:  # too many fields, deep keys, long values
            yield bad + b"&" + b"&".join(b"k%d=v" % i for i in range(rng.choice([10, 600]))), FORM
        else:  # fields over the journal's sizes
            yield bad.replace(b"acme.bitrix24.com", b"d" * rng.choice([255, 256, 5000])), FORM


def post_all(service: Service, cases: list[tuple[bytes, str]]) -> list[tuple[bytes, int, dict[str, object]]]:
    url = service.url + "/bitrix24/events"

    def post_share(share: list[tuple[bytes, str]]) -> list[tuple[bytes, int, dict[str, object]]]:
        answers = []
        with requests.Session() as session:  # one keep-alive connection per thread, whatever the answers
            for body, content_type in share:
                response = session.post(url, data=body, headers={"Content-Type": content_type}, timeout=15)
                answers.append((body, response.status_code, response.json()))
        return answers

    with ThreadPoolExecutor(THREADS) as pool:
        shares = [cases[n::THREADS] for n in range(THREADS)]
        return [answer for answers in pool.map(post_share, shares) for answer in answers]


def named_task_ids(calls: list[dict[str, object]]) -> set[int]:
    return {int(number) for call in calls for number in re.findall(r"\b(\d{6})\b", str(call["params"]))}


def test_fuzzed_bodies_never_fail_the_server_and_store_and_call_only_what_was_accepted(
    sandbox: SandboxServer, workdir: Path
) -> None:
    seeded = seed_tasks(sandbox.portal, 8)
    service = Service(workdir, service_env(workdir, sandbox.webhook_url))
    cases = list(hostile_bodies(random.Random(SEED), seeded.task_ids))

    with running(service):
        answers = post_all(service, cases)
        accepted = {int(str(body["id"])): sent for sent, code, body in answers if code == 200}
        wait_for(lambda: {r["status"] for r in rows(database(service))} <= {"done", "ignored"}, timeout=60)

    codes = [code for _, code, _ in answers]
    assert len(codes) == BODIES
    assert [code for code in codes if code >= 500] == []
    assert set(codes) <= {200, 400, 401, 413}
    assert {400, 401, 413} <= set(codes)  # the fuzz reached every kind of refusal
    stored = rows(database(service))
    assert sorted(r["id"] for r in stored) == sorted(accepted)  # exactly the 200s, each once
    accepted_ids = {parse_form(body, FORM).task_id for body in accepted.values()}
    assert {r["task_id"] for r in stored} == accepted_ids
    refused_only = set(REFUSED_IDS) - accepted_ids
    assert named_task_ids(sandbox.portal.calls()) & refused_only == set()
    assert set(seeded.task_ids) <= accepted_ids  # and the genuine events were acted on


def raw_post(connection: socket.socket, body: bytes) -> None:
    head = f"POST /bitrix24/events HTTP/1.1\r\nHost: t\r\nContent-Type: {FORM}\r\n"
    connection.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)


def raw_answer(connection: socket.socket) -> tuple[int, dict[str, str]] | None:
    """The status and headers of the next answer (its body read too), or None when the server closed."""
    reader = connection.makefile("rb")
    status_line = reader.readline()
    if not status_line:
        return None
    headers: dict[str, str] = {}
    while (line := reader.readline().decode()) not in ("\r\n", ""):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    reader.read(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers


def test_after_an_early_answer_a_keep_alive_client_keeps_working(
    sandbox: SandboxServer, workdir: Path
) -> None:
    sandbox.portal.create_task("t", task_id=691, entries=[{"seconds": 60}])
    service = Service(workdir, service_env(workdir, sandbox.webhook_url))
    forgery = event_form(691).replace(TOKEN.encode(), forged(TOKEN, 5).encode())
    with running(service, "web"):
        for size in (64 * 1024 + 1, 200 * 1024):  # drained: the same connection answers the next request
            with socket.create_connection(("127.0.0.1", service.port), timeout=10) as connection:
                raw_post(connection, b"a=" + b"x" * (size - 2))
                first = raw_answer(connection)
                assert first is not None
                assert first[0] == 413
                assert first[1].get("connection") == "keep-alive"
                raw_post(connection, forgery)
                second = raw_answer(connection)  # a hang would fail on the socket's timeout
                assert second is not None, f"{size}: said keep-alive, then dropped the next request"
                assert second[0] == 401
        # Past the drain bound the answer says it closes, and the connection ends (it never hangs).
        with socket.create_connection(("127.0.0.1", service.port), timeout=10) as connection:
            sender = threading.Thread(
                target=send_quietly, args=(connection, b"a=" + b"x" * (3 * 1024 * 1024))
            )
            sender.start()
            # A reset is fine too: the server closed while our unsent megabytes were still arriving.
            with contextlib.suppress(ConnectionResetError):
                answer = raw_answer(connection)
                assert answer is None or (answer[0] == 413 and answer[1].get("connection") == "close")
                assert connection.recv(1) == b""
            sender.join(timeout=10)


def send_quietly(connection: socket.socket, body: bytes) -> None:
    with contextlib.suppress(OSError):  # the server answered and closed before taking it all
        raw_post(connection, body)


def test_a_body_that_stops_arriving_is_answered_408_and_frees_its_thread(
    sandbox: SandboxServer, workdir: Path
) -> None:
    """Headers, a tenth of the body, then nothing: the server gives up after BODY_SECONDS instead of
    holding one of its threads for as long as the client likes, and closes the connection."""
    service = Service(workdir, service_env(workdir, sandbox.webhook_url))
    with running(service, "web"):
        stalled = []
        for _ in range(3):
            connection = socket.create_connection(("127.0.0.1", service.port), timeout=BODY_SECONDS + 10)
            head = f"POST /bitrix24/events HTTP/1.1\r\nHost: t\r\nContent-Type: {FORM}\r\n"
            connection.sendall(f"{head}Content-Length: 1000\r\n\r\n".encode() + b"a=" + b"x" * 98)
            stalled.append(connection)
        started = time.monotonic()
        answers = [raw_answer(connection) for connection in stalled]
        waited = time.monotonic() - started
        assert all(connection.recv(1) == b"" for connection in stalled)  # closed, not kept alive
        for connection in stalled:
            connection.close()
        url, form = service.url + "/bitrix24/events", {"Content-Type": FORM}
        healthy = requests.post(url, data=event_form(691), headers=form, timeout=10)

    assert [(a[0], a[1].get("connection")) if a else None for a in answers] == [(408, "close")] * 3
    assert waited < BODY_SECONDS + 5
    assert healthy.status_code == 200
    assert [r["task_id"] for r in rows(database(service))] == [691]  # only the whole event was stored
