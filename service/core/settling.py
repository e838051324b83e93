"""How a deletion's audit row reaches a final outcome when the portal's answer does not settle it (pure).

A delete is sent after its row is written `pending`. The answer then says one of three things:
- `deleted`: the portal ran it;
- `refused`: the portal answered an error for it, so it did not run it (not found, not allowed, rate
  limit, …) — whether the entry is gone is for a fresh read to say, never for the error text;
- `unconfirmed`: no usable answer (timeout, connection reset, a 5xx or HTML page, a sub-command missing
  from the batch answer): the portal may or may not have deleted it.
A row left `pending` by a crash between the send and the record is `unconfirmed` in all but name.

The next read of the task settles every such row: an `unconfirmed` (or stale `pending`) entry that is
absent was deleted by us, restorable; a `refused` one that is absent was removed by someone else
(`gone`); either one still present has `failed` (verified still there) and the task is evaluated again.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.core.bitrix.errors import BitrixError, OperationTimeLimit, PermanentError, RateLimited

PENDING = "pending"
UNCONFIRMED = "unconfirmed"
REFUSED = "refused"
UNSETTLED = (PENDING, UNCONFIRMED, REFUSED)  # outcomes that wait for a read of their task

# Errors the portal answered before running the method: the delete certainly did not happen.
_NOT_RUN = (PermanentError, RateLimited, OperationTimeLimit)

_NOTES = {
    (UNCONFIRMED, True): "the delete's answer was lost; the entry was still there on the next read",
    (UNCONFIRMED, False): "the delete's answer was lost; the entry was absent on the next read",
    (REFUSED, True): "the portal refused the delete; the entry was still there on the next read",
    (REFUSED, False): "the portal refused the delete; a fresh read found the entry already absent",
}


@dataclass(frozen=True)
class Settled:
    outcome: str  # deleted | gone | failed
    note: str


def sent_outcome(answer: object) -> str:
    """What the portal's answer to one delete says: deleted, refused or unconfirmed.

    `answer` is `"deleted"`, `"gone"` (the gateway's reading of a not-found error), a `BitrixError`, or
    any other exception raised while sending."""
    if answer == "deleted":
        return "deleted"
    if answer == "gone" or isinstance(answer, _NOT_RUN):
        return REFUSED
    return UNCONFIRMED


def settle(outcome: str, item_id: int, present: frozenset[int] | None) -> Settled:
    """The final outcome of an unsettled row, from the ids of the entries its task has now.

    `present` None means the task itself is gone (deleted, or no longer visible to the webhook)."""
    if outcome not in UNSETTLED:
        raise ValueError(f"only {UNSETTLED} rows are settled by a read, not {outcome!r}")
    kind = REFUSED if outcome == REFUSED else UNCONFIRMED  # a stale pending row may have been sent
    if present is None:
        return Settled("gone", "the task is gone: no entry of it is left to delete or restore")
    there = item_id in present
    if there:
        return Settled("failed", _NOTES[(kind, True)])
    return Settled("deleted" if kind == UNCONFIRMED else "gone", _NOTES[(kind, False)])


def describe_answer(answer: object) -> str | None:
    """The error text kept on the row (None for a clean `deleted`)."""
    if answer == "deleted":
        return None
    if answer == "gone":
        return "the portal answered: not found"
    if isinstance(answer, BitrixError):
        return str(answer)
    if isinstance(answer, BaseException):
        return f"{type(answer).__name__}: {answer}"
    return "no answer for this deletion"
