"""The stack program: stack settings (aliases onto UploadService's arguments) -> preflight ->
UploadService -> exports."""

from dataclasses import replace

import pulumi

from components.config import load_settings
from components.preflight import check_lambda_concurrency, permissions_boundary
from components.stack_keys import UNRESERVED
from components.upload_service import UploadService

args, secrets = load_settings()
# Before any resource: what the account cannot give fails the preview in one line.
check_lambda_concurrency(
    {
        "uploadsReservedConcurrency": args.uploads_reserved_concurrency or UNRESERVED,
        "onUploadReservedConcurrency": args.on_upload_reserved_concurrency or UNRESERVED,
    }
)
# Every role carries the bootstrap's boundary, found from the account (no manual step), under
# the stack's own IAM path (what the stack's deploy role may reach).
function = replace(
    args.function,
    permissions_boundary=permissions_boundary(args.function.permissions_boundary or ""),
    role_path=f"/uploads/{pulumi.get_stack()}/",
)
service = UploadService("uploads", secrets.secret_args(replace(args, function=function)))


def export(name: str, value: object) -> None:
    """A stack output, secret when it holds a secret setting's text."""
    pulumi.export(name, secrets.secret_if_used(value))


export("apiUrl", service.url)
export("bucketName", service.bucket.name)
export("uploadsFunctionName", service.uploads.name)
export("onUploadFunctionName", service.on_upload.name)
# What `make redrive` reads: each function's dead-letter queue.
export("uploadsDeadLetterQueueUrl", service.uploads.dead_letter_queue.url)
export("onUploadDeadLetterQueueUrl", service.on_upload.dead_letter_queue.url)
if service.alarms is not None:
    export("alarmTopicArn", service.alarms.topic.arn)
if service.dashboard is not None:
    export("dashboardName", service.dashboard.dashboard_name)
if service.user_pool is not None:
    export("userPoolId", service.user_pool.id)
    export("userPoolClientId", service.user_pool.client_id)
if service.issuer is not None:
    export("authIssuer", service.issuer)
