"""The offline engine over gRPC, for the component package (`plugin/`): a small fake Pulumi
engine and resource monitor served on a local port (offline/plugin_host.py starts the plugin as
the CLI does). The monitor answers with the offline engine's fake cloud (ids, ARNs, invokes) and
records every registration. Used by tests/test_multilang.py and scripts/bench_multilang.py."""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
)

from offline.fake_cloud import FakeCloud

PROJECT_DIR = Path(__file__).resolve().parent.parent
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
"""How a secret travels inside a protobuf Struct (Pulumi's special signature): sig.Key and
sig.Secret (pulumi/pulumi@1b59498 sdk/go/common/resource/sig/sig.go:21-24), the SDK's
`_special_sig_key` / `_special_secret_sig` (pulumi 3.272.0 pulumi/runtime/rpc.py:65, :83)."""

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
"""tokens.RootStackType: a child of the stack gets no parent type in its URN."""


def secret(value: Any) -> dict[str, Any]:
    return {**SECRET_SIG, "value": value}


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and all(value.get(k) == v for k, v in SECRET_SIG.items())


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


@dataclass
class Registration:
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""


class FakeMonitor(resource_pb2_grpc.ResourceMonitorServicer):
    """Records every registration; answers like the offline engine."""

    def __init__(self) -> None:
        self.cloud = FakeCloud()
        self.resources: dict[str, Registration] = {}
        self.lock = threading.Lock()

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:
        # As an engine older than this call: the SDK then asks SupportsFeature per feature
        # (pulumi 3.272.0 pulumi/runtime/settings.py:505-520, _LEGACY_FEATURE_MAPPING :484).
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "ask SupportsFeature")

    def SupportsFeature(self, request: Any, context: Any) -> Any:
        # No output values: registrations carry plain values and secrets as signatures.
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id != "outputValues")

    def RegisterResource(self, request: Any, context: Any) -> Any:
        inputs = json_format.MessageToDict(request.object)
        # urn.New (pulumi/pulumi@1b59498 sdk/go/common/resource/urn/urn.go:80-92):
        # urn:pulumi:<stack>::<project>::<parent type>$<type>::<name>; none under the stack.
        parent_type = request.parent.split("::")[-2] if request.parent else ""
        qualified = (
            f"{parent_type}${request.type}"
            if parent_type not in ("", ROOT_STACK_TYPE)
            else request.type
        )
        urn = f"urn:pulumi:test::mlang::{qualified}::{request.name}"
        if not request.custom:
            with self.lock:
                self.resources[urn] = Registration(request.type, request.name, "", False, inputs)
            return resource_pb2.RegisterResourceResponse(urn=urn)
        plain = {k: v.get("value") if is_secret(v) else v for k, v in inputs.items()}
        args = MockResourceArgs(request.type, request.name, plain, request.provider, "", True)
        physical_id, state = self.cloud.new_resource(args)
        with self.lock:
            self.resources[urn] = Registration(
                request.type, request.name, request.parent, True, inputs, state, physical_id
            )
        return resource_pb2.RegisterResourceResponse(urn=urn, id=physical_id, object=struct(state))

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:
        with self.lock:
            self.resources[request.urn].outputs = json_format.MessageToDict(request.outputs)
        return empty_pb2.Empty()

    def Invoke(self, request: Any, context: Any) -> Any:
        args = json_format.MessageToDict(request.args)
        if request.tok == "pulumi:pulumi:getResource":  # a resource reference rehydrated
            # The engine's builtin answers urn, id, provider and state (pulumi/pulumi@1b59498
            # pkg/resource/deploy/builtins.go:442-467); the Python SDK reads only urn, id and
            # state (pulumi 3.272.0 pulumi/runtime/resource.py:645-657), so provider is left out.
            found = self.resources[args["urn"]]
            answer = {"urn": args["urn"], "id": found.id, "state": found.outputs}
            return resource_pb2.ResourceInvokeResponse(**{"return": struct(answer)})
        answer, _ = self.cloud.call(MockCallArgs(request.tok, args, request.provider))
        return resource_pb2.ResourceInvokeResponse(**{"return": struct(answer)})

    def RegisterPackage(self, request: Any, context: Any) -> Any:
        return resource_pb2.RegisterPackageResponse(ref="fake")


class FakeEngine(engine_pb2_grpc.EngineServicer):
    """Keeps what the plugin logs."""

    def __init__(self) -> None:
        self.logs: list[str] = []
        self.shown: list[str] = []
        """The logs a user sees: the CLI shows debug messages only with --debug."""

    def Log(self, request: Any, context: Any) -> Any:
        self.logs.append(request.message)
        if request.severity != engine_pb2.DEBUG:
            self.shown.append(request.message)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.SetRootResourceResponse()


def serve(engine: FakeEngine, monitor: FakeMonitor) -> tuple[grpc.Server, str]:
    """Both services on one local port; returns the server and its address."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    engine_pb2_grpc.add_EngineServicer_to_server(engine, server)
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(monitor, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"
