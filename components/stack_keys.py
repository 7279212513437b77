"""The stack file's keys: flat aliases onto UploadService's arguments (issue 26).

Each key of `Pulumi.<stack>.yaml` (`functionMemoryMb`) names an argument path of
`UploadServiceArgs` (`function.memory_mb`); its type, default, description and check come from
that args field, which is the one definition of the argument for every language. `ALIASES` says
only how a key maps: the path(s), and for a few keys how the stack spells a value the argument
holds differently (`""` or `-1` for "not set", a boolean for "create it", minutes for seconds).

Why flat aliases and not the `UploadService` arguments as one structured object: the flat keys
are what every committed stack file, the setup and runbook docs (`pulumi config set
permissionsBoundaryArn ...`), the CI workflows and the policy pack already use; `Pulumi.yaml` can
declare a type and default for a flat key (its schema has no nested objects), so the CLI checks
them before the program runs; and `pulumi config set --secret` marks one key secret, not a
whole object. See docs/configuration.md.
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import math
import textwrap
import types
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import pulumi

from ._checks import Between, Check, field_check
from ._wire import nested_record, wire_fields
from .upload_service import UploadServiceArgs

UNRESERVED = -1
"""The stack's spelling of "no reserved concurrency" (the argument's None)."""
KEEP = object()
"""`Alias.flag`: true keeps the argument's default (it is on by default), false sets None."""


@dataclass(frozen=True)
class Alias:
    key: str
    paths: tuple[str, ...]
    """Argument paths in `UploadServiceArgs`; the first gives type, default, doc and check."""
    unset: Any = None
    """The stack's spelling of "leave the argument at its default" (`""`, `-1`), if any."""
    flag: Any = None
    """A boolean key for an optional part: true sets the argument to this (or `KEEP`)."""
    scale: int = 1
    """Argument units per stack unit (60: the key takes minutes, the argument seconds)."""
    stack_type: str | None = None
    """The key's type where the field's has none in Pulumi.yaml's schema (a float)."""
    note: str = ""
    """What the key adds to the field's description (which function, which unit)."""


ALIASES: tuple[Alias, ...] = (
    Alias("logRetentionDays", ("function.log_retention_days", "api.log_retention_days"),
          note="Functions and API."),
    Alias("protectData", ("bucket.protect", "user_pool.protect")),
    Alias("retainData", ("bucket.retain", "user_pool.retain")),
    Alias("forceDestroy", ("bucket.force_destroy",)),
    Alias("noncurrentVersionExpirationDays", ("bucket.noncurrent_version_expiration_days",)),
    Alias("abortIncompleteUploadDays", ("bucket.abort_incomplete_upload_days",)),
    Alias("bucketKmsKey", ("bucket.kms_key",), unset="", note='"": SSE-S3.'),
    Alias("accessLogs", ("bucket.access_log_bucket",), flag="create",
          note='true: "create", a log bucket the stack creates.'),
    Alias("accessLogExpirationDays", ("bucket.access_log_expiration_days",)),
    Alias("encryptLogs", ("encrypt_logs",)),
    Alias("corsOrigins", ("bucket.cors_origins", "api.cors_origins"),
          note="Bucket and API."),
    Alias("functionMemoryMb", ("function.memory_mb",), note="The uploads (API) function."),
    Alias("onUploadMemoryMb", ("on_upload_memory_mb",)),
    Alias("functionTimeoutSeconds", ("function.timeout_seconds",), note="Both functions."),
    Alias("functionArchitecture", ("function.architecture",)),
    Alias("functionRuntime", ("function.runtime",)),
    Alias("tracing", ("function.tracing",)),
    Alias("asyncRetryAttempts", ("function.async_retry_attempts",)),
    Alias("asyncMaxEventAgeSeconds", ("function.async_max_event_age_seconds",)),
    Alias("throttleBurstLimit", ("api.throttling_burst_limit",)),
    Alias("throttleRateLimit", ("api.throttling_rate_limit",)),
    Alias("maxUploadBytes", ("max_upload_bytes",)),
    Alias("presignMaxBytes", ("presign_max_bytes",)),
    Alias("urlExpirySeconds", ("url_expiry_seconds",)),
    Alias("thumbnailMaxPx", ("thumbnail_max_px",)),
    Alias("uploadsReservedConcurrency", ("uploads_reserved_concurrency",), unset=UNRESERVED,
          note="-1: none."),
    Alias("onUploadReservedConcurrency", ("on_upload_reserved_concurrency",), unset=UNRESERVED,
          note="-1: none."),
    Alias("auth", ("auth",)),
    Alias("authIssuer", ("jwt_issuer",), unset=""),
    Alias("authAudience", ("jwt_audience",)),
    Alias("authSelfSignUp", ("user_pool.self_sign_up",), note="auth cognito."),
    Alias("authAccessTokenMinutes", ("user_pool.access_token_minutes",), note="auth cognito."),
    Alias("authIdTokenMinutes", ("user_pool.id_token_minutes",), note="auth cognito."),
    Alias("authRefreshTokenDays", ("user_pool.refresh_token_days",), note="auth cognito."),
    Alias("alarms", ("alarms",), flag=KEEP),
    Alias("alarmEmails", ("alarms.emails",)),
    Alias("alarmHttpsEndpoints", ("alarms.https_endpoints",)),
    Alias("alarmRunbookUrl", ("alarms.runbook_url",), unset="",
          note='"": the repository\'s docs/operations.md.'),
    Alias("alarmDeadLetterAgeMinutes", ("alarms.dead_letter_age_seconds",), scale=60,
          note="In minutes."),
    Alias("alarmApi5xxPercent", ("alarms.api_5xx_percent",), stack_type="integer",
          note="Whole percent."),
    Alias("alarmApiLatencyP99Ms", ("alarms.api_latency_p99_ms",)),
    Alias("permissionsBoundaryArn", ("function.permissions_boundary",), unset="",
          note="\"\": the bootstrap's uploads-permissions-boundary in the account the stack "
               "deploys to (docs/deploying.md)."),
    Alias("quarantineExpirationDays", ("quarantine_expiration_days",)),
)  # fmt: skip


@dataclass(frozen=True)
class Setting:
    """A stack key with what its argument field says of it, in the stack's terms."""

    key: str
    type: str
    """Pulumi config schema type: string, integer, boolean or array (of strings)."""
    default: Any
    """As the program parses the key's value (a list as a tuple)."""
    description: str
    check: Check | None
    alias: Alias

    def problem(self, value: Any) -> str | None:
        """What is wrong with a parsed stack value, or None."""
        unset = self.alias.unset
        if self.check is None or (unset is not None and value == unset):
            return None
        problem = self.check.problem(value)
        return f"{problem} (or {unset!r}: not set)" if problem and unset is not None else problem

    def accepted(self) -> str:
        """What the key accepts, for the reference."""
        if self.type == "boolean":
            return "true or false"
        text = self.check.describe() if self.check else ""
        if self.alias.unset is not None:
            return f"{self.alias.unset!r} or {text}" if text else ""
        return text


@functools.cache
def field_docs(record: type) -> dict[str, str]:
    """Each field's docstring (the string right after it in the class body), on one line."""
    body = ast.parse(textwrap.dedent(inspect.getsource(record))).body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, after in itertools.pairwise(body):
        text = getattr(getattr(after, "value", None), "value", None)
        if isinstance(node, ast.AnnAssign) and isinstance(text, str):
            docs[node.target.id] = " ".join(text.split())  # type: ignore[union-attr]
    return docs


def field_at(path: str) -> tuple[type, str, Any, Any]:
    """The args class holding `path`'s last field, its name, its type hint and its default (in
    a default UploadServiceArgs)."""
    record, value = UploadServiceArgs, UploadServiceArgs()
    *parents, name = path.split(".")
    for part in parents:
        hint = {f.name: f.hint for f in wire_fields(record)}[part]
        record, value = nested_record(hint), getattr(value, part)  # type: ignore[assignment]
    hint = {f.name: f.hint for f in wire_fields(record)}[name]
    return record, name, hint, getattr(value, name)


def _stack_type(hint: Any) -> str:
    members = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    plain = [
        m for m in members
        if m is not type(None) and get_origin(m) not in (Awaitable, pulumi.Output)
    ]  # fmt: skip
    if plain == [bool]:
        return "boolean"
    if plain == [int]:
        return "integer"
    if all(m is str or get_origin(m) is Literal for m in plain):
        return "string"
    if len(plain) == 1 and get_origin(plain[0]) in (Sequence, list, tuple):
        return "array"
    raise TypeError(f"{hint} has no Pulumi config type: give the alias a stack_type")


def setting(alias: Alias) -> Setting:
    """The key as its (first) argument field defines it."""
    record, name, hint, default = field_at(alias.paths[0])
    check = field_check(record, name)
    if alias.flag is not None:
        kind, default, check = "boolean", default is not None, None
    else:
        kind = alias.stack_type or _stack_type(hint)
    if alias.unset is not None:  # the stack's spelling of the field's default
        default = alias.unset
    if alias.scale != 1 and isinstance(check, Between):
        default //= alias.scale
        high = None if check.high is None else math.floor(check.high / alias.scale)
        check = Between(math.ceil(check.low / alias.scale), high)
    if isinstance(default, float) and kind == "integer":
        default = int(default)
    doc = field_docs(record)[name]
    return Setting(alias.key, kind, default, f"{doc} {alias.note}".strip(), check, alias)


SETTINGS: tuple[Setting, ...] = tuple(setting(a) for a in ALIASES)
