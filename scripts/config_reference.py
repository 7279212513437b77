"""The settings table of docs/configuration.md, generated from `components.config.SETTINGS`.

    .venv/bin/python -m scripts.config_reference      # or: make docs

rewrites the table between its two markers; tests/test_docs.py fails while it is stale. Each
setting's accepted values are what its own check answers for a value outside them, so the table
says exactly what the validation enforces.
"""

from __future__ import annotations

import json
from pathlib import Path

from components.config import SETTINGS, Setting

PAGE = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
BEGIN = "<!-- config-table: generated from components/config.py by scripts/config_reference.py -->"
END = "<!-- end of config-table -->"

_OUT_OF_RANGE = {"integer": -(10**12), "string": "\0", "array": ("*", "")}
"""Per type, a value no check accepts, so the check answers with what it does accept."""


def accepted(setting: Setting) -> str:
    """What the setting's check accepts, in the words of its error message ("" if anything)."""
    if setting.type == "boolean":
        return "true or false"
    problem = setting.check(_OUT_OF_RANGE[setting.type])
    return (problem or "").removeprefix("must be ")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table() -> str:
    """The Markdown table: key, type, default, accepted values, description."""
    lines = [
        "| key | type | default | accepted | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{s.key}` | {s.type} | `{json.dumps(s.default)}` | {_cell(accepted(s))} "
        f"| {_cell(s.description)} |"
        for s in SETTINGS
    ]
    return "\n".join(lines) + "\n"


def regenerate(page: str) -> str:
    """`page` with the text between the markers replaced by the current table."""
    head, rest = page.split(BEGIN + "\n", 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table()}{END}{tail}"


def main() -> None:
    text = PAGE.read_text(encoding="utf-8")
    PAGE.write_text(regenerate(text), encoding="utf-8")


if __name__ == "__main__":
    main()
