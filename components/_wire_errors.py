"""What a failed `Construct` may answer: one short line, no secret, no traceback, no host path.

The engine prints the answer as the resource's error and appends, for each property error, the
value found at its property path (`errorToMessage`, pulumi/pulumi
pkg/resource/deploy/source_eval.go:2251-2278), in plain text even when that value is a secret.
gRPC carries the answer in trailing metadata, which a peer refuses over 16 KB. So:

- the message is capped (`MAX_MESSAGE`), long echoed inputs shortened;
- every secret input's value is replaced by `[secret]` in the message;
- a property path is set only where the value it reaches holds no secret;
- inputs nested deeper than any component's args (`MAX_DEPTH`) are refused before they are read;
- an unexpected exception answers with its type and the component, never its traceback; the
  package's install folder and the working directory are not named.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2

MAX_MESSAGE = 1024
"""Characters of an answer: far below gRPC's 16 KB metadata limit, with the details repeated."""

MAX_DEPTH = 32
"""Nesting of objects and lists an input may have; the deepest args path is under 10."""

_SIG = "4dabf18193072939515e22adb298388d"
_SECRET = "1b47061264138c4ac30d75fd1eb44270"
_OUTPUT = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
"""Pulumi's special signatures (pulumi/runtime/rpc.py): a secret, an output value."""

_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def depth_problem(inputs: struct_pb2.Struct) -> str | None:
    """A reason to refuse inputs nested deeper than `MAX_DEPTH`, found without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1) for value in inputs.fields.values()]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"inputs nested deeper than {MAX_DEPTH} levels"
        kind = value.WhichOneof("kind")
        if kind == "struct_value":
            stack.extend((v, depth + 1) for v in value.struct_value.fields.values())
        elif kind == "list_value":
            stack.extend((v, depth + 1) for v in value.list_value.values)
    return None


def wire_inputs(inputs: struct_pb2.Struct) -> dict[str, Any]:
    """The inputs as sent (secrets still wrapped in their signature); call after `depth_problem`."""
    return json_format.MessageToDict(inputs)


def _is_secret(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    return value.get(_SIG) == _SECRET or (value.get(_SIG) == _OUTPUT and value.get("secret"))


def _holds_secret(value: Any) -> bool:
    if _is_secret(value):
        return True
    if isinstance(value, dict):
        return any(_holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return False


def _secret_texts(value: Any, inside: bool = False) -> Iterator[str]:
    """Every scalar under a secret, as it could appear in a message."""
    if _is_secret(value):
        yield from _secret_texts(value.get("value"), True)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secret_texts(item, inside)
    elif isinstance(value, list):
        for item in value:
            yield from _secret_texts(item, inside)
    elif inside and value is not None:
        text = value if isinstance(value, str) else json_format_scalar(value)
        yield repr(value)
        if len(text) >= 4:  # shorter bare texts would blank ordinary words; quoted forms above
            yield text


def json_format_scalar(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def path_parts(path: str) -> list[str | int]:
    """`bucket.lifecycleRules[0].prefix` -> `["bucket", "lifecycleRules", 0, "prefix"]`."""
    return [int(i) if i else k for k, i in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path)]


def _at(value: Any, parts: list[str | int]) -> tuple[bool, Any]:
    """The value at a property path as the engine finds it (properties_path.go:156-179): it
    does not look inside a secret, so a path through one finds nothing."""
    for part in parts:
        if (isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)) or (
            isinstance(value, dict) and not _is_secret(value) and part in value
        ):
            value = value[part]
        else:
            return False, None
    return True, value


def redact(message: str, wire: dict[str, Any]) -> str:
    """The message without secret values or host folders, on one line, at most MAX_MESSAGE."""
    for text in sorted(set(_secret_texts(wire)), key=len, reverse=True):
        message = message.replace(text, "[secret]")
    for folder, shown in ((_PACKAGE_DIR, "<serverless_uploads>"), (os.getcwd(), ".")):
        message = message.replace(folder, shown)
    message = " ".join(message.split())
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 14] + " ... (cut)"
    return message


def property_errors(
    message: str, errors: list[dict[str, str]], wire: dict[str, Any]
) -> list[dict[str, str]]:
    """The property errors the engine may print: none whose path reaches a secret."""
    kept = []
    for error in errors:
        path = error.get("property_path", "")
        found, value = _at(wire, path_parts(path))
        if path and not (found and _holds_secret(value)):
            kept.append({"property_path": path, "reason": message})
    return kept
