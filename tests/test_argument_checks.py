"""One check per argument, at construction, whatever the caller (issue 27 item 6).

The functions read their settings from the environment at import and refuse a value out of their
own range (`lambda_src/uploads_common/config.py`): a service whose arguments pass construction but
whose environment a function refuses would fail every invocation. The functions' limits are read
here from their source, so a limit added or changed there is held against the component's checks.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components._checks import Between, OneOf, field_check
from components._wire import ArgumentError, args_of
from components.alarms import ServiceAlarmsArgs
from components.function import PythonFunction, PythonFunctionArgs
from components.upload_service import UploadService, UploadServiceArgs
from offline import ResourceGraph

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SRC = ROOT / "lambda_src"
FUNCTION = "aws:lambda/function:Function"

ENV_FIELDS = {
    "MAX_UPLOAD_BYTES": "max_upload_bytes",
    "PRESIGN_MAX_BYTES": "presign_max_bytes",
    "URL_EXPIRY_SECONDS": "url_expiry_seconds",
    "THUMBNAIL_MAX_PX": "thumbnail_max_px",
}
"""The service's environment variables that carry an argument as given."""
DERIVED = ("IMAGE_MAX_PIXELS", "IMAGE_MAX_FRAMES", "JPEG_MAX_SCANS")
"""Computed by `image_limits`, which refuses anything under a megapixel."""


def _function_config() -> Any:
    """The functions' own `uploads_common.config`, loaded as Lambda would run it."""
    spec = importlib.util.spec_from_file_location(
        "function_side_config", LAMBDA_SRC / "uploads_common" / "config.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OPTIONS = ("minimum", "maximum")
_OPERATORS = {ast.Mult: int.__mul__, ast.Pow: int.__pow__, ast.Add: int.__add__}


def _arithmetic(node: ast.expr) -> int:
    """A limit as the source writes it: a number, or products and powers of numbers."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_arithmetic(node.left), _arithmetic(node.right))
    raise AssertionError(f"a limit the test cannot read: {ast.unparse(node)}")


def function_limits() -> dict[str, tuple[int, int | None]]:
    """Every `env_int(NAME, default, minimum=..., maximum=...)` in the functions' source."""
    found: dict[str, tuple[int, int | None]] = {}
    for path in LAMBDA_SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "env_int"):
                continue
            if not isinstance(node.args[0], ast.Constant):
                continue  # the definition's own recursion, if any
            options = {k.arg: _arithmetic(k.value) for k in node.keywords if k.arg in OPTIONS}
            found[node.args[0].value] = (options.get("minimum", 1), options.get("maximum"))
    return found


def _service_environments(build: Callable[..., ResourceGraph], args: UploadServiceArgs) -> list:
    graph = build(lambda: UploadService("svc", args))
    return [r.inputs["environment"]["variables"] for r in graph.of_type(FUNCTION)]


def test_the_functions_limits_are_found_in_their_source() -> None:
    limits = function_limits()
    assert limits["URL_EXPIRY_SECONDS"] == (1, 7 * 24 * 3600)
    assert limits["THUMBNAIL_MAX_PX"] == (1, 4096)
    assert set(ENV_FIELDS) | set(DERIVED) <= set(limits)


def test_every_limited_variable_the_service_sets_comes_from_a_checked_field(build) -> None:
    limits = function_limits()
    environments = _service_environments(build, UploadServiceArgs())
    set_by_service = {name for env in environments for name in env} & set(limits)
    assert set_by_service == set(ENV_FIELDS) | set(DERIVED), "map each new variable to its field"
    for name, field in ENV_FIELDS.items():
        check = field_check(UploadServiceArgs, field)
        assert isinstance(check, Between), field
        low, high = limits[name]
        assert check.low >= low, f"{field} allows {check.low}; the function refuses below {low}"
        assert high is None or (check.high is not None and check.high <= high), (
            f"{field} allows up to {check.high}; the function refuses above {high}"
        )


@pytest.mark.parametrize("edge", ["low", "high"])
def test_what_construction_allows_every_function_accepts_at_import(build, edge) -> None:
    """The service built with every such field at its edge: each function's own config parser
    accepts each value of its environment."""
    values = {
        field: getattr(field_check(UploadServiceArgs, field), edge) for field in ENV_FIELDS.values()
    }
    config = _function_config()
    limits = function_limits()
    for env in _service_environments(build, UploadServiceArgs(**values)):
        for name, (low, high) in limits.items():
            if name in env:
                config.env_int(name, 0, minimum=low, maximum=high, environ=env)
        config.env_log_level(environ=env)
        config.env_prefixes(environ=env)
        if "AUTH_MODE" in env:
            config.env_choice("AUTH_MODE", _uploads_auth_modes(), environ=env)


@pytest.mark.parametrize("field", sorted(ENV_FIELDS.values()))
def test_one_past_each_edge_is_refused_from_python_and_from_a_dict(field) -> None:
    check = field_check(UploadServiceArgs, field)
    for value in (check.low - 1, check.high + 1, float(check.high) * 1e6):
        message = f"must be between {check.low} and {check.high}, got {int(value)!r}"
        with pytest.raises(ArgumentError, match=f"^UploadService: {field}: {message}$"):
            UploadServiceArgs(**{field: value})
        with pytest.raises(ArgumentError) as error:
            args_of(UploadServiceArgs, {field: value}, 'UploadService "svc"')
        assert str(error.value) == f'UploadService "svc": {field}: {message}'
        assert error.value.path == (field,)


def _uploads_auth_modes() -> tuple[str, ...]:
    tree = ast.parse((LAMBDA_SRC / "uploads" / "owners.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "AUTH_MODES":
            return ast.literal_eval(node.value)
    raise AssertionError("owners.py no longer declares AUTH_MODES")


def test_auth_modes_and_log_levels_are_the_ones_the_functions_accept() -> None:
    auth = field_check(UploadServiceArgs, "auth")
    assert isinstance(auth, OneOf)
    assert auth.allowed == _uploads_auth_modes()
    config = _function_config()
    log_levels = field_check(PythonFunctionArgs, "log_level")
    assert isinstance(log_levels, OneOf)
    for level in log_levels.allowed:
        config.env_log_level(environ={"LOG_LEVEL": level})


def test_a_mistyped_argument_names_the_component_and_the_field(build) -> None:
    source = LAMBDA_SRC / "uploads"
    with pytest.raises(
        ArgumentError, match=r"^PythonFunction: memory_mb: must be an integer, got '256'$"
    ):
        PythonFunctionArgs(source=source, memory_mb="256")  # type: ignore[arg-type]
    with pytest.raises(Exception, match=r'PythonFunction "fn": memory_mb: must be an integer'):
        build(lambda: PythonFunction("fn", {"source": str(source), "memory_mb": "256"}))
    with pytest.raises(ArgumentError) as error:
        args_of(UploadServiceArgs, {"function": {"memory_mb": 1e9}}, 'UploadService "svc"')
    assert error.value.path == ("function", "memory_mb")
    assert "must be between 128 and 10240, got 1000000000" in str(error.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"emails": ("oncall",)}, r"emails: \[0\] must be an email address, got 'oncall'"),
        (
            {"https_endpoints": ("http://x.example.com",)},
            r"https_endpoints: \[0\] must be an https",
        ),
        ({"dead_letter_age_seconds": 59}, "dead_letter_age_seconds: must be between 60 and"),
        ({"api_5xx_percent": 0}, "api_5xx_percent: must be above 0, at most 100, got 0"),
        ({"api_latency_p99_ms": 30001}, "api_latency_p99_ms: must be between 1 and 30000"),
    ],
)
def test_alarm_arguments_are_checked_when_built(args, message) -> None:
    with pytest.raises(ArgumentError, match=f"^ServiceAlarms: {message}"):
        ServiceAlarmsArgs(**args)


def test_integral_numbers_from_other_languages_become_integers() -> None:
    args = UploadServiceArgs(thumbnail_max_px=512.0)  # type: ignore[arg-type]
    assert args.thumbnail_max_px == 512
    assert type(args.thumbnail_max_px) is int
