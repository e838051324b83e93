"""Bitrix24 REST without I/O: build calls in the right parameter order, encode them, classify answers.

The HTTP client in `service.bitrix` only sends the bytes built here and hands the answer back to
`classify`/`unpack_batch`; everything that can be decided without a network lives in this package.
"""

from service.core.bitrix.batching import MAX_COMMANDS, batch, pack, unpack_batch
from service.core.bitrix.calls import (
    ENTRY_FIELDS,
    ENTRY_PAGE,
    Call,
    entries_after,
    entries_created_since,
    entries_list,
    entries_page,
    entry_add,
    entry_delete,
    entry_get,
    status_history,
    task_get,
    task_list_changed,
)
from service.core.bitrix.encoding import command, http_build_query, json_body
from service.core.bitrix.errors import (
    BatchSkipped,
    BitrixError,
    NotFound,
    OperationTimeLimit,
    PermanentError,
    RateLimited,
    TransientError,
)
from service.core.bitrix.replies import OperatingTime, Reply, classify, error_from
from service.core.bitrix.rights import Rights, rights_calls
from service.core.bitrix.rights import judge as judge_rights

__all__ = [
    "ENTRY_FIELDS",
    "ENTRY_PAGE",
    "MAX_COMMANDS",
    "BatchSkipped",
    "BitrixError",
    "Call",
    "NotFound",
    "OperatingTime",
    "OperationTimeLimit",
    "PermanentError",
    "RateLimited",
    "Reply",
    "Rights",
    "TransientError",
    "batch",
    "classify",
    "command",
    "entries_after",
    "entries_created_since",
    "entries_list",
    "entries_page",
    "entry_add",
    "entry_delete",
    "entry_get",
    "error_from",
    "http_build_query",
    "json_body",
    "judge_rights",
    "pack",
    "rights_calls",
    "status_history",
    "task_get",
    "task_list_changed",
    "unpack_batch",
]
