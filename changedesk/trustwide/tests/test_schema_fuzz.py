"""The trust-wide endpoints fuzzed against their schema, as changedesk/tests/
test_api_schema_fuzz.py does for the whole API, but signed in as someone the endpoints
answer: a trust's technician, administrator and peer reviewer, with a trust-wide change
raised in its three schools (the main fuzz test's caller holds no trust role, so there
every one of these answers 404 or 403). A generated `{id}` names no trust-wide change, so
each case is sent as generated and again with the id of the one there is.

Bounded like the main test (20 examples an operation, derandomized).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.services import create_school, create_user
from changedesk.conftest import member
from changedesk.tests.test_api_schema_fuzz import (
    ALL_CHECKS,
    WITHOUT_POSITIVE,
    the_schema,
)
from changedesk.trustwide import services
from changedesk.trustwide.services import Placement
from changedesk.trustwide.tests.conftest import REQUEST
from changedesk.wsgi import application

TRUSTWIDE = r"^/api/v1/(trust-changes/|changes/\{id\}/children/)"

schema = schemathesis.openapi.from_dict(the_schema()).include(path_regex=TRUSTWIDE)
schema.app = application
# Raising for many schools: the RFC collection's POST, with `schools`.
raising = schemathesis.openapi.from_dict(the_schema()).include(
    path="/api/v1/changes/", method="POST"
)
raising.app = application


@pytest.fixture(scope="module")
def scene(django_db_setup, django_db_blocker):
    fast = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    with django_db_blocker.unblock(), fast, transaction.atomic():
        trust = trusts.create_trust("Northfield Learning Trust", "northfield")
        for name, slug in (("Greenfield Primary", "greenfield"), ("Hillside Academy", "hillside")):
            school = create_school(name, slug)
            trusts.add_school(trust, school)
            member(f"init-{slug}", school, [Role.INITIAL_APPROVER])
            member(f"head-{slug}", school, [Role.FINAL_APPROVER])
        user = create_user("fuzz", email="fuzz@example.org", password=None, first_name="Fuzz")
        trusts.set_trust_roles(trust, user, list(TrustRole))
        parent, _ = services.raise_for_schools(
            trust, user, dict(REQUEST), services.schools_of(trust, None), Placement()
        )
        services.act_on_many(parent, user, "submit", services.chosen(parent, ["greenfield"]))
        yield {
            "token": Token.objects.create(user=user).key,
            "ids": [str(parent.pk), parent.qualified_reference],
        }
        transaction.set_rollback(True)


@pytest.fixture
def place(scene, db) -> dict:
    return scene


@pytest.fixture(autouse=True)
def _one_connection():
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


FUZZ = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@schema.parametrize()
@FUZZ
def test_the_trust_wide_endpoints_answer_as_their_schema_says(case, place):
    headers = {"Authorization": f"Token {place['token']}"}
    checks = ALL_CHECKS if case.method.upper() == "GET" else WITHOUT_POSITIVE
    case.call_and_validate(headers=headers, checks=checks)
    if case.path_parameters and "id" in case.path_parameters:
        # Again, for the trust-wide change there is (by its id, or its reference).
        key = place["ids"][len(str(case.path_parameters["id"])) % 2]
        case.path_parameters = {**case.path_parameters, "id": key}
        case.call_and_validate(headers=headers, checks=checks)


# A body that raises for many schools is checked as any other (the schema documents it as
# the other branch of the create's `oneOf`).
FOR_MANY = WITHOUT_POSITIVE


@raising.parametrize()
@FUZZ
def test_raising_for_many_schools_answers_as_the_schema_says(case, place):
    headers = {"Authorization": f"Token {place['token']}"}
    checks = WITHOUT_POSITIVE
    # Half the cases raise for many schools (the others are the core's own create),
    # without `school`, as the description of `schools` says.
    body = case.body
    if isinstance(body, dict) and case.media_type == "application/json" and len(body) % 2 == 0:
        case.body = {**{k: v for k, v in body.items() if k != "school"}, "schools": "all"}
        checks = FOR_MANY
    case.call_and_validate(headers=headers, checks=checks)


# --- What the fuzzing found: the schema of raising for many schools. ---


def _plain(schema: object) -> object:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable` as a type that allows null."""
    if isinstance(schema, list):
        return [_plain(part) for part in schema]
    if not isinstance(schema, dict):
        return schema
    plain = {key: _plain(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") and "type" in schema:
        plain["type"] = [schema["type"], "null"]
    elif schema.get("nullable"):
        plain = {"anyOf": [plain, {"type": "null"}]}
    return plain


def _request_schema() -> dict:
    served = the_schema()
    operation = served["paths"]["/api/v1/changes/"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]
    return _plain({**ref, "components": served["components"]})


def _response_schema(code: str) -> dict:
    served = the_schema()
    operation = served["paths"]["/api/v1/changes/"]["post"]
    ref = operation["responses"][code]["content"]["application/json"]["schema"]
    return _plain({**ref, "components": served["components"]})


def test_the_documented_request_to_raise_for_many_schools_is_valid_by_the_schema():
    import jsonschema

    body = {**REQUEST, "schools": "all"}
    jsonschema.validate(body, _request_schema())


def test_the_fields_of_raising_for_many_schools_are_in_the_schema():
    served = the_schema()
    properties = served["components"]["schemas"]["RaiseForSchoolsRequest"]["properties"]
    missing = {"trust", "submit", "next_safe_slot_minutes", "next_safe_slot_after"} - set(
        properties
    )
    assert not missing


def test_the_answer_to_raising_for_many_schools_matches_the_schema(place):
    import jsonschema
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {place['token']}")
    response = client.post("/api/v1/changes/", {**REQUEST, "schools": "all"}, format="json")
    assert response.status_code == 201, response.json()
    jsonschema.validate(response.json(), _response_schema("201"))
