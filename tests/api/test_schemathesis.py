"""Property-based requests generated from /openapi.json never get a server error (5xx).

schemathesis builds valid (positive) and invalid (negative) requests for every
operation of the app, the OGC API routes included; a bounded number of examples per
operation keeps this to seconds. (schemathesis' lazy pytest fixture loader does not
work with pytest 9, so the operations are driven with hypothesis directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from api.app import create_app
from api.settings import Settings

MAX_EXAMPLES = 25  # per operation and mode


@pytest.fixture(scope="module")
def api_schema(demo_store_path):
    app = create_app(Settings(store=demo_store_path))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


def test_schema_covers_the_ogc_routes(api_schema):
    paths = {op.path for op in _operations(api_schema)}
    assert {"/", "/conformance", "/collections", "/collections/{collectionId}",
            "/collections/{collectionId}/items", "/collections/{collectionId}/items/{featureId}"} <= paths


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_no_server_errors(api_schema, mode):
    for operation in _operations(api_schema):
        if mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
            continue  # nothing to get wrong (GET /health)

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call()
            case.validate_response(response, checks=[not_a_server_error])

        run()
