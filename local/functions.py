"""Run Lambda functions locally, each invocation in a worker process of its function.

Like Lambda's execution environments, a worker is one interpreter per function instance: it
imports the handler once from the function's own task root (`local.code`), with the function's
own environment, and then serves one invocation at a time. Two functions never share modules or
`os.environ`. Concurrent invocations get more workers, up to the reserved concurrency (or
`MAX_WORKERS`). A worker that exceeds the function's timeout is killed, as Lambda does.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from local._bootstrap import END_OF_INVOCATION
from local.code import CodeLayout
from local.topology import FunctionSpec

MAX_WORKERS = 4
"""Concurrent instances per function when the program reserves no concurrency."""
INIT_TIMEOUT_S = 10.0
"""Lambda's limit for the init phase (importing the handler module)."""
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
"""Lambda's limit for a synchronous request or response payload (6 MB)."""
_BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
_DRAIN_WAIT_S = 0.5

LogSink = Callable[[str, str], None]
"""`(label, line)`: where the functions' own output goes."""


class PayloadTooLargeError(Exception):
    """The event is larger than Lambda accepts for a synchronous invocation."""


@dataclass(frozen=True)
class InvokeResult:
    """What an invocation returned: the handler's JSON payload, or Lambda's error record."""

    request_id: str
    payload: Any = None
    error: Mapping[str, Any] | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class _WorkerGone(Exception):
    pass


class _Worker:
    """One execution environment: a bootstrap process and its result pipe."""

    def __init__(self, spec: FunctionSpec, env: Mapping[str, str], log: LogSink) -> None:
        self._drained: queue.Queue[None] = queue.Queue()
        read_fd, write_fd = os.pipe()
        try:
            # Our own interpreter running our own bootstrap; nothing comes from a shell.
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-I", "-S", str(_BOOTSTRAP), str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=dict(env),
                pass_fds=(write_fd,),
                start_new_session=True,  # Ctrl-C reaches the server, which stops the workers
            )
        finally:
            os.close(write_fd)
        self._results: IO[str] = os.fdopen(read_fd, "r", encoding="utf-8")
        self._pump = threading.Thread(
            target=self._forward_output, args=(spec.label, log), daemon=True
        )
        self._pump.start()
        try:
            self.init = self._read(time.monotonic() + INIT_TIMEOUT_S)
        except (TimeoutError, _WorkerGone):
            self.stop()  # an init that hangs or dies leaves no process behind
            raise

    def _forward_output(self, label: str, log: LogSink) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line == END_OF_INVOCATION:
                self._drained.put(None)
            elif line:
                log(label, line)

    def _read(self, deadline: float) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([self._results], [], [], max(0.0, remaining))
        if not ready:
            raise TimeoutError
        line = self._results.readline()
        if not line:
            raise _WorkerGone
        return json.loads(line)

    def call(self, request: Mapping[str, Any], deadline: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        while not self._drained.empty():  # left over from an invocation that timed out
            self._drained.get_nowait()
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _WorkerGone from exc
        answer = self._read(deadline)
        with contextlib.suppress(queue.Empty):  # its log lines first, then the caller's line
            self._drained.get(timeout=_DRAIN_WAIT_S)
        return answer

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()
        self._results.close()
        if self.process.stdin:
            self.process.stdin.close()
        self._pump.join(timeout=1)


class FunctionRuntime:
    """Invokes one function; thread-safe."""

    def __init__(
        self,
        spec: FunctionSpec,
        layout: CodeLayout,
        environment: Mapping[str, str],
        log: LogSink,
    ) -> None:
        self.spec = spec
        self._env = _lambda_environment(spec, layout, environment)
        self._log = log
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._limit = min(spec.reserved_concurrency or MAX_WORKERS, MAX_WORKERS) or 1
        self._free = threading.Condition()
        self._closed = False

    def invoke(self, event: Any, *, check_size: bool = True) -> InvokeResult:
        """Run the handler on `event`; the result or error record (never raises for the
        function's own failures). PayloadTooLargeError for an event over 6 MB."""
        body = json.dumps(event)
        if check_size and len(body.encode()) > SYNC_PAYLOAD_LIMIT:
            raise PayloadTooLargeError(f"{len(body)} bytes")
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        error, payload = self._run(request_id, event, started)
        duration = (time.monotonic() - started) * 1000
        return InvokeResult(request_id, payload, error, duration)

    def _run(
        self, request_id: str, event: Any, started: float
    ) -> tuple[dict[str, Any] | None, Any]:
        worker = self._acquire()
        if isinstance(worker, dict):
            return worker, None
        deadline = started + self.spec.timeout_seconds
        request = {
            "requestId": request_id,
            "event": event,
            "deadlineMs": int((time.time() + self.spec.timeout_seconds) * 1000),
            "invokedArn": self.spec.arn,
        }
        try:
            answer = worker.call(request, deadline)
        except TimeoutError:
            worker.stop()
            message = f"Task timed out after {self.spec.timeout_seconds:.2f} seconds"
            self._log(self.spec.label, f"{request_id} {message}")
            return {"errorType": "Sandbox.Timedout", "errorMessage": message}, None
        except _WorkerGone:
            worker.stop()
            return {"errorType": "Runtime.ExitError", "errorMessage": "the runtime exited"}, None
        finally:
            self._release(worker)
        if not answer.get("ok"):
            return {k: v for k, v in answer.items() if k != "ok"}, None
        if len(answer["payload"].encode()) > SYNC_PAYLOAD_LIMIT:
            message = "Response payload size exceeded maximum allowed payload size"
            return {"errorType": "Function.ResponseSizeTooLarge", "errorMessage": message}, None
        return None, json.loads(answer["payload"])

    def _acquire(self) -> _Worker | dict[str, Any]:
        with self._free:
            while not self._idle and len(self._all) >= self._limit and not self._closed:
                self._free.wait(timeout=0.5)
            if self._closed:
                return {"errorType": "ServiceUnavailable", "errorMessage": "shutting down"}
            if self._idle:
                return self._idle.pop()
            placeholder = _Placeholder()
            self._all.add(placeholder)  # reserve the slot while the worker starts
        try:
            worker = _Worker(self.spec, self._env, self._log)
        except TimeoutError:
            worker = None
            error = {"errorType": "Runtime.InitTimeout", "errorMessage": "init timed out"}
        except _WorkerGone:
            worker = None
            error = {"errorType": "Runtime.ExitError", "errorMessage": "the runtime exited"}
        with self._free:
            self._all.discard(placeholder)
            if worker is not None and worker.init.get("init"):
                self._all.add(worker)
                return worker
            self._free.notify()
        if worker is not None:
            error = {k: v for k, v in worker.init.items() if k != "init"}
            worker.stop()
        return error

    def _release(self, worker: _Worker) -> None:
        with self._free:
            if worker.alive() and not self._closed:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
            self._free.notify()

    def warm(self) -> None:
        """Start one instance ahead of the first request (its init errors show in the log)."""
        worker = self._acquire()
        if isinstance(worker, _Worker):
            self._release(worker)

    def close(self) -> None:
        with self._free:
            self._closed = True
            workers = [w for w in self._all if isinstance(w, _Worker)]
            self._all.clear()
            self._idle.clear()
            self._free.notify_all()
        for worker in workers:
            worker.stop()


class _Placeholder:
    """Holds a concurrency slot while a worker starts."""


def _lambda_environment(
    spec: FunctionSpec, layout: CodeLayout, environment: Mapping[str, str]
) -> dict[str, str]:
    """The variables Lambda's runtime sets, then the function's own (already resolved)."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_CONFIG_FILE": os.devnull,  # never the host's profiles or credentials
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": str(layout.task_root),
        "LAMBDA_RUNTIME_DIR": str(layout.runtime_dir),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group or f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": spec.log_level,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        **environment,
    }
