"""The live rule set: reload on change (ConfigMap swaps too), keep the last good set on a broken one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.plumbing.rulesource import RuleSource

GOOD = "- name: zero\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.seconds: 0}\n"
OTHER = "- name: short\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.seconds: {lt: 5}}\n"
BROKEN = "- name: zero\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.second: 0}\n"
# Loads cleanly, but its own inline test says 5 s should go and the rule only takes 0 s.
TESTED = GOOD + (
    "  tests:\n    - name: five seconds go\n      entries: [{id: 1, seconds: SECONDS}]\n      deletes: [1]\n"
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def source(folder: Path, clock: Clock, problems: list[tuple[str, ...]]) -> RuleSource:
    return RuleSource(folder, interval=2.0, clock=clock, on_problems=problems.append)


def test_a_change_is_picked_up_after_the_interval(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(GOOD)
    clock = Clock()
    problems: list[tuple[str, ...]] = []
    rules = source(tmp_path, clock, problems)
    first = rules.current()
    assert first is not None
    assert [r.name for r in first.rules] == ["zero"]
    (tmp_path / "rules.yaml").write_text(OTHER)
    assert rules.current() is first  # not re-read before the interval
    clock.now = 2.5
    second = rules.current()
    assert second is not None
    assert [r.name for r in second.rules] == ["short"]
    assert second.version != first.version
    assert problems == []


def test_a_broken_set_keeps_the_last_good_one_and_is_reported_once(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(GOOD)
    clock = Clock()
    problems: list[tuple[str, ...]] = []
    rules = source(tmp_path, clock, problems)
    good = rules.current()
    (tmp_path / "rules.yaml").write_text(BROKEN)
    for step in (3, 6, 9):
        clock.now = step
        assert rules.current() is good
    status = rules.status()
    assert not status.ok
    assert good is not None
    assert status.version == good.version
    assert len(problems) == 1
    assert "rules.yaml:4:11: rule 'zero': unknown field 'entry.second'" in problems[0][0]
    assert "did you mean 'entry.seconds'" in problems[0][0]
    (tmp_path / "rules.yaml").write_text(GOOD)
    clock.now = 12
    assert rules.status().ok


def test_a_set_whose_inline_test_fails_is_refused_like_a_broken_one(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(OTHER)
    clock = Clock()
    problems: list[tuple[str, ...]] = []
    rules = source(tmp_path, clock, problems)
    good = rules.current()
    assert good is not None
    (tmp_path / "rules.yaml").write_text(TESTED.replace("SECONDS", "5"))
    for step in (3, 6):
        clock.now = step
        assert rules.current() is good  # the last good set keeps running
    status = rules.status()
    assert (status.ok, status.version) == (False, good.version)
    expected = (
        f"{tmp_path / 'rules.yaml'}:6:7: rule 'zero': inline test 'five seconds go' failed: "
        "expected to delete [1], would delete []"
    )
    assert status.problems == (expected,)
    assert problems == [(expected,)]  # told once
    (tmp_path / "rules.yaml").write_text(TESTED.replace("SECONDS", "0"))
    clock.now = 9
    fixed = rules.current()
    assert fixed is not None
    assert fixed.version != good.version
    assert rules.status().ok


def test_configmap_style_symlink_swap_is_seen(tmp_path: Path) -> None:
    # The kubelet's layout: files are links into ..data, which is itself a link to a timestamped folder.
    first, second = tmp_path / "..2026_01", tmp_path / "..2026_02"
    first.mkdir()
    second.mkdir()
    (first / "rules.yaml").write_text(GOOD)
    (second / "rules.yaml").write_text(OTHER)
    os.symlink(first.name, tmp_path / "..data")
    os.symlink("..data/rules.yaml", tmp_path / "rules.yaml")
    clock = Clock()
    problems: list[tuple[str, ...]] = []
    rules = source(tmp_path, clock, problems)
    before = rules.current()
    assert before is not None
    assert [r.name for r in before.rules] == ["zero"]
    os.symlink(second.name, tmp_path / "..data_tmp")
    os.replace(tmp_path / "..data_tmp", tmp_path / "..data")  # the atomic swap
    clock.now = 5
    after = rules.current()
    assert after is not None
    assert [r.name for r in after.rules] == ["short"]


def test_a_missing_folder_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    clock = Clock()
    problems: list[tuple[str, ...]] = []
    rules = source(tmp_path / "nope", clock, problems)
    assert rules.current() is None
    status = rules.status()
    assert not status.ok
    assert "rules directory not found" in status.problems[0]


def test_a_swap_between_two_file_reads_never_mixes_two_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Version 1 has rule `zero` in a.yaml and `short` in b.yaml; version 2 moves them between the files.
    # Read half from each version, the set would name `zero` twice (or not at all): a spurious problem.
    first, second = tmp_path / "..2026_01", tmp_path / "..2026_02"
    for folder, (a, b) in ((first, (GOOD, OTHER)), (second, (OTHER, GOOD))):
        folder.mkdir()
        (folder / "a.yaml").write_text(a)
        (folder / "b.yaml").write_text(b)
    os.symlink(first.name, tmp_path / "..data")
    for name in ("a.yaml", "b.yaml"):
        os.symlink(f"..data/{name}", tmp_path / name)
    reads: list[str] = []
    original = Path.read_text

    def read_then_swap(self: Path, *args: object, **kwargs: object) -> str:
        text = original(self, *args, **kwargs)  # type: ignore[arg-type]
        reads.append(self.name)
        if len(reads) == 1:  # the kubelet swaps right after the first file was read
            os.symlink(second.name, tmp_path / "..data_tmp")
            os.replace(tmp_path / "..data_tmp", tmp_path / "..data")
        return text

    monkeypatch.setattr(Path, "read_text", read_then_swap)
    clock = Clock()
    problems: list[tuple[str, ...]] = []
    rules = source(tmp_path, clock, problems)
    loaded = rules.current()
    assert problems == []
    assert loaded is not None
    assert sorted(r.name for r in loaded.rules) == ["short", "zero"]
    assert sorted(loaded.files) == [str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")]


SECRET_FILE = "root:x:0:0:root:/root:/bin/bash\ndb_password: hunter2-do-not-show\nAPI_KEY=abc123\n"


def _refused(folder: Path) -> tuple[str, ...]:
    rules = RuleSource(folder, interval=0.0)
    status = rules.status()
    assert not status.ok
    return status.problems


def test_a_link_to_a_file_outside_the_folder_is_refused_unread(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "passwd"
    outside.parent.mkdir()
    outside.write_text(SECRET_FILE)
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "good.yaml").write_text(GOOD)
    os.symlink(outside, folder / "stolen.yaml")
    problems = _refused(folder)
    assert problems == (f"{folder / 'stolen.yaml'}: links outside the rules folder; refused (not read)",)
    # A relative link climbing out is the same, and so is a link to a folder's file through `..`.
    (folder / "stolen.yaml").unlink()
    os.symlink("../elsewhere/passwd", folder / "stolen.yaml")
    assert "links outside the rules folder" in _refused(folder)[0]


def test_a_configmap_layout_inside_the_folder_is_read(tmp_path: Path) -> None:
    version = tmp_path / "..2026_01_01_00_00_00.1"
    version.mkdir()
    (version / "rules.yaml").write_text(GOOD)
    os.symlink(version.name, tmp_path / "..data")
    os.symlink("..data/rules.yaml", tmp_path / "rules.yaml")
    ruleset = RuleSource(tmp_path, interval=0.0).current()
    assert ruleset is not None
    assert [rule.name for rule in ruleset.rules] == ["zero"]


def test_a_file_that_is_not_a_rule_file_is_never_quoted(tmp_path: Path) -> None:
    # /etc/passwd-like text parses as one long YAML string: the problem says so without quoting it.
    (tmp_path / "passwd.yaml").write_text(SECRET_FILE.replace("db_password: ", "db_password "))
    problems = " ".join(_refused(tmp_path))
    assert "passwd.yaml:1:1: a rule file must be a list of rules" in problems
    assert "got text" in problems
    assert "root:x" not in problems
    assert "hunter2" not in problems
    (tmp_path / "passwd.yaml").unlink()
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe secret \x00 bytes")
    problems = " ".join(_refused(tmp_path))
    assert "binary.yaml: not UTF-8 text; refused" in problems
    assert "secret" not in problems


def test_a_problem_quotes_at_most_the_start_of_the_offending_line(tmp_path: Path) -> None:
    long_value = "first line of a long folded value " + "x" * 200
    text = f"- name: zero\n  on: [ONTASKUPDATE]\n  action: '{long_value}\n    hunter2 on the next line'\n"
    (tmp_path / "rules.yaml").write_text(text)
    problems = " ".join(_refused(tmp_path))
    assert "unknown action 'first line of a long folded value" in problems
    assert "hunter2" not in problems
    assert "x" * 61 not in problems
