"""The stack program: typed stack settings -> UploadService -> exports."""

import pulumi

from components.config import load_settings
from components.upload_service import UploadService, UploadServiceArgs

settings = load_settings()
service = UploadService("uploads", UploadServiceArgs.from_settings(settings))

pulumi.export("apiUrl", service.url)
pulumi.export("bucketName", service.bucket.name)
pulumi.export("uploadsFunctionName", service.uploads.name)
pulumi.export("onUploadFunctionName", service.on_upload.name)
