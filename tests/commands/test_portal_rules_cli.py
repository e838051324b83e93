"""`check` and `test` on a rules folder with per-portal folders (`portals/<domain or member id>/`): each
portal folder is checked and tested within its portal's effective set, problems at file:line:col."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.commands.test_rules_cli import FAILING_TEST, ROOT, run

KEEP_ZERO = """\
- name: drop-zero-duration-entries
  description: This portal keeps its 0-second entries (recorded only).
  on: [ONTASKADD, ONTASKUPDATE]
  where: {entry.seconds: 0}
  action: delete
  mode: shadow
"""
TYPO = "- name: drop-odd\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.secnds: 1}\n"


def _folder(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    for portal, name, text in (
        ("alpha.example", "keep.yaml", KEEP_ZERO),
        ("b" * 32, "short.yaml", FAILING_TEST),
    ):
        (tmp_path / "rules" / "portals" / portal).mkdir(parents=True)
        (tmp_path / "rules" / "portals" / portal / name).write_text(text)
    return tmp_path / "rules"


def test_check_reports_each_portal_folder_and_its_problems_at_their_positions(tmp_path: Path) -> None:
    rules = _folder(tmp_path)
    code, out, err = run("check", str(rules))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"{rules}: 2 rule(s) in 2 file(s), no problems")
    assert lines[1].startswith(
        f"{rules}/portals/alpha.example: 1 rule(s) of its own, overriding drop-zero-duration-entries; "
        "with the shared ones 2 rule(s), no problems (version "
    )
    assert lines[2].startswith(f"{rules}/portals/{'b' * 32}: 1 rule(s) of its own; with the shared ones 3")

    (rules / "portals" / "alpha.example" / "odd.yaml").write_text(TYPO)
    code, _, err = run("check", str(rules))
    assert code == 1
    assert err.splitlines() == [
        f"{rules}/portals/alpha.example/odd.yaml:4:11: rule 'drop-odd': unknown field 'entry.secnds' "
        "(did you mean 'entry.seconds'?)",
        f"1 problem(s) in {rules}",
    ]


def test_test_runs_each_portal_folders_own_inline_tests(tmp_path: Path) -> None:
    rules = _folder(tmp_path)
    code, out, _ = run("test", str(rules))
    lines = out.splitlines()
    assert code == 1
    assert f"PASS {'b' * 32}/drop-short: short ones go" in lines
    assert any(line.startswith(f"FAIL {'b' * 32}/drop-short: a minute is short too (") for line in lines)
    assert lines[-1] == "5 passed, 1 failed"  # the 4 shared tests once, the portal's 2
