"""Operator actions from the status page: restore, rearm, replay — each confirmed, then POSTed.

One registry entry per action says how to read its target, what the confirmation page tells, and what
running it does (existing code: restoration.restore_entries, Breakers.rearm, Journal.replay). A GET only
shows the confirmation; the POST needs the session's CSRF token and `confirm=yes` (the button), and
every run is recorded in operator_actions under the signed-in person's name, success or not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from service.plumbing.clock import utcnow
from service.store.eventlog import DEAD
from service.web.ui.access import operator
from service.web.ui.parts import PortalView, UiParts, ui_parts
from service.web.ui.scope import current_view

log = logging.getLogger(__name__)

ALL_DEAD = "all"


@dataclass(frozen=True)
class Confirmation:
    title: str
    lines: list[str]
    warning: str = ""


@dataclass(frozen=True)
class Action:
    """Each step gets the page's parts and the portal shown (`PortalView`): every action acts on it."""

    describe: Callable[[UiParts, PortalView, str], Confirmation]  # abort(404) when the target does not exist
    run: Callable[[UiParts, PortalView, str], tuple[bool, str]]  # (ok, what happened, one line per item)
    check: Callable[[str], bool]  # the target's shape


def _describe_restore(parts: UiParts, view: PortalView, target: str) -> Confirmation:
    found = view.audit.get([int(target)], portal=view.portal)
    if not found:
        abort(404, f"audit record {target} does not exist")
    record = found[0]
    entry = record.entry or {}
    return Confirmation(
        f"Restore audit record {record.id}?",
        [
            f"Task {record.task_id}, entry {record.item_id}: {entry.get('SECONDS', '?')} s by user "
            f"{entry.get('USER_ID', '?')}, comment {str(entry.get('COMMENT_TEXT') or '')!r}",
            f"Deleted by rule {record.rule} (rule set {record.ruleset_version}); now: {record.shown_outcome}",
            "The entry is re-created with task.elapseditem.add (it gets a new id).",
        ],
        "If the rule still selects the entry, fix the rule first: a restore is final, the next event "
        "records the entry as skipped, but a changed rule may act on it again.",
    )


def _run_restore(parts: UiParts, view: PortalView, target: str) -> tuple[bool, str]:
    results = parts.restore(view.portal, [int(target)])
    return all(ok for _, ok in results), "\n".join(line for line, _ in results) or "nothing to restore"


def _describe_rearm(parts: UiParts, view: PortalView, target: str) -> Confirmation:
    trip = view.breakers.tripped().get(target)
    if trip is None:
        abort(404, f"rule {target} is not tripped")
    return Confirmation(
        f"Rearm rule {target}?",
        [f"Tripped {trip.tripped_at:%Y-%m-%d %H:%M:%S} UTC: {trip.reason}", "It will enforce (delete) again"],
        "A rule still over its limit on a task trips again on that task's next event.",
    )


def _run_rearm(parts: UiParts, view: PortalView, target: str) -> tuple[bool, str]:
    if view.breakers.rearm(target):
        return True, f"rule '{target}' rearmed: it enforces again"
    return True, f"rule '{target}' was not tripped; nothing done"


def _describe_replay(parts: UiParts, view: PortalView, target: str) -> Confirmation:
    if target == ALL_DEAD:
        count = view.journal.stats(utcnow()).dead
        return Confirmation(f"Replay all {count} dead letter(s)?", ["They are queued again for the workers."])
    event = view.journal.get(int(target))
    if event is None or event.status != DEAD:  # the view's journal finds its own portal's events only
        abort(404, f"event {target} is not a dead letter")
    error = parts.redactor.text(event.last_error or "")
    return Confirmation(
        f"Replay dead letter {event.id}?",
        [f"{event.name} for task {event.task_id}, {event.attempts} attempt(s); last error: {error}"],
        "Replaying before the cause is fixed only makes another dead letter.",
    )


def _run_replay(parts: UiParts, view: PortalView, target: str) -> tuple[bool, str]:
    ids = None if target == ALL_DEAD else [int(target)]
    count = view.journal.replay(ids, failed=True, now=utcnow())
    return True, f"queued {count} event(s) again"


def _is_id(target: str) -> bool:
    return target.isascii() and target.isdigit() and len(target) < 19


ACTIONS: dict[str, Action] = {
    "restore": Action(_describe_restore, _run_restore, _is_id),
    "rearm": Action(_describe_rearm, _run_rearm, lambda target: 0 < len(target) <= 100),
    "replay": Action(_describe_replay, _run_replay, lambda target: target == ALL_DEAD or _is_id(target)),
}


def _lookup(name: str, target: str) -> Action:
    action = ACTIONS.get(name)
    if action is None:
        abort(404, f"no action {name!r}")
    if not action.check(target) or len(target) > 100:
        abort(400, f"{name}: {target!r} is not something it can act on")
    return action


def confirm(name: str) -> str:
    target = request.args.get("target", "")
    action = _lookup(name, target)
    confirmation = action.describe(ui_parts(), current_view(), target)
    return render_template("confirm.html", name=name, target=target, confirmation=confirmation)


def act(name: str) -> Response:
    target = request.form.get("target", "")
    action = _lookup(name, target)
    if request.form.get("confirm") != "yes":
        abort(400, "not confirmed: use the confirmation page's button")
    parts, view = ui_parts(), current_view()
    actor = operator().label
    try:
        ok, detail = action.run(parts, view, target)
    except Exception as error:  # a portal or settings failure: recorded and shown, never a 500
        ok, detail = False, parts.redactor.text(f"{type(error).__name__}: {error}")
        log.warning("status page action failed", extra={"action": name, "target": target, "by": actor})
    action_id = parts.actions.for_portal(view.portal).record(
        actor=actor, action=name, target=target, ok=ok, detail=detail, now=utcnow()
    )
    log.info("status page action", extra={"action": name, "target": target, "by": actor, "ok": ok})
    return redirect(url_for("ui.action_done", action_id=action_id))


def action_done(action_id: int) -> str:
    done = ui_parts().actions.for_portal(current_view().portal).get(action_id)
    if done is None:
        abort(404, f"no operator action {action_id}")
    return render_template("done.html", done=done)
