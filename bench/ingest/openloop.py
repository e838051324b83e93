"""An open-loop load generator: POSTs on a fixed schedule, whatever the server answers.

wrk (closed-loop) sends a connection's next request only once the previous answer is in, so a slow server
is sent less and its stalls hide from the percentiles ("coordinated omission"). Here request `i` is due
at `start + i / rate`; it is handed to the first free keep-alive connection (up to `connections` of them;
when all are busy it waits in line), and its latency is counted from the time it was **due**, not from the
time it went out: time spent waiting for a free connection counts against the server.

The tool's own lateness is reported apart (`lag`: how late the dispatcher handed a request over; the
event loop's own delay, before any connection or server is involved): when its p99 is not small, the
tool, not the server, was measured. Raw HTTP/1.1 over asyncio streams: ~10k requests cost well under
a second of one core.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

HEAD = "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"


def due_at(index: int, rate: float) -> float:
    """Seconds after the start at which request `index` (0-based) is due."""
    return index / rate


def scheduled_count(rate: float, duration: float) -> int:
    """How many requests a run of `duration` seconds at `rate` per second sends."""
    return math.floor(rate * duration + 1e-9)


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0.0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Outcome:
    """What became of one scheduled request (times in seconds on the loop's clock)."""

    due: float
    finished: float | None = None  # None: no answer (socket error or cut off at the end)
    status: int = 0
    event_id: int | None = None

    @property
    def latency(self) -> float | None:
        """From the time the request was due (not when it was sent) to its answer."""
        return None if self.finished is None else self.finished - self.due


@dataclass
class Summary:
    sent: int
    ok: int  # 200 answers
    errors: int  # any other answer, socket errors, no answer by the end
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    rate: float  # answered requests per second, over the scheduled span
    lag_p99_ms: float  # the generator's own lateness handing requests over
    lag_max_ms: float
    most_in_flight: int
    event_ids: list[int] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.rate:,.1f}/s  p50 {self.p50_ms:.1f}  p90 {self.p90_ms:.1f}  p99 {self.p99_ms:.1f}  "
            f"max {self.max_ms:.1f} ms  200s {self.ok:,}  errors {self.errors}  "
            f"in flight <= {self.most_in_flight}  tool lag p99 {self.lag_p99_ms:.2f} ms"
        )


def summarize(outcomes: Sequence[Outcome], lags: Sequence[float], span: float, most: int) -> Summary:
    """Percentiles over every answered request (a 503 is an answer too; no answer is only an error)."""
    latencies = sorted(o.latency * 1000 for o in outcomes if o.latency is not None)
    ok = [o for o in outcomes if o.status == 200]
    lag = sorted(x * 1000 for x in lags)
    return Summary(
        sent=len(outcomes),
        ok=len(ok),
        errors=len(outcomes) - len(ok),
        p50_ms=percentile(latencies, 0.50),
        p90_ms=percentile(latencies, 0.90),
        p99_ms=percentile(latencies, 0.99),
        max_ms=latencies[-1] if latencies else 0.0,
        rate=len(latencies) / span if span > 0 else 0.0,
        lag_p99_ms=percentile(lag, 0.99),
        lag_max_ms=lag[-1] if lag else 0.0,
        most_in_flight=most,
        event_ids=[o.event_id for o in ok if o.event_id is not None],
    )


def event_id(body: bytes) -> int | None:
    """The journal id in a 200's body ({"status": …, "id": N}); None for any other body."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    found = value.get("id") if isinstance(value, dict) else None
    return found if isinstance(found, int) else None


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, keep = 0, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    return status, await reader.readexactly(length), keep


class OpenLoop:
    """One run: `bodies(i)` is request i's body; `rate` per second for `duration` seconds."""

    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        bodies: Callable[[int], bytes],
        *,
        rate: float,
        duration: float,
        connections: int = 64,
        grace: float = 10.0,
    ) -> None:
        self.host, self.port, self.path = host, port, path
        self.bodies = bodies
        self.rate, self.duration, self.connections, self.grace = rate, duration, connections, grace
        self._head = HEAD.format(path=path, host=f"{host}:{port}")
        self._in_flight = 0
        self._most = 0

    def run(self) -> Summary:
        return asyncio.run(self._run())

    async def _run(self) -> Summary:
        loop = asyncio.get_running_loop()
        count = scheduled_count(self.rate, self.duration)
        queue: asyncio.Queue[int] = asyncio.Queue()
        start = loop.time() + 0.05
        outcomes = [Outcome(start + due_at(i, self.rate)) for i in range(count)]
        lags: list[float] = []
        clients = [asyncio.create_task(self._client(queue, outcomes)) for _ in range(self.connections)]
        for index, outcome in enumerate(outcomes):
            delay = outcome.due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append(max(0.0, loop.time() - outcome.due))
            queue.put_nowait(index)
        for _ in clients:
            queue.put_nowait(-1)  # no more work: each client stops after its last answer
        _done, late = await asyncio.wait(clients, timeout=self.grace)
        for client in late:  # still waiting for answers `grace` s after the last request was due
            client.cancel()
        await asyncio.gather(*clients, return_exceptions=True)
        span = count / self.rate
        return summarize(outcomes, lags, span, self._most)

    async def _client(self, queue: asyncio.Queue[int], outcomes: list[Outcome]) -> None:
        loop = asyncio.get_running_loop()
        streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while (index := await queue.get()) >= 0:
                outcome = outcomes[index]
                body = self.bodies(index)
                self._in_flight += 1
                self._most = max(self._most, self._in_flight)
                try:
                    if streams is None:
                        streams = await asyncio.open_connection(self.host, self.port)
                    reader, writer = streams
                    writer.write(b"%sContent-Length: %d\r\n\r\n%s" % (self._head.encode(), len(body), body))
                    status, answer, keep = await _answer(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    _close(streams)  # no answer: an error, outside the percentiles
                    streams = None
                    continue
                finally:
                    self._in_flight -= 1
                outcome.finished = loop.time()
                outcome.status = status
                outcome.event_id = event_id(answer) if status == 200 else None
                if not keep:
                    _close(streams)
                    streams = None
        finally:
            _close(streams)


def _close(streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
    if streams is not None:
        streams[1].close()
