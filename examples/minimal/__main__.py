"""Minimal example: a private bucket and one function behind an HTTP API, all defaults.

It uses the installed package, as any program would: from this folder, `pulumi install` (creates
./venv from requirements.txt), then `pulumi up --stack dev`.
"""

from pathlib import Path

import pulumi

from serverless_uploads.function import PythonFunction, PythonFunctionArgs
from serverless_uploads.http_api import HttpApi, HttpApiArgs
from serverless_uploads.storage import StorageBucket

HERE = Path(__file__).resolve().parent

bucket = StorageBucket("files")
hello = PythonFunction(
    "hello",
    PythonFunctionArgs(
        source=HERE / "hello",
        environment={"BUCKET_NAME": bucket.name},
        statements=bucket.grant_list(),
    ),
)
api = HttpApi("api", HttpApiArgs(routes={"GET /hello": hello}))

pulumi.export("url", pulumi.Output.concat(api.url, "/hello"))
pulumi.export("bucketName", bucket.name)
