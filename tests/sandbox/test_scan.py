"""The big-portal fast path answers exactly what the general path answers (filters on the REST shape).

Random range filters and orders on ID, TASK_ID, CREATED_DATE over entries whose dates carry
microseconds (the REST shape shows whole seconds), and over tasks by CHANGED_DATE; the ids chosen, in
order, must be the same both ways.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.sandbox import Portal, scan
from service.sandbox.filters import matches, sort_records
from service.sandbox.model import Entry, Task

TZ = timezone(timedelta(hours=3))
START = datetime(2026, 1, 1, tzinfo=TZ)
ENTRY_FIELDS = {"ID", "TASK_ID", "CREATED_DATE"}

moments = st.integers(0, 40_000_000).map(lambda us: START + timedelta(microseconds=us))
ops = st.sampled_from([">", ">=", "<", "<="])
bound = st.one_of(
    st.tuples(ops, st.just("ID"), st.integers(0, 40)),
    st.tuples(ops, st.just("TASK_ID"), st.integers(0, 6)),
    st.tuples(ops, st.just("CREATED_DATE"), moments.map(lambda m: m.isoformat())),
)
orders = st.lists(
    st.tuples(st.sampled_from(sorted(ENTRY_FIELDS)), st.sampled_from(["asc", "desc"])), max_size=2
)


def entries(created: list[datetime]) -> list[Entry]:
    return [Entry.manual(n + 1, n % 5 + 1, 1, 60, "", moment, moment) for n, moment in enumerate(created)]


def general(records: list[dict[str, Any]], conditions: dict[str, Any], order: dict[str, Any]) -> list[str]:
    chosen = [r for r in records if matches(r, conditions, TZ, {})]
    sort_records(chosen, order, TZ, ENTRY_FIELDS)
    return [r["ID"] for r in chosen]


@settings(max_examples=300, deadline=None)
@given(st.lists(moments, max_size=30), st.lists(bound, max_size=3), orders)
def test_entries_fast_and_general_paths_choose_the_same_rows_in_the_same_order(
    created: list[datetime], tests: list[tuple[str, str, Any]], order_keys: list[tuple[str, str]]
) -> None:
    rows = entries(created)
    conditions = {f"{op}{name}": value for op, name, value in tests}
    order = dict(order_keys)
    plan = scan.plan(conditions, order, TZ, ENTRY_FIELDS)

    assert plan is not None
    assert [str(e.id) for e in plan.select(rows)] == general([e.rest() for e in rows], conditions, order)


def test_tasks_by_changed_date_as_the_sweep_pages_them() -> None:
    tasks = [Task(n, f"t{n}", 3, 1, 1, START, START + timedelta(seconds=n // 3, microseconds=n), START)
             for n in range(1, 40)]  # fmt: skip
    conditions = {">=CHANGED_DATE": (START + timedelta(seconds=4)).isoformat()}
    order = {"CHANGED_DATE": "asc", "ID": "asc"}
    plan = scan.plan(conditions, order, TZ, {"ID", "CHANGED_DATE"})
    records = [t.fields() for t in tasks]
    expected = [r for r in records if matches(r, conditions, TZ, {})]
    sort_records(expected, order, TZ, set(records[0]))

    assert plan is not None
    assert [t.id for t in plan.select(tasks)] == [int(r["ID"]) for r in expected] == list(range(12, 40))


def test_anything_else_takes_the_general_path() -> None:
    assert scan.plan({"USER_ID": 1}, {}, TZ, ENTRY_FIELDS) is None  # not an indexed field
    assert scan.plan({"ID": 3}, {}, TZ, ENTRY_FIELDS) is None  # equality: the general path's rules
    assert scan.plan({">ID": [1, 2]}, {}, TZ, ENTRY_FIELDS) is None  # a list of values
    assert scan.plan({">CREATED_DATE": "soon"}, {}, TZ, ENTRY_FIELDS) is None  # not a date
    assert scan.plan({}, {"SECONDS": "asc"}, TZ, ENTRY_FIELDS) is None  # order by another field


def test_a_bulk_loaded_portal_reads_each_tasks_entries_through_its_index() -> None:
    portal = Portal()
    loaded = [Entry.manual(n, 7, 1, 30 * n, "", START, START) for n in (1, 2)]
    portal.load([Task(7, "t", 3, 1, 1, START, START, START)], loaded)
    portal.delete_entry(1)

    assert [e.id for e in portal.entries_of(7)] == [2]
    assert portal.get_task(7).time_spent == 60  # type: ignore[union-attr]
    assert portal.add_entry(7, 30).id == 3  # ids go on after the loaded ones
