"""How a deletion the portal's answer left open ends, once a fresh read of its task is in hand."""

from __future__ import annotations

import pytest

from service.core.bitrix.errors import (
    BatchSkipped,
    NotFound,
    OperationTimeLimit,
    PermanentError,
    RateLimited,
    TransientError,
)
from service.core.settling import describe_answer, sent_outcome, settle

TIMEOUT = TransientError("TIMEOUT", "no answer in time", None, "batch")


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("deleted", "deleted"),
        ("gone", "refused"),  # "not found" is the portal's word, not a read: verified before it counts
        (PermanentError("ERROR_CORE", "ACTION_NOT_ALLOWED", 400, "task.elapseditem.delete"), "refused"),
        (NotFound("ERROR_CORE", "#512", None, "task.elapseditem.delete"), "refused"),
        (RateLimited("QUERY_LIMIT_EXCEEDED", "", 503, "batch"), "refused"),
        (OperationTimeLimit(reset_at=1.0), "refused"),
        (TIMEOUT, "unconfirmed"),
        (TransientError("CONNECTION_ERROR", "ConnectionError", None, "batch"), "unconfirmed"),
        (TransientError("ERROR_UNEXPECTED_ANSWER", "not a JSON object", 503, "batch"), "unconfirmed"),
        (BatchSkipped("BATCH_SKIPPED", "", None, "task.elapseditem.delete"), "unconfirmed"),
        (RuntimeError("a bug mid-send"), "unconfirmed"),
        (None, "unconfirmed"),  # no answer at all for this deletion
    ],
)
def test_what_an_answer_says_about_a_delete(answer: object, outcome: str) -> None:
    assert sent_outcome(answer) == outcome


@pytest.mark.parametrize(
    ("was", "present", "outcome"),
    [
        ("unconfirmed", frozenset({7}), "deleted"),  # absent after a lost answer: we deleted it
        ("pending", frozenset({7}), "deleted"),  # a worker died around the send: same
        ("refused", frozenset({7}), "gone"),  # refused, and absent: someone else removed it
        ("unconfirmed", frozenset({7, 301}), "failed"),
        ("pending", frozenset({301}), "failed"),
        ("refused", frozenset({301}), "failed"),
        ("unconfirmed", None, "gone"),  # the task itself is gone
    ],
)
def test_a_read_settles_an_open_row(was: str, present: frozenset[int] | None, outcome: str) -> None:
    settled = settle(was, 301, present)
    assert settled.outcome == outcome
    assert settled.note


def test_only_open_rows_are_settled_by_a_read() -> None:
    with pytest.raises(ValueError, match="settled by a read"):
        settle("deleted", 301, frozenset())


def test_the_error_kept_names_the_http_status() -> None:
    error = TransientError("ERROR_UNEXPECTED_ANSWER", "the answer is not a JSON object", 503, "batch")
    assert "HTTP 503" in str(describe_answer(error))
    assert describe_answer("deleted") is None
    assert describe_answer("gone") == "the portal answered: not found"
