from __future__ import annotations

from service.core.positions import Node, Problem, Reporter, describe_value, did_you_mean


def test_did_you_mean() -> None:
    assert did_you_mean("entry.second", ["entry.seconds", "entry.id"]) == " (did you mean 'entry.seconds'?)"
    assert did_you_mean("zzz", ["entry.seconds"]) == ""


def test_reporter_shares_problems_between_file_and_rule() -> None:
    report = Reporter("f.yaml")
    node = Node("scalar", 2, 5, scalar="x", text="x")
    report.error(node, "file level")
    report.for_rule("r").error(node, "rule level")
    assert [str(p) for p in report.problems] == ["f.yaml:2:5: file level", "f.yaml:2:5: rule 'r': rule level"]
    assert Problem("a", 1, 2, None, "m").sort_key() == ("a", 1, 2, "m")


def test_describe() -> None:
    assert [describe_value(v) for v in (None, True, 3, 1.5, "s")] == [
        "an empty value",
        "the boolean true",
        "the number 3",
        "the number 1.5",
        "the string 's'",
    ]
    assert Node("seq", 1, 1).describe() == "a list"
    assert Node("map", 1, 1).key_text == ""
    assert Node("scalar", 1, 1, scalar=True, text="on").key_text == "on"
    assert Node("scalar", 1, 1, scalar=5, text="5").shown() == "the number 5"
