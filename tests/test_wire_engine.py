"""The fake monitor's URNs follow urn.New (pulumi/pulumi@1b59498
sdk/go/common/resource/urn/urn.go:80-92): a child of a component carries its parent's type, a
child of the stack does not."""

from __future__ import annotations

from pulumi.runtime.proto import resource_pb2

from offline.wire_engine import FakeMonitor

STACK_URN = "urn:pulumi:test::mlang::pulumi:pulumi:Stack::mlang-test"


def _register(monitor: FakeMonitor, type_: str, name: str, parent: str = "") -> str:
    request = resource_pb2.RegisterResourceRequest(type=type_, name=name, parent=parent)
    return monitor.RegisterResource(request, None).urn


def test_a_child_of_the_stack_has_no_parent_type_in_its_urn() -> None:
    urn = _register(FakeMonitor(), "uploads:index:UploadService", "svc", STACK_URN)
    assert urn == "urn:pulumi:test::mlang::uploads:index:UploadService::svc"


def test_a_child_of_a_component_carries_the_qualified_parent_type() -> None:
    monitor = FakeMonitor()
    parent = _register(monitor, "uploads:index:UploadService", "svc")
    child = _register(monitor, "uploads:index:HttpApi", "svc-api", parent)
    grandchild = _register(monitor, "uploads:index:Route", "svc-api-get", child)
    assert child == (
        "urn:pulumi:test::mlang::uploads:index:UploadService$uploads:index:HttpApi::svc-api"
    )
    assert grandchild == (
        "urn:pulumi:test::mlang::uploads:index:UploadService$uploads:index:HttpApi"
        "$uploads:index:Route::svc-api-get"
    )
