"""What an argument may hold, declared once on its args field and checked when the args are built.

`checked(check, default)` is a dataclass field whose metadata holds the check; `check_fields(args)`
(called by each args class's `__post_init__`) checks every field's type against its annotation
and runs its check, so the same rule holds for a Python caller, another language (through
`components._wire`, which names the property path) and the stack file (`components.config`,
which reads the same checks). A failure raises `ArgumentError` naming the component and the field.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from ._component import HTTP_ORIGIN, HTTPS_URL, IAM_POLICY_ARN, KMS_KEY_ARN
from ._wire import ArgumentError, convert, wire_fields


class Check:
    """A rule for one plain value: `problem(value)` says what is wrong, or None."""

    def problem(self, value: Any) -> str | None:
        raise NotImplementedError

    def describe(self) -> str:
        """What is allowed, for the generated reference."""
        raise NotImplementedError


@dataclass(frozen=True)
class Between(Check):
    low: float
    high: float | None = None
    """None: no upper bound."""

    def problem(self, value: Any) -> str | None:
        if value < self.low or (self.high is not None and value > self.high):
            return f"must be {self.describe()}, got {value!r}"
        return None

    def describe(self) -> str:
        if self.high is None:
            return f"at least {self.low}"
        return f"between {self.low} and {self.high}"


@dataclass(frozen=True)
class OneOf(Check):
    allowed: tuple[Any, ...]

    def problem(self, value: Any) -> str | None:
        return None if value in self.allowed else f"must be {self.describe()}, got {value!r}"

    def describe(self) -> str:
        return "one of " + ", ".join(str(a) for a in self.allowed)


@dataclass(frozen=True)
class Matches(Check):
    """A string matching `pattern` (or one of `also`); outputs are checked by AWS itself."""

    pattern: re.Pattern[str]
    text: str
    """What a match is, e.g. "a KMS key ARN"."""
    also: tuple[str, ...] = ()
    """Literal values accepted besides a match, e.g. "create"."""

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str) or value in self.also or self.pattern.match(value):
            return None
        return f"must be {self.describe()}, got {value!r}"

    def describe(self) -> str:
        return " or ".join([*(repr(a) for a in self.also), self.text])


@dataclass(frozen=True)
class Each(Check):
    """Every item of a list passes `item`; `non_empty` items only."""

    item: Check | None = None
    non_empty: bool = False

    def problem(self, value: Any) -> str | None:
        for index, entry in enumerate(value):
            if self.non_empty and isinstance(entry, str) and not entry.strip():
                return f"[{index}] must not be empty"
            problem = self.item.problem(entry) if self.item else None
            if problem:
                return f"[{index}] {problem}"
        return None

    def describe(self) -> str:
        inner = self.item.describe() if self.item else "non-empty"
        return f"each {inner}"


@dataclass(frozen=True)
class Rule(Check):
    """A check no table states: `test(value)` true when allowed; `text` says what is."""

    test: Callable[[Any], bool]
    text: str

    def problem(self, value: Any) -> str | None:
        return None if self.test(value) else f"must be {self.text}, got {value!r}"

    def describe(self) -> str:
        return self.text


def checked(check: Check, default: Any = dataclasses.MISSING, **options: Any) -> Any:
    """A dataclass field holding `check` in its metadata (beside any other metadata given)."""
    metadata = {**options.pop("metadata", {}), "check": check}
    return dataclasses.field(default=default, metadata=metadata, **options)


def field_check(record: type, name: str) -> Check | None:
    """The check declared on `record`'s field `name`, if any."""
    found = {f.name: f for f in dataclasses.fields(record)}[name]
    return found.metadata.get("check")


def owner_of(args: Any) -> str:
    """`PythonFunctionArgs` -> `PythonFunction`: the component the args belong to."""
    return type(args).__name__.removesuffix("Args")


def check_fields(args: Any, skip: Sequence[str] = ()) -> None:
    """Check each field of `args` that crosses languages: its type (integral floats become
    integers, lists tuples, as `_wire.convert` does for other languages) and its check."""
    owner = owner_of(args)
    for f in wire_fields(type(args)):
        if f.name in skip or f.metadata.get("wire_as") is not None:
            continue
        value = convert(f.hint, getattr(args, f.name), owner, (f.name,))
        object.__setattr__(args, f.name, value)  # frozen: normalise in place, once
        check = f.metadata.get("check")
        if check is None or value is None or isinstance(value, pulumi.Output):
            continue
        problem = check.problem(value)
        if problem:
            raise ArgumentError(owner, (f.name,), problem)


# -- checks several components share ----------------------------------------------------------

LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
"""The only retention periods CloudWatch Logs accepts (PutRetentionPolicy)."""
LOG_RETENTION = OneOf(LOG_RETENTION_DAYS)
EXPIRY_DAYS = Between(1, 3650)
"""Days before S3 or Cognito lets something expire: at least a day, at most ten years."""
HTTP_ORIGINS = Each(
    Rule(
        lambda o: not isinstance(o, str) or bool(HTTP_ORIGIN.match(o)),
        'an explicit http(s)://host[:port] origin ("*" would let any site call)',
    )
)
"""Browser origins as CORS compares them (`*` is not one: each origin is listed)."""
KMS_KEY = Matches(KMS_KEY_ARN, "a KMS key ARN (not an alias)")
KMS_KEY_OR_CREATE = Matches(KMS_KEY_ARN, "a KMS key ARN (not an alias)", also=("create",))
IAM_POLICY = Matches(IAM_POLICY_ARN, "an IAM policy ARN (arn:aws:iam::<account>:policy/<name>)")
HTTPS = Matches(HTTPS_URL, "an https:// URL")
