"""Nothing in local mode is hard-coded: a throwaway copy of the project gets one more function, a
route to it and a bucket subscription for it, and `python -m offline dev` serves both.

The added function also fails on purpose: for a route (500 and the traceback in the log) and for
an S3 event (retries, then the dead-letter queue).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from devserver import MAKE_DEV, PROJECT_DIR, DevServer, wait_until

from components.packaging import default_cache_dir

EXTRA_HANDLER = """
import json
import os

import boto3

s3 = boto3.client("s3")
BUCKET = os.environ["BUCKET_NAME"]


def handler(event, context):
    if "Records" in event:
        for record in event["Records"]:
            key = record["s3"]["object"]["key"]
            if "fail" in key:
                raise RuntimeError(f"refusing {key}")
            s3.put_object(Bucket=BUCKET, Key=f"seen/{key}", Body=json.dumps(record))
        return None
    path = event["pathParameters"]["path"]
    if path == "boom":
        raise ValueError("boom on purpose")
    if path.startswith("seen/"):
        try:
            body = s3.get_object(Bucket=BUCKET, Key=path)["Body"].read().decode()
        except s3.exceptions.NoSuchKey:
            return {"statusCode": 404, "body": ""}
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": body}
    return {
        "routeKey": event["routeKey"],
        "path": path,
        "function": context.function_name,
        "remainingMs": context.get_remaining_time_in_millis(),
        "bucket": BUCKET,
    }
"""

# Prepended to the copy's __main__.py: the program gains a function, a route to it on the
# service's API, and a subscription for it on the service's bucket (through the components'
# public arguments, whatever UploadService declares itself).
PROGRAM_ADDITION = """
import dataclasses

from components import http_api as _http_api
from components import storage as _storage
from components.function import PythonFunction as _Function
from components.function import PythonFunctionArgs as _FunctionArgs

_added = {}
_notify = _storage.StorageBucket.notify
_api_init = _http_api.HttpApi.__init__


def _notify_with_extra(self, *subscriptions):
    extra = _Function(
        "extra",
        _FunctionArgs(
            source="lambda_src/extra",
            environment={"BUCKET_NAME": self.name},
            statements=[*self.grant_write("seen/"), *self.grant_read("seen/")],
        ),
    )
    _added["extra"] = extra
    added = _storage.on_object_created(extra, prefix="inbox/", suffix=".txt")
    return _notify(self, *subscriptions, added)


def _api_with_extra(self, name, args, opts=None):
    routes = {**args.routes, "ANY /extra/{path+}": _added["extra"]}
    _api_init(self, name, dataclasses.replace(args, routes=routes), opts)


_storage.StorageBucket.notify = _notify_with_extra
_http_api.HttpApi.__init__ = _api_with_extra
"""


@pytest.fixture(scope="module")
def copy_server(tmp_path_factory) -> Iterator[DevServer]:
    copy = tmp_path_factory.mktemp("program") / "project"
    shutil.copytree(
        PROJECT_DIR,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", "venv", ".build", ".git", "__pycache__", ".*_cache", "tests"
        ),
    )
    (copy / "lambda_src" / "extra").mkdir()
    (copy / "lambda_src" / "extra" / "handler.py").write_text(EXTRA_HANDLER)
    main = copy / "__main__.py"
    main.write_text(PROGRAM_ADDITION + main.read_text())
    # Share the archive cache: building on_upload's Pillow for Lambda again would need pip.
    env = {**os.environ, "UPLOADS_BUILD_CACHE": str(default_cache_dir())}
    server = DevServer(copy, env=env, config=MAKE_DEV)
    try:
        yield server
    finally:
        server.stop()


def _s3(server: DevServer):
    return server.aws_client("s3")


def _bucket(server: DevServer) -> str:
    banner = "\n".join(server.lines)
    return banner.split("S3 bucket  ", 1)[1].split(" ", 1)[0]


def test_added_route_is_served_by_the_added_function(copy_server):
    reply = copy_server.request("POST", "/extra/some/where")

    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["routeKey"] == "ANY /extra/{path+}"
    assert body["path"] == "some/where"
    assert body["function"].startswith("extra-function")
    assert 0 < body["remainingMs"] <= 30000
    assert body["bucket"] == _bucket(copy_server)


def test_added_subscription_delivers_matching_objects_only(copy_server):
    s3 = _s3(copy_server)
    bucket = _bucket(copy_server)
    put = s3.put_object(Bucket=bucket, Key="inbox/a b.txt", Body=b"hello")
    s3.put_object(Bucket=bucket, Key="inbox/photo.png", Body=b"x")  # suffix does not match
    s3.put_object(Bucket=bucket, Key="elsewhere/c.txt", Body=b"x")  # prefix does not match

    seen = wait_until(
        lambda: (r := copy_server.request("GET", "/extra/seen/inbox/a+b.txt")).status == 200 and r
    )

    record = seen.json()
    assert record["s3"]["object"]["key"] == "inbox/a+b.txt"
    assert record["s3"]["object"]["size"] == 5
    assert record["s3"]["object"]["versionId"] == put["VersionId"]
    assert copy_server.request("GET", "/extra/seen/inbox/photo.png").status == 404
    assert copy_server.request("GET", "/extra/seen/elsewhere/c.txt").status == 404


def test_handler_exception_gives_500_and_the_traceback_in_the_log(copy_server):
    before = len(copy_server.lines)

    reply = copy_server.request("GET", "/extra/boom")

    assert reply.status == 500
    assert reply.json() == {"message": "Internal Server Error"}
    error = copy_server.wait_for_log(r"\[extra\] .*boom on purpose", start=before)
    assert json.loads(error.split("] ", 1)[1])["stackTrace"]
    copy_server.wait_for_log(r"API GET /extra/boom 500 \d+ ms extra", start=before)


def test_failed_event_is_retried_then_sent_to_the_dead_letter_queue(copy_server):
    s3 = _s3(copy_server)
    s3.put_object(Bucket=_bucket(copy_server), Key="inbox/fail.txt", Body=b"x")

    copy_server.wait_for_log(r"inbox/fail\.txt -> extra attempt 3/3: error", timeout=20)
    line = copy_server.wait_for_log(r"inbox/fail\.txt -> extra: sent to dead-letter queue")

    queue = line.rsplit("dead-letter queue ", 1)[1].split(" ", 1)[0]
    sqs = copy_server.aws_client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorMessage"] == "refusing inbox/fail.txt"
    assert Path(record["requestPayload"]["Records"][0]["s3"]["object"]["key"]).name == "fail.txt"
