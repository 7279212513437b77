"""The README's tables say what the code does: every input and setting, with its real default."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from components.config import SETTINGS
from components.function import PythonFunctionArgs
from components.http_api import HttpApiArgs
from components.storage import StorageBucketArgs
from components.upload_service import UploadServiceArgs
from components.user_pool import UserPoolArgs

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def table_after(marker: str) -> dict[str, str]:
    """First-column name -> default column of the table that follows `marker`."""
    start = README.index(marker)
    rows: dict[str, str] = {}
    for line in README[start:].splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[2].strip("`")
    return rows


def test_config_table_lists_every_setting_with_its_default():
    rows = table_after("<!-- config-table")
    assert list(rows) == [s.key for s in SETTINGS]
    for setting in SETTINGS:
        assert json.loads(rows[setting.key]) == setting.default, setting.key


@pytest.mark.parametrize(
    "args_class",
    [StorageBucketArgs, PythonFunctionArgs, HttpApiArgs, UserPoolArgs, UploadServiceArgs],
)
def test_inputs_table_lists_every_argument_with_its_default(args_class):
    rows = table_after(f"<!-- inputs-table: {args_class.__name__}")
    fields = dataclasses.fields(args_class)
    assert list(rows) == [f.name for f in fields]
    for field in fields:
        if field.default is not dataclasses.MISSING:
            documented = repr(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
            nested = dataclasses.is_dataclass(default)
            documented = f"{type(default).__name__}(...)" if nested else repr(default)
        else:
            documented = "required"
        assert rows[field.name] == documented, field.name
