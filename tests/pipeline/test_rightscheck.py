"""The worker deletes nothing, and settles nothing, until the credentials are an administrator's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.assembly.wiring import make_gateway
from service.pipeline.rightscheck import RightsGate
from service.sandbox import apply_config
from service.store.portalchecks import PortalChecks
from tests.inprocess import rig

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_a_non_admin_webhook_deletes_nothing_and_events_wait() -> None:
    with rig() as r:
        r.sandbox.portal.add_webhook(1, r.sandbox.portal.admin_code, admin=False)  # same URL, no admin
        task = r.task()
        event = r.event(task)
        before = r.entries(task)
        assert r.drain() == 0
        assert r.statuses() == {event: "pending"}  # not dead-lettered, not done
        assert r.audit() == []  # nothing recorded deleted or gone
        assert r.entries(task) == before
        verdict = PortalChecks(r.resources.engine).get("")
        assert verdict is not None
        assert verdict.ok is False
        assert "not a Bitrix24 administrator" in verdict.reason
        assert r.sandbox.portal.calls("task.elapseditem.delete") == []

        r.sandbox.portal.add_webhook(1, r.sandbox.portal.admin_code, admin=True)  # fixed: next start
        assert r.drain() >= 1
        assert r.statuses() == {event: "done"}
        assert [e["SECONDS"] for e in r.entries(task)] == ["3600"]
        assert PortalChecks(r.resources.engine).get("").ok is True  # type: ignore[union-attr]


def test_the_verdict_is_renewed_every_interval_and_kept_while_the_portal_is_down() -> None:
    with rig() as r:
        now = [START]
        checks = PortalChecks(r.resources.engine)
        gate = RightsGate(
            make_gateway(r.resources), checks, interval=timedelta(minutes=5), clock=lambda: now[0]
        )
        assert gate.allows()
        r.sandbox.portal.add_webhook(1, r.sandbox.portal.admin_code, admin=False)
        now[0] += timedelta(minutes=4)
        assert gate.allows()  # not due yet: no request
        assert len(r.sandbox.portal.calls("profile")) == 1
        now[0] += timedelta(minutes=2)
        assert not gate.allows()
        r.sandbox.portal.add_webhook(1, r.sandbox.portal.admin_code, admin=True)
        apply_config(r.sandbox.portal, {"faults": {"fail_all_for": 3600}})
        now[0] += timedelta(minutes=6)
        assert not gate.allows()  # could not ask: the last verdict (no) stands
        verdict = checks.get("")
        assert verdict is not None
        assert verdict.ok is False


def test_no_verdict_while_the_portal_cannot_be_asked_means_wait() -> None:
    with rig() as r:
        apply_config(r.sandbox.portal, {"faults": {"fail_all_for": 3600}})
        gate = RightsGate(make_gateway(r.resources), PortalChecks(r.resources.engine), clock=lambda: START)
        assert not gate.allows()
        assert PortalChecks(r.resources.engine).get("") is None
