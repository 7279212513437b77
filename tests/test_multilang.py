"""The components from every Pulumi language: the schema the SDK infers (golden file, complete,
typed as the args say), the generated reference, and the plugin over real gRPC (GetSchema,
Construct against a fake engine and monitor, bad input answered with one clear error)."""

from __future__ import annotations

import difflib
import gc
import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, get_args, get_origin

import grpc
import pytest
import yaml
from google.protobuf import json_format
from pulumi.runtime.proto import errors_pb2, status_pb2

from components._wire import (
    ArgumentError,
    args_of,
    is_record,
    is_required,
    python_only_fields,
    wire_fields,
)
from components.alarms import ServiceAlarmsArgs
from components.multilang import COMPONENTS, UploadsProvider
from components.packaging import default_cache_dir
from components.storage import LifecycleRule, StorageBucket, StorageBucketArgs
from components.upload_service import UploadService, UploadServiceArgs
from offline import run_program
from offline.plugin_host import (
    PLUGIN_DIR,
    NotRunnable,
    Plugin,
    load_plugin_project,
    plugin_command,
    python_options,
)
from offline.wire_engine import FakeEngine, FakeMonitor, is_secret, secret, serve
from scripts.config_reference import stack_keys_by_field
from scripts.multilang_reference import python_only_args, render

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "schema.json"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SCALARS = {bool: "boolean", int: "integer", float: "number", str: "string"}


@pytest.fixture(scope="module")
def inferred() -> str:
    # The SDK's analyzer leaves pulumi_aws's pulumi-plugin.json open (its ResourceWarning is
    # not ours): collect it here, where it is expected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        schema = UploadsProvider().schema or ""
        gc.collect()
    return schema


@pytest.fixture(scope="module")
def schema(inferred: str) -> dict[str, Any]:
    return json.loads(inferred)


def test_schema_matches_the_golden_file(inferred: str) -> None:
    golden = GOLDEN.read_text()
    diff = "".join(
        difflib.unified_diff(
            golden.splitlines(keepends=True),
            inferred.splitlines(keepends=True),
            "schema.json (checked in)",
            "schema (inferred now)",
        )
    )
    assert not diff, f"run `python scripts/multilang_reference.py`; the schema drifted:\n{diff}"


def test_reference_page_is_generated_from_the_schema(schema: dict[str, Any]) -> None:
    page = (ROOT / "docs" / "components.md").read_text()
    assert page == render(schema, python_only_args(), stack_keys_by_field()), (
        "docs/components.md is stale: run `python scripts/multilang_reference.py`"
    )


def test_one_package_hosts_every_component_under_one_version(schema: dict[str, Any]) -> None:
    assert schema["name"] == "uploads"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{schema["version"]}"' in pyproject
    assert set(schema["resources"]) == {f"uploads:index:{c.__name__}" for c in COMPONENTS}


# -- the layout the Pulumi CLI runs (offline/plugin_host.py cites where) -------------------------


def test_the_plugin_folder_is_one_the_cli_installs_and_runs() -> None:
    project = load_plugin_project(PLUGIN_DIR)
    assert not (ROOT / "PulumiPlugin.yaml").exists()  # beside Pulumi.yaml: `package add` refuses
    options = python_options(PLUGIN_DIR, project)
    assert options.virtualenv == PLUGIN_DIR / "venv"
    assert plugin_command(PLUGIN_DIR, options, ["127.0.0.1:1"]) == [
        str(PLUGIN_DIR / "venv" / "bin" / "python"), str(PLUGIN_DIR), "127.0.0.1:1",
    ]  # fmt: skip
    assert "venv/" in (ROOT / ".gitignore").read_text()


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"PulumiPlugin.yaml": "runtime: python\n", "Pulumi.yaml": "name: x\n"}, "detected both"),
        ({"PulumiPlugin.yaml": "runtime: python\nmain: plugin/__main__.py\n"}, "main: not a"),
        ({"PulumiPlugin.yaml": "runtime: python\n"}, "neither __main__.py nor a buildable"),
        ({"__main__.py": ""}, "no PulumiPlugin.yaml"),
    ],
    ids=["beside-a-project", "main-key", "nothing-to-run", "no-manifest"],
)
def test_a_layout_the_cli_would_not_run_fails(
    tmp_path: Path, files: dict[str, str], reason: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(NotRunnable, match=reason):
        _argv(tmp_path)


def _argv(folder: Path) -> list[str]:
    return plugin_command(folder, python_options(folder, load_plugin_project(folder)), [])


def test_a_buildable_plugin_folder_runs_through_pulumi_run_plugin(tmp_path: Path) -> None:
    (tmp_path / "PulumiPlugin.yaml").write_text("runtime: python\n")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "my-components"\n[build-system]\nbuild-backend = "hatchling.build"\n'
    )
    assert _argv(tmp_path)[1:] == ["-m", "pulumi.run.plugin", "my-components"]


def test_the_plugin_venv_holds_the_package_from_this_checkout() -> None:
    requirements = (PLUGIN_DIR / "requirements.txt").read_text().split()
    assert "-r" in requirements
    assert "../requirements.txt" in requirements
    assert ".." in requirements  # the repository's pyproject.toml, relative to plugin/


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for section in ("resources", "types"):
        for token, spec in schema[section].items():
            for part in ("inputProperties", "properties"):
                for name, prop in spec.get(part, {}).items():
                    yield token, name, prop


def test_every_property_has_a_description_and_every_default_is_stated(
    schema: dict[str, Any],
) -> None:
    undescribed = [(t, n) for t, n, p in _properties(schema) if not p.get("description")]
    assert not undescribed
    for component, record in COMPONENTS.items():
        inputs = schema["resources"][f"uploads:index:{component.__name__}"]["inputProperties"]
        for f in wire_fields(record):
            if not is_required(f):
                assert "default" in inputs[_camel(f.name)]["description"].lower(), f.name


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _expected(hint: Any) -> dict[str, Any]:  # noqa: PLR0911 - one return per kind
    """The schema's type for a Python hint (the part this test pins: kind and item kind)."""
    origin, args = get_origin(hint), get_args(hint)
    members = [a for a in args if a is not type(None) and get_origin(a) is None] if args else []
    if hint in SCALARS:
        return {"type": SCALARS[hint]}
    if hint is Any:
        return {"$ref": "pulumi.json#/Any"}
    if is_record(hint):
        return {"$ref": f"#/types/uploads:index:{hint.__name__}"}
    if origin in (Sequence, list):
        return {"type": "array", "items": _expected(args[0])}
    if origin in (Mapping, dict):
        return {"type": "object", "additionalProperties": _expected(args[1])}
    if members:  # Optional[X], Input[X], Literal-or-str: the plain member's type
        scalar = next((m for m in members if m in SCALARS or is_record(m)), str)
        return _expected(scalar)
    return {"type": "string"}  # Literal[...]


def _shape(prop: dict[str, Any]) -> dict[str, Any]:
    shape = {k: prop[k] for k in ("type", "$ref") if k in prop}
    for nested in ("items", "additionalProperties"):
        if nested in prop:
            shape[nested] = _shape(prop[nested])
    return shape


@pytest.mark.parametrize("component", list(COMPONENTS), ids=lambda c: c.__name__)
def test_input_types_and_required_inputs_are_what_the_args_say(
    schema: dict[str, Any], component: type
) -> None:
    record = COMPONENTS[component]
    spec = schema["resources"][f"uploads:index:{component.__name__}"]
    inputs = spec["inputProperties"]
    fields = [f for f in wire_fields(record) if f.metadata.get("wire_as") is None]
    for f in fields:
        if f.metadata.get("set_by_component"):
            continue
        assert _shape(inputs[_camel(f.name)]) == _expected(f.hint), f.name
    assert sorted(spec.get("requiredInputs", [])) == sorted(
        _camel(f.name) for f in wire_fields(record) if is_required(f)
    )
    for python_only in python_only_fields(record):
        assert _camel(python_only) not in inputs


def test_nested_types_hide_what_the_service_sets(schema: dict[str, Any]) -> None:
    service = schema["resources"]["uploads:index:UploadService"]["inputProperties"]
    assert service["onUploadMemoryMb"]["type"] == "integer"
    assert service["bucket"]["$ref"] == "#/types/uploads:index:StorageBucketArgs"
    function = schema["types"]["uploads:index:PythonFunctionArgs"]["properties"]
    assert "memoryMb" in function
    assert not {"source", "handler", "environment", "statements"} & set(function)
    api = schema["types"]["uploads:index:HttpApiArgs"]["properties"]
    assert "throttlingRateLimit" in api
    assert "routes" not in api
    transition = schema["types"]["uploads:index:Transition"]["properties"]
    assert transition == {
        "days": transition["days"] | {"type": "integer"},
        "storageClass": transition["storageClass"] | {"type": "string"},
    }


def test_outputs_carry_aws_resources_and_names_not_python_children(
    schema: dict[str, Any],
) -> None:
    bucket = schema["resources"]["uploads:index:StorageBucket"]["properties"]
    assert bucket["bucket"]["$ref"].endswith("#/resources/aws:s3%2Fbucket:Bucket")
    service = schema["resources"]["uploads:index:UploadService"]["properties"]
    assert set(service) == {
        "url", "issuer", "bucketName", "uploadsFunctionName", "onUploadFunctionName",
        "alarmTopicArn", "dashboardName",
    }  # fmt: skip
    assert schema["dependencies"] == [{"name": "aws", "version": _aws_version()}]


def _aws_version() -> str:
    from importlib import metadata

    return metadata.version("pulumi-aws")


def test_typed_args_and_the_hosts_dict_build_the_same_args() -> None:
    typed = UploadServiceArgs(
        bucket=StorageBucketArgs(kms_key=KEY_ARN, cors_origins=("https://app.example.com",)),
        auth="none",
        thumbnail_max_px=128,
    )
    mapped = {
        "bucket": {"kms_key": KEY_ARN, "cors_origins": ["https://app.example.com"]},
        "auth": "none",
        "thumbnail_max_px": 128.0,  # numbers cross the wire as floats
    }
    from components._wire import args_of

    assert args_of(UploadServiceArgs, mapped, "UploadService") == typed


# -- over gRPC -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wire() -> Iterator[tuple[Plugin, FakeMonitor, str]]:
    engine, monitor = FakeEngine(), FakeMonitor()
    server, address = serve(engine, monitor)
    consumer = ROOT / "examples" / "typescript"
    plugin = Plugin(address, consumer, {"UPLOADS_BUILD_CACHE": str(default_cache_dir())})
    try:
        yield plugin, monitor, address
    finally:
        plugin.close()
        server.stop(grace=None)


def test_get_schema_over_grpc_answers_the_golden_file(
    wire: tuple[Plugin, FakeMonitor, str],
) -> None:
    plugin, _, _ = wire
    assert plugin.schema() == GOLDEN.read_text()


def _children(monitor: FakeMonitor, root: str) -> set[tuple[str, str]]:
    return {(r.type, r.name) for r in monitor.resources.values() if r.name.startswith(root)}


def _python_children(program: Any, root: str) -> set[tuple[str, str]]:
    graph = run_program(program)
    return {(r.type, r.name) for r in graph if r.name.startswith(root)}


def test_construct_storage_bucket_as_typescript_sends_it(
    wire: tuple[Plugin, FakeMonitor, str],
) -> None:
    plugin, monitor, address = wire
    inputs = {
        "kmsKey": secret(KEY_ARN),
        "corsOrigins": ["https://app.example.com"],
        "noncurrentVersionExpirationDays": 10,
        "lifecycleRules": [
            {"prefix": "logs/", "transitions": [{"days": 30, "storageClass": "GLACIER"}]}
        ],
    }
    response = plugin.construct(address, "uploads:index:StorageBucket", "tsfiles", inputs)
    state = json_format.MessageToDict(response.state)
    assert response.urn.endswith("uploads:index:StorageBucket::tsfiles")
    assert state["name"].startswith("tsfiles-bucket-")
    assert state["arn"] == f"arn:aws:s3:::{state['name']}"
    assert is_secret(state["kmsKeyArn"])
    assert _children(monitor, "tsfiles") == _python_children(
        lambda: StorageBucket(
            "tsfiles",
            StorageBucketArgs(
                kms_key=KEY_ARN,
                cors_origins=("https://app.example.com",),
                noncurrent_version_expiration_days=10,
                lifecycle_rules=(LifecycleRule("logs/", transitions=((30, "GLACIER"),)),),
            ),
        ),
        "tsfiles",
    )
    encryption = next(
        r for r in monitor.resources.values() if r.name == "tsfiles-encryption"
    ).inputs
    default = encryption["rules"][0]["applyServerSideEncryptionByDefault"]
    assert is_secret(default["kmsMasterKeyId"])  # the secret key ARN stays secret in the child
    lifecycle = next(r for r in monitor.resources.values() if r.name == "tsfiles-lifecycle")
    assert lifecycle.inputs["rules"][1]["transitions"] == [{"days": 30, "storageClass": "GLACIER"}]


def test_construct_upload_service_as_typescript_sends_it(
    wire: tuple[Plugin, FakeMonitor, str],
) -> None:
    plugin, monitor, address = wire
    inputs = {
        "bucket": {"kmsKey": secret(KEY_ARN), "forceDestroy": True},
        "function": {"memoryMb": 512, "logRetentionDays": 30},
        "api": {"throttlingRateLimit": 20},
        "auth": "none",
        "thumbnailMaxPx": 128,
    }
    response = plugin.construct(address, "uploads:index:UploadService", "tssvc", inputs)
    state = json_format.MessageToDict(response.state)
    assert state["url"].startswith("https://")
    assert state["bucketName"].startswith("tssvc-bucket-bucket-")
    assert state["uploadsFunctionName"].startswith("tssvc-uploads-")
    assert state["onUploadFunctionName"].startswith("tssvc-on-upload-")
    from components.function import PythonFunctionArgs
    from components.http_api import HttpApiArgs

    def python_path() -> None:
        defaults = UploadServiceArgs()
        UploadService(
            "tssvc",
            UploadServiceArgs(
                bucket=StorageBucketArgs(kms_key=KEY_ARN, force_destroy=True),
                function=PythonFunctionArgs(
                    source=defaults.function.source, memory_mb=512, log_retention_days=30
                ),
                api=HttpApiArgs(routes={}, throttling_rate_limit=20),
                auth="none",
                thumbnail_max_px=128,
            ),
        )

    assert _children(monitor, "tssvc") == _python_children(python_path, "tssvc")
    on_upload = next(r for r in monitor.resources.values() if r.name == "tssvc-on-upload-function")
    assert on_upload.inputs["environment"]["variables"]["THUMBNAIL_MAX_PX"] == "128"


def test_construct_http_api_routes_to_a_function_another_program_passed(
    wire: tuple[Plugin, FakeMonitor, str],
) -> None:
    """From another language a route names an `aws.lambda.Function` (a PythonFunction's
    `function` output): it arrives as a resource reference, rehydrated in the plugin."""
    plugin, monitor, address = wire
    source = str(ROOT / "lambda_src" / "uploads")
    made = plugin.construct(address, "uploads:index:PythonFunction", "tsfn", {"source": source})
    function = json_format.MessageToDict(made.state)["function"]
    assert function["urn"].endswith("aws:lambda/function:Function::tsfn-function")
    routes = {"GET /items": {"function": function, "authorization": "NONE"}}
    plugin.construct(address, "uploads:index:HttpApi", "tsapi", {"routes": routes})
    created = {r.name: r for r in monitor.resources.values() if r.name.startswith("tsapi-")}
    assert created["tsapi-route-get-items"].inputs["routeKey"] == "GET /items"
    invoke_arn = next(r for r in monitor.resources.values() if r.name == "tsfn-function").outputs[
        "invokeArn"
    ]
    assert created["tsapi-integration-tsfn-function"].inputs["integrationUri"] == invoke_arn
    permission = created["tsapi-permission-tsfn-function-get-items"].inputs
    assert permission["principal"] == "apigateway.amazonaws.com"


@pytest.mark.parametrize(
    ("type_", "inputs", "expected"),
    [
        (
            "uploads:index:StorageBucket",
            {"noncurrentVersionExpirationDays": "thirty"},
            'StorageBucket "bad": noncurrentVersionExpirationDays: must be an integer',
        ),
        (
            "uploads:index:UploadService",
            {"bucket": {"versionning": False}},
            'UploadService "bad": bucket.versionning: unknown argument (known: versioning,',
        ),
        (
            "uploads:index:PythonFunction",
            {"memoryMb": 512},
            'PythonFunction "bad": source: missing required argument',
        ),
        (
            "uploads:index:StorageBucket",
            {"noncurrentVersionExpirationDays": 0},
            'StorageBucket "bad": noncurrentVersionExpirationDays: must be between 1 and 3650',
        ),
    ],
    ids=["string-for-integer", "unknown-property", "missing-required", "out-of-range"],
)
def test_bad_input_is_one_clear_error_without_a_traceback(
    wire: tuple[Plugin, FakeMonitor, str], type_: str, inputs: dict[str, Any], expected: str
) -> None:
    plugin, _, address = wire
    with pytest.raises(grpc.RpcError) as caught:
        plugin.construct(address, type_, "bad", inputs)
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(expected)
    assert "Traceback" not in error.details()
    assert "File " not in error.details()
    assert "\n" not in error.details()


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def _property_paths(error: Any) -> list[str]:
    """The property paths of an InputPropertiesError, as the engine reads them from the
    status details (pulumi/pulumi pkg/resource/deploy/source_eval.go:2258-2272)."""
    paths = []
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                found = errors_pb2.InputPropertiesError()
                detail.Unpack(found)
                paths += [e.property_path for e in found.errors]
    return paths


@pytest.mark.parametrize(
    ("type_", "inputs", "expected", "paths"),
    [
        (
            "uploads:index:UploadService",
            {"bucket": {"kmsKey": secret("arn:aws:kms:SECRET-KEY"), "versionning": 1}},
            'UploadService "bad": bucket.versionning: unknown argument',
            ["bucket.versionning"],
        ),
        (
            "uploads:index:StorageBucket",
            {"noncurrentVersionExpirationDays": secret("SECRET-DAYS")},
            'StorageBucket "bad": noncurrentVersionExpirationDays: must be a plain value',
            [],  # the engine would print the secret found at the path
        ),
        (
            "uploads:index:StorageBucket",
            {"noncurrentVersionExpirationDays": "x" * 20_000},
            'StorageBucket "bad": noncurrentVersionExpirationDays: must be an integer',
            ["noncurrentVersionExpirationDays"],
        ),
        ("uploads:index:Nope", {}, 'unknown type "uploads:index:Nope": this package has', []),
        (
            "uploads:index:StorageBucket",
            {"lifecycleRules": _nested(300)},
            'StorageBucket "bad": inputs nested deeper than 32 levels',
            [],
        ),
    ],
    ids=["secret-beside-the-error", "secret-in-error", "16kb-input", "unknown-type", "300-deep"],
)
def test_construct_errors_are_short_secret_free_and_name_the_property(
    wire: tuple[Plugin, FakeMonitor, str],
    type_: str,
    inputs: dict[str, Any],
    expected: str,
    paths: list[str],
) -> None:
    plugin, _, address = wire
    with pytest.raises(grpc.RpcError) as caught:
        plugin.construct(address, type_, "bad", inputs)
    error: Any = caught.value
    details = error.details()
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, details
    assert details.startswith(expected)
    assert len(details) <= 1024
    assert "SECRET" not in details
    assert "\n" not in details
    assert "File " not in details
    assert str(PLUGIN_DIR) not in details
    assert _property_paths(error) == paths


def test_a_fifo_in_a_source_is_refused_and_the_plugin_keeps_serving(
    wire: tuple[Plugin, FakeMonitor, str], tmp_path: Path
) -> None:
    """Reading a FIFO never ends: packaging refuses it unread (components/packaging.py)."""
    plugin, _, address = wire
    source = tmp_path / "fn"
    source.mkdir()
    (source / "handler.py").write_text("def handler(event, context):\n    return event\n")
    os.mkfifo(source / "pipe")
    with pytest.raises(grpc.RpcError) as caught:
        plugin.construct(address, "uploads:index:PythonFunction", "fifo", {"source": str(source)})
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "fn/pipe is not a regular file" in error.details()
    assert plugin.schema() == GOLDEN.read_text()  # still serving


# -- the examples ------------------------------------------------------------------------------


def test_yaml_example_constructs_over_grpc(
    wire: tuple[Plugin, FakeMonitor, str], schema: dict[str, Any]
) -> None:
    plugin, _, address = wire
    program = yaml.safe_load((ROOT / "examples" / "yaml" / "Pulumi.yaml").read_text())
    assert program["packages"] == {"uploads": "../../plugin"}
    types = {}
    for name, resource in program["resources"].items():
        types[name] = resource["type"]
        plugin.construct(address, resource["type"], f"yaml{name}", resource["properties"])
    for reference in program["outputs"].values():
        resource, output = reference.strip("${}").split(".")
        assert output in schema["resources"][types[resource]]["properties"]


def test_typescript_example_uses_only_schema_names(schema: dict[str, Any]) -> None:
    folder = ROOT / "examples" / "typescript"
    source = (folder / "index.ts").read_text()
    created = re.findall(r'const (\w+) = new uploads\.(\w+)\("\w+", \{\n(.*?)\n\}\);', source, re.S)
    assert {kind for _, kind, _ in created} == {"StorageBucket", "UploadService"}
    kinds = {}
    for variable, kind, body in created:
        kinds[variable] = kind
        inputs = schema["resources"][f"uploads:index:{kind}"]["inputProperties"]
        assert set(re.findall(r"^    (\w+):", body, re.M)) <= set(inputs)
    for variable, output in re.findall(r"export const \w+ = (\w+)\.(\w+);", source):
        assert output in schema["resources"][f"uploads:index:{kinds[variable]}"]["properties"]
    package = json.loads((folder / "package.json").read_text())
    assert package["dependencies"]["@pulumi/uploads"] == "file:sdks/uploads"
    assert "pulumi package add ../../plugin" in (folder / "README.md").read_text()


def test_alarms_are_tuned_or_turned_off_through_the_dict() -> None:
    tuned = args_of(UploadServiceArgs, {"alarms": {"emails": ["oncall@example.com"]}}, "svc")
    assert tuned.alarms is not None
    assert tuple(tuned.alarms.emails) == ("oncall@example.com",)
    assert tuned.alarms.api_latency_p99_ms == ServiceAlarmsArgs().api_latency_p99_ms
    assert args_of(UploadServiceArgs, {"alarms": None}, "svc").alarms is None
    with pytest.raises(ArgumentError, match="functions"):
        args_of(UploadServiceArgs, {"alarms": {"functions": []}}, "svc")  # set by the service
