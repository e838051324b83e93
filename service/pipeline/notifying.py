"""Telling people about a round's deletions: plan the messages, record them, send them, retry failures.

Runs after the deletions' outcomes are recorded, so nothing here can undo or hold back a deletion: a
failed message is recorded as failed and sent again later (backoff, `MAX_ATTEMPTS`), and Sentry hears
when one is given up. Entries only recorded (shadow mode, dry-run) make `would-notify` records, never
a message. Messages go 50 to a `batch` through the gateway, so they share the portal's rate limiter.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from service.bitrix.portal import PortalGateway
from service.core import policy
from service.core.backoff import retry_delay
from service.core.bitrix.replies import Reply
from service.core.notices import Notable, Notice, plan_notices
from service.core.rules import RuleSet
from service.plumbing.sentry import capture_failure
from service.store.notices import MAX_ATTEMPTS, WOULD_NOTIFY, NoticeDraft, NoticeLog, NoticeRecord

log = logging.getLogger(__name__)
# What was only recorded, not deleted, is announced as "would have been" (never sent).
_RECORDED = (policy.SHADOW, policy.DRY_RUN)
RETRY_BASE_SECONDS = 30.0  # a comment can wait; the portal's limit is better spent on deletions


def notables(
    ruleset: RuleSet,
    actions: Sequence[policy.Action],
    outcomes: Mapping[tuple[int, int], str],
    tasks: Mapping[int, Mapping[str, Any]],
) -> list[Notable]:
    """The entries of rules with `notify` that were deleted now (or only recorded) — pure."""
    found = []
    for action in actions:
        deletion = action.deletion
        rule, task = ruleset.rule(deletion.rule), tasks.get(deletion.task_id)
        if rule is None or rule.notify is None or task is None:
            continue
        deleted = outcomes.get((deletion.task_id, deletion.item_id)) == "deleted"
        if action.outcome == policy.SEND and deleted:
            found.append(Notable(rule, task, deletion.entry, would=False))
        elif action.outcome in _RECORDED:
            found.append(Notable(rule, task, deletion.entry, would=True))
    return found


class Notifier:
    def __init__(self, gateway: PortalGateway, notices: NoticeLog) -> None:
        self._gateway = gateway
        self._log = notices

    def announce(self, items: Sequence[Notable], now: datetime) -> None:
        """Record every message owed for `items`; send those for real deletions."""
        planned = plan_notices(items)
        if not planned:
            return
        ids = self._log.record([_draft(notice) for notice in planned], now)
        sending = [(i, n.call()) for i, n in zip(ids, planned, strict=True) if not n.would]
        self._deliver(sending, {i: 0 for i, _ in sending}, now)

    def retry_due(self, now: datetime) -> None:
        """Send again the failed messages whose backoff has run out."""
        records = self._log.claim_due(now)
        sending = [(r.id, _notice_of(r).call()) for r in records]
        self._deliver(sending, {r.id: r.attempts for r in records}, now)

    def _deliver(self, sending: list[tuple[int, Any]], attempts: Mapping[int, int], now: datetime) -> None:
        if not sending:
            return
        try:
            answers: list[object] = list(self._gateway.send([call for _, call in sending]))
        except Exception as error:  # the whole batch failed: each message is retried on its own
            answers = [error] * len(sending)
        for (notice_id, call), answer in zip(sending, answers, strict=True):
            problem = _failure(answer)
            if problem is None:
                self._log.finish(notice_id, "sent", now)
                continue
            tries = attempts[notice_id] + 1
            if tries >= MAX_ATTEMPTS:
                self._log.finish(notice_id, "abandoned", now, error=problem)
                log.error("notification abandoned", extra={"notice": notice_id, "method": call.method})
                capture_failure(f"notification {notice_id} abandoned: {problem}", {"kind": "notify"})
            else:
                next_at = now + retry_delay(tries, random.random(), base=RETRY_BASE_SECONDS)
                self._log.finish(notice_id, "failed", now, error=problem, next_at=next_at)


def _failure(answer: object) -> str | None:
    """Why a message was not delivered, or None when it was."""
    if isinstance(answer, BaseException):
        return str(answer)
    if isinstance(answer, Reply) and answer.result is False:
        # im.notify.system.add answers `false` when it did not create the notification (its docs).
        return "the portal answered false: the message was not created"
    return None


def _draft(notice: Notice) -> NoticeDraft:
    outcome = WOULD_NOTIFY if notice.would else "pending"
    rules = ",".join(notice.rules)
    return NoticeDraft(
        notice.task_id, notice.recipient, notice.via, rules, notice.item_ids, notice.text, outcome
    )


def _notice_of(record: NoticeRecord) -> Notice:
    notice = Notice(record.task_id, record.recipient, record.via, False)
    notice.lines.append(record.message)
    return notice
