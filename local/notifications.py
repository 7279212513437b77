"""Deliver S3 notifications to functions as Lambda's asynchronous invocation does.

One poller per subscription queue (long polling, so an event is delivered as soon as moto queues
it). Each event is invoked asynchronously: on a function error it is retried as the function's
event invoke config says (`maximumRetryAttempts`, `maximumEventAgeInSeconds`), then sent to its
on-failure destination (the dead-letter queue) as Lambda's invocation record. Lambda waits about
one and then two minutes between attempts; local mode waits `RETRY_DELAYS_S`, and says so.
Reference: Lambda Developer Guide, "How Lambda handles errors and retries with asynchronous
invocation" (two more attempts, one then two minutes apart; then the dead-letter queue).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from local.functions import FunctionRuntime
from local.storage import EventQueue, LocalStorage

RETRY_DELAYS_S = (1.0, 2.0)
"""Local stand-ins for Lambda's ~1 min and ~2 min waits before the first and second retry."""
_POLL_WAIT_S = 1

Log = Callable[[str], None]


class NotificationDelivery:
    """Pollers for every subscription queue, invoking the subscribed functions."""

    def __init__(
        self,
        storage: LocalStorage,
        runtimes: Mapping[str, FunctionRuntime],
        log: Log,
    ) -> None:
        self._storage = storage
        self._runtimes = runtimes
        self._log = log
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="s3-event")

    def start(self) -> None:
        for queue in self._storage.event_queues:
            thread = threading.Thread(
                target=self._poll, args=(queue,), name=f"poll-{queue.subscription.id}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=_POLL_WAIT_S + 0.5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _poll(self, queue: EventQueue) -> None:
        sqs = self._storage.client("sqs")
        while not self._stop.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=queue.url, MaxNumberOfMessages=10, WaitTimeSeconds=_POLL_WAIT_S
                ).get("Messages", [])
            except Exception:  # the server is stopping, or a transient error: poll again
                if self._stop.wait(0.2):
                    return
                continue
            for message in messages:
                event = json.loads(message["Body"])
                if "Records" in event:  # not S3's "s3:TestEvent" when the configuration is set
                    with contextlib.suppress(RuntimeError):  # the pool is shut down: stopping
                        self._pool.submit(self._deliver, queue, event)
                with contextlib.suppress(Exception):  # stopping: the server may be gone
                    sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])

    def _deliver(self, queue: EventQueue, event: dict[str, Any]) -> None:
        runtime = self._runtimes[queue.subscription.function.name]
        spec = runtime.spec
        record = event["Records"][0]
        what = (
            f"s3 {record['eventName']} s3://{queue.bucket}/"
            f"{unquote_plus(record['s3']['object']['key'])}"
        )
        queued = time.monotonic()
        attempts = 1 + spec.retry_attempts
        result = None
        for attempt in range(1, attempts + 1):
            result = runtime.invoke(event, check_size=False)
            status = "ok" if result.ok else f"error {result.error.get('errorType')}"
            self._log(
                f"{what} -> {spec.label} attempt {attempt}/{attempts}: {status} "
                f"({result.duration_ms:.0f} ms)"
            )
            if result.ok:
                return
            if attempt == attempts:
                break
            if time.monotonic() - queued > spec.max_event_age_seconds:
                self._dead_letter(what, spec, event, result, (attempt, "EventAgeExceeded"))
                return
            delay = RETRY_DELAYS_S[min(attempt, len(RETRY_DELAYS_S)) - 1]
            self._log(f"{what} -> {spec.label}: retry in {delay:.0f} s (Lambda: ~{attempt} min)")
            if self._stop.wait(delay):
                return
        self._dead_letter(what, spec, event, result, (attempts, "RetriesExhausted"))

    def _dead_letter(
        self, what: str, spec: Any, event: Any, result: Any, why: tuple[int, str]
    ) -> None:
        count, condition = why
        if not spec.on_failure:
            self._log(f"{what} -> {spec.label}: dropped after {count} attempts ({condition})")
            return
        name = spec.on_failure.rsplit(":", 1)[-1]
        url = self._storage.queue_urls.get(name)
        if url is None:
            self._log(f"{what} -> {spec.label}: on-failure destination {name} is not emulated")
            return
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "requestContext": {
                "requestId": result.request_id,
                "functionArn": f"{spec.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": count,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": dict(result.error or {}),
        }
        self._storage.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(record))
        self._log(f"{what} -> {spec.label}: sent to dead-letter queue {name} ({condition})")
