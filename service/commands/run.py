"""Commands that run the service: serve (everything), web, worker, sandbox."""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import click

from service.commands.common import ensure_metrics_dir, metrics_dir_or_exit, resources_for, settings_or_exit
from service.commands.supervisor import WorkerSupervisor, fork_worker, stop_children
from service.plumbing.settings import ConfigError

# The application token of the sample events in the docs, so a newcomer's `curl` of a sample works.
SANDBOX_TOKEN = "k3v9w2x8y7z6q5p4o3n2m1l0k9j8h7g6"  # noqa: S105 (public demo value)
SANDBOX_CODE = "sandbox"


@click.command()
@click.option(
    "--sandbox/--no-sandbox",
    default=False,
    help="With no portal configured (no B24_WEBHOOK_URL), start the built-in sandbox portal. "
    "For trying b24rules out; production never falls back to it.",
)
@click.option("--sandbox-port", type=int, default=9099, show_default=True)
def serve(sandbox: bool, sandbox_port: int) -> None:
    """Run web, worker and sweeper together (the embedded, single-machine way)."""
    settings = settings_or_exit()
    children: list[subprocess.Popen[bytes]] = []
    if settings.b24_webhook_url is None and sandbox:
        children.append(_start_sandbox(sandbox_port, settings.port))
        os.environ["B24_WEBHOOK_URL"] = f"http://127.0.0.1:{sandbox_port}/rest/1/{SANDBOX_CODE}/"
        os.environ.setdefault("B24_APPLICATION_TOKEN", SANDBOX_TOKEN)
        settings = settings_or_exit()
        _sandbox_banner(sandbox_port, settings.port)
    try:
        settings.require_portal()
    except Exception as error:
        stop_children(children)
        raise click.ClickException(f"configuration: {error}") from None
    try:
        ensure_metrics_dir()
    except click.ClickException:
        stop_children(children)  # the sandbox started above must not outlive this failure
        raise
    # The whole service, imported before the worker and gunicorn's web processes are forked: they share it.
    from service.assembly.webwiring import run_web

    # The worker is `b24rules worker` with this environment, as if started on its own.
    first = fork_worker(lambda: worker.main(args=[], prog_name="b24rules worker"))
    supervisor = WorkerSupervisor(first)
    supervisor.start()
    atexit.register(supervisor.stop)
    atexit.register(stop_children, children)

    def on_exit(_arbiter: object) -> None:
        supervisor.stop()
        stop_children(children)

    run_web(settings, on_exit=on_exit)


@click.command()
def web() -> None:
    """Run only the HTTP half (gunicorn): event intake, /healthz, /readyz, /metrics."""
    settings = settings_or_exit()
    try:
        if settings.app_mode:
            settings.require_application()
        elif settings.application_token is None:
            raise click.ClickException("configuration: B24_APPLICATION_TOKEN is not set")
    except ConfigError as error:
        raise click.ClickException(f"configuration: {error}") from None
    ensure_metrics_dir()
    from service.assembly.webwiring import run_web

    run_web(settings)


@click.command()
@click.option("--once", is_flag=True, help="Process what is queued now, then exit.")
@click.option(
    "--metrics-port",
    type=int,
    envvar="B24_METRICS_PORT",
    default=None,
    help="Serve this worker's Prometheus metrics on this port (scaled deployments).",
)
@click.option("--no-sweep", is_flag=True, help="Do not run the reconciliation sweeper in this process.")
@click.option(
    "--grace",
    type=click.FloatRange(0.5, 3600),
    envvar="B24_WORKER_GRACE_SECONDS",
    default=15.0,
    show_default=True,
    help="After SIGTERM, how long the round in progress may take before it is abandoned (its tasks "
    "given back) and the process exits. Keep it below the platform's own grace period.",
)
def worker(once: bool, metrics_port: int | None, no_sweep: bool, grace: float) -> None:
    """Run only the processing loop (and the sweeper): claim events, evaluate, delete."""
    settings = settings_or_exit()
    try:
        settings.require_portal()
    except Exception as error:
        raise click.ClickException(f"configuration: {error}") from None
    metrics_dir_or_exit()
    resources = resources_for(settings, "worker")
    from service.assembly.wiring import make_worker

    loop = make_worker(resources, sweep=not no_sweep)
    if once:
        rounds = loop.drain(timeout=None)  # what is queued, however long it takes
        click.echo(f"processed {rounds} round(s)")
        return
    if metrics_port:
        from prometheus_client import start_http_server

        # A worker pod serves only its own process's samples: no shared multiprocess folder needed.
        start_http_server(metrics_port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    from service.pipeline.shutdown import run_until_stopped

    if not run_until_stopped(loop, stop, grace):
        _exit_now()


def _exit_now() -> None:
    """Exit while the abandoned round's thread may still be blocked (in a portal call): flush what was
    said, then leave without waiting for it."""
    import logging

    import sentry_sdk

    sentry_sdk.flush(timeout=2)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=9099, show_default=True)
@click.option("--code", default=SANDBOX_CODE, show_default=True, help="The incoming-webhook code it accepts.")
@click.option("--handler", default=None, help="Where its event sender posts events (our /bitrix24/events).")
@click.option("--rate", type=float, default=2.0, show_default=True, help="Leaky-bucket drain, requests/s.")
@click.option("--burst", type=int, default=50, show_default=True)
@click.option("--no-demo", is_flag=True, help="Start empty instead of with the demo tasks.")
def sandbox(
    host: str, port: int, code: str, handler: str | None, rate: float, burst: int, no_demo: bool
) -> None:
    """Run the sandbox portal alone: an emulator of the Bitrix24 REST API for demos and development."""
    from service.sandbox import run_sandbox

    run_sandbox(
        host,
        port,
        seed_demo=not no_demo,
        admin_code=code,
        handler_url=handler,
        rate=rate,
        burst=float(burst),
    )


def _start_sandbox(port: int, service_port: int) -> subprocess.Popen[bytes]:
    if _port_busy(port):
        raise click.ClickException(f"sandbox: port {port} is taken; pass --sandbox-port")
    handler = f"http://127.0.0.1:{service_port}/bitrix24/events"
    command = [sys.executable, "-m", "service", "sandbox", "--port", str(port), "--handler", handler]
    process = subprocess.Popen(command)
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/stats", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise click.ClickException("sandbox: it did not start")


def _port_busy(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _sandbox_banner(sandbox_port: int, port: int) -> None:
    line = "=" * 78
    click.secho(
        f"{line}\n"
        "  NO PORTAL CONFIGURED - running against the built-in SANDBOX portal (an emulator).\n"
        f"  Sandbox REST API: http://127.0.0.1:{sandbox_port}/rest/1/{SANDBOX_CODE}/\n"
        "  Nothing here touches a real Bitrix24. Set B24_WEBHOOK_URL and B24_APPLICATION_TOKEN\n"
        "  to use a real portal. Try it: see README, 'Quick start'.\n"
        f"  Events: POST http://127.0.0.1:{port}/bitrix24/events\n"
        f"{line}",
        fg="yellow",
        bold=True,
        err=True,
    )


COMMANDS = (serve, web, worker, sandbox)
