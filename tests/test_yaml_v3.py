"""Stack files read as the Pulumi CLI reads them (issue 23 item 11).

Each row: a scalar as written in `Pulumi.<stack>.yaml`, and the string the program receives.
Derived from gopkg.in/yaml.v3 `resolve.go` (`resolve`, `parseTimestamp`), Go's
`strconv.ParseInt(s, 0, 64)` and `encoding/json` number format, and pulumi/pulumi
`sdk/go/common/resource/config/object.go` (`unmarshalObject`: a `time.Time` becomes its
`String()`; `MarshalString`: numbers and booleans as JSON). The CLI then checks an `integer`
setting with `strconv.Atoi` (`sdk/go/common/workspace/project.go` `ValidateConfigValue`).
"""

from __future__ import annotations

import re
from operator import attrgetter
from pathlib import Path

import pytest

from components.config import ConfigError, parse_settings
from offline.project import ConfigProblem, stack_config

ROOT = Path(__file__).resolve().parent.parent

ROWS = [
    # resolve.go: 'D'/'S' hint -> ParseInt(base 0) -> yamlStyleFloat -> 0b/0o prefixes
    ("7.0", "7"),  # float 7, JSON "7" (PyYAML: "7.0")
    ("0o17", "15"),  # YAML 1.2 octal (PyYAML: a string)
    ("1e3", "1000"),  # yamlStyleFloat allows an unsigned exponent (PyYAML: a string)
    ("017", "15"),  # ParseInt base 0: a leading 0 is octal
    ("0x1F", "31"),
    ("1_000", "1000"),  # underscores removed before parsing
    ("+7", "7"),
    ("-0b101", "-5"),
    (".5", "0.5"),  # '.' hint: ParseFloat
    ("08", "8"),  # not octal, not an int: a float
    ("1.5e-7", "1.5e-7"),  # encoding/json: 'e' below 1e-6, e-07 cleaned to e-7
    ("99999999999999999999", "100000000000000000000"),  # past uint64: a float, 'f' format
    ("1e400", "1e400"),  # ParseFloat out of range: stays text
    # Base 60 was dropped in YAML 1.2 (resolve.go: "purposefully unsupported")
    ("1:30", "1:30"),  # PyYAML: 90
    # resolveMap: only these spellings are booleans and nulls
    ("True", "true"),
    ("FALSE", "false"),
    ("yes", "yes"),  # YAML 1.1 boolean, a string in 1.2
    ("off", "off"),
    ("~", "null"),
    # parseTimestamp, then time.Time.String() ("2006-01-02 15:04:05.999999999 -0700 MST")
    ("2024-05-01", "2024-05-01 00:00:00 +0000 UTC"),
    ("2024-5-1", "2024-05-01 00:00:00 +0000 UTC"),
    ("2001-12-14 21:59:43.10", "2001-12-14 21:59:43.1 +0000 UTC"),
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.1 -0500 -0500"),
    ("2001-12-14T21:59:43Z", "2001-12-14 21:59:43 +0000 UTC"),
    ("2024-13-45", "2024-13-45"),  # time.Parse refuses it: text
    ("2001-12-14T21:59:43", "2001-12-14T21:59:43"),  # 'T' needs a zone: text
    # quoted scalars are strings whatever they look like
    ('"7.0"', "7.0"),
    ("'0o17'", "0o17"),
    # lists and maps as Go's json.Marshal writes them: compact, keys sorted
    ("[1e3, 0o17, x]", '[1000,15,"x"]'),
    ("{b: 1.0, a: '<&>'}", '{"a":"\\u003c\\u0026\\u003e","b":1}'),
]


def _stack(tmp_path: Path, value: str, key: str = "serverless-uploads:note") -> dict:
    (tmp_path / "Pulumi.yaml").write_text("name: serverless-uploads\nruntime: python\n")
    (tmp_path / "Pulumi.t.yaml").write_text(f"config:\n  {key}: {value}\n")
    return stack_config(tmp_path, "t")


@pytest.mark.parametrize(("written", "received"), ROWS, ids=[r[0] for r in ROWS])
def test_a_scalar_reaches_the_program_as_the_cli_passes_it(tmp_path, written, received) -> None:
    assert _stack(tmp_path, written)["serverless-uploads:note"].value == received


def test_infinity_is_refused_in_one_line_as_the_cli_cannot_store_it(tmp_path) -> None:
    with pytest.raises(ConfigProblem, match=r"^Pulumi.t.yaml: serverless-uploads:note: inf"):
        _stack(tmp_path, ".inf")


@pytest.mark.parametrize(
    ("key", "written", "argument", "value"),
    [
        ("logRetentionDays", "7.0", "function.log_retention_days", 7),
        ("functionMemoryMb", "0o400", "function.memory_mb", 256),
        ("thumbnailMaxPx", "1e3", "thumbnail_max_px", 1000),
    ],
)
def test_numbers_the_cli_passes_are_accepted(tmp_path, key, written, argument, value) -> None:
    config = _stack(tmp_path, written, f"serverless-uploads:{key}")
    args = parse_settings({k: v.value for k, v in config.items()})
    assert attrgetter(argument)(args) == value


@pytest.mark.parametrize(
    ("key", "written", "problem"),
    [
        ("functionTimeoutSeconds", "1:30", "serverless-uploads:functionTimeoutSeconds = '1:30'"),
        ("functionRuntime", "2024-05-01", "'2024-05-01 00:00:00 +0000 UTC': must be one of"),
    ],
)
def test_text_and_dates_are_refused_in_one_line_not_a_traceback(
    tmp_path, key, written, problem
) -> None:
    config = _stack(tmp_path, written, f"serverless-uploads:{key}")
    with pytest.raises(ConfigError, match=re.escape(problem)):
        parse_settings({k: v.value for k, v in config.items()})
