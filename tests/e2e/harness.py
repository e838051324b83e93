"""Running the real service (as a subprocess, over loopback HTTP) next to the sandbox portal and a
local Sentry receiver, for end-to-end tests."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "sandbox" / "samples"
TOKEN = "k3v9w2x8y7z6q5p4o3n2m1l0k9j8h7g6"
MEMBER_ID = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
FORM = "application/x-www-form-urlencoded"
# A sandbox fault: the portal refuses a deletion as it refuses a non-author who is no administrator (the
# service itself works only with an administrator's webhook). Add "task_id" to aim it at one task.
NOT_ALLOWED = {
    "code": "ERROR_CORE",
    "status": 400,
    "description": "TASKS_ERROR_EXCEPTION_#4; Action is not allowed; 4/TE/ACTION_NOT_ALLOWED<br>",
}


def sample(name: str) -> bytes:
    """A sample event body, from the repository's samples (tests/sandbox/samples)."""
    return (SAMPLES / name).read_bytes()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until `condition()` is truthy; return its value or fail with what it last returned."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


class SentryReceiver:
    """A stand-in for Sentry's ingest endpoint: keeps every envelope it is sent, decoded."""

    def __init__(self) -> None:
        self.envelopes: list[list[dict[str, Any]]] = []
        self.raw: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                receiver.raw.append(body)
                receiver.envelopes.append(json_objects(body.decode(errors="replace")))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self._server.server_address[1]}/42"

    def events(self) -> list[dict[str, Any]]:
        return [item for envelope in self.envelopes for item in envelope if "event_id" in item]

    def stop(self) -> None:
        self._server.shutdown()


def json_objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects among `text`'s lines (a Sentry envelope, a JSON log); other lines are skipped."""
    found = []
    for line in text.split("\n"):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def spawn(workdir: Path, env: dict[str, str], log_path: Path, *args: str) -> subprocess.Popen[bytes]:
    """`python -m service <args>` with its output in `log_path`, in a session of its own (a stop reaches
    every process it forks, e.g. gunicorn's workers)."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "service", *args],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )


def stop_session(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM a spawned process's session and wait; SIGKILL it if it has not stopped within 30 s."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class Service:
    """`b24rules serve` as a subprocess on a free port, with its own database and rules folder."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "service.log"
        self.env = {**os.environ, **env, "PORT": str(self.port), "B24_WORKERS": "2"}
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, command: str = "serve") -> Service:
        self.process = spawn(self.workdir, self.env, self.log_path, command)
        wait_for(self._healthy, timeout=30)
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"service exited early:\n{self.logs()}")
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def post_event(self, body: bytes, content_type: str = FORM) -> requests.Response:
        return requests.post(
            self.url + "/bitrix24/events", data=body, headers={"Content-Type": content_type}, timeout=5
        )

    def stop(self) -> None:
        stop_session(self.process)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def service_env(
    workdir: Path, webhook_url: str, *, rules: Path | None = None, **extra: str
) -> dict[str, str]:
    rules_dir = workdir / "rules"
    if not rules_dir.exists():
        shutil.copytree(rules or ROOT / "rules", rules_dir)
    return {
        "B24_WEBHOOK_URL": webhook_url,
        "B24_APPLICATION_TOKEN": TOKEN,
        "B24_RULES_DIR": str(rules_dir),
        "B24_DATABASE_URL": database_url(workdir),
        "B24_SWEEP_INTERVAL": "0",
        "B24_LOG_FORMAT": "json",
        **extra,
    }


def rules_with(workdir: Path, replacements: dict[str, dict[str, str]]) -> Path:
    """A copy of the shipped rules with text replaced per file (e.g. a rule switched to enforce)."""
    folder = workdir / "rules"
    shutil.copytree(ROOT / "rules", folder)
    for name, changes in replacements.items():
        text = (folder / name).read_text()
        for old, new in changes.items():
            assert old in text, f"{old!r} not in {name}"
            text = text.replace(old, new)
        (folder / name).write_text(text)
    return folder


def database_url(workdir: Path) -> str:
    """The service's database in `workdir` (as `service_env` configures it), to inspect its state."""
    return f"sqlite:///{workdir / 'b24rules.sqlite3'}"


def control(sandbox_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the sandbox's HTTP control API (`/_sandbox/...`) and return its JSON answer."""
    response = requests.request(method, f"{sandbox_url}/_sandbox/{path}", json=body, timeout=10)
    assert response.status_code < 300, (path, response.status_code, response.text)
    return response.json()


@contextmanager
def running(service: Service, command: str = "serve") -> Iterator[Service]:
    service.start(command)
    try:
        yield service
    finally:
        service.stop()


class Scrape:
    """One Prometheus exposition, parsed: `value(name, **labels)` sums the samples whose labels match."""

    def __init__(self, text: str) -> None:
        from prometheus_client.parser import text_string_to_metric_families

        self.text = text
        self.samples = [
            (sample.name, dict(sample.labels), sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        return sum(v for n, found, v in self.samples if n == name and labels.items() <= found.items())

    def has(self, name: str) -> bool:
        return any(n == name for n, _, _ in self.samples)


def scrape(url: str) -> Scrape:
    """GET a /metrics URL and parse it (fails on anything but 200)."""
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return Scrape(response.text)
