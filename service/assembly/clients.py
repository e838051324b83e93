"""REST clients as every process builds them: counted in the metrics, under the portal's request budget
shared through the database (one bucket per portal host). The webhook's gateways (`wiring.py`) and an
installed portal's (`application.py`) are both made from these, so the two can never disagree on it."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import Engine

from service.assembly.resources import Resources
from service.bitrix.auth import RestAuth
from service.bitrix.client import BitrixClient
from service.bitrix.limiter import SharedLimiter
from service.core.bitrix.leaky import usable_burst
from service.plumbing import metrics
from service.plumbing.settings import Settings
from service.store.ratebucket import SqlRateBucket


def portal_key(webhook_url: str) -> str:
    """The rate bucket's key: the portal's host (every app on one portal shares its limit), never the code."""
    return urlsplit(webhook_url).netloc.lower()


def shared_limiter(resources: Resources, key: str) -> SharedLimiter:
    """The portal's request budget, shared by every process through the database (one bucket per host)."""
    return limiter_on(resources.settings, resources.engine, key)


def limiter_on(settings: Settings, engine: Engine, key: str) -> SharedLimiter:
    return SharedLimiter(
        SqlRateBucket(engine),
        key,
        rate=settings.b24_rate_limit,
        # A little below the portal's X, so uneven delivery never tips its counter over (limits.md).
        burst=usable_burst(settings.b24_rate_limit, settings.b24_rate_burst),
    )


def counted_client(auth: str | RestAuth, limiter: SharedLimiter) -> BitrixClient:
    def count_request(method: str, outcome: str) -> None:
        metrics.REST_REQUESTS.labels(method=method, result=outcome).inc()

    def count_call(method: str, outcome: str) -> None:
        metrics.REST_CALLS.labels(method=method, result=outcome).inc()

    return BitrixClient(auth, limiter, on_request=count_request, on_call=count_call)
