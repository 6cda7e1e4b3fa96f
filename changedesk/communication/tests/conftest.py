"""Personas for telling the school, on top of the Greenfield team in changedesk/conftest.py:

carol   communicator (the school business manager's assistant who writes to staff)
vera    viewer (a teacher who reads the board and decides nothing)
"""

from __future__ import annotations

import pytest

from changedesk.accounts.choices import Role
from changedesk.accounts.services import create_user, set_membership
from changedesk.communication.services import settings_for
from changedesk.conftest import PASSWORD, advance

# The real SMTP server (aiosmtpd) of the notifications tests.
from changedesk.notifications.tests.conftest import mail_server  # noqa: F401

STAFF_LIST = "staff@greenfield.example"


def _person(username, first, last, title=""):
    return create_user(
        username,
        email=f"{username}@greenfield.example",
        password=PASSWORD,
        first_name=first,
        last_name=last,
        job_title=title,
        check_password=False,
    )


@pytest.fixture
def carol(school):
    user = _person("carol", "Carol", "Cole", "Office manager")
    set_membership(user, school, [Role.COMMUNICATOR])
    return user


@pytest.fixture
def vera(school):
    user = _person("vera", "Vera", "Vance", "Year 4 teacher")
    set_membership(user, school, [Role.VIEWER])
    return user


@pytest.fixture
def approved(draft, team):
    """Olivia's switch replacement, approved, planned a week ahead at 18:00 for an hour."""
    return advance(draft, team, "approved")


@pytest.fixture
def staff_list(school):
    config = settings_for(school)
    config.staff_list_address = STAFF_LIST
    config.save()
    return config
