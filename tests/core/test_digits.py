"""Ids are ASCII digits: "²".isdigit() is True and int("²") raises, so nothing may trust isdigit alone."""

from __future__ import annotations

from service.bitrix.answers import ids_of
from service.core.digits import ascii_int
from service.pipeline.offline import _parse


def test_only_ascii_digits_make_an_id() -> None:
    assert [ascii_int(v) for v in ("12", 12, "0", "²", "\u0663", "1\n", " 1", "-1", "1.0", "")] == [
        12, 12, 0, None, None, None, None, None, None, None,
    ]  # fmt: skip
    # Past 18 digits no id fits the store; past 4,300 int() itself raises ValueError.
    assert [ascii_int("9" * n) for n in (18, 19, 5000)] == [10**18 - 1, None, None]


def test_a_portal_answer_with_a_superscript_id_is_skipped_not_a_crash() -> None:
    assert ids_of([{"ID": "7"}, {"ID": "²"}, {"ID": "\u0663"}, {}]) == [7]


def test_an_offline_event_naming_task_superscript_two_is_refused_not_a_crash() -> None:
    rows = [
        {"MESSAGE_ID": "m1", "EVENT_NAME": "ONTASKUPDATE", "EVENT_DATA": {"FIELDS_AFTER": {"ID": "²"}}},
        {"MESSAGE_ID": "m2", "EVENT_NAME": "ONTASKUPDATE", "EVENT_DATA": {"FIELDS_AFTER": {"ID": "42"}}},
    ]
    good, bad = _parse(rows, "p.example")
    assert [(event.message_id, event.task_id) for event in good] == [("m2", 42)]
    assert bad == ["m1"]
