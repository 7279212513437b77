"""Run a Pulumi program offline, under the SDK's own mock runtime, and return its resource graph.

The tests use it first; an offline `plan` and the local mode build on the same graph. It records
what the real engine would receive for each resource (type, name, parent, dependencies, options
and resolved inputs) by wrapping the SDK's `MockMonitor`, and fails a run in which the program
logged the use of a deprecated API.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import runpy
import sys
import types
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pulumi.config import ConfigMissingError, ConfigTypeError
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from offline.deprecations import deprecated_inputs, deprecated_resource_types
from offline.fake_cloud import BOUNDARY_POLICY, DEFAULT_LAMBDA_LIMITS, FakeCloud
from offline.graph import Resource, ResourceGraph
from offline.project import ConfigProblem, project_name, stack_config
from offline.regions import region_problems

DEPRECATION_MARK = " is deprecated"


class ProgramError(Exception):
    """The program failed offline; the message says why."""


class ProgramConfigError(ProgramError):
    """The program refused its configuration: Pulumi's own config errors, or any exception
    class named `ConfigError` (components/config.py raises one for every invalid setting)."""


def _is_config_error(exc: BaseException) -> bool:
    if isinstance(exc, ConfigMissingError | ConfigTypeError):
        return True
    return any(cls.__name__ == "ConfigError" for cls in type(exc).__mro__)


class DeprecatedApiError(ProgramError):
    """The program used a resource, function or argument that pulumi_aws reports as deprecated."""


class _ImmediateExecutor(ThreadPoolExecutor):
    """Runs the SDK's "background" RPCs inline.

    The mock runtime otherwise hands each RPC to a thread pool, and the Python SDK can then hang at
    random (pulumi/pulumi#7663); the SDK's own mock tests run them inline the same way
    (pulumi/pulumi@1b59498 sdk/python/lib/test_with_mocks/test_testing_with_mocks.py:174,
    `ImmediateExecutor`).
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping what each registration request carried."""

    def __init__(self, cloud: FakeCloud) -> None:
        super().__init__(cloud)
        self.graph = ResourceGraph()
        self.stack_urn = ""

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
            return response
        registration = self.resources[response.urn]
        self.graph.resources.append(
            Resource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=bool(request.custom),
                inputs=rpc.deserialize_properties(request.object),
                outputs={"id": registration.id, **registration.state},
                dependencies=tuple(request.dependencies),
                explicit_dependencies=_explicit_dependencies(request),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=tuple(request.ignoreChanges),
                provider=request.provider,
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn:
            self.graph.outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


def _explicit_dependencies(request: Any) -> tuple[str, ...]:
    """The SDK sends all dependencies plus, per input, the ones that input carries; what no input
    carries came from the `depends_on` option. `dependencies` is the union of the `depends_on`
    URNs and every input's (pulumi 3.272.0 pulumi/runtime/resource.py:276-282), so a
    `depends_on` target that an input also carries is not reported here."""
    carried = {urn for deps in request.propertyDependencies.values() for urn in deps.urns}
    return tuple(urn for urn in request.dependencies if urn not in carried)


class _LogRecorder(logging.Handler):
    def __init__(self, graph: ResourceGraph) -> None:
        super().__init__(logging.DEBUG)
        self.graph = graph

    def emit(self, record: logging.LogRecord) -> None:
        self.graph.logs.append((record.levelname.lower(), record.getMessage()))


def run_program(
    program: Callable[[], object],
    *,
    project: str = "serverless-uploads",
    stack: str = "test",
    config: Mapping[str, str] | None = None,
    preview: bool = False,
    lambda_limits: Mapping[str, int] | None = DEFAULT_LAMBDA_LIMITS,
    policies: frozenset[str] = frozenset({BOUNDARY_POLICY}),
    secret_keys: Collection[str] = (),
) -> ResourceGraph:
    """Run `program` as the body of stack `project`/`stack` with the given config (Pulumi's wire
    form: `"namespace:key" -> str`, objects as JSON) and return everything it registered.
    `lambda_limits` is the fake account's Lambda `AccountLimit` (None: unreadable); `policies`
    the names of its customer managed policies (default: the bootstrap's boundary).
    `secret_keys` are the keys set as `secure:`, which the SDK then reports as secret
    (`pulumi.runtime.is_config_secret`), as the CLI does through PULUMI_CONFIG_SECRET_KEYS
    (read at pulumi 3.272.0 pulumi/runtime/config.py:84).

    Raises ProgramError when the program fails, DeprecatedApiError when it used a deprecated API.
    """
    config = dict(config or {})
    cloud = FakeCloud(
        region=config.get("aws:region", "us-east-1"),
        stack=stack,
        lambda_limits=lambda_limits,
        policies=policies,
    )
    monitor = _RecordingMonitor(cloud)
    logger = logging.getLogger(f"offline.{project}.{stack}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    recorder = _LogRecorder(monitor.graph)
    logger.addHandler(recorder)
    try:
        with _fresh_runtime(monitor, logger, project, stack, preview), _fake_lambda(cloud):
            set_all_config(config, list(secret_keys))
            try:
                _sync_await(run_in_stack(program))
            except Exception as exc:
                error = ProgramConfigError if _is_config_error(exc) else ProgramError
                raise error(f"{project}/{stack}: {_describe(exc)}") from exc
    finally:
        logger.removeHandler(recorder)
    monitor.graph.created_values = frozenset(cloud.created_values)
    deprecated = _deprecated_uses(monitor.graph)
    if deprecated:
        listed = "; ".join(deprecated)
        raise DeprecatedApiError(f"{project}/{stack} uses deprecated APIs: {listed}")
    return monitor.graph


@contextmanager
def _fake_lambda(cloud: FakeCloud) -> Iterator[None]:
    """The preflight reads Lambda's account settings with boto3, outside the provider: offline,
    the fake account answers them (no stack of the fake account reserves anything yet). The
    program imports the preflight as `components` in this repository and as `serverless_uploads`
    from the installed wheel: each that imports here is patched."""
    modules = []
    for name in ("components.preflight", "serverless_uploads.preflight"):
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError:
            continue

    def patched(module: types.ModuleType) -> Callable[[str], Any]:
        def read(_stack: str) -> Any:
            if cloud.lambda_limits is None:
                raise PermissionError("AccessDeniedException: lambda:GetAccountSettings")
            return module.LambdaAccount(
                limit=cloud.lambda_limits["ConcurrentExecutions"],
                unreserved=cloud.lambda_limits["UnreservedConcurrentExecutions"],
                own=0,
            )

        return read

    originals = [(module, module.read_lambda_account) for module in modules]
    for module, _ in originals:
        module.read_lambda_account = patched(module)
    try:
        yield
    finally:
        for module, original in originals:
            module.read_lambda_account = original


def _deprecated_uses(graph: ResourceGraph) -> list[str]:
    """What pulumi_aws logged as deprecated, plus deprecated types and inputs it did not log."""
    found = [message for _, message in graph.logs if DEPRECATION_MARK in message]
    types, inputs = deprecated_resource_types(), deprecated_inputs()
    for resource in graph:
        if resource.type in types:
            found.append(f"{resource.urn}: resource type {resource.type} is deprecated")
        for name in sorted(set(resource.inputs) & set(inputs.get(resource.type, {}))):
            found.append(f"{resource.urn}: {inputs[resource.type][name]}")
    return found


def run_stack(
    stack: str,
    project_dir: Path,
    *,
    preview: bool = False,
    overrides: Mapping[str, str] | None = None,
    lambda_limits: Mapping[str, int] | None = DEFAULT_LAMBDA_LIMITS,
    policies: frozenset[str] = frozenset({BOUNDARY_POLICY}),
) -> ResourceGraph:
    """Run the project's `__main__.py` for `stack`, with config from `Pulumi.yaml` defaults and
    `Pulumi.<stack>.yaml`, as `pulumi up` would; `overrides` (wire form) replace single values,
    as `pulumi config set` would. Raises ConfigProblem for a region AWS does not have."""
    project_dir = project_dir.resolve()
    entries = stack_config(project_dir, stack)
    config = {**{key: entry.value for key, entry in entries.items()}, **(overrides or {})}
    problems = region_problems(config)
    if problems:  # the AWS provider would refuse it before the program registers anything
        raise ConfigProblem("invalid stack configuration:\n  " + "\n  ".join(problems))

    def program() -> None:
        with _importable(project_dir):
            runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

    return run_program(
        program,
        project=project_name(project_dir),
        stack=stack,
        config=config,
        preview=preview,
        lambda_limits=lambda_limits,
        policies=policies,
        secret_keys=[key for key, entry in entries.items() if entry.secret],
    )


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


@contextmanager
def _fresh_runtime(
    monitor: _RecordingMonitor, logger: logging.Logger, project: str, stack: str, preview: bool
) -> Iterator[None]:
    """A new event loop with inline RPCs and fresh runtime settings; the old loop comes back."""
    previous_loop = _current_loop()
    loop = asyncio.new_event_loop()
    loop.set_default_executor(_ImmediateExecutor())
    asyncio.set_event_loop(loop)
    settings.ROOT.set(None)
    settings.configure(
        pulumi_mocks.MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
            engine=pulumi_mocks.MockEngine(logger),
            project=project,
            stack=stack,
            dry_run=preview,
            organization="organization",
            callbacks=None,
        )
    )
    try:
        yield
    finally:
        settings.ROOT.set(None)
        loop.close()
        asyncio.set_event_loop(previous_loop)


def _current_loop() -> asyncio.AbstractEventLoop | None:
    policy = asyncio.get_event_loop_policy()
    local = getattr(policy, "_local", None)
    return getattr(local, "_loop", None)


@contextmanager
def _importable(project_dir: Path) -> Iterator[None]:
    """Let the program import its own packages (`components`, ...) the way `pulumi up` does: the
    language host runs the program directory with `runpy.run_path` (pulumi/pulumi@1b59498
    sdk/python/cmd/pulumi-language-python-exec:188), which puts that directory first on sys.path
    (Python docs, runpy.run_path)."""
    entry = str(project_dir)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added:
            sys.path.remove(entry)
