"""The stack program: typed stack settings -> preflight -> UploadService -> exports."""

import pulumi

from components.config import load_settings
from components.preflight import check_lambda_concurrency
from components.upload_service import UploadService, UploadServiceArgs

settings = load_settings()
# Before any resource: what the account cannot give fails the preview in one line.
check_lambda_concurrency(
    {
        "uploadsReservedConcurrency": settings.uploads_reserved_concurrency,
        "onUploadReservedConcurrency": settings.on_upload_reserved_concurrency,
    }
)
service = UploadService("uploads", UploadServiceArgs.from_settings(settings))

pulumi.export("apiUrl", service.url)
pulumi.export("bucketName", service.bucket.name)
pulumi.export("uploadsFunctionName", service.uploads.name)
pulumi.export("onUploadFunctionName", service.on_upload.name)
# What `make redrive` reads: each function's dead-letter queue.
pulumi.export("uploadsDeadLetterQueueUrl", service.uploads.dead_letter_queue.url)
pulumi.export("onUploadDeadLetterQueueUrl", service.on_upload.dead_letter_queue.url)
if service.alarms is not None:
    pulumi.export("alarmTopicArn", service.alarms.topic.arn)
if service.dashboard is not None:
    pulumi.export("dashboardName", service.dashboard.dashboard_name)
if service.user_pool is not None:
    pulumi.export("userPoolId", service.user_pool.id)
    pulumi.export("userPoolClientId", service.user_pool.client_id)
if service.issuer is not None:
    pulumi.export("authIssuer", service.issuer)
