"""The cross-language view of the args classes, derived from their fields (one definition each).

Pulumi's component host (`pulumi.provider.experimental`) infers a package schema from type
annotations and calls a component as `Component(name, args_dict, opts)`, `args_dict` holding
snake_case keys. From the dataclass (or NamedTuple) fields of an args class this module derives:

- `schema_class`: a plain annotated class the host's analyzer reads (it needs evaluated types it
  knows: no unions other than Optional/Input, no Literal, no callables); its name and qualified
  name are those of the args class, so the analyzer finds the field docstrings in its source;
- `args_of`: the args instance for a typed args object or such a dict, checked field by field
  (unknown, missing or mistyped arguments raise `ArgumentError` naming the argument).

A field whose metadata is `PYTHON_ONLY` (callables such as `transforms`) cannot cross languages:
it is left out of both. `set_by_component(...)` on a field holding nested args names the nested
fields its component sets itself; `wire_as(T)` gives the type another language passes for a field
whose Python type is a protocol.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Awaitable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar, Union, get_args, get_origin

import pulumi
from pulumi.output import T as _OUTPUT_T

PYTHON_ONLY = types.MappingProxyType({"python_only": True})
"""Field metadata: an argument only Python can give (it stays out of the schema)."""

A = TypeVar("A")
_NO_DEFAULT = object()
_SCALARS = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}


def set_by_component(*names: str) -> Mapping[str, Any]:
    """Field metadata: the nested args' fields the owning component sets itself (hidden)."""
    return types.MappingProxyType({"set_by_component": names})


def wire_as(wire_type: type) -> Mapping[str, Any]:
    """Field metadata: the type other languages pass for this field (e.g. a resource)."""
    return types.MappingProxyType({"wire_as": wire_type})


class ArgumentError(ValueError):
    """A bad argument in the dict form of an args class: `path` names it (snake_case)."""

    def __init__(
        self, owner: str, path: tuple[str | int, ...], reason: str, known: Sequence[str] = ()
    ) -> None:
        self.owner, self.path, self.reason, self.known = owner, path, reason, tuple(known)
        listed = f" (known: {', '.join(known)})" if known else ""
        super().__init__(f"{owner}: {dotted(path)}: {reason}{listed}")


def dotted(path: Sequence[str | int]) -> str:
    """`("bucket", "lifecycle_rules", 0, "prefix")` -> `bucket.lifecycle_rules[0].prefix`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


class WireField(NamedTuple):
    name: str
    hint: Any
    default: Any
    """The field's default value (a fresh one for factories), `_NO_DEFAULT` when required."""
    metadata: Mapping[str, Any]


def is_record(tp: Any) -> bool:
    """An args-like class: a dataclass or a NamedTuple."""
    return isinstance(tp, type) and (dataclasses.is_dataclass(tp) or hasattr(tp, "_fields"))


@functools.cache
def wire_fields(record: type, hidden: tuple[str, ...] = ()) -> tuple[WireField, ...]:
    """The fields of `record` that cross languages, with evaluated type hints."""
    hints = typing.get_type_hints(record, localns={"Output": pulumi.Output, "T": _OUTPUT_T})
    if dataclasses.is_dataclass(record):
        found = [
            WireField(f.name, hints[f.name], _default(f), f.metadata)
            for f in dataclasses.fields(record)
        ]
    else:
        defaults = record._field_defaults  # type: ignore[attr-defined]
        found = [
            WireField(name, hints[name], defaults.get(name, _NO_DEFAULT), {})
            for name in record._fields  # type: ignore[attr-defined]
        ]
    return tuple(
        f for f in found if not f.metadata.get("python_only") and f.name not in set(hidden)
    )


def python_only_fields(record: type) -> list[str]:
    """The fields of `record` marked PYTHON_ONLY (documented as such)."""
    if not dataclasses.is_dataclass(record):
        return []
    return [f.name for f in dataclasses.fields(record) if f.metadata.get("python_only")]


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return _NO_DEFAULT


def is_required(f: WireField) -> bool:
    return f.default is _NO_DEFAULT


# -- the schema the host infers ---------------------------------------------------------------


@functools.cache
def schema_class(record: type, hidden: tuple[str, ...] = ()) -> type:
    """An annotated class with `record`'s wire fields, for the host's analyzer."""
    annotations = {}
    for f in wire_fields(record, hidden):
        nested = nested_record(f.hint)
        if nested is not None and f.metadata.get("set_by_component"):
            wired = schema_class(nested, f.metadata["set_by_component"])
        else:
            wired = f.metadata.get("wire_as") or wire_type(f.hint, f"{record.__name__}.{f.name}")
        # A field with a default is optional to the caller, whatever its type.
        annotations[f.name] = wired if is_required(f) else wired | None
    return type(
        record.__name__,
        (),
        {
            "__annotations__": annotations,
            "__doc__": record.__doc__,
            "__module__": record.__module__,
            "__qualname__": record.__qualname__,
        },
    )


def nested_record(hint: Any) -> type | None:
    """The args class a field holds: `Args`, or `Args | None` (a part the caller may turn off)."""
    if is_record(hint):
        return hint
    members = [a for a in get_args(hint) if a is not type(None)]
    optional = get_origin(hint) in (Union, types.UnionType) and len(members) == 1
    return members[0] if optional and is_record(members[0]) else None


def wire_type(hint: Any, where: str) -> Any:  # noqa: PLR0911 - one return per kind of type
    """The analyzer's type for `hint`: Input[T] stays an input, Literal/Path become their value
    type, unions of a function and a record become the record; callables are refused."""
    origin, args = get_origin(hint), get_args(hint)
    if hint in _SCALARS or hint is Any:
        return hint
    if hint is Path:
        return str
    if is_record(hint):
        return schema_class(hint)
    if isinstance(hint, type) and issubclass(hint, pulumi.Resource):
        return hint
    if origin is pulumi.Output:
        return pulumi.Output[wire_type(args[0], where)]  # type: ignore[misc]
    if origin is Literal:
        return type(args[0])
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        inner = _union_member(members, where)
        return inner | None if len(members) < len(args) else inner
    if origin in (Sequence, list) or (origin is tuple and args[1:] == (...,)):
        return list[wire_type(args[0], where)]
    if origin in (Mapping, dict) and args[0] is str:
        return dict[str, wire_type(args[1], where)]
    raise TypeError(f"{where}: {hint} cannot cross languages; mark the field PYTHON_ONLY")


def _union_member(members: list[Any], where: str) -> Any:
    if len(members) == 1:
        return wire_type(members[0], where)
    awaited = [get_args(m)[0] for m in members if get_origin(m) is Awaitable]
    if awaited:
        return pulumi.Input[wire_type(awaited[0], where)]  # type: ignore[misc]
    records = [m for m in members if is_record(m)]
    if records:
        return wire_type(records[0], where)
    if all(m in (str, Path) or get_origin(m) is Literal for m in members):
        return str
    raise TypeError(f"{where}: union {members} cannot cross languages")


# -- the dict path ----------------------------------------------------------------------------


def args_of(record: type[A], args: A | Mapping[str, Any] | None, owner: str) -> A:
    """`args` as an instance of `record`: as given, its defaults for None, or built from the
    dict the component host passes (snake_case keys; nested args as dicts)."""
    if args is None:
        return record()
    if isinstance(args, record):
        return args
    if isinstance(args, Mapping):
        return from_dict(record, args, owner, ())
    raise TypeError(f"{owner}: args must be {record.__name__} or a dict, got {type(args).__name__}")


def from_dict(
    record: type[A],
    data: Mapping[str, Any],
    owner: str,
    path: tuple[str | int, ...],
    *,
    base: Any = None,
    hidden: tuple[str, ...] = (),
) -> A:
    """Build `record` from `data`; fields not given keep `base`'s values (or the defaults)."""
    fields = {f.name: f for f in wire_fields(record, hidden)}
    for key in data:
        if key not in fields:
            raise ArgumentError(owner, (*path, key), "unknown argument", known=list(fields))
    if base is None:
        for f in fields.values():
            if is_required(f) and data.get(f.name) is None:
                raise ArgumentError(owner, (*path, f.name), "missing required argument")
    values = {
        key: _value(fields[key], value, owner, (*path, key))
        for key, value in data.items()
        if value is not None or not is_required(fields[key])
    }
    try:
        if base is None:
            return record(**values)
        if dataclasses.is_dataclass(base):
            return dataclasses.replace(base, **values)  # type: ignore[return-value]
        return base._replace(**values)
    except ArgumentError as error:  # a field's own check (components._checks): the full path
        raise ArgumentError(owner, (*path, *error.path), error.reason, error.known) from None
    except TypeError as error:
        raise ArgumentError(owner, path, str(error)) from None


def _value(f: WireField, value: Any, owner: str, path: tuple[str | int, ...]) -> Any:
    if f.metadata.get("wire_as") is not None:
        return value
    nested = nested_record(f.hint)
    if nested is not None and isinstance(value, Mapping):
        base = f.default if f.default is not _NO_DEFAULT else None
        hidden = tuple(f.metadata.get("set_by_component", ()))
        return from_dict(nested, value, owner, path, base=base, hidden=hidden)
    return convert(f.hint, value, owner, path)


def convert(hint: Any, value: Any, owner: str, path: tuple[str | int, ...]) -> Any:  # noqa: PLR0911, PLR0912
    """`value` checked against `hint`; lists become tuples, integral floats integers."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        return _convert_union(args, value, owner, path)
    if isinstance(value, pulumi.Output):
        raise ArgumentError(owner, path, "must be a plain value, not an output or a secret")
    if hint is Path and isinstance(value, Path):  # a Python caller's path (others pass text)
        return value
    if hint in _SCALARS or hint is Path or origin is Literal:
        return _scalar(str if hint is Path or origin is Literal else hint, value, owner, path)
    if is_record(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, Mapping):
            raise ArgumentError(owner, path, f"must be an object, got {value!r}")
        return from_dict(hint, value, owner, path)
    if origin in (Sequence, list, tuple):
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise ArgumentError(owner, path, f"must be a list, got {value!r}")
        if origin is tuple and args[1:] != (...,):
            return value
        return tuple(convert(args[0], item, owner, (*path, i)) for i, item in enumerate(value))
    if origin in (Mapping, dict):
        if not isinstance(value, Mapping):
            raise ArgumentError(owner, path, f"must be a map, got {value!r}")
        return {k: convert(args[1], v, owner, (*path, k)) for k, v in value.items()}
    return value


def _convert_union(
    members: tuple[Any, ...], value: Any, owner: str, path: tuple[str | int, ...]
) -> Any:
    if value is None and type(None) in members:
        return None
    if isinstance(value, pulumi.Output | Awaitable):
        if any(get_origin(m) is Awaitable for m in members):
            return value
        raise ArgumentError(owner, path, "must be a plain value, not an output or a secret")
    plain = [m for m in members if m is not type(None) and get_origin(m) is not Awaitable]
    for member in plain:
        if is_record(member) and isinstance(value, Mapping):
            return from_dict(member, value, owner, path)
    errors = []
    for member in plain:
        try:
            return convert(member, value, owner, path)
        except ArgumentError as error:
            errors.append(error.reason)
    raise ArgumentError(owner, path, " or ".join(dict.fromkeys(errors)))


def _scalar(kind: type, value: Any, owner: str, path: tuple[str | int, ...]) -> Any:
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return value  # an integer is a number too (and prints as the caller wrote it)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise ArgumentError(owner, path, f"must be {_SCALARS[kind]}, got {value!r}")
