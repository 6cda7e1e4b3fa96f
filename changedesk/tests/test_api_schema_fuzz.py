"""The schema is the truth: schemathesis drives every operation of /api/v1/ with data
generated from the OpenAPI schema (valid and invalid), in-process against the WSGI app,
signed in with the token of someone who holds every role at a school with data, and
checks every answer against the schema: no 500, no undocumented status code, content
type or header, no body that does not match, invalid input refused, valid input accepted,
and the rest of schemathesis's checks: all of them, save `positive_data_acceptance` on
writes and the safe-slots query (why: at `WITHOUT_POSITIVE`).

Bounded (20 generated examples per operation besides schemathesis's examples and coverage
cases, derandomized so CI is deterministic), it runs in the normal suite on SQLite and
PostgreSQL alike, in a minute or two. `test_api_contract.py` pins down what it found.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import CHECKS, load_all_checks

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School
from changedesk.accounts.services import create_user, set_membership
from changedesk.committee.services import build_agenda, create_meeting
from changedesk.communication.services import create_notice
from changedesk.site.demo import SCHOOL_SLUG, build_demo
from changedesk.wsgi import application

load_all_checks()
# Every check the installed schemathesis has.
ALL_CHECKS = CHECKS.get_all()
# `positive_data_acceptance` expects every request the schema allows to be accepted (or
# answered 401/403/404/409). That holds for the lists' filters, but not for a write, nor
# for the safe-slots query: their input names rows that must exist among the caller's
# schools (`school` by slug, items, people, RFCs) and obeys rules across fields (an end
# after its start, an emergency's justification), which JSON Schema cannot state; a
# request valid by the schema is rightly refused there with a 400 naming the field. The
# check stays on for every other read.
WITHOUT_POSITIVE = [check for check in ALL_CHECKS if check.__name__ != "positive_data_acceptance"]


# `negative_data_rejection` expects a query value the schema's type does not allow to be
# refused. A list filter's parameters are declared `allowEmptyValue` (`lib.schema`): an
# empty value filters nothing, as the pages' "Any" sends it. Schemathesis generates "" as a
# wrong value for a typed parameter (a yes/no, a number) all the same; such a case keeps
# every other check.
WITH_EMPTY_VALUES = [check for check in ALL_CHECKS if check.__name__ != "negative_data_rejection"]


def sends_an_empty_value(case) -> bool:
    return any(value == "" for value in (case.query or {}).values())


def accepts_any_valid_input(case) -> bool:
    return case.method.upper() == "GET" and case.path != "/api/v1/schedule/slots/"


def the_schema() -> dict:
    """The schema /api/v1/schema/ serves (the same generator, rendered the same way)."""
    generator = SchemaGenerator()
    rendered = OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True))
    return json.loads(rendered)


schema = schemathesis.openapi.from_dict(the_schema())
schema.app = application  # the requests go in-process to the WSGI app


@pytest.fixture(scope="module")
def greenfield(django_db_setup, django_db_blocker):
    """The demo school (RFCs in every state, items, the calendar) with a notice and a
    committee meeting, and someone who holds every role there: made once for the module
    and rolled back after it (each operation's test runs in a savepoint inside)."""
    fast = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    with django_db_blocker.unblock(), fast, transaction.atomic():
        build_demo()
        school = School.objects.get(slug=SCHOOL_SLUG)
        user = create_user(
            "fuzz",
            email="fuzz@greenfield.example",
            password=None,
            first_name="Fuzz",
            check_password=False,
        )
        set_membership(user, school, list(Role))
        soon = timezone.now() + timedelta(days=7)
        create_notice(
            school,
            user,
            {
                "title": "Wi-Fi upgrade",
                "what": "New access points.",
                "starts_at": soon,
                "ends_at": soon + timedelta(hours=2),
            },
        )
        meeting = create_meeting(
            school, user, {"title": "CAC, spring term 2", "held_at": soon, "chair": user}
        )
        build_agenda(meeting.pk, user)
        yield Token.objects.create(user=user).key
        transaction.set_rollback(True)


@pytest.fixture
def token(greenfield, db) -> str:
    return greenfield


@pytest.fixture(autouse=True)
def _one_connection():
    """The WSGI app closes the database connection after each request, as in production;
    here the connection holds the test's transaction, so it stays open (as Django's test
    client keeps it)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_schema_fuzzed_is_the_one_served(client, token):
    response = client.get("/api/v1/schema/?format=json", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert response.json() == the_schema()


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_answers_as_its_schema_says(case, token):
    checks = ALL_CHECKS if accepts_any_valid_input(case) else WITHOUT_POSITIVE
    if sends_an_empty_value(case):
        checks = [check for check in checks if check in WITH_EMPTY_VALUES]
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=checks)
