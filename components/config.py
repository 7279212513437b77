"""The stack's settings, read and checked as the engine gives them, into UploadServiceArgs.

Each key is an alias onto an argument of UploadService (`components/stack_keys.py`): its type,
default, description and check come from the args field. `Pulumi.yaml` declares the same schema
for the Pulumi CLI (`make docs` writes it; a test keeps it equal). A bad value, or a key nobody
reads, stops the program with one message naming each key, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Mapping
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from ._secrets import SecretTexts, secret_keys
from ._wire import from_dict
from .image_limits import image_limits
from .stack_keys import KEEP, SETTINGS, UNRESERVED, Setting
from .upload_service import UploadServiceArgs

PROJECT = "serverless-uploads"


class ConfigError(pulumi.RunError):
    """Bad stack configuration; Pulumi prints the message without a stack trace."""


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
) -> UploadServiceArgs:
    """Validate `namespace:key -> str` config into UploadService's arguments; one ConfigError
    lists every problem. A value of a `secret` key is never shown; one the engine could not
    decrypt is replaced by a stand-in that passes its checks (`UNCHECKED_SECRET`)."""
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
            problem = setting.problem(value)
        except ValueError as exc:
            problem = str(exc)
        if problem and qualified in secret:
            problem = _masked(problem, text)
        if problem:
            shown = "[secret]" if qualified in secret else repr(text)
            problems.append(f"{qualified} = {shown}: {problem}")
        else:
            values[setting.key] = value
    effective = {s.key: values.get(s.key, s.default) for s in SETTINGS}
    if not problems:
        problems += _cross_checks(effective, project) + _auth_problems(effective, project)
    if problems:
        raise ConfigError("invalid stack configuration:\n  " + "\n  ".join(problems))
    return service_args(effective)


def _masked(problem: str, text: str) -> str:
    """`problem` without any piece of a secret's text (a check says what it got)."""
    try:
        pieces = json.loads(text)
    except json.JSONDecodeError:
        pieces = text
    for piece in [text, *(pieces if isinstance(pieces, list) else [pieces])]:
        if isinstance(piece, str) and piece:
            problem = problem.replace(repr(piece), "[secret]").replace(piece, "[secret]")
    return problem


def service_args(values: Mapping[str, Any]) -> UploadServiceArgs:
    """UploadServiceArgs with each key's value at its argument path(s), in the argument's own
    spelling (`stack_keys.Alias`); what no key sets keeps the field's default."""
    overrides: dict[str, Any] = {}
    for setting in SETTINGS:
        alias, value = setting.alias, values[setting.key]
        if alias.flag is not None:
            value = alias.flag if value else None
        elif alias.unset is not None and value == alias.unset:
            continue  # the field's default
        else:
            value = value * alias.scale if alias.scale != 1 else value
        for path in alias.paths:
            _put(overrides, path.split("."), value)
    return from_dict(
        UploadServiceArgs, overrides, "the stack settings", (), base=UploadServiceArgs()
    )


def _put(tree: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set `tree[a][b]... = value`; a part turned off (None) takes no nested values."""
    *parents, name = parts
    for part in parents:
        if tree.get(part, {}) is None:
            return
        tree = tree.setdefault(part, {})
    if value is KEEP:
        tree.setdefault(name, {})
    else:
        tree[name] = value


def _not_a_setting(key: str, known: Mapping[str, Setting]) -> str:
    """`key` is unknown; name the setting it most likely meant (case and typos forgiven)."""
    by_lower = {name.lower(): name for name in known}
    typed = key.split(":", 1)[1].lower()
    close = difflib.get_close_matches(typed, by_lower, n=1, cutoff=0.6)
    hint = f"; did you mean {by_lower[close[0]]}?" if close else ""
    return f"{key} is not a setting of this project{hint}"


def _cross_checks(settings: Mapping[str, Any], project: str) -> list[str]:
    """Problems that involve two settings at once."""
    problems = []
    reserved, burst = settings["uploadsReservedConcurrency"], settings["throttleBurstLimit"]
    if reserved != UNRESERVED and reserved < burst:
        # Requests the API lets through would then be throttled by Lambda: a 5xx for the client.
        problems.append(
            f"{project}:uploadsReservedConcurrency = {reserved} is below "
            f"{project}:throttleBurstLimit = {burst}: requests the API admits at once would be "
            "throttled by Lambda (a 5xx); reserve at least the burst, or lower the burst"
        )
    if settings["encryptLogs"] and settings["bucketKmsKey"] != "create":
        # Only a key the stack creates gets the key policy grant CloudWatch Logs needs.
        problems.append(
            f"{project}:encryptLogs = true needs {project}:bucketKmsKey = create (the stack "
            f"writes that key's policy), got {settings['bucketKmsKey']!r}"
        )
    try:
        image_limits(
            settings["onUploadMemoryMb"],
            settings["functionTimeoutSeconds"],
            settings["presignMaxBytes"],
        )
    except ValueError as error:
        problems.append(f"{project}:onUploadMemoryMb = {settings['onUploadMemoryMb']}: {error}")
    return problems


_AUTH_ONLY = {
    "jwt": ("authIssuer", "authAudience"),
    "cognito": (
        "authSelfSignUp", "authAccessTokenMinutes", "authIdTokenMinutes", "authRefreshTokenDays",
    ),
}  # fmt: skip
"""Settings that only one `auth` mode reads: setting them for another mode is a mistake."""


def _auth_problems(settings: Mapping[str, Any], project: str) -> list[str]:
    """What the auth settings get wrong together (each one alone was valid). The CLI hands over
    schema defaults too, so "set" means "differs from its default"."""
    mode, defaults = settings["auth"], {s.key: s.default for s in SETTINGS}
    problems = [
        f"{project}:{key} is set, but only auth {owner} reads it (auth is {mode})"
        for owner, keys in _AUTH_ONLY.items()
        if owner != mode
        for key in keys
        if settings[key] != defaults[key]
    ]
    if mode == "jwt":
        if not settings["authIssuer"]:
            problems.append(f"{project}:authIssuer is required with auth jwt (an https:// URL)")
        if not settings["authAudience"]:
            problems.append(
                f"{project}:authAudience is required with auth jwt (at least one audience)"
            )
    return problems


def load_settings() -> tuple[UploadServiceArgs, SecretTexts]:
    """The running stack's UploadService arguments (call from the Pulumi program, before any
    resource), and the text of its secret settings, which every resource and output that uses
    it keeps secret."""
    project = pulumi.get_project()
    raw = _stack_config(project)
    secret = secret_keys(raw)
    args = parse_settings(raw, project, secret)
    texts = SecretTexts(_texts(raw, secret, project))
    texts.keep_secret()
    return args, texts


def _stack_config(project: str) -> dict[str, str]:
    """Every value of this project's config, read through `pulumi.Config` (values set through
    the SDK, by mocks or automation, first; then the CLI's PULUMI_CONFIG). The keys come from the
    same two places: the SDK has no call that lists them."""
    config = pulumi.Config(project)
    keys = [key for key in {**get_config_env(), **CONFIG.get()} if key.startswith(f"{project}:")]
    found = {key: config.get(key.split(":", 1)[1]) for key in keys}
    return {key: value for key, value in found.items() if value is not None}


def _texts(raw: Mapping[str, str], secret: Collection[str], project: str) -> list[str]:
    """The text of the secret settings (each item of a list), as checked and used."""
    known = {f"{project}:{s.key}": s for s in SETTINGS}
    texts: list[str] = []
    for key in secret:
        if key in known:
            value = _parse(known[key], _secret_text(known[key], raw[key]))
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
        if not setting.problem(tuple(value) if setting.type == "array" else value):
            return json.dumps(value) if setting.type == "array" else stand_in
    return json.dumps(setting.default) if setting.type == "array" else setting.default
