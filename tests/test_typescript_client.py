"""A real client: examples/typescript run by the real Node.js SDK (`@pulumi/pulumi` from npm), as
the node language host runs it, against a deployment whose monitor forwards each remote component
to the package's plugin, started as the CLI starts it (offline/deployment.py and
offline/plugin_host.py cite pulumi/pulumi for each step). The thin `@pulumi/uploads` SDK it uses
is generated from schema.json (scripts/typescript_sdk.py)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.packaging import default_cache_dir
from offline.deployment import Deployment, node_program
from offline.plugin_host import Plugin
from offline.wire_engine import FakeEngine, is_secret, serve
from scripts import typescript_sdk

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "examples" / "typescript"
PROJECT = "uploads-typescript"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BAD_PROGRAM = """import * as pulumi from "@pulumi/pulumi";
import * as uploads from "@pulumi/uploads";

new uploads.StorageBucket("typed", {
    kmsKey: pulumi.secret("arn:aws:kms:us-east-1:123456789012:key/SECRET-0000"),
    noncurrentVersionExpirationDays: "thirty" as any,
});
new uploads.UploadService("nested", {
    bucket: { kmsKey: pulumi.secret("SECRET-1111"), versionning: true } as any,
});
new uploads.StorageBucket("secret", {
    noncurrentVersionExpirationDays: pulumi.secret("SECRET-2222") as any,
});
"""


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """examples/typescript's packages, as `npm ci` installs them from package-lock.json (npm's
    cache keeps a second install offline and fast); reinstalled when the lock file changes."""
    assert shutil.which("npm"), "npm is missing: .ci/run installs nodejs and npm"
    modules = PROGRAM / "node_modules"
    stamp = modules / ".uploads-lock"
    lock = hashlib.sha256((PROGRAM / "package-lock.json").read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text() != lock:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],  # noqa: S607
            cwd=PROGRAM,
            check=True,
        )
        stamp.write_text(lock)
    return modules


class Run:
    """One deployment of one program: the monitor's records and the program's output."""

    def __init__(self, deployment: Deployment, engine: FakeEngine, plugin: Plugin, result: Any):
        self.deployment, self.engine, self.result = deployment, engine, result
        plugin.stderr.seek(0)
        self.plugin_stderr = plugin.stderr.read()

    def by_name(self, name: str) -> Any:
        return next(r for r in self.deployment.resources.values() if r.name == name)

    def everything_said(self) -> str:
        return "\n".join([
            *self.deployment.diagnostics, *self.engine.shown, self.result.stdout,
            self.result.stderr, self.plugin_stderr,
        ])  # fmt: skip


def _deploy(program_dir: Path, config: dict[str, str], secret_keys: tuple[str, ...]) -> Run:
    deployment, engine = Deployment(PROJECT, "dev", config), FakeEngine()
    server, address = serve(engine, deployment)
    deployment.address = address
    plugin = Plugin(address, program_dir, {"UPLOADS_BUILD_CACHE": str(default_cache_dir())})
    deployment.plugin = plugin
    try:
        result = node_program(program_dir, deployment, secret_keys=secret_keys)
        return Run(deployment, engine, plugin, result)
    finally:
        plugin.close()
        server.stop(grace=None)


@pytest.fixture(scope="module")
def example(node_modules: Path) -> Run:
    config = {f"{PROJECT}:filesKeyArn": KEY_ARN}
    return _deploy(PROGRAM, config, (f"{PROJECT}:filesKeyArn",))


@pytest.fixture(scope="module")
def bad_input(node_modules: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Another program in its own folder, sharing the example's packages."""
    folder = tmp_path_factory.mktemp("bad-input")
    (folder / "package.json").write_text(json.dumps({"name": "bad-input", "main": "index.ts"}))
    (folder / "index.ts").write_text(BAD_PROGRAM)
    (folder / "node_modules").symlink_to(node_modules)
    return _deploy(folder, {}, ())


def test_the_committed_sdk_is_the_one_the_schema_generates() -> None:
    for name, text in typescript_sdk.files(json.loads((ROOT / "schema.json").read_text())).items():
        assert (typescript_sdk.SDK_DIR / name).read_text() == text, (
            f"sdks/uploads/{name} is stale: run python scripts/typescript_sdk.py"
        )


def test_the_example_runs_and_its_outputs_resolve(example: Run) -> None:
    assert example.result.returncode == 0, example.everything_said()[-4000:]
    outputs = example.deployment.stack_outputs()
    assert outputs["url"].startswith("https://")
    assert outputs["uploadsBucket"].startswith("service-bucket-bucket-")
    assert outputs["filesBucket"].startswith("files-bucket-")
    assert example.deployment.diagnostics == []


def test_nested_args_reach_the_children(example: Run) -> None:
    uploads = example.by_name("service-uploads-function").inputs
    assert uploads["memorySize"] == 512  # function: {memoryMb: 512}
    on_upload = example.by_name("service-on-upload-function").inputs
    assert on_upload["environment"]["variables"]["THUMBNAIL_MAX_PX"] == "128"
    stage = example.by_name("service-api-stage").inputs
    assert stage["defaultRouteSettings"]["throttlingRateLimit"] == 20  # api: {...}
    assert example.by_name("service-bucket-bucket").inputs["forceDestroy"] is True
    lifecycle = example.by_name("files-lifecycle").inputs["rules"]
    expiries = [r.get("noncurrentVersionExpiration", {}).get("noncurrentDays") for r in lifecycle]
    assert 30 in expiries  # noncurrentVersionExpirationDays: 30
    cors = example.by_name("files-cors").inputs["corsRules"][0]
    assert cors["allowedOrigins"] == ["https://app.example.com"]


def _plain_strings(value: Any) -> Iterator[str]:
    """Every string not inside a secret."""
    if is_secret(value):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from _plain_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _plain_strings(item)
    elif isinstance(value, str):
        yield value


def test_secrets_stay_secret_end_to_end(example: Run) -> None:
    encryption = example.by_name("files-encryption").inputs
    default = encryption["rules"][0]["applyServerSideEncryptionByDefault"]
    assert is_secret(default["kmsMasterKeyId"])
    assert default["kmsMasterKeyId"]["value"] == KEY_ARN
    exported = example.deployment.stack_outputs()["filesKeyArn"]
    assert is_secret(exported)
    assert exported["value"] == KEY_ARN
    for resource in example.deployment.resources.values():
        for text in _plain_strings([resource.inputs, resource.outputs]):
            assert KEY_ARN not in text, resource.name
    assert KEY_ARN not in example.everything_said()


def _diagnostic(run: Run, name: str) -> list[str]:
    found = [d for d in run.deployment.diagnostics if f"resource '{name}' has a problem" in d]
    assert len(found) == 1, run.deployment.diagnostics
    return found[0].split("\n")


def test_bad_input_names_the_field_as_written_with_its_property_path(bad_input: Run) -> None:
    assert bad_input.result.returncode != 0
    message, *details = _diagnostic(bad_input, "typed")
    assert message == (
        "uploads:index:StorageBucket resource 'typed' has a problem: StorageBucket \"typed\": "
        "noncurrentVersionExpirationDays: must be an integer, got 'thirty'"
    )
    assert details == [
        "\t\t- property noncurrentVersionExpirationDays with value '{thirty}' has a problem: "
        "StorageBucket \"typed\": noncurrentVersionExpirationDays: must be an integer, got 'thirty'"
    ]
    message, *details = _diagnostic(bad_input, "nested")
    assert 'UploadService "nested": bucket.versionning: unknown argument' in message
    assert details[0].startswith("\t\t- property bucket.versionning with value '{true}'")


def test_a_bad_secret_is_named_but_never_shown(bad_input: Run) -> None:
    message, *details = _diagnostic(bad_input, "secret")
    assert (
        'StorageBucket "secret": noncurrentVersionExpirationDays: must be a plain value' in message
    )
    assert details == []  # a property path would make the engine print the secret
    assert "SECRET-" not in bad_input.everything_said()
