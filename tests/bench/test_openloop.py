"""The open-loop load generator (bench/ingest/openloop.py): requests go out on schedule whatever the server
does, and latency counts from the time a request was due, not from when a connection was free to send it.
Only lower bounds on time are asserted (a loaded machine can only make them hold more easily)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import pytest

from bench.ingest.openloop import OpenLoop, due_at, event_id, percentile, scheduled_count

Hold = Callable[[int], Awaitable[None]]  # given the request's arrival number, returns when it may answer


class Server:
    """A raw HTTP/1.1 server on a loop of its own: answers each POST with {"id": arrival number} after
    `hold(arrival)` returns."""

    def __init__(self, hold: Hold) -> None:
        self.hold = hold
        self.arrivals = 0
        self.answered_before: list[int] = []  # arrivals seen when each answer went out
        self.port = 0
        self._loop = asyncio.new_event_loop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            arrival = self.arrivals
            self.arrivals += 1
            try:
                await self.hold(arrival)
            except ConnectionResetError:  # the handler dies: the connection closes with no answer
                break
            self.answered_before.append(self.arrivals)
            body = b'{"status":"queued","id":%d}' % (arrival + 100)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        writer.close()

    @contextmanager
    def running(self) -> Iterator[Server]:
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
            self.port = server.sockets[0].getsockname()[1]
            started.set()
            self._loop.run_forever()
            server.close()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        assert started.wait(10)
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            thread.join(10)


def generator(port: int, *, rate: float, count: int, connections: int) -> OpenLoop:
    return OpenLoop("127.0.0.1", port, "/e", lambda i: b"n=%d" % i, rate=rate, duration=count / rate,
                    connections=connections, grace=30)  # fmt: skip


def test_schedule_math() -> None:
    assert scheduled_count(500, 20) == 10_000
    assert scheduled_count(3, 0.999) == 2
    assert [due_at(i, 500) for i in (0, 1, 500)] == [0.0, 0.002, 1.0]
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile(list(map(float, range(1, 101))), 0.99) == 99.0
    assert percentile([], 0.99) == 0.0
    assert event_id(b'{"status":"queued","id":7}\n') == 7
    assert event_id(b"<html>") is None


def test_requests_go_out_on_schedule_without_waiting_for_answers() -> None:
    """Every answer is held until all 6 requests have arrived: a closed-loop client (next request after
    the previous answer) would never send them all, and each would time out into an error."""
    everyone = asyncio.Event()
    server: Server

    async def hold(_arrival: int) -> None:
        if server.arrivals == 6:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), timeout=20)

    server = Server(hold)
    with server.running():
        summary = generator(server.port, rate=50, count=6, connections=8).run()
    assert summary.errors == 0
    assert summary.ok == 6
    assert server.answered_before == [6] * 6
    assert sorted(summary.event_ids) == list(range(100, 106))
    assert summary.most_in_flight == 6


def test_latency_counts_from_when_the_request_was_due() -> None:
    """One connection, the first answer held 0.3 s: requests 1-4 were due 0.01-0.04 s after the first
    and waited for the connection, so each one's latency is at least 0.3 - 0.04 s although the server
    answered each of them at once. Counted from the send instead, they would be near zero."""

    async def hold(arrival: int) -> None:
        if arrival == 0:
            await asyncio.sleep(0.3)

    with Server(hold).running() as server:
        summary = generator(server.port, rate=100, count=5, connections=1).run()
    assert summary.ok == 5
    assert summary.p50_ms >= 260
    assert summary.max_ms >= 300


@pytest.mark.parametrize("connections", [1, 4])
def test_a_server_that_closes_without_answering_is_counted_as_errors(connections: int) -> None:
    async def hold(arrival: int) -> None:
        if arrival % 2:
            raise ConnectionResetError

    with Server(hold).running() as server:
        summary = generator(server.port, rate=200, count=8, connections=connections).run()
    assert (summary.sent, summary.ok, summary.errors) == (8, 4, 4)
    assert sorted(summary.event_ids) == [100, 102, 104, 106]
