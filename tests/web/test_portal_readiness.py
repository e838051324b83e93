"""/readyz in application mode reports each active portal's effective rule set: a portal folder whose
files are refused shows its problems at file:line:col and makes the service `degraded`, not unready."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet

from service.assembly.resources import Resources
from service.assembly.webwiring import web_parts
from service.plumbing.rulesource import RuleStatus
from service.store.portals import Installation, Portals
from service.store.sealing import Sealer
from service.web.app import create_app

TYPO = "- name: drop-odd\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.secnds: 1}\n"
SHORT = "- name: drop-short\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.seconds: {lt: 5}}\n"


def test_each_portals_rules_are_reported_and_a_refused_one_degrades(
    make_resources: Callable[..., Resources], folders: tuple[Path, Path]
) -> None:
    rules, _ = folders
    key = Fernet.generate_key().decode()
    resources = make_resources(
        b24_app_client_id="local.x",
        b24_app_client_secret="client-secret-77",
        b24_encryption_key=key,
        b24_public_url="https://b24rules.example",
    )
    now = datetime.now(UTC)
    for domain, member in (("alpha.example", "a" * 32), ("beta.example", "b" * 32)):
        endpoint = f"https://{domain}/rest/"
        install = Installation(
            member, domain, endpoint, endpoint, "app-t", "acc-t", "ref-t", now + timedelta(hours=1)
        )
        Portals(resources.engine, Sealer(key)).install(install, now)
    (rules / "portals" / "alpha.example").mkdir(parents=True)
    (rules / "portals" / "alpha.example" / "odd.yaml").write_text(TYPO)
    (rules / "portals" / ("b" * 32)).mkdir()
    (rules / "portals" / ("b" * 32) / "short.yaml").write_text(SHORT)
    client = create_app(web_parts(resources)).test_client()

    answer = client.get("/readyz")
    strict = client.get("/readyz?strict=1")

    body = answer.get_json()
    assert (answer.status_code, body["status"], strict.status_code) == (200, "degraded", 503)
    assert body["rules"]["ok"] is True
    alpha, beta = body["portal_rules"]["alpha.example"], body["portal_rules"]["beta.example"]
    assert (alpha["ok"], alpha["version"]) == (False, None)
    assert alpha["problems"] == [
        f"{rules}/portals/alpha.example/odd.yaml:4:11: rule 'drop-odd': unknown field 'entry.secnds' "
        "(did you mean 'entry.seconds'?)"
    ]
    assert (beta["ok"], beta["count"]) == (True, body["rules"]["count"] + 1)
    assert beta["version"] != body["rules"]["version"]


def test_portal_rule_sets_that_cannot_be_read_are_not_reported_as_fine(
    make_resources: Callable[..., Resources], folders: tuple[Path, Path]
) -> None:
    resources = make_resources(
        b24_app_client_id="local.x",
        b24_app_client_secret="client-secret-77",
        b24_encryption_key=Fernet.generate_key().decode(),
        b24_public_url="https://b24rules.example",
    )
    parts = web_parts(resources)

    def unreadable() -> dict[str, RuleStatus]:
        raise OSError("the portals table went away")

    client = create_app(replace(parts, portal_rules=unreadable)).test_client()
    answer, strict = client.get("/readyz"), client.get("/readyz?strict=1")

    assert (answer.status_code, answer.get_json()["status"], strict.status_code) == (200, "degraded", 503)
    assert "b24rules_rules_ok 0.0" in client.get("/metrics").text
