"""The review checklist's API fuzzed from its schema alone (schemathesis, as
`changedesk/tests/test_api_schema_fuzz.py` does every operation): no 500, every answer as
the schema says, bad input refused. Run on its own so a failure names this API."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from changedesk.tests.test_api_schema_fuzz import (  # noqa: F401 (fixtures)
    ALL_CHECKS,
    WITHOUT_POSITIVE,
    _one_connection,
    accepts_any_valid_input,
    greenfield,
    schema,
    token,
)

review = schema.include(path_regex=r"^/api/v1/adoption/\{school\}/review/$")


@review.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_review_api_answers_as_its_schema_says(case, token):  # noqa: F811
    checks = ALL_CHECKS if accepts_any_valid_input(case) else WITHOUT_POSITIVE
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=checks)
