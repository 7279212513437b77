"""Replay the failed events in a function's dead-letter queue: `make redrive STACK=prod`.

Each message is a Lambda on-failure destination record: the original event is its
`requestPayload`. With `--dry-run` the command only lists what it would replay (object keys,
error, attempts, age, and whether the upload is quarantined); otherwise it invokes the function
with each original event, synchronously, and deletes a message only after its replay succeeded.
A message that is not such a record, or whose replay fails again, stays in the queue and is
reported. `on_upload` is idempotent, so running the command twice is safe.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
from botocore.exceptions import BotoCoreError, ClientError

QUARANTINE_PREFIX = "quarantine/"
UPLOAD_PREFIX = "uploads/"
VISIBILITY_S = 300
"""How long a received message stays hidden while it is replayed (on_upload's timeout is at most
900 s; a replay that outlives this could be replayed twice, which on_upload tolerates)."""


@dataclass(frozen=True)
class FailedEvent:
    """One dead-letter message, as far as it could be read."""

    message_id: str
    receipt: str
    payload: Any = None
    """The original event (`requestPayload`); None if the message is not a destination record."""
    function: str = ""
    """The name of the function the record says failed."""
    error: str = ""
    attempts: int | None = None
    failed_at: datetime | None = None
    keys: tuple[str, ...] = ()
    problem: str = ""
    """Why the message cannot be replayed; empty if it can."""


def parse(message: Mapping[str, Any]) -> FailedEvent:
    """A received SQS message -> what it says about the failed event."""
    base = {"message_id": message["MessageId"], "receipt": message["ReceiptHandle"]}
    try:
        record = json.loads(message.get("Body") or "")
    except ValueError:
        record = None
    context = record.get("requestContext") if isinstance(record, dict) else None
    payload = record.get("requestPayload") if isinstance(record, dict) else None
    if not isinstance(context, dict) or payload is None:
        return FailedEvent(**base, problem="not a Lambda destination record")
    response = record.get("responsePayload")
    error = ""
    if isinstance(response, dict):
        error = f"{response.get('errorType', '')}: {response.get('errorMessage', '')}".strip(": ")
    attempts = context.get("approximateInvokeCount")
    return FailedEvent(
        **base,
        payload=payload,
        function=_function_name(context.get("functionArn")),
        error=error or str(context.get("condition", "")),
        attempts=attempts if isinstance(attempts, int) else None,
        failed_at=_timestamp(record.get("timestamp")),
        keys=tuple(_object_keys(payload)),
    )


def _function_name(arn: object) -> str:
    """`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` -> `<name>`."""
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[6] if len(parts) > 6 and parts[5] == "function" else ""


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _object_keys(payload: object) -> Iterator[str]:
    records = payload.get("Records") if isinstance(payload, dict) else None
    for record in records if isinstance(records, list) else []:
        key = (
            record.get("s3", {}).get("object", {}).get("key") if isinstance(record, dict) else None
        )
        if isinstance(key, str):
            yield unquote_plus(key)


@dataclass
class Summary:
    replayed: int = 0
    failed_again: int = 0
    unreadable: int = 0
    would_replay: int = 0
    in_flight: int = 0
    """Messages another consumer (a redrive running beside this one) had received: hidden from
    this run until that consumer's visibility timeout ends."""
    lines: list[str] = field(default_factory=list)

    @property
    def left(self) -> int:
        return self.failed_again + self.unreadable

    def text(self, dry_run: bool) -> str:
        total = self.replayed + self.left + self.would_replay
        in_flight = (
            f"{self.in_flight} message(s) in flight (received by another consumer, such as a "
            "redrive running now: they come back when its visibility timeout ends)"
        )
        if total == 0:
            if self.in_flight:
                return f"nothing received; {in_flight}"
            return "the dead-letter queue is empty: nothing to replay"
        if dry_run:
            parts = [f"{self.would_replay} would be replayed"]
        else:
            parts = [f"{self.replayed} replayed and deleted", f"{self.failed_again} failed again"]
        parts.append(f"{self.unreadable} not a Lambda destination record")
        tail = " (left in the queue)" if self.left else ""
        told = f"{total} message(s): {', '.join(parts)}{tail}"
        return f"{told}; {in_flight}" if self.in_flight else told


@dataclass(frozen=True)
class Redrive:
    """A function's dead-letter queue and the clients to replay it with."""

    sqs: Any
    lambda_: Any
    queue_url: str
    function_name: str
    s3: Any = None
    bucket: str | None = None
    """With `s3`: where to look up whether each upload is quarantined."""

    def receive(self, visibility: int) -> list[dict[str, Any]]:
        """Every message now in the queue, each hidden for `visibility` seconds."""
        seen: dict[str, dict[str, Any]] = {}
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=visibility,
                WaitTimeSeconds=1,
            ).get("Messages", [])
            new = [m for m in batch if m["MessageId"] not in seen]
            if not new:
                return list(seen.values())
            seen.update((m["MessageId"], m) for m in new)

    def in_flight(self) -> int:
        """Messages received by someone else and not yet deleted or returned (SQS's
        `ApproximateNumberOfMessagesNotVisible`); asked before this run receives any."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))

    def release(self, event: FailedEvent) -> None:
        """Make a message visible again at once (it stays in the queue)."""
        self.sqs.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=event.receipt, VisibilityTimeout=0
        )

    def replay(self, event: FailedEvent) -> str | None:
        """Invoke the function with the original event; None on success, else the error."""
        response = self.lambda_.invoke(
            FunctionName=self.function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(event.payload).encode(),
        )
        body = response["Payload"].read()
        if "FunctionError" not in response:
            return None
        try:
            error = json.loads(body)
            return f"{error.get('errorType', '')}: {error.get('errorMessage', '')}".strip(": ")
        except (ValueError, AttributeError):
            return body.decode("utf-8", "replace")[:200] or response["FunctionError"]

    def where(self, key: str) -> str:
        """`quarantined`, `in place` or `gone`: where the upload behind `key` is now."""
        if self.s3 is None or not self.bucket or not key.startswith(UPLOAD_PREFIX):
            return "?"
        for state, candidate in (
            ("quarantined", QUARANTINE_PREFIX + key.removeprefix(UPLOAD_PREFIX)),
            ("in place", key),
        ):
            try:
                self.s3.head_object(Bucket=self.bucket, Key=candidate)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    continue
                return "?"  # denied, or S3 failing: unknown, not "gone"
            return state
        return "gone"

    def run(self, *, dry_run: bool, now: datetime | None = None) -> Summary:
        summary = Summary(in_flight=self.in_flight())
        now = now or datetime.now(UTC)
        messages = self.receive(visibility=30 if dry_run else VISIBILITY_S)
        for event in map(parse, messages):
            label = self._describe(event, now)
            if event.problem or (event.function and event.function != self.function_name):
                problem = event.problem or f"a record of another function ({event.function})"
                summary.unreadable += 1
                summary.lines.append(f"left      {event.message_id}: {problem}")
                self.release(event)
                continue
            if dry_run:
                summary.would_replay += 1
                summary.lines.append(f"would     {label}")
                self.release(event)
                continue
            error = self.replay(event)
            if error is None:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=event.receipt)
                summary.replayed += 1
                summary.lines.append(f"replayed  {label}")
            else:
                summary.failed_again += 1
                summary.lines.append(f"FAILED    {label}; again: {error}")
                self.release(event)
        return summary

    def _describe(self, event: FailedEvent, now: datetime) -> str:
        keys = ", ".join(f"{k} [{self.where(k)}]" for k in event.keys) or "(no object key)"
        age = _age(now - event.failed_at) if event.failed_at else "age ?"
        attempts = f"{event.attempts} attempts" if event.attempts is not None else "attempts ?"
        return f"{keys} ({event.error or 'no error recorded'}; {attempts}; {age})"


def _age(delta: Any) -> str:
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h old"
    return f"{hours} h {minutes} min old" if hours else f"{minutes} min {rest % 60} s old"


FUNCTIONS = {"on-upload": "onUpload", "uploads": "uploads"}
"""`--function` -> the prefix of its stack outputs (`onUploadFunctionName`,
`onUploadDeadLetterQueueUrl`)."""


class RedriveError(Exception):
    """The command cannot run as asked; the message says why."""


def stack_outputs(stack: str, outputs_file: Path | None) -> dict[str, Any]:
    """The stack's outputs: from `--outputs` (a `pulumi stack output --json` file, or the one
    local mode writes), else from the Pulumi CLI."""
    if outputs_file is not None:
        try:
            return json.loads(outputs_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise RedriveError(f"cannot read stack outputs from {outputs_file}: {error}") from None
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise RedriveError("the Pulumi CLI is not on PATH: pass --outputs FILE instead")
    done = subprocess.run(  # noqa: S603 - the Pulumi CLI, fixed arguments
        [pulumi, "stack", "output", "--json", "--stack", stack],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RedriveError(f"pulumi stack output failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def from_outputs(outputs: Mapping[str, Any], function: str) -> Redrive:
    """The redrive of `function` ("on-upload" or "uploads") described by the stack outputs.

    `localEndpoints` (written by local mode) points the clients at local mode's servers."""
    prefix = FUNCTIONS[function]
    queue_url = outputs.get(f"{prefix}DeadLetterQueueUrl")
    name = outputs.get(f"{prefix}FunctionName")
    if not queue_url or not name:
        raise RedriveError(
            f"the stack has no dead-letter queue for {function} (outputs "
            f"{prefix}DeadLetterQueueUrl and {prefix}FunctionName): nothing to redrive"
        )
    endpoints = outputs.get("localEndpoints") or {}
    region = outputs.get("region")

    def client(service: str) -> Any:
        options: dict[str, Any] = {"region_name": region} if region else {}
        if service in endpoints:
            options["endpoint_url"] = endpoints[service]
        if endpoints:
            options.update(endpoints.get("credentials", {}))
        return boto3.client(service, **options)

    return Redrive(
        sqs=client("sqs"),
        lambda_=client("lambda"),
        queue_url=queue_url,
        function_name=name,
        s3=client("s3"),
        bucket=outputs.get("bucketName"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.redrive", description=__doc__)
    parser.add_argument("stack", help="the stack whose dead-letter queue to replay (dev, prod)")
    parser.add_argument(
        "--function", choices=sorted(FUNCTIONS), default="on-upload", help="default: on-upload"
    )
    parser.add_argument("--dry-run", action="store_true", help="list, replay nothing")
    parser.add_argument(
        "--outputs",
        type=Path,
        help="stack outputs as JSON (`pulumi stack output --json`, or the file local mode "
        "prints); default: ask the Pulumi CLI",
    )
    args = parser.parse_args(argv)
    try:
        redrive = from_outputs(stack_outputs(args.stack, args.outputs), args.function)
        summary = redrive.run(dry_run=args.dry_run)
    except (RedriveError, BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in summary.lines:
        print(line)
    print(summary.text(args.dry_run))
    return 1 if summary.left else 0


if __name__ == "__main__":
    sys.exit(main())
