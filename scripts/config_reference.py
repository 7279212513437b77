"""What `make docs` derives from the stack keys (`components/stack_keys.py`), which take their
type, default, description and check from UploadService's argument fields:

- the `config:` schema of `Pulumi.yaml`, which the Pulumi CLI checks stack files against;
- the key table of docs/configuration.md: each key, the argument it sets (whose description is in
  docs/components.md, once), its type, default and what it accepts.

    .venv/bin/python -m scripts.config_reference      # or: make docs

tests/test_docs.py and tests/test_config.py fail while either is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from components.stack_keys import SETTINGS, Setting, field_at
from components.upload_service import UploadServiceArgs

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "configuration.md"
PROJECT = ROOT / "Pulumi.yaml"
BEGIN = (
    "<!-- config-table: generated from components/stack_keys.py by scripts/config_reference.py -->"
)
END = "<!-- end of config-table -->"
SCHEMA_HEAD = "config:\n"
"""Where `Pulumi.yaml`'s generated part starts: the config schema is its last section."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def argument_link(path: str) -> str:
    """`function.memory_mb` -> a link to the field's row in docs/components.md."""
    record, _, _, _ = field_at(path)
    anchor = (
        record.__name__.removesuffix("Args") if record is UploadServiceArgs else record.__name__
    )
    return f"[`{path}`](components.md#{anchor.lower()})"


def stack_keys_by_field() -> dict[tuple[str, str], str]:
    """(args class name, field name) -> the stack key that sets it (for docs/components.md)."""
    return {
        (field_at(path)[0].__name__, field_at(path)[1]): s.key
        for s in SETTINGS
        for path in s.alias.paths
    }


def _default(setting: Setting) -> Any:
    return list(setting.default) if isinstance(setting.default, tuple) else setting.default


def table() -> str:
    """The Markdown table: key, argument(s), type, default, accepted values and the key's note."""
    lines = [
        "| key | argument | type | default | accepted | note |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in SETTINGS:
        arguments = ", ".join(argument_link(p) for p in s.alias.paths)
        lines.append(
            f"| `{s.key}` | {arguments} | {s.type} | `{json.dumps(_default(s))}` "
            f"| {_cell(s.accepted())} | {_cell(s.alias.note)} |"
        )
    return "\n".join(lines) + "\n"


def regenerate(page: str) -> str:
    """`page` with the text between the markers replaced by the current table."""
    head, rest = page.split(BEGIN + "\n", 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}{END}{tail}"


def schema() -> dict[str, dict[str, Any]]:
    """`Pulumi.yaml`'s `config:` mapping: each key's type, default and description."""
    declared = {}
    for s in SETTINGS:
        entry: dict[str, Any] = {
            "type": s.type,
            "default": _default(s),
            "description": s.description,
        }
        if s.type == "array":
            entry["items"] = {"type": "string"}
        declared[s.key] = entry
    return declared


def regenerate_project(text: str) -> str:
    """`Pulumi.yaml` with its config schema replaced by the current one."""
    head = text.split("\n" + SCHEMA_HEAD, 1)[0]
    body = yaml.safe_dump(schema(), sort_keys=False, allow_unicode=True, width=100)
    indented = "".join(f"  {line}\n" for line in body.splitlines())
    return f"{head}\n{SCHEMA_HEAD}{indented}"


def main() -> None:
    PAGE.write_text(regenerate(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    PROJECT.write_text(regenerate_project(PROJECT.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()
