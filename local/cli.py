"""`python -m offline dev STACK --port N` (`make dev`): the stack's service on this machine.

Runs the program for STACK on the offline engine, reads what to serve from its graph, and serves
it on 127.0.0.1 until Ctrl-C (SIGINT) or SIGTERM, after which everything stops within 2 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.code import FunctionCodeError
from local.gateway import require_unverifiable_jwt
from local.topology import Topology, TopologyError, read_topology
from offline.engine import ProgramError, run_stack
from offline.project import ProjectError, load_stack_config, project_name

if TYPE_CHECKING:
    from local.service import LocalService


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stack", nargs="?", default="dev", help="stack to serve (default: dev)")
    parser.add_argument(
        "--port", type=_port, default=8000, help="port on 127.0.0.1 (default: 8000; 0: any free)"
    )
    parser.add_argument(
        "--project-dir", type=Path, default=Path(), help="the Pulumi project (default: .)"
    )
    parser.add_argument(
        "--config",
        metavar="KEY=VALUE",
        action="append",
        type=_setting,
        default=[],
        help="override a stack setting on this machine only, as `pulumi config set` would "
        "(make dev: auth=none for the dev stack)",
    )


def _setting(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. auth=none)")
    return key, value


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0..65535); set PORT=<n>")
    return int(text)


def run(args: argparse.Namespace) -> int:
    # Imported here: `python -m offline plan` need not load moto and the server.
    from local.service import Console, LocalService  # noqa: PLC0415

    console = Console()
    try:
        service = LocalService(args.port, console)
    except OSError as exc:
        print(
            f"error: cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); choose another "
            f"port with PORT=<n> (make dev PORT=8001) or --port <n>",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        topology = _topology(args.stack, args.project_dir.resolve(), dict(args.config))
        service.start(topology)
    except (ProgramError, ProjectError, TopologyError, FunctionCodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        service.stop()
        return 1
    console.raw(banner(service, topology))
    for key, value in args.config:
        console.raw(f"  {key} = {value!r} on this machine only (the stack file is unchanged)")
    stop.wait()
    console.raw("Stopping...")
    service.stop()
    console.raw("Stopped.")
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything we started is stopped and joined by now; skip interpreter finalisation, where
    # the gRPC runtime that pulumi loads can take seconds to tear down on a busy machine.
    os._exit(0)


def _topology(stack: str, project_dir: Path, settings: dict[str, str]) -> Topology:
    # Pulumi runs a program in its project folder; relative paths in it (sources) expect that.
    os.chdir(project_dir)
    region = load_stack_config(project_dir, stack).get("aws:region", "us-east-1")
    project = project_name(project_dir)
    overrides = {k if ":" in k else f"{project}:{k}": v for k, v in settings.items()}
    graph = run_stack(stack, project_dir, overrides=overrides)
    return read_topology(graph, stack=stack, region=region)


def banner(service: LocalService, topology: Topology) -> str:
    """What runs where, and how to try it."""
    url = service.url
    lines = [f"Local mode: stack {topology.stack!r}, state in memory (lost when you stop)", ""]
    lines.append(f"  API        {url}")
    for api in topology.apis:
        for route in sorted(api.routes, key=lambda r: r.key.split(" ")[::-1]):
            auth = "" if route.authorization_type == "NONE" else f"  ({route.authorization_type})"
            lines.append(f"    {route.key:<28} -> {route.function.label}{auth}")
        if service.gateway and require_unverifiable_jwt in service.gateway.authorizers:
            guarded = [r.authorization_type for r in api.routes if r.authorization_type != "NONE"]
            if guarded:
                lines.append("    JWT/IAM routes answer 401/403: no local authorizer is set up")
        if api.cors:
            lines.append(f"    CORS origins: {', '.join(api.cors.allow_origins)}")
    endpoint = service.storage.endpoint if service.storage else ""
    for bucket in topology.buckets:
        versioning = "versioned" if bucket.versioning else "unversioned"
        lines.append(f"  S3 bucket  {bucket.name} ({versioning}) on moto at {endpoint}")
        for sub in bucket.subscriptions:
            where = f"{sub.prefix}*{sub.suffix}"
            failure = sub.function.on_failure.rsplit(":", 1)[-1] if sub.function.on_failure else "-"
            lines.append(
                f"    {','.join(sub.events)} {where} -> {sub.function.label} "
                f"(retries {sub.function.retry_attempts}, then {failure})"
            )
    lines += _failure_lines(service, topology)
    lines += _user_pool_lines(service, topology, endpoint)
    lines.append(
        f"  Outputs    {service.outputs_file} (endpoints and this run's credentials, for "
        "boto3 and ops scripts)"
    )
    lines.append(f"  Functions  host Python {platform.python_version()} on {platform.machine()}:")
    for spec in topology.functions:
        layout = service.layouts.get(spec.name)
        swapped = ", ".join(
            f"{name} {host} for {built}"
            for name, (built, host) in (layout.substituted.items() if layout else ())
        )
        note = f"; host build of {swapped}" if swapped else ""
        lines.append(
            f"    {spec.label}: {spec.handler} from its archive ({spec.runtime} {spec.architecture}"
            f"{note}), {spec.timeout_seconds} s timeout"
        )
    lines += ["", *_try_lines(service, topology, endpoint)]
    lines += ["", f"Serving on {url} (Ctrl-C to stop)"]
    return "\n".join(lines)


def _failure_lines(service: LocalService, topology: Topology) -> list[str]:
    """What a failure does for each way a function is invoked, its fault switch (which the
    handlers read, `uploads_common/fault_switch.py`), how to replay failed events, and the
    variables the failure drill (docs/operations.md) starts from."""
    synchronous = {route.function.name for api in topology.apis for route in api.routes}
    asynchronous = {s.function.name for b in topology.buckets for s in b.subscriptions}
    lines = []
    for spec in topology.functions:
        switch = f"touch {service.fault_file(spec)}"
        if spec.name in synchronous:
            lines += [
                f"  Failed     {spec.label} requests: API Gateway invokes it synchronously "
                "(no retries, no dead-letter queue) and answers 500 "
                '{"message":"Internal Server Error"}',
                f"    make it fail on purpose: {switch}  (every request fails; rm it to stop)",
            ]
        if spec.name in asynchronous and spec.on_failure:
            queue = spec.on_failure.rsplit(":", 1)[-1]
            url = service.storage.queue_urls.get(queue, "(not emulated)") if service.storage else ""
            lines += [
                f"  Failed     {spec.label} events, after {spec.retry_attempts} retries -> "
                f"dead-letter queue {url}",
                f"    make it fail on purpose: {switch}  (every event fails; rm it to stop)",
            ]
    if any(spec.on_failure and spec.name in asynchronous for spec in topology.functions):
        lines.append(
            f"    replay failed events: make redrive STACK={topology.stack} "
            f'ARGS="--outputs {service.outputs_file}"  (add --dry-run to ARGS to list them)'
        )
    if lines:
        drill = f"export LOCAL={service.outputs_file.parent} API_URL={service.url}"
        if service.storage and topology.buckets:
            drill += f" S3_URL={service.storage.endpoint}/{topology.buckets[0].name}"
        lines.append(f"    failure drill (docs/operations.md), in another shell: {drill}")
    return lines


def _user_pool_lines(service: LocalService, topology: Topology, endpoint: str) -> list[str]:
    """Where the user pools and their app clients are."""
    return [
        f"  Cognito    user pool {service.user_pool_ids[pool.program_id]}, app client "
        f"{service.user_pool_ids[client_id]} on moto at {endpoint}"
        for pool in topology.user_pools
        for client_id, _ in pool.clients
    ]


def _try_lines(service: LocalService, topology: Topology, endpoint: str) -> list[str]:
    """Commands to paste into a shell in the project's folder, as printed: with a user pool, one
    that adds a user (or signs them in again) and keeps their token, then a call with it."""
    url = service.url
    if not topology.user_pools or not topology.user_pools[0].clients:
        return [f"  Try:  {_curl_example(url, topology)}"]
    pool = topology.user_pools[0]
    dev_user = (
        f"make -s dev-user EMAIL={EXAMPLE_EMAIL} PASSWORD='{example_password(pool.inputs)}' "
        f"ENDPOINT={endpoint} POOL={service.user_pool_ids[pool.program_id]} "
        f"CLIENT={service.user_pool_ids[pool.clients[0][0]]} OUTPUTS={service.outputs_file}"
    )
    gets = [k.split(" ", 1)[1] for k in _plain_routes(topology) if k.startswith("GET /")]
    get = next((path for path in gets if path != "/"), "/")  # an API call rather than the page
    return [
        "  Try (a user, their token, a call with it):",
        f"    TOKEN=$({dev_user})",
        f'    curl -H "authorization: Bearer $TOKEN" {url}{get}',
    ]


EXAMPLE_EMAIL = "dev@example.com"


def example_password(pool_inputs: Mapping[str, Any]) -> str:
    """A password that the pool's policy accepts (upper and lower case, a digit, a symbol, and
    long enough), for the printed example: local users live in memory only."""
    policy = pool_inputs.get("passwordPolicy") or {}
    password = "Local-dev-Passw0rd!"
    return password + "x" * max(0, int(policy.get("minimumLength", 0)) - len(password))


def _plain_routes(topology: Topology) -> list[str]:
    """The route keys without path parameters, sorted."""
    return sorted(r.key for api in topology.apis for r in api.routes if "{" not in r.key)


def _curl_example(url: str, topology: Topology) -> str:
    keys = _plain_routes(topology)
    post = min((k for k in keys if k.startswith("POST ")), key=len, default=None)
    if post:
        path = post.split(" ", 1)[1]
        return f"curl -X POST {url}{path} -H 'content-type: image/png' --data-binary @image.png"
    get = next((k for k in keys if k.startswith("GET ")), None)
    return f"curl {url}{get.split(' ', 1)[1]}" if get else f"curl {url}/"
