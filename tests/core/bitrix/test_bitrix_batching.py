"""Batches: at most 50 commands, packing in order, and unpacking every documented answer shape."""

from __future__ import annotations

import json

import pytest

from service.core.bitrix import (
    BatchSkipped,
    Call,
    NotFound,
    PermanentError,
    Reply,
    batch,
    classify,
    entry_delete,
    pack,
    unpack_batch,
)


def deletes(n: int) -> list[Call]:
    return [entry_delete(691, i) for i in range(1, n + 1)]


def test_batch_call_shape() -> None:
    call = batch({"d1": entry_delete(691, 5), "d2": entry_delete(691, 6)}, halt=False)
    assert call.method == "batch"
    assert call.params == (
        ("halt", 0),
        (
            "cmd",
            {
                "d1": "task.elapseditem.delete?TASKID=691&ITEMID=5",
                "d2": "task.elapseditem.delete?TASKID=691&ITEMID=6",
            },
        ),
    )
    assert batch({"a": entry_delete(1, 2)}, halt=True).param("halt") == 1


def test_batch_limits() -> None:
    batch({f"c{i}": c for i, c in enumerate(deletes(50))})
    with pytest.raises(ValueError, match="1 to 50"):
        batch({f"c{i}": c for i, c in enumerate(deletes(51))})
    with pytest.raises(ValueError, match="1 to 50"):
        batch({})
    with pytest.raises(ValueError, match="cannot contain a batch"):
        batch({"x": Call("batch", (("halt", 0),))})
    for bad in ("0", "12", "", "a b", "a[1]"):
        with pytest.raises(ValueError, match="batch key"):
            batch({bad: entry_delete(1, 2)})


def test_pack_keeps_order_and_size() -> None:
    calls = deletes(120)
    packed = pack(calls)
    assert [len(p) for p in packed] == [50, 50, 20]
    flat = [(k, c) for p in packed for k, c in p.items()]
    assert flat == [(f"c{i}", c) for i, c in enumerate(calls)]
    assert pack([]) == []
    assert [list(p) for p in pack({"x": calls[0], "y": calls[1], "z": calls[2]}, size=2)] == [
        ["x", "y"],
        ["z"],
    ]
    with pytest.raises(ValueError, match="size"):
        pack(calls, size=51)


def answer(inner: dict[str, object]) -> Reply:
    return classify(200, json.dumps({"result": inner, "time": {}}).encode(), "batch")


def test_unpack_mixed_answer_with_empty_sections_as_lists() -> None:
    calls = {
        "d1": entry_delete(1, 10),
        "d2": entry_delete(1, 11),
        "g": Call("task.elapseditem.getlist"),
        "d3": entry_delete(1, 12),
    }
    reply = answer(
        {
            "result": {"d1": None, "g": [{"ID": "1"}]},
            "result_error": {
                "d2": {
                    "error": "ERROR_CORE",
                    "error_description": "TASKS_ERROR_EXCEPTION_#512; x; TE_ITEM_NOT_FOUND_OR_NOT_ACCESSIBLE",
                }
            },
            "result_total": {"g": 1},
            "result_next": [],
            "result_time": {"d1": {"operating": 0.5, "operating_reset_at": 99}},
        }
    )
    out = unpack_batch(reply, calls)
    assert list(out) == ["d1", "d2", "g", "d3"]
    d1 = out["d1"]
    assert isinstance(d1, Reply)
    assert d1.result is None
    assert d1.time.operating_reset_at == 99.0
    assert isinstance(out["d2"], NotFound)
    assert out["d2"].method == "task.elapseditem.delete"
    assert out["d2"].status is None
    g = out["g"]
    assert isinstance(g, Reply)
    assert (g.result, g.total, g.next) == ([{"ID": "1"}], 1, None)
    assert isinstance(out["d3"], BatchSkipped)
    assert out["d3"].transient


def test_unpack_all_failed_documented_example() -> None:
    calls = {"get_user": Call("user.current"), "get_department": Call("department.get")}
    reply = answer(
        {
            "result": [],
            "result_error": {
                "get_user": {"error": "insufficient_scope", "error_description": ""},
                "get_department": {"error": "insufficient_scope", "error_description": ""},
            },
            "result_total": [],
            "result_next": [],
            "result_time": [],
        }
    )
    out = unpack_batch(reply, calls)
    assert all(type(v) is PermanentError and v.code == "insufficient_scope" for v in out.values())


def test_unpack_halted_answer_marks_the_rest_skipped() -> None:
    calls = {"a": entry_delete(1, 1), "b": entry_delete(1, 2)}
    reply = answer(
        {
            "result": [],
            "result_error": {"a": {"error": "ERROR_CORE", "error_description": "ACTION_NOT_ALLOWED"}},
        }
    )
    out = unpack_batch(reply, calls)
    assert type(out["a"]) is PermanentError
    assert isinstance(out["b"], BatchSkipped)


def test_unpack_numeric_keys_sent_as_json_list() -> None:
    out = unpack_batch(answer({"result": [None, 5], "result_error": []}), {"0": Call("m"), "1": Call("m")})
    assert [r.result for r in out.values() if isinstance(r, Reply)] == [None, 5]


def test_unpack_garbage_result_marks_everything_skipped() -> None:
    out = unpack_batch(Reply(result="nonsense"), {"a": Call("m")})
    assert isinstance(out["a"], BatchSkipped)
