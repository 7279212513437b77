"""Stack files read as the Pulumi CLI reads them: YAML 1.2 scalars as gopkg.in/yaml.v3 resolves
them, and each value turned into the string the CLI's config store hands the program.

PyYAML follows YAML 1.1: `1:30` is 90 (base 60), `7.0` stays a float that prints as `7.0`, `1e3`
and `0o17` are strings, and a date is a `datetime.date` that JSON cannot encode. The CLI
(`sdk/go/common/encoding/marshal.go:111`, yaml.v3 v3.0.1) resolves every plain scalar with
yaml.v3's `resolve()` (go-yaml/yaml `resolve.go`, function `resolve`; timestamps by
`parseTimestamp`) into an `interface{}` (`decode.go`, `scalar`: the resolved value as is), and
the config store turns that into the program's string (pulumi/pulumi
`sdk/go/common/resource/config/object.go`: `unmarshalObject` keeps bool, int64, uint64, float64
and string, makes a `time.Time` its `String()`; `MarshalString` gives numbers and booleans as
their JSON, strings as they are, lists and maps as JSON).
"""

from __future__ import annotations

import datetime
import json
import math
import re
from decimal import Decimal
from typing import Any

import yaml

PLAIN_TAG = "tag:pulumi.offline,2026:yaml.v3-plain"
"""The tag every plain (unquoted, untagged) scalar gets here, resolved by `resolve_plain`."""

_MAP: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
"""resolve.go `resolveMapList`: the scalars looked up by their exact text."""
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
"""resolve.go `yamlStyleFloat`."""
_GO_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
"""What Go's `strconv.ParseInt(s, 0, 64)` accepts (base from the prefix; a leading 0 is octal)."""
_INT64 = (-(2**63), 2**63 - 1)
_TIMESTAMP = re.compile(
    r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<H>[0-9]{1,2}):(?P<M>[0-9]{1,2}):(?P<S>[0-9]{1,2})"
    r"(?:\.(?P<frac>[0-9]{1,9}))?(?P<zone>Z|[-+][0-9]{2}:[0-9]{2})?)?$"
)
"""resolve.go `allowedTimestampFormats`, as Go's `time.Parse` reads those layouts: RFC 3339 with
`T` or `t` and a zone (`2006-1-2T15:4:5.999999999Z07:00`), space-separated without a zone
(`2006-1-2 15:4:5.999999999`), or a date alone (`2006-1-2`)."""


def _go_int(text: str) -> int | None:
    """`strconv.ParseInt(text, 0, 64)`, then `ParseUint(text, 0, 64)` (resolve.go)."""
    if not _GO_INT.match(text):
        return None
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-")
    prefixes = {"0x": 16, "0o": 8, "0b": 2}
    base = prefixes.get(digits[:2].lower(), 8 if len(digits) > 1 and digits[0] == "0" else 10)
    body = digits[2:] if digits[:2].lower() in prefixes else digits
    value = sign * int(body, base)
    if _INT64[0] <= value <= _INT64[1] or (text[0] not in "+-" and value < 2**64):
        return value
    return None


def _timestamp(text: str) -> str | None:
    """resolve.go `parseTimestamp`, as the string `time.Time.String()` gives for it (Go layout
    `2006-01-02 15:04:05.999999999 -0700 MST`). A zone offset other than the runner's own is a
    fixed zone without a name, printed as its offset; runners here use UTC."""
    found = _TIMESTAMP.match(text)
    if found is None or (found["sep"] in ("T", "t")) != (found["zone"] is not None):
        return None
    parts = {k: int(v) for k, v in found.groupdict().items() if v and k not in ("sep", "zone")}
    try:
        moment = datetime.datetime(
            parts["y"], parts["m"], parts["d"], parts.get("H", 0), parts.get("M", 0),
            parts.get("S", 0),
        )  # fmt: skip
    except ValueError:
        return None  # Go's time.Parse refuses it too: the text stays a string
    fraction = (found["frac"] or "").rstrip("0")
    zone = found["zone"] or "Z"
    if zone in ("Z", "+00:00", "-00:00"):
        offset = "+0000 UTC"
    else:
        offset = zone.replace(":", "")
        offset = f"{offset} {offset}"
    return f"{moment:%Y-%m-%d %H:%M:%S}{'.' + fraction if fraction else ''} {offset}"


def resolve_plain(text: str) -> Any:  # noqa: PLR0911 - one return per resolve.go branch
    """yaml.v3's `resolve("", text)` for a plain scalar: bool, None, int, float or str (a
    timestamp as the string the CLI passes on)."""
    if text in _MAP:
        return _MAP[text]
    hint = text[0]
    if hint == ".":
        return _go_float(text, text)
    if not (hint.isdigit() or hint in "+-"):
        return text
    stamp = _timestamp(text)
    if stamp is not None:
        return stamp
    plain = text.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return number
    if _YAML_STYLE_FLOAT.match(plain):
        return _go_float(plain, text)
    return text


def _go_float(number: str, text: str) -> float | str:
    """`strconv.ParseFloat(number, 64)`: out of range is an error there, so the text stays."""
    try:
        value = float(number)
    except ValueError:
        return text
    return text if math.isinf(value) else value


def _plain_scalar(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    return resolve_plain(loader.construct_scalar(node))


def install(loader: type[yaml.SafeLoader]) -> None:
    """Make `loader` resolve plain scalars as yaml.v3 does (keeping `<<` merge keys)."""
    loader.yaml_implicit_resolvers = {
        "<": [("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"))],
        None: [(PLAIN_TAG, re.compile(r".*", re.DOTALL))],
    }
    loader.add_constructor(PLAIN_TAG, _plain_scalar)


class ConfigValueError(ValueError):
    """A value the CLI's config store cannot hold (NaN or infinity: JSON has no such number)."""


def config_string(value: Any) -> str:
    """The string the CLI hands the program for a stack file value (object.go `MarshalString`)."""
    if isinstance(value, str):
        return value
    return go_json(value)


def go_json(value: Any) -> str:
    """Go's `json.Marshal` of a decoded YAML value: compact, map keys sorted, `<`, `>` and `&`
    escaped, numbers in Go's shortest form (encoding/json `floatEncoder`)."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float_text(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        for char in "<>&\u2028\u2029":
            text = text.replace(char, f"\\u{ord(char):04x}")
        return text
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{go_json(k)}:{go_json(v)}" for k, v in items) + "}"
    raise ConfigValueError(f"a {type(value).__name__} cannot be a config value")


def _go_float_text(value: float) -> str:
    """encoding/json: 'f' format between 1e-6 and 1e21, else 'e' with `e-07` cleaned to `e-7`."""
    if math.isnan(value) or math.isinf(value):
        raise ConfigValueError(f"{value} is not a number JSON can hold")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        shortest, exponent = repr(value).split("e")  # Python's repr is e-notation here too
        if "." in shortest:
            shortest = shortest.rstrip("0").rstrip(".")
        sign, digits = exponent[0], exponent[1:].lstrip("0") or "0"
        if sign == "+" and len(digits) < 2:
            digits = digits.rjust(2, "0")
        return f"{shortest}e{sign}{digits}"
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
