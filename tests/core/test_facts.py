"""Parsing what Bitrix24 sends (strings, camelCase/UPPER_CASE, null, empty, junk) into typed facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.core.facts import (
    FACT_TYPES,
    EventInput,
    FactType,
    coerce,
    entry_facts,
    event_facts,
    parse_bool,
    parse_datetime,
    parse_int,
    parse_str,
    parse_tags,
    task_facts,
)

MSK = timezone(timedelta(hours=3))

TASK = {
    "id": "691", "title": "Fix login", "status": "5", "closedDate": "2025-09-26T10:00:00+03:00",
    "changedDate": "2025-09-26T10:00:00+03:00", "statusChangedDate": "2025-09-26T10:00:00+03:00",
    "responsibleId": "7", "createdBy": "1", "groupId": "0",
    "tags": {"12": {"id": "12", "title": "urgent"}, "13": {"id": "13", "title": "bug"}},
    "timeSpentInLogs": "5400", "deadline": "",
}  # fmt: skip

ENTRY = {
    "ID": "5", "TASK_ID": "691", "USER_ID": "7", "COMMENT_TEXT": "", "SECONDS": "0", "MINUTES": "0",
    "SOURCE": "2", "CREATED_DATE": "2025-09-26T09:00:00+03:00", "DATE_START": "2025-09-26T09:00:00+03:00",
    "DATE_STOP": None,
}  # fmt: skip


def test_task_facts_from_camel_case_response() -> None:
    facts = task_facts(TASK)
    assert facts["task.id"] == 691
    assert facts["task.title"] == "Fix login"
    assert facts["task.status"] == 5
    assert facts["task.closed_date"] == datetime(2025, 9, 26, 10, 0, tzinfo=MSK)
    assert facts["task.closed_date"] == datetime(2025, 9, 26, 7, 0, tzinfo=UTC)
    assert (facts["task.responsible_id"], facts["task.created_by"], facts["task.group_id"]) == (7, 1, 0)
    assert facts["task.tags"] == ("urgent", "bug")
    assert facts["task.time_spent"] == 5400
    assert facts["task.deadline"] is None


def test_task_facts_fall_back_to_upper_case_keys_and_missing_is_none() -> None:
    facts = task_facts({"ID": "3", "STATUS": "2"})
    assert (facts["task.id"], facts["task.status"], facts["task.title"], facts["task.tags"]) == (
        3,
        2,
        None,
        None,
    )


def test_task_facts_of_a_deleted_task_are_all_none() -> None:
    assert set(task_facts({}).values()) == {None}


def test_entry_facts_from_upper_case_strings() -> None:
    facts = entry_facts(ENTRY)
    assert (facts["entry.id"], facts["entry.task_id"], facts["entry.user_id"]) == (5, 691, 7)
    assert (facts["entry.seconds"], facts["entry.minutes"], facts["entry.source"]) == (0, 0, 2)
    assert facts["entry.comment"] is None  # empty is missing
    assert facts["entry.created_date"] == datetime(2025, 9, 26, 6, 0, tzinfo=UTC)
    assert facts["entry.date_stop"] is None


def test_malformed_portal_values_become_none_not_errors() -> None:
    facts = entry_facts(
        {"ID": "x5", "SECONDS": "1.5", "CREATED_DATE": "yesterday", "TASK_ID": ["1"], "COMMENT_TEXT": {}}
    )
    assert (facts["entry.id"], facts["entry.seconds"], facts["entry.created_date"]) == (None, None, None)
    assert (facts["entry.task_id"], facts["entry.comment"]) == (None, None)
    assert task_facts({"tags": "urgent", "status": True})["task.tags"] is None


@pytest.mark.parametrize(
    ("raw", "value"),
    [("42", 42), (" 42 ", 42), ("-1", -1), (7, 7), ("", None), (None, None), (True, None), ("4e2", None)],
)
def test_parse_int(raw: object, value: int | None) -> None:
    assert parse_int(raw) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("2025-09-26T10:00:00+03:00", datetime(2025, 9, 26, 7, tzinfo=UTC)),
        ("2025-09-26T07:00:00Z", datetime(2025, 9, 26, 7, tzinfo=UTC)),
        ("2025-09-26T10:00:00", None),  # naive: the portal's zone is unknown
        ("", None),
        (None, None),
        ("26.09.2025", None),
        (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        (datetime(2025, 1, 1), None),
    ],
)
def test_parse_datetime(raw: object, value: datetime | None) -> None:
    assert parse_datetime(raw) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ({"1": {"id": "1", "title": "a"}}, ("a",)),
        ([], ()),
        ([{"id": "1", "title": "a"}, {"id": "2"}], ("a",)),
        (["a", "b"], ("a", "b")),
        (None, None),
        ("a", None),
    ],
)
def test_parse_tags_shapes(raw: object, value: tuple[str, ...] | None) -> None:
    assert parse_tags(raw) == value


def test_parse_str_and_bool() -> None:
    assert (parse_str("x"), parse_str(""), parse_str(5), parse_str(None), parse_str(False)) == (
        "x",
        None,
        "5",
        None,
        None,
    )
    assert (parse_bool(True), parse_bool("Y"), parse_bool("N"), parse_bool("maybe")) == (
        True,
        True,
        False,
        None,
    )


def test_event_facts() -> None:
    ts = datetime(2025, 9, 27, tzinfo=UTC)
    facts = event_facts(EventInput("onTaskUpdate", ts, "acme.bitrix24.com", "", "sweep"))
    assert facts == {
        "event.name": "ONTASKUPDATE",
        "event.ts": ts,
        "event.domain": "acme.bitrix24.com",
        "event.member_id": None,
        "event.source": "sweep",
    }


@pytest.mark.parametrize(
    ("fact_type", "value", "typed"),
    [
        (FactType.STATUS, "completed", 5),
        (FactType.STATUS, 3, 3),
        (FactType.INT, 0, 0),
        (FactType.STR, "x", "x"),
        (FactType.BOOL, False, False),
        (FactType.DATETIME, "2025-09-01", datetime(2025, 9, 1, tzinfo=UTC)),
        (FactType.DATETIME, "2025-09-01T10:00:00+02:00", datetime(2025, 9, 1, 8, tzinfo=UTC)),
    ],
)
def test_coerce_rule_literals(fact_type: FactType, value: object, typed: object) -> None:
    assert coerce(fact_type, value) == typed


@pytest.mark.parametrize(
    ("fact_type", "value"),
    [
        (FactType.INT, True),
        (FactType.INT, "1"),
        (FactType.STATUS, 1),
        (FactType.STATUS, "done"),
        (FactType.BOOL, 1),
        (FactType.STR, 5),
    ],
)
def test_coerce_rejects_wrong_types(fact_type: FactType, value: object) -> None:
    with pytest.raises(ValueError, match=r"expected|unknown status"):
        coerce(fact_type, value)


def test_every_fact_has_a_source() -> None:
    from service.core.facts import ENTRY_SOURCES, TASK_SOURCES, TRANSITION_FACTS

    covered = (
        set(TASK_SOURCES)
        | set(ENTRY_SOURCES)
        | TRANSITION_FACTS
        | {n for n in FACT_TYPES if n.startswith("event.")}
    )
    assert covered == set(FACT_TYPES)
