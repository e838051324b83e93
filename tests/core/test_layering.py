"""A portal's effective rule set: shared rules, plus the portal's own, a same-named one replacing."""

from __future__ import annotations

from service.core.layering import load_layered, overridden
from service.core.loader import load_ruleset

ZERO = "- name: drop-zero\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.seconds: 0}\n"
SHADOW = ZERO + "  mode: shadow\n"
SHORT = "- name: drop-short\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.seconds: {lt: 5}}\n"
SHARED = {"rules/a.yaml": ZERO}


def test_portal_rules_extend_the_shared_set() -> None:
    result = load_layered(SHARED, {"rules/portals/x/b.yaml": SHORT})
    assert result.ruleset is not None
    assert [(r.name, r.file) for r in result.ruleset.rules] == [
        ("drop-zero", "rules/a.yaml"),
        ("drop-short", "rules/portals/x/b.yaml"),
    ]


def test_a_portal_rule_of_the_same_name_replaces_the_shared_one_there_only() -> None:
    shared = load_ruleset(SHARED).ruleset
    result = load_layered(SHARED, {"rules/portals/x/a.yaml": SHADOW})
    assert shared is not None
    assert result.ruleset is not None
    [rule] = result.ruleset.rules
    assert (rule.mode, rule.file) == ("shadow", "rules/portals/x/a.yaml")
    assert overridden(shared, result.ruleset) == ("drop-zero",)
    assert result.ruleset.version != shared.version  # the audit tells the two sets apart


def test_without_portal_files_the_effective_set_is_the_shared_set() -> None:
    shared = load_ruleset(SHARED).ruleset
    layered = load_layered(SHARED, {}).ruleset
    assert shared is not None
    assert layered is not None
    assert (layered.rules, layered.version) == (shared.rules, shared.version)


def test_a_problem_in_either_layer_refuses_the_set_at_its_own_position() -> None:
    broken = "- name: drop-short\n  on: [ONTASKUPDATE]\n  action: delete\n  where: {entry.second: 0}\n"
    result = load_layered(SHARED, {"rules/portals/x/b.yaml": broken, "rules/portals/x/c.yaml": SHORT})
    assert result.ruleset is None
    shown = [str(p) for p in result.problems]
    assert shown[0].startswith("rules/portals/x/b.yaml:4:11: rule 'drop-short': unknown field")
    assert shown[1].startswith("rules/portals/x/c.yaml:1:9: rule 'drop-short': duplicate rule name")
