"""Read a stack's config the way the Pulumi CLI hands it to a program: the `Pulumi.yaml` config
defaults overlaid by `Pulumi.<stack>.yaml`, as `namespace:key` strings."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from offline import yaml_v3


class ProjectError(Exception):
    """The project or stack file is missing or malformed."""


class StackNotFoundError(ProjectError):
    """The stack has no `Pulumi.<stack>.yaml`."""


class ConfigProblem(ProjectError):
    """The stack's configuration is wrong: a file Pulumi would refuse, a key under an unknown
    namespace, a region AWS does not have."""


@dataclass(frozen=True)
class ConfigValue:
    """One config value in effect, and where it came from."""

    value: str
    """Pulumi's wire form, as the program receives it."""
    source: str
    """"default" (declared in Pulumi.yaml) or "stack" (set in Pulumi.<stack>.yaml)."""
    secret: bool = False
    """Set as `secure:` in the stack file (or holding such a value: `pulumi config set --secret
    --path 'key[0]'`): never printed. The offline engine has no key to decrypt it, so the program
    gets the ciphertext object and plans with a stand-in: the value itself is not checked."""


def _is_secure(value: Any) -> bool:
    """A `secure:` value, or a list or map holding one, as the CLI's config store reads it
    (pulumi/pulumi sdk/go/common/resource/config/value.go: an object `{secure: ...}` is a
    secure value; `SecureKeys()` lists each top-level key that holds one)."""
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_is_secure(v) for v in value.values())
    return isinstance(value, list) and any(_is_secure(v) for v in value)


def _load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ProjectError(f"{path.name} not found in {path.parent}")
    stat = path.stat()
    return _parse_yaml(path, stat.st_mtime_ns, stat.st_size)


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML's safe loader, refusing a key twice in one mapping as the Pulumi CLI does (PyYAML
    would keep the last value in silence)."""


class _DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key: Any, line: int, first: int) -> None:
        super().__init__(f"line {line}: key {key!r} appears twice (first at line {first})")


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in first_line:
            raise _DuplicateKeyError(key, line, first_line[key])
        first_line[key] = line
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)

# Plain scalars as the Pulumi CLI's yaml.v3 resolves them (YAML 1.2: `yes` is a string, `0o17`
# is 15, `1:30` stays text), not as PyYAML's YAML 1.1.
yaml_v3.install(_StrictLoader)


@functools.lru_cache(maxsize=32)
def _parse_yaml(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    """Parsed once per file version: a plan reads Pulumi.yaml several times, and the
    pure-Python parser takes tens of milliseconds for it (libyaml's, when built in, far less).
    Callers only read the result."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigProblem(f"{path.name} is not UTF-8 text (byte {exc.start})") from exc
    try:
        document = yaml.load(text, Loader=_StrictLoader) or {}  # noqa: S506
    except _DuplicateKeyError as exc:
        raise ConfigProblem(f"{path.name} {exc}: Pulumi refuses the file") from exc
    except yaml.YAMLError as exc:
        raise ConfigProblem(f"{path.name} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ProjectError(f"{path.name} must be a mapping at the top level")
    return document


def project_name(project_dir: Path) -> str:
    return str(_load_yaml(project_dir / "Pulumi.yaml")["name"])


def config_schema(project_dir: Path) -> dict[str, dict[str, Any]]:
    """The project's declared config keys (unqualified) with their type, default and description."""
    declared = _load_yaml(project_dir / "Pulumi.yaml").get("config") or {}
    return {key: spec for key, spec in declared.items() if ":" not in key}


def _wire(key: str, value: Any, file: str) -> str:
    """The string the CLI hands the program for `value` (see `offline.yaml_v3`)."""
    try:
        return yaml_v3.config_string(value)
    except yaml_v3.ConfigValueError as error:
        raise ConfigProblem(f"{file}: {key}: {error}; the Pulumi CLI cannot store it") from None


def _qualify(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def stack_names(project_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def stack_config(project_dir: Path, stack: str) -> dict[str, ConfigValue]:
    """Config for `stack` with each value's source: declared defaults, then the stack file."""
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        known = ", ".join(stack_names(project_dir)) or "none"
        raise StackNotFoundError(
            f"stack {stack!r} has no {stack_file.name} in {project_dir} (stacks here: {known})"
        )
    project = project_name(project_dir)
    config: dict[str, ConfigValue] = {}
    declared = _load_yaml(project_dir / "Pulumi.yaml").get("config") or {}
    for key, spec in declared.items():
        if isinstance(spec, dict) and "default" in spec:
            value = _wire(key, spec["default"], "Pulumi.yaml")
            config[_qualify(project, key)] = ConfigValue(value, "default")
        elif isinstance(spec, dict) and "value" in spec:
            value = _wire(key, spec["value"], "Pulumi.yaml")
            config[_qualify(project, key)] = ConfigValue(value, "default")
        elif not isinstance(spec, dict):
            config[_qualify(project, key)] = ConfigValue(_wire(key, spec, "Pulumi.yaml"), "default")
    for key, value in _stack_file_config(stack_file).items():
        text = _wire(key, value, stack_file.name)
        config[_qualify(project, key)] = ConfigValue(text, "stack", _is_secure(value))
    return config


def _stack_file_config(stack_file: Path) -> dict[str, Any]:
    """The stack file's `config:` mapping, refused with one line when it is not `key: value`
    pairs with namespace:key strings as keys (as the Pulumi CLI refuses it)."""
    values = _load_yaml(stack_file).get("config") or {}
    if not isinstance(values, dict):
        raise ConfigProblem(
            f"{stack_file.name}: config must be a mapping of key: value, "
            f"got a {type(values).__name__}"
        )
    for key in values:
        if not isinstance(key, str):
            raise ConfigProblem(
                f"{stack_file.name}: config key {key!r} is not a namespace:key string"
            )
    return values


def load_stack_config(project_dir: Path, stack: str) -> dict[str, str]:
    """Config for `stack` in Pulumi's wire form: declared defaults, then the stack file's values."""
    return {key: entry.value for key, entry in stack_config(project_dir, stack).items()}


def unknown_namespaces(
    config: Mapping[str, Any], project: str, providers: Iterable[str]
) -> list[str]:
    """One message per key whose namespace is neither the project's nor that of a provider the
    program uses (nor `pulumi`): a typo there would otherwise be ignored in silence."""
    known = sorted({project, "pulumi", *providers})
    problems = []
    for key in sorted(config):
        namespace, _, name = key.partition(":")
        if namespace in known:
            continue
        message = f"{key}: unknown namespace {namespace!r}"
        close = difflib.get_close_matches(namespace, known, n=1, cutoff=0.6)
        if close:
            message += f"; did you mean {close[0]}:{name}?"
        problems.append(message)
    if problems:  # what is known, once
        used = ", ".join(p for p in known if p not in (project, "pulumi")) or "none"
        problems.append(f"this project is {project!r}; providers in use: {used}")
    return problems
