"""Minimal example: a private bucket and one function behind an HTTP API, all defaults.

Run it from this folder with the repository on the import path:
`PYTHONPATH=../.. pulumi up --stack dev`.
"""

from pathlib import Path

import pulumi

from components.function import PythonFunction, PythonFunctionArgs
from components.http_api import HttpApi, HttpApiArgs
from components.storage import StorageBucket

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
