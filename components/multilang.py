"""The components for every Pulumi language: a source-based component package named `uploads`.

`plugin/` (the package as the Pulumi CLI runs it) calls `serve()`: Pulumi's component provider
(`pulumi.provider.experimental`) infers the schema from the annotations of `HOSTED` and calls
each component with the snake_case dict it maps the inputs to. What the SDK's provider leaves
to us, this subclass adds:

- the host's view of each component: its args as `_wire.schema_class` (the args fields that
  cross languages) and its outputs (annotated attributes other than child components);
- the host drops unknown properties and nested secrets silently: here the inputs are mapped
  without dropping anything, nested secrets become secret outputs, and the component's own
  check (`_wire.args_of`) names any unknown, missing or mistyped argument;
- a bad argument answers with one error naming the component and the property (camelCase, as
  the caller wrote it) instead of a Python traceback;
- descriptions are tidied (one paragraph per docstring) and state each default.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
import pulumi
from pulumi.errors import InputPropertiesError, RunError
from pulumi.provider.experimental.analyzer import ComponentDefinition, PropertyDefinition
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pulumi.provider.server import ComponentInitError, ProviderServicer
from pulumi.runtime import rpc
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import provider_pb2_grpc

from . import __version__, _wire_errors
from ._wire import (
    ArgumentError,
    is_record,
    is_required,
    schema_class,
    wire_fields,
    wire_type,
)
from .function import PythonFunction, PythonFunctionArgs
from .http_api import HttpApi, HttpApiArgs
from .storage import StorageBucket, StorageBucketArgs
from .upload_service import UploadService, UploadServiceArgs
from .user_pool import UserPool, UserPoolArgs

PACKAGE = "uploads"
"""The package name: type tokens are `uploads:index:<Component>`."""

COMPONENTS: dict[type[pulumi.ComponentResource], type] = {
    StorageBucket: StorageBucketArgs,
    PythonFunction: PythonFunctionArgs,
    HttpApi: HttpApiArgs,
    UserPool: UserPoolArgs,
    UploadService: UploadServiceArgs,
}
"""Each hosted component and its args class."""

RESERVED_OUTPUTS = ("id", "urn")
"""Output names a component resource's schema may not use (Pulumi's own resource properties)."""


def output_hints(component: type) -> dict[str, Any]:
    """The component's outputs other languages get: its annotated attributes, less child
    components (Python-only: use their outputs, e.g. `bucketName`) and reserved names."""
    hints = inspect.get_annotations(component, eval_str=True)
    return {
        name: wire_type(hint, f"{component.__name__}.{name}")
        for name, hint in hints.items()
        if not name.startswith("_") and name not in RESERVED_OUTPUTS and not _is_component(hint)
    }


def _is_component(hint: Any) -> bool:
    members = getattr(hint, "__args__", (hint,))
    return any(isinstance(m, type) and issubclass(m, pulumi.ComponentResource) for m in members)


def hosted(component: type[pulumi.ComponentResource]) -> type[pulumi.ComponentResource]:
    """What the host analyzes and calls for `component`: its name, docstring and source (for the
    attribute docstrings), the wire view of its args and outputs; calling it creates the real
    component."""
    record = COMPONENTS[component]

    def __new__(cls: type, name: str, args: Any, opts: pulumi.ResourceOptions | None = None) -> Any:
        return component(name, args, opts)

    def __init__(self: Any, name: str, args: Any, opts: Any = None) -> None:
        """Never called: `__new__` returns the real component."""

    __init__.__annotations__ = {"args": schema_class(record)}
    return type(
        component.__name__,
        (pulumi.ComponentResource,),
        {
            "__new__": __new__,
            "__init__": __init__,
            "__annotations__": output_hints(component),
            "__doc__": component.__doc__,
            "__module__": component.__module__,
            "__qualname__": component.__qualname__,
        },
    )


class UploadsProvider(ComponentProvider):
    """Pulumi's component provider for `COMPONENTS`, with the additions of this module."""

    def __init__(self) -> None:
        super().__init__([hosted(c) for c in COMPONENTS], PACKAGE, version=__version__)
        self.schema = json.dumps(describe(json.loads(self.schema or "{}")), indent=2) + "\n"

    def map_inputs(self, inputs: Mapping[str, Any], component_def: ComponentDefinition) -> Any:
        return self._snake_case(inputs, component_def.inputs, component_def.inputs_mapping, False)

    def _snake_case(
        self,
        value: Any,
        properties: Mapping[str, PropertyDefinition],
        mapping: Mapping[str, str],
        secret: bool,
    ) -> Any:
        """Schema names -> Python names; unknown names kept for the component to refuse."""
        if not isinstance(value, Mapping):
            return value
        return {
            mapping.get(key, key): self._property(item, properties[key], secret)
            if key in properties
            else item
            for key, item in value.items()
        }

    def _property(self, value: Any, prop: PropertyDefinition, secret: bool) -> Any:
        """One input value in Python form. A secret anywhere in an object or list reaches the
        provider as the whole value made secret (the SDK pushes secretness up): it is unwrapped
        and every input-typed (non-plain) value inside becomes a secret output again."""
        if isinstance(value, pulumi.Output) and (known := _known_secret(value)) is not None:
            value, secret = known, True
        if rpc.is_rpc_secret(value):
            value, secret = rpc.unwrap_rpc_secret(value), True
        if prop.ref and ":" in prop.ref and not prop.ref.startswith("/"):
            nested = self.get_type_definition(prop)
            if nested is not None:
                return self._snake_case(value, nested.properties, nested.properties_mapping, secret)
        if prop.items is not None and isinstance(value, list):
            return [self._property(item, prop.items, secret) for item in value]
        if prop.additional_properties is not None and isinstance(value, dict):
            return {
                k: self._property(v, prop.additional_properties, secret) for k, v in value.items()
            }
        if secret and not prop.plain and not isinstance(value, pulumi.Output):
            return pulumi.Output.secret(value)
        return value

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: Any,
        options: pulumi.ResourceOptions | None = None,
    ) -> Any:
        tokens = [f"{PACKAGE}:index:{c.__name__}" for c in COMPONENTS]
        if resource_type not in tokens:
            shown = json.dumps(resource_type[:100])
            reason = f"unknown type {shown}: this package has {', '.join(tokens)}"
            raise InputPropertiesError(reason, [])
        try:
            return super().construct(name, resource_type, inputs, options)
        except ComponentInitError as error:
            raise _input_error(error.inner) from None


def _known_secret(value: pulumi.Output[Any]) -> Any:
    """The value of a secret input the SDK already knows (Construct's inputs are resolved before
    the provider runs), or None. Reads the output's resolved data: there is no public
    synchronous accessor, and the component must be built synchronously."""
    data = getattr(value, "_data", None)
    if not isinstance(data, asyncio.Future) or not data.done() or data.exception():
        return None
    result = data.result()
    if not result.is_secret or not result.is_known or not isinstance(result.value, dict | list):
        return None
    return result.value


def _input_error(error: Exception) -> Exception:
    """The error the caller sees: the component, the property path and the reason, one line."""
    if isinstance(error, ArgumentError):
        path = ".".join(camel_case(p) if isinstance(p, str) else f"[{p}]" for p in error.path)
        path = path.replace(".[", "[")
        known = ", ".join(camel_case(name) for name in error.known)
        message = f"{error.owner}: {path}: {error.reason}" + (f" (known: {known})" if known else "")
        return InputPropertiesError(message, [{"property_path": path, "reason": message}])
    if isinstance(error, ValueError | TypeError):
        return InputPropertiesError(str(error), [{"property_path": "", "reason": str(error)}])
    return error


# -- descriptions -------------------------------------------------------------------------------


def describe(schema: dict[str, Any]) -> dict[str, Any]:
    """Tidy every description and state each input's default in it."""
    records = dict(_records(COMPONENTS.values()))
    names = {f.name for r in [*COMPONENTS.values(), *(r for r, _ in records.values())]
             for f in wire_fields(r)}  # fmt: skip
    names |= {name for component in COMPONENTS for name in output_hints(component)}
    tidy = functools.partial(_tidy, names=frozenset(names))
    for token, resource in schema.get("resources", {}).items():
        component = token.rsplit(":", 1)[-1]
        resource["description"] = tidy(resource.get("description"))
        record = next(r for c, r in COMPONENTS.items() if c.__name__ == component)
        _describe_properties(resource.get("inputProperties", {}), record, (), tidy)
        _describe_properties(resource.get("properties", {}), None, (), tidy)
    for token, type_spec in schema.get("types", {}).items():
        record, hidden = records[token.rsplit(":", 1)[-1]]
        type_spec["description"] = tidy(type_spec.get("description"))
        _describe_properties(type_spec.get("properties", {}), record, hidden, tidy)
    return schema


def _records(roots: Iterator[type] | Sequence[type]) -> Iterator[tuple[str, tuple[type, tuple]]]:
    """Every nested args class reachable from `roots`, by schema type name."""
    for root in roots:
        for f in wire_fields(root):
            for hint in _leaf_records(f.hint):
                hidden = tuple(f.metadata.get("set_by_component", ()))
                yield hint.__name__, (hint, hidden)
                yield from _records([hint])


def _leaf_records(hint: Any) -> list[type]:
    if is_record(hint):
        return [hint]
    return [r for arg in getattr(hint, "__args__", ()) for r in _leaf_records(arg)]


def _describe_properties(
    properties: dict[str, Any],
    record: type | None,
    hidden: tuple[str, ...],
    tidy: Callable[[str | None], str | None],
) -> None:
    fields = {camel_case(f.name): f for f in wire_fields(record, hidden)} if record else {}
    for name, prop in properties.items():
        text = tidy(prop.get("description"))
        f = fields.get(name)
        if f is not None and not is_required(f) and "default" not in (text or "").lower():
            text = f"{text} {_default_text(f.default)}".strip()
        prop["description"] = text
        for nested in ("items", "additionalProperties"):
            prop.get(nested, {}).pop("description", None)  # the property's own, repeated


def _tidy(text: str | None, names: frozenset[str]) -> str | None:
    """One paragraph; argument names in backticks as the schema spells them (`kmsKey="create"`)."""
    if not text:
        return text

    def camel(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"`{camel_case(name) if name in names else name}{match.group(2)}`"

    return re.sub(r"`([a-z][a-z0-9_]*)([^`]*)`", camel, re.sub(r"\s+", " ", text).strip())


def _default_text(value: Any) -> str:
    if is_record(type(value)):
        return "Default: the defaults of each of its properties."
    if value is None or value in ((), {}):
        return "Default: none."
    if isinstance(value, Path):
        return "Default: the package's own source."
    return f"Default: `{json.dumps(list(value) if isinstance(value, tuple) else value)}`."


class UploadsServicer(ProviderServicer):
    """The SDK's gRPC servicer, with `Construct` answering as `_wire_errors` says: the SDK's own
    answers a traceback for anything but an input error, and any length."""

    async def Construct(self, request: Any, context: Any) -> Any:
        component = f'{request.type.rsplit(":", 1)[-1][:100]} "{request.name[:100]}"'
        problem = _wire_errors.depth_problem(request.inputs)
        if problem is not None:
            await self._refuse(context, f"{component}: {problem}", [], {})
        wire = _wire_errors.wire_inputs(request.inputs)
        try:
            return await self._construct(request, context)
        except RunError:
            raise
        except InputPropertiesError as error:
            await self._refuse(context, error.message, list(error.errors or []), wire)
        except Exception as error:
            reason = str(error).splitlines()[0] if str(error) else "no message"
            await self._refuse(context, f"{component}: {type(error).__name__}: {reason}", [], wire)
        raise AssertionError("unreachable: _refuse aborts the call")

    async def _refuse(
        self, context: Any, message: str, errors: list[Any], wire: dict[str, Any]
    ) -> None:
        message = _wire_errors.redact(message, wire)
        kept = _wire_errors.property_errors(message, errors, wire)
        await context.abort_with_status(self.create_grpc_invalid_properties_status(message, kept))


def serve(args: Sequence[str]) -> None:
    """Run the provider as a plugin: listen on a free port, print it, serve until stopped
    (pulumi.provider.server.main, with `UploadsServicer`)."""
    parser = argparse.ArgumentParser(description="the uploads component package's plugin")
    parser.add_argument("engine", help="the Pulumi engine's address")
    engine_address = parser.parse_known_args(list(args))[0].engine

    async def run() -> None:
        server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)
        servicer = UploadsServicer(UploadsProvider(), list(args), engine_address=engine_address)
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
        port = server.add_insecure_port(address="127.0.0.1:0")
        await server.start()
        sys.stdout.buffer.write(f"{port}\n".encode())
        sys.stdout.buffer.flush()
        await server.wait_for_termination()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
