"""UploadService: the seed's application, composed from StorageBucket, PythonFunction and HttpApi.

Images arrive through the HTTP API (`uploads` function) or a presigned POST straight to S3, are
stored under `uploads/`, and `on_upload` checks each new object and writes its thumbnail under
`thumbnails/`. Each function may touch only the prefixes and actions it needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pulumi

from ._checks import EXPIRY_DAYS, HTTPS, Between, Each, OneOf, check_fields, checked
from ._component import PolicyStatement
from ._wire import args_of, set_by_component
from .alarms import ServiceAlarms, ServiceAlarmsArgs
from .dashboard import ServiceDashboard, ServiceDashboardArgs
from .function import PythonFunction, PythonFunctionArgs
from .http_api import HttpApi, HttpApiArgs, Route
from .image_limits import ImageLimitSettings, image_limits
from .packaging import PackagingError
from .storage import LifecycleRule, StorageBucket, StorageBucketArgs, on_object_created
from .user_pool import UserPool, UserPoolArgs

UPLOAD_PREFIX = "uploads/"
THUMBNAIL_PREFIX = "thumbnails/"
QUARANTINE_PREFIX = "quarantine/"
"""Where `on_upload` moves an upload it could not check: never listed or served, deleted by the
bucket's lifecycle after `quarantine_expiration_days`."""


def _packaged_sources() -> Path:
    """The service's Lambda sources, found through the package: package data of the wheel
    (`serverless_uploads/lambda_src`), and in the repository `components/lambda_src`, a link to
    the top-level `lambda_src/`. The archives are built from files on disk."""
    found = resources.files(__package__) / "lambda_src"
    if not isinstance(found, Path) or not found.is_dir():
        raise PackagingError(
            f"the package's Lambda sources ({found}) are not a folder on disk: install the "
            "package with pip (not as a zip) so that UploadService can package its functions"
        )
    return found


LAMBDA_SRC = _packaged_sources()
PAGE_ROUTE = "GET /"
"""The web page (served by `uploads`); public even when the API's other routes need a token."""
AUTH_MODES = ("none", "cognito", "jwt")
"""`auth`: no sign-in, a Cognito user pool of the service, or an external OpenID issuer."""
API_ROUTES = (
    "POST /uploads",
    "POST /uploads/presign",
    "GET /uploads",
    "GET /uploads/{id}",
    "DELETE /uploads/{id}",
)


@dataclass(frozen=True)
class UploadServiceArgs:
    """Arguments of UploadService; the stack settings are aliases onto them
    (`components/stack_keys.py`)."""

    bucket: StorageBucketArgs = field(default_factory=StorageBucketArgs)
    """The bucket's arguments (secure defaults)."""
    function: PythonFunctionArgs = field(
        default_factory=lambda: PythonFunctionArgs(source=LAMBDA_SRC / "uploads"),
        metadata=set_by_component(
            "source", "handler", "shared_packages", "environment", "statements",
            "reserved_concurrency",
        ),
    )  # fmt: skip
    """Settings shared by both functions (memory, timeout, runtime, logs, tracing, async);
    `source`, `handler`, `environment` and `statements` are set per function."""
    api: HttpApiArgs = field(
        default_factory=lambda: HttpApiArgs(routes={}),
        metadata=set_by_component("routes", "default_authorization", "jwt_issuer", "jwt_audience"),
    )
    """The API's settings (throttling, CORS, logs); `routes` are set by the service."""
    max_upload_bytes: int = checked(Between(1, 4500000), 4194304)
    """Largest image accepted through the API (Lambda's 6 MB payload, base64-encoded)."""
    presign_max_bytes: int = checked(Between(1, 104857600), 52428800)
    """Largest image accepted through a presigned POST straight to S3."""
    url_expiry_seconds: int = checked(Between(1, 604800), 900)
    """Lifetime of presigned download and upload URLs (SigV4 allows at most 7 days)."""
    thumbnail_max_px: int = checked(Between(16, 4096), 256)
    """Longest side of generated thumbnails, in pixels."""
    on_upload_memory_mb: int = checked(Between(256, 10240), 512)
    """Memory of `on_upload`. Default 512 MB: the cheapest size where `make bench-thumbnails`
    shows every ordinary image (up to a 24-megapixel photo) fitting with margin. It also sets the
    largest image either function accepts (`image_limits`)."""
    uploads_reserved_concurrency: int | None = checked(Between(1), None)
    """Concurrency reserved for (and capping) `uploads`. None: the account's shared pool."""
    on_upload_reserved_concurrency: int | None = checked(Between(1), None)
    """Concurrency reserved for (and capping) `on_upload`; events over it wait in Lambda's
    asynchronous queue, then go to the dead-letter queue. None: the account's shared pool."""
    auth: Literal["none", "cognito", "jwt"] = checked(OneOf(AUTH_MODES), "cognito")
    """Who may call the API. "cognito" (default): a user pool of the service issues the tokens;
    "jwt": an external OpenID issuer (`jwt_issuer`, `jwt_audience`); "none": open to anyone
    who can reach it. With a token, each caller sees only their own uploads."""
    user_pool: UserPoolArgs = field(default_factory=UserPoolArgs)
    """The user pool's arguments, with `auth` "cognito" (secure defaults)."""
    jwt_issuer: pulumi.Input[str] | None = checked(HTTPS, None)
    """With `auth` "jwt": the issuer URL (https). Default None."""
    jwt_audience: Sequence[str] = checked(Each(non_empty=True), ())
    """With `auth` "jwt": accepted `aud` (or `client_id`) values, at least one."""
    alarms: ServiceAlarmsArgs | None = field(
        default_factory=ServiceAlarmsArgs,
        metadata=set_by_component("functions", "api", "kms_key"),
    )
    """Alarms on both functions, their dead-letter queues and the API, to one SNS topic
    (encrypted with the bucket's KMS key, if it has one); `functions`, `api` and `kms_key` are set
    by the service. None: no alarms."""
    dashboard: bool = True
    """A CloudWatch dashboard of the service and saved Logs Insights queries. Default True."""
    quarantine_expiration_days: int = checked(EXPIRY_DAYS, 30)
    """Days after which uploads `on_upload` could not check (under `quarantine/`) are deleted."""
    encrypt_logs: bool = False
    """Encrypt the functions' log groups and the API's access log group with the bucket's KMS
    key, whose policy then grants CloudWatch Logs (needs `bucket.kms_key="create"`). Default
    False: CloudWatch Logs' own encryption."""

    def __post_init__(self) -> None:
        check_fields(self)
        owner = "UploadService"
        if self.auth == "jwt" and (not self.jwt_issuer or not self.jwt_audience):
            raise ValueError(f'{owner}: auth "jwt" needs jwt_issuer and jwt_audience')
        if self.auth != "jwt" and (self.jwt_issuer or self.jwt_audience):
            raise ValueError(f'{owner}: jwt_issuer and jwt_audience are read only with auth "jwt"')
        try:
            self.image_limits()
        except ValueError as error:
            raise ValueError(f"{owner}: on_upload_memory_mb: {error}") from None

    def image_limits(self) -> ImageLimitSettings:
        """The per-image limits that keep `on_upload`'s decoding within its memory and timeout."""
        return image_limits(
            self.on_upload_memory_mb, self.function.timeout_seconds, self.presign_max_bytes
        )


def _with_log_encryption(name: str, args: UploadServiceArgs) -> UploadServiceArgs:
    """With `encrypt_logs`, the bucket's created key also grants CloudWatch Logs."""
    if not args.encrypt_logs:
        return args
    if args.bucket.kms_key != "create":
        raise ValueError(
            f'UploadService "{name}": encrypt_logs needs bucket.kms_key="create" (the service '
            "writes the key's policy)"
        )
    return replace(args, bucket=replace(args.bucket, kms_key_for_logs=True))


class UploadService(pulumi.ComponentResource):
    """One bucket, the `uploads` API function, the `on_upload` S3 function and one HTTP API."""

    bucket: StorageBucket
    """The bucket (Python only, as are the other child components: other languages get their
    names below)."""
    uploads: PythonFunction
    """The function behind the API."""
    on_upload: PythonFunction
    """The function S3 calls for each new upload."""
    api: HttpApi
    """The HTTP API."""
    alarms: ServiceAlarms | None
    """The alarms and their topic (Python only); None when `alarms` is None."""
    dashboard: ServiceDashboard | None
    """The dashboard and saved queries (Python only); None when `dashboard` is False."""
    user_pool: UserPool | None
    """The Cognito user pool, with `auth` "cognito"; None otherwise."""
    issuer: pulumi.Output[str] | None
    """The issuer whose JWTs the API accepts; None with `auth` "none"."""
    url: pulumi.Output[str]
    """The API's URL, which also serves the web page."""
    bucket_name: pulumi.Output[str]
    """The bucket's name."""
    uploads_function_name: pulumi.Output[str]
    """The name of the `uploads` function."""
    on_upload_function_name: pulumi.Output[str]
    """The name of the `on_upload` function."""
    alarm_topic_arn: pulumi.Output[str] | None
    """The ARN of the SNS topic the alarms send to; None without alarms."""
    dashboard_name: pulumi.Output[str] | None
    """The CloudWatch dashboard's name; None without a dashboard."""

    def __init__(
        self,
        name: str,
        args: UploadServiceArgs | Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args_of(UploadServiceArgs, args, f'UploadService "{name}"')
        super().__init__("uploads:index:UploadService", name, None, opts)
        args = _with_log_encryption(name, args)
        child = pulumi.ResourceOptions(parent=self)
        # The bucket's CORS also allows the API's own origin (the page posts large files straight
        # to S3), which is known only once the API exists: created below by `allow_origins`.
        quarantine = LifecycleRule(QUARANTINE_PREFIX, args.quarantine_expiration_days)
        bucket_args = replace(
            args.bucket,
            lifecycle_rules=(*args.bucket.lifecycle_rules, quarantine),
            # CloudWatch publishes to the alarm topic the created key encrypts.
            kms_key_for_alarms=args.alarms is not None and args.bucket.kms_key == "create",
            cors_origins=(),
            cors_methods=tuple(dict.fromkeys([*args.bucket.cors_methods, "POST"])),
        )
        self.bucket = StorageBucket(f"{name}-bucket", bucket_args, child)
        if args.encrypt_logs:
            key = self.bucket.kms_key_arn
            args = replace(
                args,
                function=replace(args.function, log_kms_key=key),
                api=replace(args.api, log_kms_key=key),
            )
        bucket = self.bucket
        self.user_pool = (
            UserPool(f"{name}-users", args.user_pool, child) if args.auth == "cognito" else None
        )
        audience = [self.user_pool.client_id] if self.user_pool else list(args.jwt_audience)
        self.issuer = self.user_pool.issuer if self.user_pool else args.jwt_issuer
        limits = args.image_limits().environment()
        self.uploads = self._function(
            f"{name}-uploads",
            replace(args.function, reserved_concurrency=args.uploads_reserved_concurrency),
            "uploads",
            {
                "MAX_UPLOAD_BYTES": str(args.max_upload_bytes),
                "PRESIGN_MAX_BYTES": str(args.presign_max_bytes),
                "URL_EXPIRY_SECONDS": str(args.url_expiry_seconds),
                "QUARANTINE_PREFIX": QUARANTINE_PREFIX,
                **self._auth_environment(args, audience),
                **limits,
            },
            [
                *bucket.grant_write(UPLOAD_PREFIX),
                *bucket.grant_read(UPLOAD_PREFIX),
                *bucket.grant_delete(UPLOAD_PREFIX),
                *bucket.grant_read(THUMBNAIL_PREFIX),
                *bucket.grant_delete(THUMBNAIL_PREFIX),
                # The owner's DELETE covers an upload on_upload holds in quarantine.
                *bucket.grant_delete(QUARANTINE_PREFIX),
                *bucket.grant_list(UPLOAD_PREFIX, THUMBNAIL_PREFIX, QUARANTINE_PREFIX),
            ],
        )
        self.on_upload = self._function(
            f"{name}-on-upload",
            replace(
                args.function,
                memory_mb=args.on_upload_memory_mb,
                reserved_concurrency=args.on_upload_reserved_concurrency,
            ),
            "on_upload",
            {
                "THUMBNAIL_MAX_PX": str(args.thumbnail_max_px),
                "QUARANTINE_PREFIX": QUARANTINE_PREFIX,
                **limits,
            },
            [
                *bucket.grant_read(UPLOAD_PREFIX),
                *bucket.grant_delete(UPLOAD_PREFIX),
                # Listing is what makes S3 answer a missing original with 404 rather than 403:
                # on_upload must tell "deleted meanwhile" from "denied" (which it retries).
                *bucket.grant_list(UPLOAD_PREFIX),
                # Reading a thumbnail's recorded source, replacing or removing a stale one.
                *bucket.grant_read(THUMBNAIL_PREFIX),
                *bucket.grant_write(THUMBNAIL_PREFIX),
                *bucket.grant_delete(THUMBNAIL_PREFIX),
                # An upload it cannot check goes out of sight under quarantine/ (copied there,
                # then deleted), and back under uploads/ once a retry or a redrive checks it.
                *bucket.grant_read(QUARANTINE_PREFIX),
                *bucket.grant_write(QUARANTINE_PREFIX),
                *bucket.grant_delete(QUARANTINE_PREFIX),
                *bucket.grant_list(QUARANTINE_PREFIX),
                *bucket.grant_write(UPLOAD_PREFIX),
                # Each move copies and removes exact versions (docs/operations.md).
                *bucket.grant_read_versions(UPLOAD_PREFIX),
                *bucket.grant_read_versions(QUARANTINE_PREFIX),
                *bucket.grant_delete_versions(UPLOAD_PREFIX),
                *bucket.grant_delete_versions(QUARANTINE_PREFIX),
            ],
        )
        self.notification = bucket.notify(on_object_created(self.on_upload, prefix=UPLOAD_PREFIX))
        routes: dict[str, Any] = {
            PAGE_ROUTE: Route(self.uploads, authorization="NONE"),
            **dict.fromkeys(API_ROUTES, self.uploads),
        }
        api_args = replace(args.api, routes=routes)
        if args.auth != "none":
            # Every API route needs a token; the page stays public (above), and CORS preflights
            # are answered by API Gateway itself, before any authorizer.
            api_args = replace(
                api_args,
                default_authorization="JWT",
                jwt_issuer=self.issuer,
                jwt_audience=audience,
            )
        self.api = HttpApi(f"{name}-api", api_args, child)
        self.bucket_cors = bucket.allow_origins(
            *args.bucket.cors_origins, *self._page_origins(args.api)
        )
        self.url = self.api.url
        self.alarms = (
            ServiceAlarms(
                f"{name}-alarms",
                replace(
                    args.alarms,
                    functions=(self.uploads, self.on_upload),
                    api=self.api,
                    kms_key=args.alarms.kms_key or bucket.kms_key_arn,
                ),
                child,
            )
            if args.alarms is not None
            else None
        )
        self.dashboard = (
            ServiceDashboard(
                f"{name}-dashboard",
                ServiceDashboardArgs(
                    api=self.api,
                    uploads=self.uploads,
                    on_upload=self.on_upload,
                    alarms=[a.arn for a in self.alarms.alarms.values()] if self.alarms else (),
                ),
                child,
            )
            if args.dashboard
            else None
        )
        self.bucket_name = self.bucket.name
        self.uploads_function_name = self.uploads.name
        self.on_upload_function_name = self.on_upload.name
        self.alarm_topic_arn = self.alarms.topic.arn if self.alarms else None
        self.dashboard_name = self.dashboard.dashboard_name if self.dashboard else None
        self.register_outputs(
            {
                "url": self.url,
                "bucket_name": self.bucket_name,
                "uploads_function_name": self.uploads_function_name,
                "on_upload_function_name": self.on_upload_function_name,
                "alarm_topic_arn": self.alarm_topic_arn,
                "dashboard_name": self.dashboard_name,
                "user_pool": self.user_pool,
                "issuer": self.issuer,
            }
        )

    def _page_origins(self, api_args: HttpApiArgs) -> list[pulumi.Output[str]]:
        """Where the page is served from: the API's URL, and its execute-api endpoint too while
        that stays on beside a custom domain."""
        origins = [self.api.url]
        if api_args.domain_name is not None and not api_args.disable_execute_api_endpoint:
            origins.append(self.api.api.api_endpoint)
        return [url.apply(_origin) for url in origins]

    def _auth_environment(
        self, args: UploadServiceArgs, audience: Sequence[pulumi.Input[str]]
    ) -> dict[str, pulumi.Input[str]]:
        """What the `uploads` function knows of sign-in: the mode (it decides whether uploads
        are kept per owner) and, for the web page, the issuer and the Cognito app client."""
        environment: dict[str, pulumi.Input[str]] = {"AUTH_MODE": args.auth}
        if self.issuer is not None:
            environment["AUTH_ISSUER"] = self.issuer
        if self.user_pool is not None:
            environment["AUTH_CLIENT_ID"] = audience[0]
        return environment

    def _function(
        self,
        name: str,
        function: PythonFunctionArgs,
        folder: str,
        environment: Mapping[str, pulumi.Input[str]],
        statements: Sequence[PolicyStatement],
    ) -> PythonFunction:
        function_args = replace(
            function,
            source=LAMBDA_SRC / folder,
            handler="handler.handler",
            shared_packages=(LAMBDA_SRC / "uploads_common",),
            environment={
                "BUCKET_NAME": self.bucket.name,
                "UPLOAD_PREFIX": UPLOAD_PREFIX,
                "THUMBNAIL_PREFIX": THUMBNAIL_PREFIX,
                "LOG_LEVEL": function.log_level,
                **environment,
            },
            statements=tuple(statements),
        )
        return PythonFunction(name, function_args, pulumi.ResourceOptions(parent=self))


def _origin(url: str) -> str:
    """`https://host[:port]/path` -> `https://host[:port]`, as a browser sends it in `Origin`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
