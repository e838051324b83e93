"""What the benchmarks read: the sandbox portal's request counters, a command's wall and CPU time, and
the time a request count takes at a portal's rate limit (computed from a measured count)."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.sandbox import SandboxServer
from tests.e2e.harness import spawn, wait_for


def counts(sandbox: SandboxServer) -> dict[str, Any]:
    summary = sandbox.portal.stats.summary()
    calls = summary["calls"]
    return {
        "http": summary["http"]["total"],
        "calls": calls["total"] - calls["by_method"].get("batch", 0),  # methods run: sub-commands, not batch
        "http_503": sandbox.portal.served(503),
        "by_method": calls["by_method"],
    }


def own_cpu() -> float:
    """CPU seconds of this process so far (an in-process sandbox's serving included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def projected(http: int, rate: float, burst: float) -> float:
    """Seconds `http` requests need at `rate` r/s when the first `burst` go at once (computed)."""
    return max(0.0, http - burst) / rate


@dataclass(frozen=True)
class Finished:
    wall: float  # seconds
    cpu: float  # user + system seconds of the process and its children
    output: str


def command(workdir: Path, env: dict[str, str], *args: str) -> Finished:
    """`python -m service <args>` in `workdir`, its CPU from the kernel's accounting of the finished
    child; fails the benchmark when the command fails."""
    started = time.monotonic()
    with (workdir / "command.out").open("w+b") as out, (workdir / "command.err").open("w+b") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", *args], cwd=workdir, env={**os.environ, **env}, stdout=out,
            stderr=err,
        )  # fmt: skip
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        if process.returncode:
            raise SystemExit(f"{' '.join(args)} failed ({process.returncode}): {err.read().decode()[-2000:]}")
        return Finished(wall, usage.ru_utime + usage.ru_stime, out.read().decode())


def drain(workdir: Path, env: dict[str, str], workers: int, finished: Callable[[], bool]) -> Finished:
    """Run `workers` `b24rules worker --no-sweep` processes (the production loop, not `--once`) until
    `finished()` holds, then stop them: the seconds that took and their CPU seconds together."""
    started = time.monotonic()
    processes = [spawn(workdir, {**os.environ, **env}, workdir / f"worker-{n}.log", "worker", "--no-sweep")
                 for n in range(workers)]  # fmt: skip
    try:
        wait_for(
            lambda: finished() or any(p.poll() is not None for p in processes), timeout=7200, interval=0.2
        )
        elapsed = time.monotonic() - started
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
    cpu = 0.0
    for process in processes:
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
    if not finished():
        raise SystemExit(f"the workers stopped before the queue was drained; see {workdir}")
    return Finished(elapsed, cpu, "")
