"""The composition root: what `assembly/wiring.py` builds is wired to the shared pieces it must share.

Every process (gunicorn workers, `worker` replicas, CLI commands) builds its own gateway; the portal's
rate limit holds only if they all take their request tokens from the one bucket in the database.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from service.assembly.application import make_application, portal_gateway
from service.assembly.clients import portal_key
from service.assembly.resources import Resources, build_resources
from service.assembly.wiring import make_gateway
from service.core.bitrix.errors import RateLimited
from service.plumbing.clock import utcnow
from service.sandbox import SandboxServer
from service.store.portals import Installation
from tests.inprocess import DROP_ZERO, settings_for

# A portal that drains almost nothing: our bucket lets 3 requests go (4 less one for delivery jitter)
# and the 4th would wait 100 s, longer than a limiter ever waits, so it is refused at once.
SLOW = {"b24_rate_limit": 0.01, "b24_rate_burst": 4}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def two_processes(
    sandbox: SandboxServer, request: pytest.FixtureRequest
) -> Iterator[tuple[Resources, Resources]]:
    """The resources two processes build from the same settings: one database, two engines (with
    `@pytest.mark.parametrize("two_processes", [APPLICATION], indirect=True)`, in application mode)."""
    folder = Path(tempfile.mkdtemp(prefix="b24rules-wiring-"))
    (folder / "rules").mkdir()
    (folder / "rules" / "rules.yaml").write_text(DROP_ZERO)
    mode = getattr(request, "param", {})
    settings = settings_for(folder, sandbox.webhook_url, **SLOW, **mode)
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


# Application mode: an installed portal's client is built in assembly/application.py, not make_gateway.
MEMBER = "m" * 32
APPLICATION = {
    "b24_app_client_id": "local.sandbox0000000000.00000000",
    "b24_app_client_secret": "sandbox-client-secret",
    "b24_encryption_key": Fernet.generate_key().decode(),
    "b24_public_url": "http://127.0.0.1:9",
}


@pytest.mark.parametrize("two_processes", [APPLICATION], indirect=True)
def test_an_installed_portals_gateways_in_two_processes_share_one_rate_bucket(
    sandbox: SandboxServer, two_processes: tuple[Resources, Resources]
) -> None:
    first, _ = two_processes
    sandbox.portal.app.installed = True
    grant = sandbox.portal.app.issue(1, sandbox.portal.clock())
    endpoint = sandbox.url + "/rest/"
    installation = Installation(
        MEMBER, sandbox.url.removeprefix("http://"), endpoint, endpoint, "app-token",
        grant["access_token"], grant["refresh_token"], utcnow() + timedelta(hours=1),
    )  # fmt: skip
    make_application(first).portals.install(installation, utcnow())
    one, other = (portal_gateway(r, make_application(r), MEMBER) for r in two_processes)
    for _ in range(3):
        one.newest_entry_id()

    with pytest.raises(RateLimited):
        other.newest_entry_id()  # the other process finds the portal's bucket the first one filled
    assert len(sandbox.portal.calls()) == 3


def test_the_buckets_key_is_the_portal_never_the_webhook_code(sandbox: SandboxServer) -> None:
    assert portal_key(sandbox.webhook_url) == sandbox.webhook_url.split("/")[2]
    assert portal_key("https://Acme.Bitrix24.com/rest/1/s3cr3tc0de/") == "acme.bitrix24.com"
