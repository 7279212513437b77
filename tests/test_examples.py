"""The example programs under examples/ run under the offline engine and build what they say."""

from __future__ import annotations

from pathlib import Path

from offline import run_stack

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_minimal_example_wires_bucket_function_and_route():
    graph = run_stack("dev", EXAMPLES / "minimal")
    bucket = graph.one("aws:s3/bucket:Bucket")
    function = graph.one("aws:lambda/function:Function")
    route = graph.one("aws:apigatewayv2/route:Route")
    integration = graph.one("aws:apigatewayv2/integration:Integration")
    api = graph.one("aws:apigatewayv2/api:Api")
    assert route.inputs["routeKey"] == "GET /hello"
    assert route.inputs["target"] == f"integrations/{integration.outputs['id']}"
    assert integration.inputs["integrationUri"] == function.outputs["invokeArn"]
    assert function.inputs["environment"] == {
        "variables": {"BUCKET_NAME": bucket.outputs["bucket"]}
    }
    assert graph.outputs == {
        "url": f"{api.outputs['apiEndpoint']}/hello",
        "bucketName": bucket.outputs["bucket"],
    }
