"""The docs' tables say what the code does: every input and setting, with its real default."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from components.alarms import ServiceAlarmsArgs
from components.dashboard import ServiceDashboardArgs
from components.function import PythonFunctionArgs
from components.http_api import HttpApiArgs
from components.stack_keys import SETTINGS
from components.storage import StorageBucketArgs
from components.upload_service import UploadServiceArgs
from components.user_pool import UserPoolArgs
from scripts.config_reference import BEGIN, END, regenerate

DOCS = Path(__file__).resolve().parent.parent / "docs"
CONFIGURATION = DOCS / "configuration.md"
COMPONENT_PAGES = {
    StorageBucketArgs: "storage-bucket.md",
    PythonFunctionArgs: "python-function.md",
    HttpApiArgs: "http-api.md",
    UserPoolArgs: "user-pool.md",
    UploadServiceArgs: "upload-service.md",
    ServiceAlarmsArgs: "service-alarms.md",
    ServiceDashboardArgs: "service-dashboard.md",
}


def table_after(page: Path, marker: str, column: int = 2) -> dict[str, str]:
    """First-column name -> `column` (default: the default column) of the table that follows
    `marker` in `page`."""
    text = page.read_text(encoding="utf-8")
    start = text.index(marker)
    rows: dict[str, str] = {}
    for line in text[start:].splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[column].strip("`")
    return rows


def test_config_table_lists_every_setting_with_its_default():
    rows = table_after(CONFIGURATION, "<!-- config-table", column=3)
    assert list(rows) == [s.key for s in SETTINGS]
    for setting in SETTINGS:
        default = json.loads(rows[setting.key])
        assert default == (list(setting.default) if setting.type == "array" else setting.default)


@pytest.mark.parametrize(
    "args_class",
    [
        StorageBucketArgs,
        PythonFunctionArgs,
        HttpApiArgs,
        UserPoolArgs,
        UploadServiceArgs,
        ServiceAlarmsArgs,
        ServiceDashboardArgs,
    ],
)
def test_inputs_table_lists_every_argument_with_its_default(args_class):
    page = DOCS / "components" / COMPONENT_PAGES[args_class]
    rows = table_after(page, f"<!-- inputs-table: {args_class.__name__}")
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


def test_the_config_table_is_generated_from_the_settings():
    page = CONFIGURATION.read_text(encoding="utf-8")
    assert regenerate(page) == page, "docs/configuration.md is stale: run `make docs`"


def test_a_stale_config_table_is_detected():
    page = CONFIGURATION.read_text(encoding="utf-8")
    table = page[page.index(BEGIN) : page.index(END)]
    row = next(line for line in table.splitlines() if line.startswith("| `thumbnailMaxPx`"))
    stale = page.replace(row, row.replace("`256`", "`128`").replace("16 and 4096", "1 and 9"))
    assert stale != page
    assert regenerate(stale) == page


def test_the_config_table_says_what_the_checks_accept():
    page = CONFIGURATION.read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[5].strip()
        for line in page[page.index(BEGIN) : page.index(END)].splitlines()
        if line.startswith("| `")
    }
    assert rows["throttleBurstLimit"] == "between 0 and 5000"
    assert rows["functionArchitecture"] == "one of arm64, x86_64"
    assert rows["uploadsReservedConcurrency"] == "-1 or at least 1"
    assert rows["alarmDeadLetterAgeMinutes"] == "between 1 and 20159"  # the argument's seconds
    assert rows["tracing"] == "true or false"
