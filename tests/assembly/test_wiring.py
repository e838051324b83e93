"""The composition root: what `assembly/wiring.py` builds is wired to the shared pieces it must share.

Every process (gunicorn workers, `worker` replicas, CLI commands) builds its own gateway; the portal's
rate limit holds only if they all take their request tokens from the one bucket in the database.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.assembly.resources import Resources, build_resources
from service.assembly.wiring import make_gateway, portal_key
from service.core.bitrix.errors import RateLimited
from service.sandbox import SandboxServer
from tests.inprocess import DROP_ZERO, settings_for

# A portal that drains almost nothing: our bucket lets 3 requests go (4 less one for delivery jitter)
# and the 4th would wait 100 s, longer than a limiter ever waits, so it is refused at once.
SLOW = {"b24_rate_limit": 0.01, "b24_rate_burst": 4}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def two_processes(sandbox: SandboxServer) -> Iterator[tuple[Resources, Resources]]:
    """The resources two processes build from the same settings: one database, two engines."""
    folder = Path(tempfile.mkdtemp(prefix="b24rules-wiring-"))
    (folder / "rules").mkdir()
    (folder / "rules" / "rules.yaml").write_text(DROP_ZERO)
    settings = settings_for(folder, sandbox.webhook_url, **SLOW)
    first = build_resources(settings, component="worker", configure=False)
    second = build_resources(settings, component="web", configure=False)
    try:
        yield first, second
    finally:
        first.engine.dispose()
        second.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def test_gateways_of_two_processes_share_one_rate_bucket(
    sandbox: SandboxServer, two_processes: tuple[Resources, Resources]
) -> None:
    one, other = (make_gateway(resources) for resources in two_processes)
    for _ in range(3):
        one.newest_entry_id()

    with pytest.raises(RateLimited):
        other.newest_entry_id()  # the other process finds the bucket the first one filled
    assert len(sandbox.portal.calls()) == 3


def test_the_buckets_key_is_the_portal_never_the_webhook_code(sandbox: SandboxServer) -> None:
    assert portal_key(sandbox.webhook_url) == sandbox.webhook_url.split("/")[2]
    assert portal_key("https://Acme.Bitrix24.com/rest/1/s3cr3tc0de/") == "acme.bitrix24.com"
