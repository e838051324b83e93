"""A portal's effective rule set: the shared rule files, extended by the portal's own folder.

The portal's files are loaded like any rule folder (names unique among them) and added to the shared
set; a portal rule named like a shared rule takes that rule's place on this portal only (to switch a
shared rule off for one portal, write the same name with `mode: shadow` or `enabled: false`). Every
problem of either layer is reported at its own file:line:col, and either layer's problem refuses the
whole effective set, exactly as one broken file refuses a folder. Without portal files the effective
set IS the shared set (same rules, same version).
"""

from __future__ import annotations

from collections.abc import Mapping

from service.core.loader import LoadResult, load_ruleset
from service.core.positions import Problem
from service.core.rules import RuleSet, ruleset_version


def load_layered(shared: Mapping[str, str], portal: Mapping[str, str]) -> LoadResult:
    """The shared files' rules with the portal files' rules added or put in place of same-named ones."""
    base, own = load_ruleset(shared), load_ruleset(portal)
    problems = tuple(sorted((*base.problems, *own.problems), key=Problem.sort_key))
    if problems or base.ruleset is None or own.ruleset is None:
        return LoadResult(None, problems)
    replaced = {rule.name for rule in own.ruleset.rules}
    rules = (*(rule for rule in base.ruleset.rules if rule.name not in replaced), *own.ruleset.rules)
    files = {**shared, **portal}
    return LoadResult(RuleSet(tuple(rules), ruleset_version(files), tuple(sorted(files))), ())


def overridden(shared: RuleSet, effective: RuleSet) -> tuple[str, ...]:
    """Names of shared rules a portal's own rule of the same name replaces in `effective`."""
    own = {rule.name: rule.file for rule in effective.rules}
    return tuple(rule.name for rule in shared.rules if own.get(rule.name, rule.file) != rule.file)
