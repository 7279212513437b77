"""The stack program: typed stack settings -> components -> exports."""

import pulumi

from components.config import load_settings
from components.storage import StorageBucket, StorageBucketArgs

settings = load_settings()

bucket = StorageBucket(
    "uploads",
    StorageBucketArgs(
        noncurrent_version_expiration_days=settings.noncurrent_version_expiration_days,
        abort_incomplete_upload_days=settings.abort_incomplete_upload_days,
        kms_key=settings.bucket_kms_key or None,
        cors_origins=settings.cors_origins,
        force_destroy=settings.force_destroy,
        protect=settings.protect_data,
    ),
)

pulumi.export("bucketName", bucket.name)
pulumi.export("bucketArn", bucket.arn)
