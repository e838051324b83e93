"""Notifications in process: sent after the deletions, never holding them back; failures retried; shadow and
dry-run record what would have been sent and send nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import cast

from service.assembly.wiring import make_gateway
from service.bitrix.portal import PortalGateway
from service.core.bitrix.calls import Call
from service.core.bitrix.replies import Reply
from service.pipeline.notifying import Notifier
from service.plumbing.clock import utcnow
from service.sandbox import apply_config
from service.store.notices import STALE_PENDING, NoticeDraft, NoticeLog
from tests.inprocess import rig

NOTIFY = """
- name: drop-zero
  description: A timer slip.
  on: [ONTASKUPDATE]
  action: delete
  where: {entry.seconds: 0}
  notify: {to: [responsible, author], via: notification, message: "{entry.id}: {rule.description}"}
"""


def test_a_failed_notification_is_retried_and_never_holds_back_the_deletion() -> None:
    with rig(NOTIFY) as world:
        portal = world.sandbox.portal
        portal.add_webhook(1, portal.admin_code, admin=True, scopes=("task", "im"))  # im: notifications
        apply_config(
            world.sandbox.portal,
            {"faults": {"forced": {"im.notify.system.add": {"code": "INTERNAL_SERVER_ERROR", "count": 2}}}},
        )
        world.event(world.task())
        world.drain()
        assert [e["SECONDS"] for e in world.entries(691)] == ["3600"]  # deleted all the same
        log = NoticeLog(world.resources.engine)
        failed = log.query()
        # The responsible person (1) gets both entries; author 5 only the slip (author 1 = responsible).
        assert sorted((n.recipient, n.outcome, len(n.item_ids)) for n in failed) == [
            (1, "failed", 2),
            (5, "failed", 1),
        ]
        notifier = Notifier(make_gateway(world.resources), log)
        notifier.retry_due(utcnow())  # not due yet: the backoff holds
        assert world.sandbox.portal.messages == []
        notifier.retry_due(utcnow() + timedelta(hours=1))
        assert sorted((n.recipient, n.outcome, n.attempts) for n in log.query()) == [
            (1, "sent", 2),
            (5, "sent", 2),
        ]
        sent = sorted((m["user_id"], m["text"]) for m in world.sandbox.portal.messages)
        items = {n.recipient: n.item_ids for n in log.query()}
        assert sent == [
            (1, "\n".join(f"{item}: A timer slip." for item in items[1])),  # one message naming both entries
            (5, f"{items[5][0]}: A timer slip."),
        ]


def test_dry_run_records_what_would_be_sent_and_sends_nothing() -> None:
    with rig(NOTIFY, b24_dry_run=True) as world:
        world.event(world.task())
        world.drain()
        assert len(world.entries(691)) == 3
        records = NoticeLog(world.resources.engine).query()
        assert sorted((n.recipient, n.outcome) for n in records) == [(1, "would-notify"), (5, "would-notify")]
        assert world.sandbox.portal.messages == []
        assert world.sandbox.portal.calls("im.notify.system.add") == []


def test_a_message_a_dead_worker_left_pending_is_sent_once_by_a_later_worker() -> None:
    with rig(NOTIFY) as world:
        portal = world.sandbox.portal
        portal.add_webhook(1, portal.admin_code, admin=True, scopes=("task", "im"))
        log = NoticeLog(world.resources.engine)
        # A worker recorded the message and died before sending it: the record stays pending.
        recorded = utcnow()
        draft = NoticeDraft(691, 5, "notification", "drop-zero", [7], "7: A timer slip.", "pending")
        (notice_id,) = log.record([draft], recorded)
        notifier = Notifier(make_gateway(world.resources), log)
        notifier.retry_due(recorded + timedelta(minutes=1))  # it may still be on its way: left alone
        assert portal.messages == []
        later = recorded + STALE_PENDING + timedelta(seconds=1)
        notifier.retry_due(later)
        notifier.retry_due(later + STALE_PENDING)  # sent: never again
        assert [(m["user_id"], m["text"]) for m in portal.messages] == [(5, "7: A timer slip.")]
        assert [(n.id, n.outcome, n.attempts) for n in log.query()] == [(notice_id, "sent", 1)]


class _Answering:
    """A portal that takes every message and answers `false` (im.notify.system.add: not created)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def send(self, calls: Sequence[Call]) -> list[Reply]:
        self.calls.extend(calls)
        return [Reply(result=False) for _ in calls]


def test_a_notification_the_portal_answers_false_to_was_not_sent_and_is_retried() -> None:
    with rig(NOTIFY) as world:
        log = NoticeLog(world.resources.engine)
        draft = NoticeDraft(691, 5, "notification", "drop-zero", [7], "7: A timer slip.", "pending")
        portal = _Answering()
        notifier = Notifier(cast(PortalGateway, portal), log)
        (notice_id,) = log.record([draft], utcnow())
        notifier.retry_due(utcnow() + STALE_PENDING + timedelta(seconds=1))
        [record] = log.query()
        assert (record.id, record.outcome, record.attempts) == (notice_id, "failed", 1)
        assert record.error == "the portal answered false: the message was not created"
        assert [call.method for call in portal.calls] == ["im.notify.system.add"]
