"""`b24rules worker` processes beside a `Service` (the scaled shape): each with its own log file, able to
be signalled like a pod, and read back through its JSON log lines."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.e2e.harness import Service, json_objects, spawn, stop_session


class WorkerProcess:
    """`b24rules worker` as a subprocess (no HTTP port), sharing a `Service`'s database and settings.

    `sweep=False` starts it with `--no-sweep`: the workload tests drive the sweep themselves."""

    def __init__(self, service: Service, name: str, *, sweep: bool = False) -> None:
        self.name = name
        self.env = dict(service.env)
        self.workdir = service.workdir
        self.log_path = service.workdir / f"{name}.log"
        self.args = ("worker",) if sweep else ("worker", "--no-sweep")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.process = spawn(self.workdir, self.env, self.log_path, *self.args)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        stop_session(self.process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def lines(self) -> list[dict[str, Any]]:
        """The worker's JSON log lines (anything else it printed is skipped)."""
        return json_objects(self.log())

    def evaluations(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("msg") == "evaluated"]


def start_workers(service: Service, count: int, prefix: str = "worker") -> list[WorkerProcess]:
    return [WorkerProcess(service, f"{prefix}-{n}").start() for n in range(count)]


@contextmanager
def scaled(service: Service, workers: int) -> Iterator[list[WorkerProcess]]:
    """The scaled shape: `b24rules web` (the service's port) plus `workers` worker processes."""
    fleet = [WorkerProcess(service, f"worker-{n}", sweep=True) for n in range(workers)]
    service.start("web")
    try:
        for process in fleet:
            process.start()
        yield fleet
    finally:
        for process in fleet:
            process.stop()
        service.stop()


def logs_of(workers: Iterable[WorkerProcess]) -> str:
    return "\n".join(f"--- {w.name}\n" + w.log() for w in workers)
