"""Local mode assembled: moto, the functions, notification delivery and the gateway, started and
stopped together."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from components.function import LOCAL_ONLY_ENV_PREFIX
from local.code import CodeLayout, prepare_code
from local.cognito_endpoint import CognitoEndpoint
from local.functions import INIT_TIMEOUT_S, FunctionRuntime
from local.gateway import Authorizer, Gateway
from local.jwt_authorizer import JwtAuthorizer
from local.lambda_endpoint import LambdaEndpoint
from local.listener import attach, bind
from local.notifications import NotificationDelivery
from local.storage import ACCOUNT_ID, LocalStorage
from local.topology import BucketSpec, FunctionSpec, Topology
from local.user_pools import SigningKeys, create_user_pools, sign_tokens_with

FAULT_FILE_ENV = f"{LOCAL_ONLY_ENV_PREFIX}FAULT_FILE"
"""Names each function's fault switch: while that file exists, `on_upload` fails every record."""


class Console:
    """Serialised, timestamped log lines on one stream."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stdout
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            self._stream.write(f"{time.strftime('%H:%M:%S')} {text}\n")
            self._stream.flush()

    def function(self, label: str, text: str) -> None:
        self.line(f"[{label}] {text}")

    def raw(self, text: str) -> None:
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()


class LocalService:
    """Everything local mode runs for one topology."""

    def __init__(self, port: int, console: Console) -> None:
        self.console = console
        # Bind first: a busy port fails before anything else starts.
        self._server = bind(port, lambda text: console.line(f"API {text}"))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.topology = Topology(stack="", region="", functions=(), apis=(), buckets=())
        self.storage: LocalStorage | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix="uploads-local-"))
        self.layouts: dict[str, CodeLayout] = {}
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.gateway: Gateway | None = None
        self._delivery: NotificationDelivery | None = None
        self._serving: threading.Thread | None = None
        self.cognito: CognitoEndpoint | None = None
        self.lambda_endpoint: LambdaEndpoint | None = None
        self.outputs_file = self._workdir / "stack-outputs.json"
        """The stack's outputs as local mode resolves them, plus `localEndpoints`: what
        `python -m ops.redrive STACK --outputs FILE` reads."""
        self.user_pool_ids: dict[str, str] = {}
        """The program's user pool and app client ids -> moto's."""

    def start(self, topology: Topology, authorizers: list[Authorizer] | None = None) -> None:
        """Start moto with the program's buckets and queues, the functions and the gateway."""
        self.topology = topology
        self.storage = LocalStorage(topology.region)
        self.storage.start()
        self.storage.create_queues(self.topology.queues)
        self.user_pool_ids = create_user_pools(
            self.storage.client("cognito-idp"), topology.user_pools
        )
        sign_tokens_with(
            self.storage.token_key,
            ACCOUNT_ID,
            topology.region,
            [self.user_pool_ids[pool.program_id] for pool in topology.user_pools],
        )
        if topology.user_pools:
            self.cognito = CognitoEndpoint(
                self.storage.endpoint,
                [self.url],
                self.storage.credentials,
                topology.region,
                _hiding_clients(topology, self.user_pool_ids),
            )
            self.cognito.start()
        substitutions = self._substitutions()
        for bucket in self.topology.buckets:
            self.storage.create_bucket(_resolved_bucket(bucket, substitutions))
        for index, spec in enumerate(self.topology.functions):
            layout = prepare_code(spec.archive, self._workdir / str(index), spec.label)
            self.layouts[spec.name] = layout
            self.runtimes[spec.name] = FunctionRuntime(
                spec, layout, self._environment(spec, substitutions), self.console.function
            )
        # One warm instance per function before serving: the first request is not a cold start
        # racing a second one, and an import error shows before the banner.
        warming = [threading.Thread(target=r.warm, daemon=True) for r in self.runtimes.values()]
        for thread in warming:
            thread.start()
        for thread in warming:
            thread.join(timeout=INIT_TIMEOUT_S)
        self.lambda_endpoint = LambdaEndpoint(self.runtimes, self.storage.signing_credentials)
        self.lambda_endpoint.start()
        endpoints = {
            "s3": self.storage.endpoint,
            "sqs": self.storage.endpoint,
            "lambda": self.lambda_endpoint.url,
        }
        if self.cognito is not None:
            endpoints["cognito-idp"] = self.cognito.url  # where sign-in goes, as the page's
        self._write_outputs(substitutions, endpoints)
        self._delivery = NotificationDelivery(
            self.storage, self.runtimes, lambda text: self.console.line(f"S3  {text}")
        )
        self._delivery.start()
        if self.topology.apis:
            log = lambda text: self.console.line(f"API {text}")  # noqa: E731
            if authorizers is None:
                keys = SigningKeys(
                    self.storage.endpoint, topology.region, self.user_pool_ids.values()
                )
                authorizers = [JwtAuthorizer(keys, lambda t: _resolve(t, substitutions), log)]
            self.gateway = Gateway(self.topology.apis[0], self.runtimes, log, authorizers)
            attach(self._server, self.gateway)
        self._serving = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="gateway"
        )
        self._serving.start()

    def _substitutions(self) -> dict[str, str]:
        """Values the fake cloud gave the program -> the emulated resources' values."""
        found = {api.endpoint: self.url for api in self.topology.apis if api.endpoint}
        for name, url in self.storage.queue_urls.items():
            found[f"https://sqs.{self.topology.region}.amazonaws.com/123456789012/{name}"] = url
        return found | self.user_pool_ids

    def fault_file(self, spec: FunctionSpec) -> Path:
        """The function's fault switch: `touch` it to make the function fail, remove it to stop."""
        return self._workdir / "faults" / spec.label

    def _write_outputs(self, substitutions: Mapping[str, str], endpoints: dict[str, str]) -> None:
        outputs: dict[str, Any] = {
            key: _resolve(value, substitutions) if isinstance(value, str) else value
            for key, value in self.topology.outputs.items()
        }
        outputs["region"] = self.topology.region
        outputs["localEndpoints"] = {**endpoints, "credentials": self.storage.credentials}
        self.outputs_file.write_text(json.dumps(outputs, indent=2), encoding="utf-8")

    def _environment(self, spec: FunctionSpec, substitutions: Mapping[str, str]) -> dict[str, str]:
        self.fault_file(spec).parent.mkdir(exist_ok=True)
        environment = {
            "AWS_REGION": self.topology.region,
            "AWS_DEFAULT_REGION": self.topology.region,
            "AWS_ENDPOINT_URL": self.storage.endpoint,
            "AWS_ACCESS_KEY_ID": self.storage.credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": self.storage.credentials["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": self.storage.credentials["aws_session_token"],
            FAULT_FILE_ENV: str(self.fault_file(spec)),
        }
        if self.cognito is not None:
            environment["AWS_ENDPOINT_URL_COGNITO_IDP"] = self.cognito.url
        for key, value in spec.environment.items():
            environment[key] = _resolve(value, substitutions)
        return environment

    def stop(self) -> None:
        """Stop everything; returns within about a second."""
        stoppers = [self._server.shutdown] if self._serving else []
        if self._delivery:
            stoppers.append(self._delivery.stop)
        stoppers += [runtime.close for runtime in self.runtimes.values()]
        if self.lambda_endpoint:
            stoppers.append(self.lambda_endpoint.stop)
        if self.storage:
            stoppers.append(self.storage.stop)
        if self.cognito:
            stoppers.append(self.cognito.stop)
        threads = [threading.Thread(target=stop) for stop in stoppers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=1.5)
        if self.gateway:
            self.gateway.close()
        self._server.server_close()
        if self._serving:
            self._serving.join(timeout=0.5)
        shutil.rmtree(self._workdir, ignore_errors=True)


def _hiding_clients(topology: Topology, ids: Mapping[str, str]) -> list[str]:
    """The (moto) ids of the app clients that set `preventUserExistenceErrors: ENABLED`."""
    return [
        ids[client_id]
        for pool in topology.user_pools
        for client_id, inputs in pool.clients
        if inputs.get("preventUserExistenceErrors") == "ENABLED"
    ]


def _resolve(value: str, substitutions: Mapping[str, str]) -> str:
    """`value` with every fake-cloud value (API URL, queue URLs, user pool and app client ids)
    replaced by the emulated one."""
    for fake, real in substitutions.items():
        value = value.replace(fake, real)
    return value


def _resolved_bucket(bucket: BucketSpec, substitutions: Mapping[str, str]) -> BucketSpec:
    """The bucket with its CORS origins resolved: an origin that is the API's URL on AWS (the
    page's own origin) becomes the local API's URL."""
    rules = tuple(
        {**rule, "allowedOrigins": [_resolve(o, substitutions) for o in rule["allowedOrigins"]]}
        if rule.get("allowedOrigins")
        else rule
        for rule in bucket.cors_rules
    )
    return dataclasses.replace(bucket, cors_rules=rules)
