"""Typed, validated stack settings.

Every key the program reads is declared once here (type, default, allowed values, description);
`Pulumi.yaml` declares the same schema for the Pulumi CLI, and a test keeps the two identical. A bad
value, or a key nobody reads, stops the program with one message naming each key, the value and what
is allowed.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, fields
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from ._checks import LOG_RETENTION_DAYS
from ._component import EMAIL, HTTP_ORIGIN, HTTPS_URL, IAM_POLICY_ARN, KMS_KEY_ARN
from ._secrets import SecretTexts, secret_keys
from .image_limits import image_limits
from .packaging import ARCHITECTURES, RUNTIMES

AUTH_MODES = ("none", "cognito", "jwt")
"""`auth`: no sign-in, a Cognito user pool created by the stack, or an external OpenID issuer."""

PROJECT = "serverless-uploads"

UNRESERVED = -1
"""Reserved concurrency value meaning "none": the function draws on the account's shared pool."""


class ConfigError(pulumi.RunError):
    """Bad stack configuration; Pulumi prints the message without a stack trace."""


def _between(low: int, high: int) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}"


def _one_of(allowed: tuple[Any, ...]) -> Callable[[Any], str | None]:
    listed = ", ".join(str(a) for a in allowed)
    return lambda v: None if v in allowed else f"must be one of {listed}"


def _audiences(values: tuple[str, ...]) -> str | None:
    if any(not v.strip() for v in values):
        return "must not hold empty audiences"
    return None


def _origins(values: tuple[str, ...]) -> str | None:
    bad = [v for v in values if v != "*" and not HTTP_ORIGIN.match(v)]
    if "*" in values:
        return 'must list explicit origins ("*" would let any site call the API)'
    return f"has origins that are not http(s)://host[:port]: {bad}" if bad else None


def _reserved_concurrency(value: int) -> str | None:
    # 0 would stop the function from ever running: refused, not a way to say "none".
    ok = value == UNRESERVED or value >= 1
    return None if ok else f"must be {UNRESERVED} (no reservation) or at least 1"


def _https_url(purpose: str) -> Callable[[str], str | None]:
    """Empty, or an https:// URL (`purpose` says what it is for)."""
    return lambda v: (
        None if v == "" or HTTPS_URL.match(v) else f"must be an https:// URL ({purpose})"
    )


def _emails(values: tuple[str, ...]) -> str | None:
    return None if all(EMAIL.match(v) for v in values) else "must be email addresses"


def _https_urls(values: tuple[str, ...]) -> str | None:
    return None if all(HTTPS_URL.match(v) for v in values) else "must be https:// URLs"


def _kms_key(value: str) -> str | None:
    if value in ("", "create") or KMS_KEY_ARN.match(value):
        return None
    return 'must be "" (SSE-S3), "create" (a new KMS key) or a KMS key ARN (not an alias)'


def _policy_arn(value: str) -> str | None:
    if value == "" or IAM_POLICY_ARN.match(value):
        return None
    return 'must be "" (no boundary) or an IAM policy ARN (arn:aws:iam::<account>:policy/<name>)'


@dataclass(frozen=True)
class Setting:
    key: str
    type: str
    """Pulumi config schema type: string, integer, boolean or array (of strings)."""
    default: Any
    description: str
    check: Callable[[Any], str | None] = lambda _: None


SETTINGS: tuple[Setting, ...] = (
    Setting("logRetentionDays", "integer", 14, "Days CloudWatch keeps function and API logs.",
            _one_of(LOG_RETENTION_DAYS)),
    Setting("protectData", "boolean", False,
            "Protect the data and its safety settings from deletion; implies retainData."),
    Setting("retainData", "boolean", False,
            "Keep the data in AWS when `pulumi destroy` or a program change would delete it."),
    Setting("forceDestroy", "boolean", False,
            "Let `pulumi destroy` empty and delete a bucket that still holds objects."),
    Setting("noncurrentVersionExpirationDays", "integer", 30,
            "Days after which overwritten or deleted object versions are expired.",
            _between(1, 3650)),
    Setting("abortIncompleteUploadDays", "integer", 7,
            "Days after which incomplete multipart uploads are aborted.", _between(1, 365)),
    Setting("bucketKmsKey", "string", "",
            'Bucket encryption: "" for SSE-S3, "create" for a new KMS key, or a KMS key ARN.',
            _kms_key),
    Setting("accessLogs", "boolean", False,
            "S3 server access logs of the bucket, to a log bucket the stack creates."),
    Setting("accessLogExpirationDays", "integer", 365,
            "Days after which S3 server access logs expire.", _between(1, 3650)),
    Setting("encryptLogs", "boolean", False,
            'Encrypt function and API log groups with the bucket key (bucketKmsKey "create").'),
    Setting("corsOrigins", "array", [], "Browser origins allowed to call the API and the bucket.",
            _origins),
    Setting("functionMemoryMb", "integer", 256, "Memory of the uploads (API) function, in MB.",
            _between(128, 10240)),
    Setting("onUploadMemoryMb", "integer", 512,
            "Memory of the on_upload (thumbnail) function, in MB; sets the largest image accepted.",
            _between(256, 10240)),
    Setting("functionTimeoutSeconds", "integer", 30, "Timeout of each Lambda function, in seconds.",
            _between(1, 900)),
    Setting("functionArchitecture", "string", "arm64", "Lambda architecture: arm64 or x86_64.",
            _one_of(ARCHITECTURES)),
    Setting("functionRuntime", "string", "python3.13", "Lambda Python runtime.", _one_of(RUNTIMES)),
    Setting("tracing", "boolean", True, "Active X-Ray tracing for the functions."),
    Setting("asyncRetryAttempts", "integer", 2,
            "Retries of a failed asynchronous invocation (S3 events) before the dead-letter queue.",
            _between(0, 2)),
    Setting("asyncMaxEventAgeSeconds", "integer", 3600,
            "Maximum age of an asynchronous event before it goes to the dead-letter queue.",
            _between(60, 21600)),
    Setting("throttleBurstLimit", "integer", 100, "API default throttling: burst of requests.",
            _between(0, 5000)),
    Setting("throttleRateLimit", "integer", 50, "API default throttling: requests per second.",
            _between(0, 10000)),
    Setting("maxUploadBytes", "integer", 4194304,
            "Largest image accepted through the API (Lambda's 6 MB payload, base64-encoded).",
            _between(1, 4500000)),
    Setting("presignMaxBytes", "integer", 52428800,
            "Largest image accepted through a presigned POST straight to S3.",
            _between(1, 104857600)),
    Setting("urlExpirySeconds", "integer", 900, "Lifetime of presigned download and upload URLs.",
            _between(1, 604800)),
    Setting("thumbnailMaxPx", "integer", 256, "Longest side of generated thumbnails, in pixels.",
            _between(16, 4096)),
    Setting("uploadsReservedConcurrency", "integer", UNRESERVED,
            "Concurrent executions reserved for (and capping) the uploads API function; -1: none.",
            _reserved_concurrency),
    Setting("onUploadReservedConcurrency", "integer", UNRESERVED,
            "Concurrent executions reserved for (and capping) on_upload; -1: none.",
            _reserved_concurrency),
    Setting("auth", "string", "cognito",
            "Who may call the API: none (open), cognito (a user pool this stack creates) or jwt "
            "(an external OpenID issuer).", _one_of(AUTH_MODES)),
    Setting("authIssuer", "string", "",
            "auth jwt: the issuer URL (https) whose tokens the API accepts.",
            _https_url("the issuer API Gateway fetches signing keys from")),
    Setting("authAudience", "array", [],
            "auth jwt: accepted token audiences (aud or client_id).", _audiences),
    Setting("authSelfSignUp", "boolean", False,
            "auth cognito: let anyone sign up; otherwise only administrators create users."),
    Setting("authAccessTokenMinutes", "integer", 15,
            "auth cognito: lifetime of access tokens, in minutes.", _between(5, 1440)),
    Setting("authIdTokenMinutes", "integer", 15,
            "auth cognito: lifetime of ID tokens, in minutes.", _between(5, 1440)),
    Setting("authRefreshTokenDays", "integer", 30,
            "auth cognito: lifetime of refresh tokens, in days.", _between(1, 3650)),
    Setting("alarms", "boolean", True,
            "CloudWatch alarms on the functions, dead-letter queues and API, to an SNS topic."),
    Setting("alarmEmails", "array", [],
            "Email addresses subscribed to the alarm topic (each confirms by email).", _emails),
    Setting("alarmHttpsEndpoints", "array", [],
            "HTTPS endpoints (chat webhooks) subscribed to the alarm topic.", _https_urls),
    Setting("alarmRunbookUrl", "string", "",
            "Where the runbook (docs/operations.md) is published; alarm descriptions link it.",
            _https_url("where on-call engineers read the runbook")),
    Setting("alarmDeadLetterAgeMinutes", "integer", 60,
            "Alarm when a failed event has waited this long in a dead-letter queue (14 d max).",
            _between(1, 20159)),
    Setting("alarmApi5xxPercent", "integer", 1,
            "Alarm when more than this percentage of API requests get a 5xx in 5 minutes.",
            _between(1, 100)),
    Setting("alarmApiLatencyP99Ms", "integer", 2000,
            "Alarm when the API's p99 latency exceeds this, in milliseconds.", _between(1, 30000)),
    Setting("permissionsBoundaryArn", "string", "",
            "Permissions boundary of every role the stack creates: the bootstrap's "
            "permissionsBoundaryArn output (docs/deploying.md); \"\" for none.", _policy_arn),
    Setting("quarantineExpirationDays", "integer", 30,
            "Days after which uploads that could not be checked (quarantine/) are deleted.",
            _between(1, 3650)),
)  # fmt: skip


@dataclass(frozen=True)
class StackSettings:
    """The validated settings, with Python names (`logRetentionDays` -> `log_retention_days`)."""

    log_retention_days: int = 14
    protect_data: bool = False
    retain_data: bool = False
    force_destroy: bool = False
    noncurrent_version_expiration_days: int = 30
    abort_incomplete_upload_days: int = 7
    bucket_kms_key: str = ""
    access_logs: bool = False
    access_log_expiration_days: int = 365
    encrypt_logs: bool = False
    cors_origins: tuple[str, ...] = ()
    function_memory_mb: int = 256
    on_upload_memory_mb: int = 512
    function_timeout_seconds: int = 30
    function_architecture: str = "arm64"
    function_runtime: str = "python3.13"
    tracing: bool = True
    async_retry_attempts: int = 2
    async_max_event_age_seconds: int = 3600
    throttle_burst_limit: int = 100
    throttle_rate_limit: int = 50
    max_upload_bytes: int = 4194304
    presign_max_bytes: int = 52428800
    url_expiry_seconds: int = 900
    thumbnail_max_px: int = 256
    uploads_reserved_concurrency: int = UNRESERVED
    on_upload_reserved_concurrency: int = UNRESERVED
    auth: str = "cognito"
    auth_issuer: str = ""
    auth_audience: tuple[str, ...] = ()
    auth_self_sign_up: bool = False
    auth_access_token_minutes: int = 15
    auth_id_token_minutes: int = 15
    auth_refresh_token_days: int = 30
    alarms: bool = True
    alarm_emails: tuple[str, ...] = ()
    alarm_https_endpoints: tuple[str, ...] = ()
    alarm_runbook_url: str = ""
    alarm_dead_letter_age_minutes: int = 60
    alarm_api5xx_percent: int = 1
    alarm_api_latency_p99_ms: int = 2000
    permissions_boundary_arn: str = ""
    quarantine_expiration_days: int = 30


def attribute_name(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _parse(setting: Setting, raw: str) -> Any:
    """Pulumi hands every value over as a string; arrays as JSON. An integer is what the CLI
    itself accepts for an `integer` setting: Go's `strconv.Atoi`, a sign and digits (pulumi/pulumi
    sdk/go/common/workspace/project.go `ValidateConfigValue`); a YAML number such as `7.0`, `1e3`
    or `0o17` arrives as its integer text (offline/yaml_v3.py)."""
    if setting.type == "integer":
        if not re.fullmatch(r"[+-]?[0-9]+", raw):
            raise ValueError("must be a whole number")
        return int(raw)
    if setting.type == "boolean":
        if raw not in ("true", "false"):
            raise ValueError("must be true or false")
        return raw == "true"
    if setting.type == "array":
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("must be a list of strings")
        return tuple(value)
    return raw


def parse_settings(
    raw: Mapping[str, str], project: str = PROJECT, secret: Collection[str] = ()
) -> StackSettings:
    """Validate `namespace:key -> str` config into StackSettings; one ConfigError lists every
    problem. A value of a `secret` key is never shown; one the engine could not decrypt is
    replaced by a stand-in that passes its checks (`UNCHECKED_SECRET`)."""
    known = {s.key: s for s in SETTINGS}
    unknown = [
        key
        for key in sorted(raw)
        if key.startswith(f"{project}:") and key.split(":", 1)[1] not in known
    ]
    problems = [_not_a_setting(key, known) for key in unknown]
    if unknown:
        problems.append(f"the settings of this project are: {', '.join(sorted(known))}")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        qualified = f"{project}:{setting.key}"
        if qualified not in raw:
            continue
        text = raw[qualified]
        try:
            if qualified in secret:
                text = _secret_text(setting, text)
            value = _parse(setting, text)
            problem = setting.check(value)
        except ValueError as exc:
            problem = str(exc)
        if problem:
            shown = "[secret]" if qualified in secret else repr(text)
            problems.append(f"{qualified} = {shown}: {problem}")
        else:
            values[attribute_name(setting.key)] = value
    settings = StackSettings(**values)
    if not problems:
        problems += _cross_checks(settings, project) + _auth_problems(settings, project)
    if problems:
        raise ConfigError("invalid stack configuration:\n  " + "\n  ".join(problems))
    return settings


def _not_a_setting(key: str, known: Mapping[str, Setting]) -> str:
    """`key` is unknown; name the setting it most likely meant (case and typos forgiven)."""
    by_lower = {name.lower(): name for name in known}
    typed = key.split(":", 1)[1].lower()
    close = difflib.get_close_matches(typed, by_lower, n=1, cutoff=0.6)
    hint = f"; did you mean {by_lower[close[0]]}?" if close else ""
    return f"{key} is not a setting of this project{hint}"


def _cross_checks(settings: StackSettings, project: str) -> list[str]:
    """Problems that involve two settings at once."""
    problems = []
    reserved, burst = settings.uploads_reserved_concurrency, settings.throttle_burst_limit
    if reserved != UNRESERVED and reserved < burst:
        # Requests the API lets through would then be throttled by Lambda: a 5xx for the client.
        problems.append(
            f"{project}:uploadsReservedConcurrency = {reserved} is below "
            f"{project}:throttleBurstLimit = {burst}: requests the API admits at once would be "
            "throttled by Lambda (a 5xx); reserve at least the burst, or lower the burst"
        )
    if settings.encrypt_logs and settings.bucket_kms_key != "create":
        # Only a key the stack creates gets the key policy grant CloudWatch Logs needs.
        problems.append(
            f"{project}:encryptLogs = true needs {project}:bucketKmsKey = create (the stack "
            f"writes that key's policy), got {settings.bucket_kms_key!r}"
        )
    try:
        image_limits(
            settings.on_upload_memory_mb,
            settings.function_timeout_seconds,
            settings.presign_max_bytes,
        )
    except ValueError as error:
        problems.append(f"{project}:onUploadMemoryMb = {settings.on_upload_memory_mb}: {error}")
    return problems


_AUTH_ONLY = {
    "jwt": ("authIssuer", "authAudience"),
    "cognito": (
        "authSelfSignUp", "authAccessTokenMinutes", "authIdTokenMinutes", "authRefreshTokenDays",
    ),
}  # fmt: skip
"""Settings that only one `auth` mode reads: setting them for another mode is a mistake."""


def _auth_problems(settings: StackSettings, project: str) -> list[str]:
    """What the auth settings get wrong together (each one alone was valid). The CLI hands over
    schema defaults too, so "set" means "differs from its default"."""
    mode, defaults = settings.auth, StackSettings()
    problems = [
        f"{project}:{key} is set, but only auth {owner} reads it (auth is {mode})"
        for owner, keys in _AUTH_ONLY.items()
        if owner != mode
        for key in keys
        if getattr(settings, attribute_name(key)) != getattr(defaults, attribute_name(key))
    ]
    if mode == "jwt":
        if not settings.auth_issuer:
            problems.append(f"{project}:authIssuer is required with auth jwt (an https:// URL)")
        if not settings.auth_audience:
            problems.append(
                f"{project}:authAudience is required with auth jwt (at least one audience)"
            )
    return problems


def load_settings() -> tuple[StackSettings, SecretTexts]:
    """The running stack's settings (call from the Pulumi program, before any resource), and
    the text of its secret ones, which every resource and output that uses it keeps secret."""
    project = pulumi.get_project()
    raw = _stack_config(project)
    secret = secret_keys(raw)
    settings = parse_settings(raw, project, secret)
    texts = SecretTexts(_texts(settings, {key.split(":", 1)[1] for key in secret}))
    texts.keep_secret()
    return settings, texts


def _stack_config(project: str) -> dict[str, str]:
    """Every value of this project's config, read through `pulumi.Config` (values set through
    the SDK, by mocks or automation, first; then the CLI's PULUMI_CONFIG). The keys come from the
    same two places: the SDK has no call that lists them."""
    config = pulumi.Config(project)
    keys = [key for key in {**get_config_env(), **CONFIG.get()} if key.startswith(f"{project}:")]
    found = {key: config.get(key.split(":", 1)[1]) for key in keys}
    return {key: value for key, value in found.items() if value is not None}


def _texts(settings: StackSettings, keys: Collection[str]) -> list[str]:
    """The text of the settings `keys` (each item of a list)."""
    texts: list[str] = []
    for key in keys:
        value = getattr(settings, attribute_name(key))
        texts.extend(value if isinstance(value, tuple) else [value])
    return texts


UNCHECKED_SECRET = (
    "https://secret.invalid",
    "secret@example.invalid",
    "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
    "arn:aws:iam::123456789012:policy/secret",
)
"""Stand-ins for a secret the engine did not decrypt (the offline engine holds no key): the
first that passes the setting's check is used, else its default, so the rest of the stack can be
planned; the plan says the value itself was not checked."""


def is_encrypted(value: Any) -> bool:
    """A stack file's `secure:` value, or a list holding one (`pulumi config set --secret --path
    'key[0]'`), as a YAML or JSON value."""
    if isinstance(value, dict):
        return set(value) == {"secure"}
    return isinstance(value, list) and any(is_encrypted(v) for v in value)


def _secret_text(setting: Setting, text: str) -> str:
    """The text of a secret setting; a stand-in when the engine passed it still encrypted (the
    stack file's `{"secure": "<ciphertext>"}`, which the real CLI always decrypts first)."""
    if setting.type not in ("string", "array"):
        raise ValueError(
            f"is a secret, but only text settings are kept secret ({setting.type} values show "
            "in the resources that use them): set it without --secret"
        )
    try:
        if not is_encrypted(json.loads(text)):
            return text
    except json.JSONDecodeError:
        return text
    for stand_in in UNCHECKED_SECRET:
        value = [stand_in] if setting.type == "array" else stand_in
        if not setting.check(tuple(value) if setting.type == "array" else value):
            return json.dumps(value) if setting.type == "array" else stand_in
    return json.dumps(setting.default) if setting.type == "array" else setting.default


assert {f.name for f in fields(StackSettings)} == {attribute_name(s.key) for s in SETTINGS}
