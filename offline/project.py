"""Read a stack's config the way the Pulumi CLI hands it to a program: the `Pulumi.yaml` config
defaults overlaid by `Pulumi.<stack>.yaml`, as `namespace:key` strings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


class ProjectError(Exception):
    """The project or stack file is missing or malformed."""


def _load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ProjectError(f"{path.name} not found in {path.parent}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path.name} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ProjectError(f"{path.name} must be a mapping at the top level")
    return document


def project_name(project_dir: Path) -> str:
    return str(_load_yaml(project_dir / "Pulumi.yaml")["name"])


def config_schema(project_dir: Path) -> dict[str, dict[str, Any]]:
    """The project's declared config keys (unqualified) with their type, default and description."""
    declared = _load_yaml(project_dir / "Pulumi.yaml").get("config") or {}
    return {key: spec for key, spec in declared.items() if ":" not in key}


def _wire(value: Any) -> str:
    """Pulumi passes every config value to the program as a string; objects and lists as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, sort_keys=True)


def _qualify(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def load_stack_config(project_dir: Path, stack: str) -> dict[str, str]:
    """Config for `stack`: declared defaults first, then the stack file's values."""
    project = project_name(project_dir)
    config: dict[str, str] = {}
    declared = _load_yaml(project_dir / "Pulumi.yaml").get("config") or {}
    for key, spec in declared.items():
        if isinstance(spec, dict) and "default" in spec:
            config[_qualify(project, key)] = _wire(spec["default"])
        elif isinstance(spec, dict) and "value" in spec:
            config[_qualify(project, key)] = _wire(spec["value"])
        elif not isinstance(spec, dict):
            config[_qualify(project, key)] = _wire(spec)
    stack_values = _load_yaml(project_dir / f"Pulumi.{stack}.yaml").get("config") or {}
    for key, value in stack_values.items():
        config[_qualify(project, key)] = _wire(value)
    return config
