"""`serve`'s worker process: forked from `serve` itself, kept running, stopped with it.

The first worker is forked from the `serve` process once that has imported the whole service and before
any thread or database connection exists, with its objects frozen out of the garbage collector's reach
(`gc.freeze`): the worker then shares the imported modules' memory with `serve` and gunicorn's web
processes (forked from the same process, after the same freeze) instead of importing everything again
in an interpreter of its own, and the collector does not copy those pages by touching them. A worker
that exits is started again after a pause — by `python -m service worker` then, since forking from a
process whose threads are running is not safe.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import click


class Child(Protocol):
    pid: int

    def poll(self) -> int | None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class Forked:
    """A child made with `os.fork`, with the part of `subprocess.Popen`'s interface the supervisor uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by gunicorn's arbiter, which waits for any child
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0)
            time.sleep(0.05)
        assert self.returncode is not None
        return self.returncode

    def _signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)


def fork_worker(work: Callable[[], None]) -> Forked:
    """Run `work` in a forked child, which exits when it returns (never through the parent's atexit
    handlers or its `finally` blocks). Call before any thread or database connection exists."""
    gc.freeze()
    pid = os.fork()
    if pid:
        return Forked(pid)
    code = 1
    try:
        work()
        code = 0
    except SystemExit as stop:
        code = 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 1
    except BaseException as error:
        click.echo(f"worker failed: {type(error).__name__}", err=True)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class WorkerSupervisor:
    """Keeps `serve`'s worker process running: restarts it (with a pause) if it ever exits."""

    def __init__(self, first: Child) -> None:
        self._stopping = threading.Event()
        self._process: Child = first
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @staticmethod
    def _spawn() -> Child:
        return subprocess.Popen([sys.executable, "-m", "service", "worker"])

    def _watch(self) -> None:
        while not self._stopping.wait(2.0):
            process = self._process
            if process.poll() is not None and not self._stopping.is_set():
                click.echo(f"worker exited with {process.poll()}; restarting it", err=True)
                self._stopping.wait(3.0)
                if not self._stopping.is_set():
                    self._process = self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        stop_children([self._process])


def stop_children(children: Sequence[Child]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
