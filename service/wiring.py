"""Assembling the long-lived parts from a Runtime: the Bitrix24 gateway, the processor, the worker."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from service import metrics
from service.bitrix.client import BitrixClient
from service.bitrix.limiter import SharedLimiter
from service.bitrix.portal import PortalGateway
from service.core.bitrix.leaky import usable_burst
from service.processing import Processor
from service.runtime import Runtime
from service.store.ratebucket import SqlRateBucket
from service.sweeper import Sweeper
from service.worker import Worker, worker_name


def portal_key(webhook_url: str) -> str:
    """The rate bucket's key: the portal's host (every app on one portal shares its limit), never the code."""
    return urlsplit(webhook_url).netloc.lower()


def make_gateway(runtime: Runtime) -> PortalGateway:
    settings = runtime.settings
    settings.require_webhook()  # the event token is the web half's business, not REST calls'
    webhook_url = settings.webhook_url or ""
    limiter = SharedLimiter(
        SqlRateBucket(runtime.engine),
        portal_key(webhook_url),
        rate=settings.b24_rate_limit,
        # A little below the portal's X, so uneven delivery never tips its counter over (limits.md).
        burst=usable_burst(settings.b24_rate_limit, settings.b24_rate_burst),
    )

    def count_request(method: str, outcome: str) -> None:
        metrics.REST_REQUESTS.labels(method=method, result=outcome).inc()

    def count_call(method: str, outcome: str) -> None:
        metrics.REST_CALLS.labels(method=method, result=outcome).inc()

    client = BitrixClient(webhook_url, limiter, on_request=count_request, on_call=count_call)
    return PortalGateway(client)


def make_worker(runtime: Runtime, *, owner: str | None = None, sweep: bool = True) -> Worker:
    gateway = make_gateway(runtime)
    owner = owner or worker_name()
    sweeper = Sweeper(runtime, gateway, owner=owner) if sweep else None
    lease = timedelta(seconds=runtime.settings.b24_lease_seconds)
    return Worker(runtime, Processor(runtime, gateway), sweeper, owner=owner, lease=lease)
