"""Keep a secret setting secret wherever the program uses it.

The Pulumi CLI decrypts `secure:` config values before the program runs and names the keys that
held them in PULUMI_CONFIG_SECRET_KEYS (pulumi/pulumi `pkg/resource/deploy/source_eval.go:219`
decrypts, `:225` keeps `SecureKeys()`; the Python language host passes them on,
`sdk/python/cmd/pulumi-language-python/main.go:1074`). The Python SDK reads that variable only
on request (`pulumi.runtime.get_config_secret_keys_env`; `is_config_secret` knows only keys a
provider host set), and `pulumi.Config.get` returns the plain text. The settings are checked
and used as plain values (ranges, names, environment strings), so the secret mark is put back
where the value ends up: every resource property that holds a secret setting's text is made a
secret before it is registered, and so is every stack output (`secret_if_used`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, get_args, get_origin

import pulumi
from pulumi.runtime import get_config_secret_keys_env, is_config_secret

from ._wire import wire_fields

A = TypeVar("A")


def secret_keys(keys: Iterable[str]) -> set[str]:
    """Those of `keys` (`project:key`) the engine marked secret."""
    marked = set(get_config_secret_keys_env())
    return {key for key in keys if key in marked or is_config_secret(key)}


class SecretTexts:
    """The plain text of the secret settings, and what marks their uses secret."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = tuple(sorted({t for t in texts if t}, key=len, reverse=True))

    def holds(self, value: Any) -> bool:
        """Whether `value` (text, or lists and maps of it) contains a secret text."""
        if isinstance(value, str):
            return any(text in value for text in self.texts)
        if isinstance(value, Mapping):
            return any(self.holds(k) or self.holds(v) for k, v in value.items())
        if isinstance(value, list | tuple):
            return any(self.holds(v) for v in value)
        return False

    def secret_if_used(self, value: Any) -> Any:
        """`value`, made a secret output when it holds a secret text (once resolved)."""
        if not self.texts:
            return value
        if isinstance(value, str):
            return self._mark(value)
        if isinstance(value, pulumi.Output | Mapping | list | tuple):
            # Nested outputs (an environment map, a policy document) resolve first.
            return pulumi.Output.from_input(value).apply(self._mark)
        return value

    def _mark(self, value: Any) -> Any:
        return pulumi.Output.secret(value) if self.holds(value) else value

    def keep_secret(self) -> None:
        """From now on, every resource the program registers gets each property that holds a
        secret text as a secret (a stack transformation: it runs in the program, before the
        engine sees the resource)."""
        if not self.texts:
            return
        pulumi.runtime.register_stack_transformation(self._transformation)

    def _transformation(
        self, args: pulumi.ResourceTransformationArgs
    ) -> pulumi.ResourceTransformationResult:
        props = {key: self.secret_if_used(value) for key, value in args.props.items()}
        return pulumi.ResourceTransformationResult(props, args.opts)

    def secret_args(self, args: A) -> A:
        """`args` (nested args too) with each argument that holds a secret text and accepts an
        output given as a secret output: what a component registers as its own output from such
        an argument (UploadService's `issuer`) then stays secret as well."""
        if not self.texts:
            return args
        changes: dict[str, Any] = {}
        for f in wire_fields(type(args)):
            value = getattr(args, f.name)
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                changed = self.secret_args(value)
                if changed is not value:
                    changes[f.name] = changed
            elif self.holds(value) and _accepts_output(f.hint):
                changes[f.name] = pulumi.Output.secret(value)
        return dataclasses.replace(args, **changes) if changes else args  # type: ignore[type-var]


def _accepts_output(hint: Any) -> bool:
    """`pulumi.Input[T]` (optional or not): a union with `Output[T]` among its members."""
    return any(get_origin(member) is pulumi.Output for member in get_args(hint))
