"""schemathesis against the OpenAPI document: no 5xx, and no response that breaks its
schema or its documented status codes, whatever the request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from api.app import create_app
from api.bootstrap import Services, bootstrap
from api.settings import Settings

pytestmark = pytest.mark.kafka
# A live stream never ends, so a fuzzer would wait on it for ever; its own tests
# (tests/api/test_inbox_stream.py) send it what a hostile client would.
ENDLESS = {"/inbox/stream"}


@pytest.fixture(scope="module")
def services(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    services = bootstrap(
        Settings(
            event_store=f"sqlite:///{tmp / 'events.sqlite'}",
            view_store=f"sqlite:///{tmp / 'views.sqlite'}",
            kafka_bootstrap=kafka_bootstrap,
            # No workers run here: /health (whose 503 names a stopped worker) checks the
            # broker and the stores only.
            expected_workers=[],
        )
    )
    yield services
    services.close()


@pytest.fixture(scope="module")
def keys(services: Services) -> dict[str, str]:
    return {
        "GET": services.keys.issue("district-office", "fuzz").key,
        "POST": services.keys.issue("town:degan", "fuzz").key,
        "DELETE": services.keys.issue("town:degan", "fuzz-delete").key,
    }


def test_no_server_errors_and_responses_match_their_schema(
    services: Services, keys: dict[str, str]
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(services))
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document is invalid: {result}"
        operation = result.ok()
        operations += 1
        if operation.path in ENDLESS:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case: schemathesis.Case[Any]) -> None:
            response = case.call(headers={"Authorization": f"Bearer {keys[case.method]}"})
            case.validate_response(
                response,
                checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
            )

        try:
            check()
        except Exception as failure:  # collect them all, then report
            failures.append(f"{operation.label}: {failure}")
    assert operations > 40
    assert not failures, "\n\n".join(failures)
