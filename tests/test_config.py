"""Stack settings: the stack files load, every bad value stops the program with a clear message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components._checks import field_check
from components.config import ConfigError, load_settings, parse_settings
from components.stack_keys import SETTINGS, field_at, field_docs
from components.upload_service import UploadServiceArgs
from offline import ProgramError, run_program
from offline.project import config_schema, load_stack_config, stack_names
from scripts.config_reference import regenerate_project

PROJECT_DIR = Path(__file__).resolve().parent.parent
NS = "serverless-uploads"


def test_pulumi_yaml_schema_matches_the_settings_module():
    schema = config_schema(PROJECT_DIR)
    assert list(schema) == [s.key for s in SETTINGS]
    for setting in SETTINGS:
        declared = schema[setting.key]
        assert declared["type"] == setting.type, setting.key
        default = list(setting.default) if setting.type == "array" else setting.default
        assert declared["default"] == default, setting.key
        assert declared["description"] == setting.description, setting.key


def test_pulumi_yaml_schema_is_generated_from_the_stack_keys():
    text = (PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8")
    assert regenerate_project(text) == text, "Pulumi.yaml is stale: run `make docs`"


def test_the_stack_defaults_are_the_arguments_defaults():
    """Every key's default is its argument's: a stack that sets nothing builds the service's
    default arguments."""
    assert parse_settings({}) == UploadServiceArgs()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_files_load_and_hold_only_config(stack):
    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
    assert set(document) == {"config"}
    assert isinstance(parse_settings(load_stack_config(PROJECT_DIR, stack)), UploadServiceArgs)
    tags = document["config"]["aws:defaultTags"]["tags"]
    assert tags == {"project": NS, "stack": stack, "managed-by": "pulumi"}
    assert document["config"]["aws:region"]


def test_dev_and_prod_differ_where_they_should():
    dev = parse_settings(load_stack_config(PROJECT_DIR, "dev"))
    prod = parse_settings(load_stack_config(PROJECT_DIR, "prod"))
    assert dev.bucket.force_destroy
    assert not dev.bucket.protect
    assert prod.bucket.protect
    assert prod.user_pool.protect
    assert not prod.bucket.force_destroy
    assert dev.function.log_retention_days < prod.function.log_retention_days
    assert dev.api.log_retention_days < prod.api.log_retention_days
    assert dev.api.throttling_rate_limit < prod.api.throttling_rate_limit
    assert all(o.startswith("http://localhost") for o in dev.api.cors_origins)
    assert prod.bucket.cors_origins == prod.api.cors_origins
    assert all(o.startswith("https://") for o in prod.api.cors_origins)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("logRetentionDays", "ten", "must be a whole number"),
        ("logRetentionDays", "-7", "must be one of 1, 3, 5, 7, 14"),
        ("logRetentionDays", "10", "must be one of 1, 3, 5, 7, 14"),
        ("forceDestroy", "yes", "must be true or false"),
        ("functionMemoryMb", "64", "must be between 128 and 10240"),
        ("onUploadMemoryMb", "128", "must be between 256 and 10240"),
        ("functionTimeoutSeconds", "901", "must be between 1 and 900"),
        ("functionRuntime", "python3.11", "must be one of python3.12, python3.13, python3.14"),
        ("functionArchitecture", "arm", "must be one of arm64, x86_64"),
        ("corsOrigins", '"http://a.example"', "must be a list of strings"),
        ("corsOrigins", '["ftp://x"]', "[0] must be an explicit http(s)://host[:port] origin"),
        ("corsOrigins", '["*"]', "would let any site call"),
        # A trailing newline (YAML's "|" block, a pasted value) is not part of an origin or ARN.
        ("corsOrigins", '["http://a.example\\n"]', "[0] must be an explicit http(s)://"),
        ("logRetentionDays", "\u0667", "must be a whole number"),  # ARABIC-INDIC DIGIT SEVEN
        ("authIssuer", "https://issuer.example\n", "must be an https:// URL"),
        ("bucketKmsKey", f"arn:aws:kms:us-east-1:123456789012:key/{'1' * 8}\n", "KMS key ARN"),
        ("bucketKmsKey", "my-key", "KMS key ARN"),
        ("bucketKmsKey", "arn:aws:kms:us-east-1:123456789012:alias/uploads", "not an alias"),
        ("permissionsBoundaryArn", "uploads-permissions-boundary", "an IAM policy ARN"),
        ("permissionsBoundaryArn", "arn:aws:iam::123456789012:role/uploads-x", "an IAM policy ARN"),
        ("asyncRetryAttempts", "3", "must be between 0 and 2"),
        ("uploadsReservedConcurrency", "0", "must be at least 1, got 0 (or -1: not set)"),
        ("onUploadReservedConcurrency", "-2", "must be at least 1, got -2 (or -1: not set)"),
    ],
)
def test_bad_value_names_key_value_and_what_is_allowed(key, value, expected):
    with pytest.raises(ConfigError) as error:
        parse_settings({f"{NS}:{key}": value})
    message = str(error.value)
    assert f"{NS}:{key}" in message
    assert repr(value) in message
    assert expected in message


def test_on_upload_memory_too_small_for_its_timeout_is_a_config_error():
    with pytest.raises(ConfigError, match=r"onUploadMemoryMb = 256: .*1-megapixel image"):
        parse_settings({f"{NS}:onUploadMemoryMb": "256", f"{NS}:functionTimeoutSeconds": "1"})


def test_unknown_key_is_rejected_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"logRetentionDay is not a setting.*logRetentionDays"):
        parse_settings({f"{NS}:logRetentionDay": "7"})


def test_unknown_keys_get_a_suggestion_each_and_the_list_once():
    with pytest.raises(ConfigError) as error:
        parse_settings({f"{NS}:maxUploadByte": "7", f"{NS}:MAXUPLOADBYTES": "7", f"{NS}:zzz": "1"})
    lines = str(error.value).splitlines()
    assert (
        f"  {NS}:maxUploadByte is not a setting of this project; did you mean maxUploadBytes?"
        in lines
    )
    assert (
        f"  {NS}:MAXUPLOADBYTES is not a setting of this project; did you mean maxUploadBytes?"
        in lines
    )
    assert f"  {NS}:zzz is not a setting of this project" in lines
    assert str(error.value).count("thumbnailMaxPx") == 1  # the known keys, listed once


def test_every_problem_reported_in_one_message():
    with pytest.raises(ConfigError) as error:
        parse_settings({f"{NS}:logRetentionDays": "10", f"{NS}:tracing": "maybe"})
    assert "logRetentionDays" in str(error.value)
    assert "tracing" in str(error.value)


def test_other_namespaces_are_left_to_their_providers():
    args = parse_settings({"aws:region": "eu-west-1", f"{NS}:logRetentionDays": "30"})
    assert args.function.log_retention_days == 30


def test_settings_read_from_the_cli_environment(monkeypatch):
    """`pulumi up` passes config in PULUMI_CONFIG: the program must see it, and validate it."""
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({f"{NS}:logRetentionDays": "30"}))
    seen = {}
    run_program(lambda: seen.update(settings=load_settings()[0]))
    assert seen["settings"].function.log_retention_days == 30
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({f"{NS}:logRetentionDays": "10"}))
    with pytest.raises(ProgramError, match="logRetentionDays = '10'"):
        run_program(load_settings)


def test_uploads_reservation_below_the_api_burst_is_refused():
    # The API would admit requests that Lambda then throttles: a 5xx for the client.
    with pytest.raises(ConfigError, match=r"uploadsReservedConcurrency = 50 is below .*= 100"):
        parse_settings(
            {f"{NS}:uploadsReservedConcurrency": "50", f"{NS}:throttleBurstLimit": "100"}
        )
    args = parse_settings({f"{NS}:uploadsReservedConcurrency": "100"})
    assert args.uploads_reserved_concurrency == 100


def test_prod_reserves_concurrency_and_dev_does_not():
    # New accounts have a quota of 10 concurrent executions and cannot reserve any.
    dev = parse_settings(load_stack_config(PROJECT_DIR, "dev"))
    prod = parse_settings(load_stack_config(PROJECT_DIR, "prod"))
    assert (dev.uploads_reserved_concurrency, dev.on_upload_reserved_concurrency) == (None, None)
    assert prod.uploads_reserved_concurrency == prod.api.throttling_burst_limit
    assert 1 <= prod.on_upload_reserved_concurrency < prod.uploads_reserved_concurrency


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"auth": "jwt"}, ["authIssuer is required with auth jwt", "authAudience is required"]),
        ({"auth": "jwt", "authIssuer": "https://id.example.com"}, ["authAudience is required"]),
        (
            {"auth": "cognito", "authIssuer": "https://id.example.com"},
            ["authIssuer is set, but only auth jwt reads it (auth is cognito)"],
        ),
        (
            {"auth": "none", "authSelfSignUp": "true", "authAccessTokenMinutes": "30"},
            ["authSelfSignUp is set, but only auth cognito", "authAccessTokenMinutes is set"],
        ),
        ({"auth": "jwt", "authIssuer": "http://id.example.com"}, ["must be an https:// URL"]),
        ({"auth": "oidc"}, ["must be one of none, cognito, jwt"]),
        ({"authAudience": '[""]'}, ["[0] must not be empty"]),
        ({"authAccessTokenMinutes": "4"}, ["must be between 5 and 1440"]),
        ({"authRefreshTokenDays": "3651"}, ["must be between 1 and 3650"]),
    ],
)
def test_auth_settings_are_checked_together(config, expected):
    with pytest.raises(ConfigError) as error:
        parse_settings({f"{NS}:{key}": value for key, value in config.items()})
    for text in expected:
        assert text in str(error.value)


def test_every_stack_signs_in_with_cognito():
    for stack in stack_names(PROJECT_DIR):
        assert parse_settings(load_stack_config(PROJECT_DIR, stack)).auth == "cognito", stack
    jwt = parse_settings(
        {
            f"{NS}:auth": "jwt",
            f"{NS}:authIssuer": "https://id.example.com/",
            f"{NS}:authAudience": '["api"]',
        }
    )
    assert (jwt.jwt_issuer, jwt.jwt_audience) == ("https://id.example.com/", ("api",))


def test_each_key_takes_type_default_doc_and_check_from_its_argument_field():
    """The alias table holds no type, default, description or check of its own (issue 26)."""
    for setting in SETTINGS:
        alias = setting.alias
        record, name, _, default = field_at(alias.paths[0])
        assert setting.description.startswith(field_docs(record)[name]), setting.key
        if alias.flag is not None or alias.scale != 1:
            continue  # a boolean for an optional part; a unit the stack spells differently
        assert setting.check is field_check(record, name), setting.key
        if alias.unset is None:
            expected = int(default) if setting.type == "integer" else default
            assert setting.default == expected, setting.key
        for path in alias.paths[1:]:  # one key, several arguments: the same definition
            other, other_name, _, other_default = field_at(path)
            assert field_check(other, other_name) == setting.check, (setting.key, path)
            assert other_default == default, (setting.key, path)
