"""A deployment of a program in another language against the component package, as the Pulumi
engine runs it, with the offline fake cloud: the resource monitor forwards a remote component's
registration to the package's plugin as `Construct`, prints a failed one as the engine prints it,
and the Node.js program is started as the node language host starts it. Each step cites
pulumi/pulumi at commit 1b5949891b. Used by tests/test_typescript_client.py."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from pulumi.runtime.proto import errors_pb2, provider_pb2, resource_pb2, status_pb2

from components._wire_errors import path_parts
from offline.plugin_host import Plugin
from offline.wire_engine import FakeMonitor, Registration, is_secret


class Deployment(FakeMonitor):
    """The engine's resource monitor for one `pulumi up` of one stack (pkg/resource/deploy/
    source_eval.go, `resmon`): custom resources answered by the fake cloud, remote components
    constructed by the plugin."""

    def __init__(self, project: str, stack: str, config: Mapping[str, str]) -> None:
        super().__init__()
        self.project, self.stack, self.config = project, stack, dict(config)
        self.address = ""
        """The monitor's own address, passed to the plugin (`MonitorEndpoint`)."""
        self.plugin: Plugin | None = None
        self.diagnostics: list[str] = []
        """What the engine prints for the deployment: each failed Construct's message."""

    def RegisterResource(self, request: Any, context: Any) -> Any:
        if not request.remote:
            return super().RegisterResource(request, context)
        assert self.plugin is not None, "start the plugin before the program"
        # pkg/resource/plugin/provider_plugin.go:2150-2179: the engine's Construct request. The
        # SDK's object goes through unchanged: secrets keep their signature (:2043-2052).
        construct = provider_pb2.ConstructRequest(
            project=self.project,
            stack=self.stack,
            config=self.config,
            dryRun=False,
            parallel=0,
            monitorEndpoint=self.address,
            type=request.type,
            name=request.name,
            parent=request.parent,
            inputs=request.object,
            protect=request.protect,
            providers=dict(request.providers),
            dependencies=list(request.dependencies),
            accepts_output_values=True,
        )
        try:
            made = self.plugin.stub.Construct(construct, timeout=120)
        except grpc.RpcError as error:
            # source_eval.go:2886-2900: the message is printed as the resource's error
            # (diag.GetResourceInvalidError, sdk/go/common/diag/errors.go:36-37) and the
            # program is told the monitor shut down.
            wire = json_format.MessageToDict(request.object)
            message = error_to_message(error, wire)
            self.diagnostics.append(
                f"{request.type} resource '{request.name}' has a problem: {message}"
            )
            context.abort(grpc.StatusCode.UNKNOWN, "resource monitor shut down")
        state = json_format.MessageToDict(made.state)
        with self.lock:
            self.resources[made.urn] = Registration(
                request.type, request.name, request.parent, False,
                json_format.MessageToDict(request.object), state,
            )  # fmt: skip
        return resource_pb2.RegisterResourceResponse(urn=made.urn, object=made.state)

    def stack_outputs(self) -> dict[str, Any]:
        """The program's exports, as it registered them on its stack resource."""
        stack = next(r for r in self.resources.values() if r.type == "pulumi:pulumi:Stack")
        return stack.outputs


def _go_value(value: Any) -> str:
    """A property value as the engine's `%v` prints it (sdk/go/common/resource/properties.go:
    642-656): secrets in plain text, the reason the plugin must not point at one."""
    if is_secret(value):
        return "{&{" + _go_value(value.get("value")) + "}}"
    if isinstance(value, dict):
        return "{map[" + " ".join(f"{k}:{_go_value(v)}" for k, v in sorted(value.items())) + "]}"
    if isinstance(value, list):
        return "{[" + " ".join(_go_value(v) for v in value) + "]}"
    if isinstance(value, bool):
        return "{" + str(value).lower() + "}"
    if isinstance(value, float) and value.is_integer():
        return "{" + str(int(value)) + "}"
    return "{" + str(value) + "}"


def _get(value: Any, parts: list[str | int]) -> tuple[bool, Any]:
    """PropertyPath.Get (sdk/go/common/resource/properties_path.go:156-179): through objects and
    arrays only, so never inside a secret."""
    if not parts:
        return True, value
    head, rest = parts[0], parts[1:]
    if isinstance(value, list) and isinstance(head, int) and 0 <= head < len(value):
        return _get(value[head], rest)
    if isinstance(value, dict) and not is_secret(value) and head in value:
        return _get(value[head], rest)
    return False, None


def error_to_message(error: Any, inputs: dict[str, Any]) -> str:
    """errorToMessage (pkg/resource/deploy/source_eval.go:2251-2278)."""
    message = error.details() or ""
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        for detail in status_pb2.Status.FromString(value).details:
            found = errors_pb2.InputPropertiesError()
            detail.Unpack(found)
            for problem in found.errors:
                ok, at = _get(inputs, path_parts(problem.property_path))
                if ok:
                    message += (
                        f"\n\t\t- property {problem.property_path} with value '{_go_value(at)}'"
                        f" has a problem: {problem.reason}"
                    )
                else:
                    message += (
                        f"\n\t\t- property {problem.property_path} has a problem: {problem.reason}"
                    )
    return message


def node_program(
    program_dir: Path,
    deployment: Deployment,
    entry: str = ".",
    secret_keys: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run a Node.js program as the node language host runs it
    (sdk/nodejs/cmd/pulumi-language-nodejs/main.go)."""
    # :202-243: `@pulumi/pulumi/cmd/run`, resolved by node from the program's folder.
    resolve = "console.log(require.resolve('@pulumi/pulumi/cmd/run'))"
    run_path = subprocess.run(  # noqa: S603
        ["node", "-e", resolve],  # noqa: S607 - node on PATH, as the language host finds it
        cwd=program_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # :1086-1116 constructArguments: monitor, engine, project, root directory, stack, program
    # directory, parallel, then the entry point ("." is the program's folder).
    argv = ["node", run_path, "--monitor", deployment.address, "--engine", deployment.address,
            "--project", deployment.project, "--root-directory", str(program_dir),
            "--stack", deployment.stack, "--pwd", str(program_dir), "--parallel", "4",
            entry]  # fmt: skip
    # :1118-1145 constructConfig: `<namespace>:config:<name>` keys; :1149-1161 the secret keys;
    # :921-923 the typescript option, on by default (:291-295).
    config = {}
    for key, value in deployment.config.items():
        namespace, name = key.split(":", 1)
        config[f"{namespace}:config:{name}"] = value
    env = {
        **os.environ,
        "PULUMI_CONFIG": json.dumps(config),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(secret_keys)),
        "PULUMI_NODEJS_TYPESCRIPT": "true",
    }
    # :996-1010: no working directory of its own: the host's, which the engine starts in the
    # program's folder.
    return subprocess.run(  # noqa: S603
        argv, cwd=program_dir, env=env, capture_output=True, text=True, timeout=300, check=False
    )
