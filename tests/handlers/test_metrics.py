"""The EMF emitter: every line it writes has the structure of the Embedded Metric Format
specification (Amazon CloudWatch User Guide, "Specification: Embedded metric format")."""

from __future__ import annotations

import base64
import importlib
import io
import json
from typing import Any

import jsonschema
import pytest

SPEC_UNITS = [
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
]  # fmt: skip
"""The units the specification's MetricDefinition allows (CloudWatch's MetricDatum units)."""

# The specification's document structure, as a JSON Schema: the metadata object, metric
# directives, dimension sets and metric definitions with the spec's limits. Objects the spec
# defines may hold no other members; the root may.
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["CloudWatchMetrics", "Timestamp"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "additionalProperties": False,
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "Name": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 1024,
                                        },
                                        "Unit": {"enum": SPEC_UNITS},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


@pytest.fixture
def metrics(lambda_modules: Any) -> Any:
    """`uploads_common.metrics`, imported as the functions import it at runtime."""
    return importlib.import_module("uploads_common.metrics")


def assert_valid_emf(line: str) -> dict:
    """The spec's rules: one JSON object, the schema above, and every target member present on
    the root (a dimension's a string, a metric's a number or an array of at most 100 numbers)."""
    root = json.loads(line)
    jsonschema.validate(root, EMF_SCHEMA)
    for directive in root["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                assert isinstance(root.get(name), str), f"dimension {name} not a root string"
        for metric in directive["Metrics"]:
            value = root.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            assert 0 < len(values) <= 100
            assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    return root


def test_a_line_is_valid_emf_with_the_function_dimension(metrics, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "uploads-uploads-function-1234567")
    out = io.StringIO()
    metrics.emit({"UploadsAccepted": (1, "Count"), "UploadBytes": (2048, "Bytes")}, stream=out)
    [line] = out.getvalue().splitlines()
    root = assert_valid_emf(line)
    assert root["FunctionName"] == "uploads-uploads-function-1234567"
    assert (root["UploadsAccepted"], root["UploadBytes"]) == (1, 2048)
    [directive] = root["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "ServerlessUploads"
    assert directive["Dimensions"] == [["FunctionName"]]


def test_a_reason_is_published_with_and_without_its_dimension(metrics):
    root = metrics.document(
        {"UploadsRefused": (1, "Count")}, {"FunctionName": "f"}, {"Reason": "too_big"}
    )
    assert_valid_emf(json.dumps(root))
    assert root["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["FunctionName"],
        ["FunctionName", "Reason"],
    ]
    assert root["Reason"] == "too_big"


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"X": (1, "Apples")},
        {"": (1, "Count")},
        {"X": (True, "Count")},
        {f"M{i}": (1, "Count") for i in range(101)},
        {"FunctionName": (1, "Count")},
    ],
)
def test_what_the_spec_forbids_is_refused(metrics, bad):
    with pytest.raises(ValueError, match=r"metric|directive|both dimension"):
        metrics.document(bad, {"FunctionName": "f"})


def test_the_emitters_units_are_the_specs(metrics):
    assert set(SPEC_UNITS) == metrics.UNITS


def test_the_schema_check_can_fail(metrics):
    """The validator above rejects what CloudWatch would not extract."""
    good = metrics.document({"X": (1, "Count")}, {"FunctionName": "f"}, timestamp_ms=1)
    missing_dimension = {k: v for k, v in good.items() if k != "FunctionName"}
    with pytest.raises(AssertionError):
        assert_valid_emf(json.dumps(missing_dimension))
    extra_member = json.loads(json.dumps(good))
    extra_member["_aws"]["CloudWatchMetrics"][0]["Extra"] = 1
    with pytest.raises(jsonschema.ValidationError):
        assert_valid_emf(json.dumps(extra_member))


def emf_lines(out: str) -> list[dict]:
    return [assert_valid_emf(line) for line in out.splitlines() if line.startswith('{"')]


def test_the_api_counts_accepted_and_refused_uploads(api, make_image, capsys, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "uploads-uploads-function-1234567")
    png = make_image("PNG")
    accepted = api.call("POST", "/uploads", body={"image": base64.b64encode(png).decode()})
    text = base64.b64encode(b"just text").decode()
    refused = api.call("POST", "/uploads", body={"image": text, "filename": "a.jpg"})
    api.call("GET", "/uploads")
    assert (accepted.status, refused.status) == (201, 415)
    lines = emf_lines(capsys.readouterr().out)
    assert [(m.get("UploadsAccepted"), m.get("UploadBytes")) for m in lines[:1]] == [(1, len(png))]
    [refusal] = [m for m in lines if "UploadsRefused" in m]
    assert (refusal["Reason"], refusal["FunctionName"]) == (
        "unsupported_media_type",
        "uploads-uploads-function-1234567",
    )
    assert len(lines) == 2  # a listing is no upload
