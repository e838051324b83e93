"""Per-portal rule folders on disk: `rules/portals/<domain or member id>/` extends the shared folder for
that portal only, also in the layout the chart's projected ConfigMap volume gives (`portals` a link into
`..data`, swapped atomically with the shared files)."""

from __future__ import annotations

import os
from pathlib import Path

from service.plumbing.rulesource import RuleSource, portal_folders

ZERO = "- name: drop-zero\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.seconds: 0}\n"
KEEP = ZERO + "  mode: shadow\n"
SHORT = "- name: drop-short\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.seconds: {lt: 5}}\n"
BROKEN = "- name: drop-short\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.second: 0}\n"
PORTAL = ("alpha.bitrix24.test", "a" * 32)


def _rules(source: RuleSource) -> list[tuple[str, str]]:
    ruleset = source.current()
    assert ruleset is not None, source.status().problems
    return [(rule.name, rule.mode) for rule in ruleset.rules]


def test_a_portal_folder_named_by_domain_or_member_id_extends_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "zero.yaml").write_text(ZERO)
    (tmp_path / "portals" / PORTAL[0]).mkdir(parents=True)
    (tmp_path / "portals" / PORTAL[0] / "zero.yaml").write_text(KEEP)
    (tmp_path / "portals" / ("b" * 32)).mkdir()
    (tmp_path / "portals" / ("b" * 32) / "short.yaml").write_text(SHORT)

    alpha = RuleSource(tmp_path, portal=PORTAL)
    beta = RuleSource(tmp_path, portal=("beta.bitrix24.test", "b" * 32))
    other = RuleSource(tmp_path, portal=("gamma.bitrix24.test", "c" * 32))
    shared = RuleSource(tmp_path)

    assert _rules(alpha) == [("drop-zero", "shadow")]
    assert _rules(beta) == [("drop-zero", "enforce"), ("drop-short", "enforce")]
    assert _rules(other) == _rules(shared) == [("drop-zero", "enforce")]
    assert other.status().version == shared.status().version != alpha.status().version
    assert [p.name for p in portal_folders(tmp_path)] == [PORTAL[0], "b" * 32]


def test_a_broken_portal_file_refuses_that_portals_set_only(tmp_path: Path) -> None:
    (tmp_path / "zero.yaml").write_text(ZERO)
    (tmp_path / "portals" / PORTAL[1]).mkdir(parents=True)
    (tmp_path / "portals" / PORTAL[1] / "short.yaml").write_text(BROKEN)
    problems: list[tuple[str, ...]] = []

    alpha = RuleSource(tmp_path, portal=PORTAL, on_problems=problems.append)

    assert alpha.current() is None
    [[problem]] = problems
    assert problem.startswith(f"{tmp_path}/portals/{PORTAL[1]}/short.yaml:4:11: rule 'drop-short'")
    assert RuleSource(tmp_path).status().ok


def test_two_folders_for_one_portal_are_refused(tmp_path: Path) -> None:
    (tmp_path / "zero.yaml").write_text(ZERO)
    for key in PORTAL:
        (tmp_path / "portals" / key).mkdir(parents=True)
    status = RuleSource(tmp_path, portal=PORTAL).status()
    assert (status.ok, status.version) == (False, None)
    assert "are folders of one portal; keep one" in status.problems[0]


def test_the_projected_configmap_layout_swaps_shared_and_portal_files_together(tmp_path: Path) -> None:
    # A projected volume with `items`: the kubelet links every top-level name into ..data, which links
    # to a timestamped folder holding `zero.yaml` and `portals/<domain>/…` as plain files.
    versions = [tmp_path / "..2026_01", tmp_path / "..2026_02"]
    for version, portal_rule in zip(versions, (KEEP, SHORT), strict=True):
        (version / "portals" / PORTAL[0]).mkdir(parents=True)
        (version / "zero.yaml").write_text(ZERO)
        (version / "portals" / PORTAL[0] / "own.yaml").write_text(portal_rule)
    os.symlink(versions[0].name, tmp_path / "..data")
    os.symlink("..data/zero.yaml", tmp_path / "zero.yaml")
    os.symlink("..data/portals", tmp_path / "portals")
    alpha = RuleSource(tmp_path, portal=PORTAL, interval=0.0)
    assert _rules(alpha) == [("drop-zero", "shadow")]

    os.symlink(versions[1].name, tmp_path / "..data_tmp")
    os.replace(tmp_path / "..data_tmp", tmp_path / "..data")  # the atomic swap

    assert _rules(alpha) == [("drop-zero", "enforce"), ("drop-short", "enforce")]
    assert alpha.current().files == (  # type: ignore[union-attr]
        f"{tmp_path}/portals/{PORTAL[0]}/own.yaml",
        f"{tmp_path}/zero.yaml",
    )


def test_the_rule_test_gate_runs_on_the_portals_effective_set(tmp_path: Path) -> None:
    # The portal's own rule carries an inline test its rule fails: that portal's set is refused like a
    # broken one (its last good set keeps running there), the shared set and other portals run on.
    (tmp_path / "zero.yaml").write_text(ZERO)
    (tmp_path / "portals" / PORTAL[0]).mkdir(parents=True)
    failing = (
        SHORT + "  tests:\n    - name: ten go\n      entries: [{id: 1, seconds: 10}]\n      deletes: [1]\n"
    )
    (tmp_path / "portals" / PORTAL[0] / "short.yaml").write_text(failing)

    alpha = RuleSource(tmp_path, portal=PORTAL)

    assert alpha.current() is None
    assert alpha.status().problems[0].startswith(f"{tmp_path}/portals/{PORTAL[0]}/short.yaml:")
    assert "ten go" in alpha.status().problems[0]
    assert RuleSource(tmp_path, portal=("beta.example", "b" * 32)).status().ok
