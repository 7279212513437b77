"""The redrive command's AWS path on moto: SQS, S3 and Lambda (moto's docker-free Lambda)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ops.redrive import FailedEvent, Redrive, from_outputs, main, parse
from tests.handlers.conftest import offline_aws_environment

REGION = "us-east-1"
FUNCTION = "uploads-on-upload-function-f93fb0e"
BUCKET = "uploads-bucket"
KEY = "uploads/0123abcd.png"


def destination_record(key: str = KEY, function: str = FUNCTION, attempts: int = 3) -> dict:
    """What Lambda sends to an on-failure destination after an S3 event failed its retries."""
    return {
        "version": "1.0",
        "timestamp": "2026-12-04T10:00:00.000Z",
        "requestContext": {
            "requestId": "8f5e1c1e-0000-4000-8000-000000000000",
            "functionArn": f"arn:aws:lambda:{REGION}:123456789012:function:{function}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": BUCKET}, "object": {"key": key.replace(" ", "+")}},
                }
            ]
        },
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorType": "RecordsFailedError", "errorMessage": "1 record(s)"},
    }


class FailingLambda:
    """A Lambda client whose function raises again (moto's docker-free Lambda always succeeds)."""

    def __init__(self) -> None:
        self.payloads: list[Any] = []

    def invoke(self, **params: Any) -> dict[str, Any]:
        self.payloads.append(json.loads(params["Payload"]))
        body = json.dumps({"errorType": "RecordsFailedError", "errorMessage": "still broken"})
        return {"FunctionError": "Unhandled", "Payload": io.BytesIO(body.encode())}


@pytest.fixture
def aws(monkeypatch):
    offline_aws_environment(monkeypatch)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="uploads-on-upload-dead-letter-queue")["QueueUrl"]
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lambda_ = boto3.client("lambda", region_name=REGION)
        lambda_.create_function(
            FunctionName=FUNCTION,
            Runtime="python3.13",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )
        yield {"sqs": sqs, "s3": s3, "lambda": lambda_, "queue_url": queue_url}


def redrive(aws: dict, lambda_: Any = None) -> Redrive:
    return Redrive(
        sqs=aws["sqs"],
        lambda_=lambda_ or aws["lambda"],
        queue_url=aws["queue_url"],
        function_name=FUNCTION,
        s3=aws["s3"],
        bucket=BUCKET,
    )


def send(aws: dict, body: Any) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    aws["sqs"].send_message(QueueUrl=aws["queue_url"], MessageBody=text)


def queued(aws: dict) -> int:
    attributes = aws["sqs"].get_queue_attributes(
        QueueUrl=aws["queue_url"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_a_destination_record_is_read_for_its_key_error_attempts_and_age():
    message = {"MessageId": "m1", "ReceiptHandle": "r1", "Body": json.dumps(destination_record())}
    event = parse(message)
    assert event.keys == (KEY,)
    assert event.function == FUNCTION
    assert event.error == "RecordsFailedError: 1 record(s)"
    assert event.attempts == 3
    assert event.failed_at == datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert event.payload == destination_record()["requestPayload"]
    assert not event.problem


@pytest.mark.parametrize("body", ["not json", "{}", '{"Records": []}', "[1, 2]"])
def test_anything_else_is_not_a_destination_record(body):
    event = parse({"MessageId": "m", "ReceiptHandle": "r", "Body": body})
    assert event.problem == "not a Lambda destination record"


def test_dry_run_lists_and_leaves_everything_in_place(aws):
    aws["s3"].put_object(Bucket=BUCKET, Key="quarantine/0123abcd.png", Body=b"x")
    send(aws, destination_record())
    lambda_ = FailingLambda()
    now = datetime(2026, 12, 4, 12, 5, tzinfo=UTC)
    summary = redrive(aws, lambda_).run(dry_run=True, now=now)
    assert lambda_.payloads == []
    assert queued(aws) == 1
    assert summary.would_replay == 1
    [line] = summary.lines
    assert KEY in line
    assert "[quarantined]" in line
    assert "RecordsFailedError" in line
    assert "3 attempts" in line
    assert "2 h 5 min old" in line
    # Released at once: a real run right after the dry run sees the message.
    assert len(aws["sqs"].receive_message(QueueUrl=aws["queue_url"]).get("Messages", [])) == 1


def test_a_successful_replay_sends_the_original_event_then_deletes_the_message(aws):
    send(aws, destination_record())
    summary = redrive(aws).run(dry_run=False)
    assert (summary.replayed, summary.left) == (1, 0)
    assert queued(aws) == 0
    assert summary.text(dry_run=False).startswith("1 message(s): 1 replayed and deleted")


def test_a_replay_that_fails_again_is_left_in_the_queue_and_reported(aws):
    send(aws, destination_record())
    lambda_ = FailingLambda()
    summary = redrive(aws, lambda_).run(dry_run=False)
    assert lambda_.payloads == [destination_record()["requestPayload"]]
    assert (summary.replayed, summary.failed_again) == (0, 1)
    assert queued(aws) == 1
    assert "still broken" in summary.lines[0]
    assert "left in the queue" in summary.text(dry_run=False)


def test_a_message_that_is_not_a_record_is_left_and_reported(aws):
    send(aws, "hello")
    send(aws, destination_record(function="someone-else"))
    lambda_ = FailingLambda()
    summary = redrive(aws, lambda_).run(dry_run=False)
    assert lambda_.payloads == []
    assert summary.unreadable == 2
    assert queued(aws) == 2
    assert any("another function (someone-else)" in line for line in summary.lines)


def test_an_empty_queue_says_so(aws):
    summary = redrive(aws).run(dry_run=False)
    assert summary.text(dry_run=False) == "the dead-letter queue is empty: nothing to replay"


def test_running_twice_replays_each_event_once(aws):
    for _ in range(3):
        send(aws, destination_record())
    assert redrive(aws).run(dry_run=False).replayed == 3
    assert redrive(aws).run(dry_run=False).replayed == 0


def test_the_command_reads_the_stack_outputs(aws, tmp_path: Path, capsys):
    send(aws, destination_record())
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "onUploadFunctionName": FUNCTION,
                "onUploadDeadLetterQueueUrl": aws["queue_url"],
                "bucketName": BUCKET,
            }
        )
    )
    assert main(["prod", "--outputs", str(outputs), "--dry-run"]) == 0
    assert "1 message(s): 1 would be replayed" in capsys.readouterr().out
    assert main(["prod", "--outputs", str(outputs)]) == 0
    assert queued(aws) == 0


def test_a_stack_without_a_dead_letter_queue_is_a_clear_error(tmp_path: Path, capsys):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"bucketName": BUCKET}))
    assert main(["dev", "--outputs", str(outputs)]) == 2
    error = capsys.readouterr().err
    assert "the stack has no dead-letter queue for on-upload" in error
    with pytest.raises(Exception, match="no dead-letter queue for uploads"):
        from_outputs({"onUploadDeadLetterQueueUrl": "x"}, "uploads")


def test_age_is_told_in_days_for_old_events():
    event = FailedEvent("m", "r", payload={}, failed_at=datetime(2026, 12, 1, tzinfo=UTC))
    redrive_ = Redrive(sqs=None, lambda_=None, queue_url="", function_name=FUNCTION)
    line = redrive_._describe(event, datetime(2026, 12, 1, tzinfo=UTC) + timedelta(days=3, hours=2))
    assert "3 d 2 h old" in line


def test_where_an_upload_is_unknown_when_s3_denies_the_lookup():
    class DeniedS3:
        def head_object(self, **_params: Any) -> None:
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    redrive_ = Redrive(
        sqs=None, lambda_=None, queue_url="", function_name=FUNCTION, s3=DeniedS3(), bucket=BUCKET
    )
    assert redrive_.where(KEY) == "?"


@pytest.mark.parametrize("dry_run", [True, False])
def test_messages_held_by_a_redrive_running_beside_are_in_flight_not_an_empty_queue(aws, dry_run):
    for _ in range(2):
        send(aws, destination_record())
    # Another redrive has received both and is replaying them: hidden for its visibility timeout.
    taken = aws["sqs"].receive_message(
        QueueUrl=aws["queue_url"], MaxNumberOfMessages=10, VisibilityTimeout=300
    )["Messages"]
    assert len(taken) == 2
    lambda_ = FailingLambda()
    summary = redrive(aws, lambda_).run(dry_run=dry_run)
    assert lambda_.payloads == []
    assert summary.in_flight == 2
    text = summary.text(dry_run=dry_run)
    assert "empty" not in text
    assert "2 message(s) in flight" in text
    assert queued(aws) == 2


def test_in_flight_messages_are_told_beside_those_received(aws):
    send(aws, destination_record())
    aws["sqs"].receive_message(QueueUrl=aws["queue_url"], VisibilityTimeout=300)
    send(aws, destination_record())
    summary = redrive(aws).run(dry_run=True)
    assert summary.would_replay == 1
    assert summary.text(dry_run=True) == (
        "1 message(s): 1 would be replayed, 0 not a Lambda destination record; "
        "1 message(s) in flight (received by another consumer, such as a redrive running now: "
        "they come back when its visibility timeout ends)"
    )
