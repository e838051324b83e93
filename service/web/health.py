"""Liveness, readiness and metrics endpoints. None of them shows a secret."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from service.plumbing import metrics
from service.plumbing.clock import utcnow
from service.plumbing.rulesource import RuleStatus
from service.web import context

log = logging.getLogger(__name__)

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    return jsonify(status="ok"), 200


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready when a good rule set is running, the database answers and the worker's last check of the
    portal credentials (administrator, scope task) did not fail (`credentials.reason` says why).

    Broken rule files on disk do not make the pod unready while the last good set keeps running:
    a bad ConfigMap would otherwise take every replica out of the Service at once, and Bitrix24 never
    re-delivers the events it could not post. The problems are reported here (`status: degraded`), in
    the logs, in Sentry and as `b24rules_rules_ok 0`. `?strict=1` answers 503 for them as well.
    Application mode: `portal_rules` shows each active portal's effective set (shared folder + its own);
    a refused one counts like refused shared files.
    """
    parts = context.parts()
    rules = parts.rules.status()
    database_ok = parts.database_reachable()
    running = rules.version is not None
    portals = _portal_rules(parts) if database_ok else None
    rules_ok = rules.ok and _portals_ok(parts, portals)
    credentials = _credentials(parts) if database_ok else {"ok": None, "reason": "database unreachable"}
    ready = running and database_ok and credentials["ok"] is not False
    ready = ready and (rules_ok or not request.args.get("strict"))
    status = "ready" if ready and rules_ok else ("degraded" if ready else "not ready")
    body = {
        "status": status,
        "rules": _shown(rules),
        "database": {"ok": database_ok, "backend": parts.engine.dialect.name},
        "credentials": credentials,
        "dry_run": parts.dry_run,
        "dead_letters": _dead_letters(parts) if database_ok else None,
    }
    if parts.portal_rules is not None:
        body["portal_rules"] = portals
    return jsonify(body), 200 if ready else 503


def _shown(rules: RuleStatus) -> dict[str, object]:
    return {
        "ok": rules.ok,
        "version": rules.version,
        "count": rules.rules,
        "problems": list(rules.problems[:20]),
    }


def _portals_ok(parts: context.WebParts, portals: dict[str, dict[str, object]] | None) -> bool:
    """Every portal's rule set runs; in application mode, sets that could not be read are not ok."""
    if parts.portal_rules is None:
        return True
    return portals is not None and all(portal["ok"] for portal in portals.values())


def _portal_rules(parts: context.WebParts) -> dict[str, dict[str, object]] | None:
    """Application mode: each active portal's effective rule set (the shared folder extended by its own
    folder), by domain; a portal whose set is refused makes the status `degraded` like the shared one."""
    if parts.portal_rules is None:
        return None
    try:
        statuses = parts.portal_rules()
    except Exception:  # unknown is not ok (`_portals_ok`): the database may have gone since its check
        log.warning("could not read the portals' rule sets", exc_info=True)
        return None
    return {domain: _shown(status) for domain, status in statuses.items()}


def _dead_letters(parts: context.WebParts) -> dict[str, object] | None:
    """How many events wait as dead letters: shown, never a reason to be unready (a pod restart would
    not bring them back; an operator would, with `b24rules dead-letters` and `replay`)."""
    try:
        dead = parts.journal.stats(utcnow()).dead
    except Exception:  # the database went away since the check above: its own field says so
        return None
    return {"events": dead, "see": "b24rules dead-letters" if dead else None}


def _credentials(parts: context.WebParts) -> dict[str, object]:
    """The worker's last verdict on the portal credentials (read from the database, no REST call).

    A failing one makes the service not ready: with a non-administrator's webhook the worker deletes
    nothing, and saying "ready" would hide that. None yet (the worker has not reached the portal) is
    reported but does not turn the pod away, so events keep being accepted and wait in the queue."""
    failing = parts.portal_checks.failing() if parts.portal_checks is not None else []
    if failing:
        first = failing[0]
        return {"ok": False, "reason": first.reason, "checked_at": first.checked_at.isoformat()}
    known = parts.portal_checks.get("") if parts.portal_checks is not None else None
    if known is None:
        return {"ok": None, "reason": "not checked yet: the worker checks at start and every 5 minutes"}
    return {"ok": True, "reason": known.reason, "checked_at": known.checked_at.isoformat()}


@blueprint.get("/metrics")
def metrics_endpoint() -> Response:
    parts = context.parts()

    def store_state() -> metrics.StoreState:
        stats = parts.journal.stats(utcnow())
        tripped = tuple(parts.breakers.tripped())
        return metrics.StoreState(stats.pending, stats.dead, stats.oldest_pending_age_seconds, tripped)

    def rules_ok() -> bool:
        return parts.rules.status().ok and _portals_ok(parts, _portal_rules(parts))

    body, content_type = metrics.render(metrics.QueueCollector(store_state, rules_ok))
    return Response(body, content_type=content_type)
