"""A program that uses the installed components: the upload service, plus a function of its own
that writes a catalogue of the service's thumbnails into a bucket of its own.

Set up and deploy from this folder (docs/packaging-and-versions.md):
`pulumi install` (creates ./venv from requirements.txt), then `pulumi up --stack dev`.
"""

import pulumi

from serverless_uploads.function import PythonFunction, PythonFunctionArgs
from serverless_uploads.storage import StorageBucket
from serverless_uploads.upload_service import THUMBNAIL_PREFIX, UploadService

service = UploadService("uploads")
catalogs = StorageBucket("catalogs")
catalog = PythonFunction(
    "catalog",
    PythonFunctionArgs(
        # Relative to the project folder, which is the working directory under `pulumi up`.
        source="catalog",
        environment={
            "UPLOADS_BUCKET": service.bucket.name,
            "THUMBNAIL_PREFIX": THUMBNAIL_PREFIX,
            "CATALOG_BUCKET": catalogs.name,
        },
        statements=[
            *service.bucket.grant_list(THUMBNAIL_PREFIX),
            *catalogs.grant_write("catalogs/"),
        ],
    ),
)

pulumi.export("url", service.url)
pulumi.export("catalogFunctionName", catalog.name)
pulumi.export("catalogBucketName", catalogs.name)
