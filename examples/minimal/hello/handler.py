"""Answers GET /hello with the number of objects in the bucket (at most 1000)."""

import json
import os

import boto3

BUCKET_NAME = os.environ["BUCKET_NAME"]
s3 = boto3.client("s3")


def handler(event: dict, context: object) -> dict:
    listed = s3.list_objects_v2(Bucket=BUCKET_NAME, MaxKeys=1000)
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"objects": listed.get("KeyCount", 0)}),
    }
