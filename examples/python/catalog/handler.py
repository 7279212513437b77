"""Writes `catalogs/thumbnails.json`: the keys of the upload service's thumbnails (at most 1000)."""

import json
import os

import boto3

s3 = boto3.client("s3")


def handler(event: dict, context: object) -> dict:
    listed = s3.list_objects_v2(
        Bucket=os.environ["UPLOADS_BUCKET"], Prefix=os.environ["THUMBNAIL_PREFIX"], MaxKeys=1000
    )
    keys = [item["Key"] for item in listed.get("Contents", [])]
    s3.put_object(
        Bucket=os.environ["CATALOG_BUCKET"],
        Key="catalogs/thumbnails.json",
        Body=json.dumps({"thumbnails": keys}).encode(),
        ContentType="application/json",
    )
    return {"thumbnails": len(keys)}
