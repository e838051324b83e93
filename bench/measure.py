"""What the benchmarks read: the sandbox portal's request counters, a command's wall and CPU time, and
the time a request count takes at a portal's rate limit (computed from a measured count)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.sandbox import SandboxServer


def counts(sandbox: SandboxServer) -> dict[str, Any]:
    summary = sandbox.portal.stats.summary()
    calls = summary["calls"]
    return {
        "http": summary["http"]["total"],
        "calls": calls["total"] - calls["by_method"].get("batch", 0),  # methods run: sub-commands, not batch
        "http_503": sandbox.portal.served(503),
        "by_method": calls["by_method"],
    }


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
