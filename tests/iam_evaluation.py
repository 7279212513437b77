"""IAM's policy evaluation for one request within one account, as the IAM User Guide describes it
("Policy evaluation logic", "Determining whether a request is allowed or denied within an
account"), for identity-based policies and a permissions boundary:

1. an explicit Deny in any applicable policy denies;
2. otherwise the identity-based policies must Allow, and
3. when the principal has a permissions boundary, the boundary must Allow too;
4. anything else is an implicit deny.

A statement applies when its Action (or NotAction), its Resource (or NotResource) and every
condition match ("IAM JSON policy elements": Action, NotAction, Resource, NotResource, Condition).
Conditions ("IAM JSON policy elements: Condition operators"; "Creating a condition with multiple
keys or values"): operators AND together, keys AND together, the values of one key OR together;
`...IfExists` is true when the key is absent; `Null` tests presence; a negated operator is true
when the key is absent; `ForAnyValue:`/`ForAllValues:` compare multivalued keys (ForAllValues is
true for an absent key). ARN operators match each of the six colon-separated parts on its own.
Neither iam-ape (it expands permissions and carries conditions unevaluated) nor iamspy 0.0.1 (an
SMT model needing z3) evaluates one request with these conditions, hence this module.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Context = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Context = field(default_factory=dict)


class UnsupportedOperator(AssertionError):
    """A policy uses a condition operator this evaluator does not implement."""


def _like(pattern: str, value: str, *, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _arn_like(pattern: str, value: str) -> bool:
    expected, actual = pattern.split(":", 5), value.split(":", 5)
    if len(expected) != 6 or len(actual) != 6:
        return False
    return all(_like(e, a) for e, a in zip(expected, actual, strict=True))


def _number(text: str) -> float:
    return float(text)


_COMPARE = {
    "StringEquals": lambda e, v: e == v,
    "StringEqualsIgnoreCase": lambda e, v: e.lower() == v.lower(),
    "StringLike": _like,
    "ArnEquals": lambda e, v: e == v,
    "ArnLike": _arn_like,
    "Bool": lambda e, v: e.lower() == v.lower(),
    "NumericEquals": lambda e, v: _number(v) == _number(e),
    "NumericLessThan": lambda e, v: _number(v) < _number(e),
    "NumericLessThanEquals": lambda e, v: _number(v) <= _number(e),
    "NumericGreaterThan": lambda e, v: _number(v) > _number(e),
    "NumericGreaterThanEquals": lambda e, v: _number(v) >= _number(e),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _values(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def _condition_holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    wanted = _values(expected)
    present = key in context
    if base == "Null":
        return (not present) == (wanted[0].lower() == "true")
    if base not in _COMPARE and base not in _NEGATED:
        raise UnsupportedOperator(f"condition operator {operator} is not evaluated")
    if not present:
        return if_exists or base in _NEGATED or qualifier == "ForAllValues"
    actual = _values(context[key])
    compare = _COMPARE[_NEGATED.get(base, base)]
    negate = base in _NEGATED

    def matches(value: str) -> bool:
        hit = any(compare(e, value) for e in wanted)
        return not hit if negate else hit

    if qualifier == "ForAllValues":
        return all(matches(v) for v in actual)
    if qualifier == "ForAnyValue":
        return any(matches(v) for v in actual)
    if len(actual) != 1:
        raise UnsupportedOperator(f"{key} has several values: use ForAnyValue/ForAllValues")
    return matches(actual[0])


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    return all(
        _condition_holds(operator, key, expected, context)
        for operator, keys in conditions.items()
        for key, expected in keys.items()
    )


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Action" in statement:
        action_hit = any(_like(a, request.action, case=False) for a in _values(statement["Action"]))
    else:
        action_hit = not any(
            _like(a, request.action, case=False) for a in _values(statement["NotAction"])
        )
    if "Resource" in statement:
        resource_hit = any(_like(r, request.resource) for r in _values(statement["Resource"]))
    else:
        resource_hit = not any(
            _like(r, request.resource) for r in _values(statement["NotResource"])
        )
    return (
        action_hit
        and resource_hit
        and _conditions_hold(statement.get("Condition", {}), request.context)
    )


def _statements(policies: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    found = []
    for policy in policies:
        listed = policy["Statement"]
        found.extend(listed if isinstance(listed, list) else [listed])
    return found


def _effects(policies: Iterable[Mapping[str, Any]], request: Request) -> set[str]:
    return {s["Effect"] for s in _statements(policies) if _applies(s, request)}


def allowed(
    request: Request,
    identity: Sequence[Mapping[str, Any]],
    boundary: Mapping[str, Any] | None = None,
) -> bool:
    """Whether `identity`'s policies (under `boundary`, if any) allow `request`."""
    granted = _effects(identity, request)
    if "Deny" in granted or "Allow" not in granted:
        return False
    if boundary is None:
        return True
    capped = _effects([boundary], request)
    return "Allow" in capped and "Deny" not in capped


def policy_actions(policy: Mapping[str, Any]) -> set[str]:
    """The actions a policy's Allow statements name (no patterns: IAM.21 forbids them)."""
    names = set()
    for statement in _statements([policy]):
        if statement["Effect"] == "Allow":
            names |= set(_values(statement["Action"]))
    return names
