"""Load generators for the ingest benchmark: `wrk` with post.lua, or a Python fallback without wrk."""

from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

SCRIPT = Path(__file__).with_name("post.lua")
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class Result:
    rps: float
    p99_ms: float
    ok: int  # 2xx answers
    errors: int  # other answers, socket errors and timeouts
    cpu_us: float = 0.0  # the server's CPU time per answered request (filled in by run.load)


def wrk_load(url: str, body: Path, args: argparse.Namespace) -> Result:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
               "-s", str(SCRIPT), url]  # fmt: skip
    env = {**os.environ, "B24_BENCH_BODY": str(body)}
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> Result:
    requests_match = re.search(r"(\d+) requests in", output)
    rps_match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99_match = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", output)
    if not (requests_match and rps_match and p99_match):
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    total = int(requests_match.group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    bad = int(non_2xx.group(1)) if non_2xx else 0
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = sum(int(n) for n in socket.groups()) if socket else 0
    p99 = float(p99_match.group(1)) * _UNITS_MS[p99_match.group(2)]
    return Result(float(rps_match.group(1)), p99, total - bad, bad + socket_errors)


def python_load(url: str, body: Path, args: argparse.Namespace) -> Result:
    """`connections` keep-alive connections in threads, each posting back to back for `duration` s."""
    payload = body.read_bytes()
    parts = urlsplit(url)
    deadline = time.monotonic() + args.duration
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()

    def client() -> None:
        mine: list[float] = []
        ok = errors = 0
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection.request("POST", parts.path, body=payload, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                connection.close()
                continue
            mine.append((time.perf_counter() - started) * 1000)
            ok, errors = (ok + 1, errors) if 200 <= response.status < 300 else (ok, errors + 1)
        connection.close()
        with lock:
            latencies.extend(mine)
            counts["ok"] += ok
            counts["errors"] += errors

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
    return Result((counts["ok"] + counts["errors"]) / elapsed, p99, counts["ok"], counts["errors"])
