"""Fixtures for configuration items, built through the same services the pages call.

Adds to the shared personas: vera, a viewer at Greenfield (reads, decides nothing).
"""

from __future__ import annotations

import pytest

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.accounts.services import create_user, set_membership
from changedesk.configuration.models import ConfigurationItem
from changedesk.configuration.services import create_item
from changedesk.conftest import PASSWORD


@pytest.fixture
def vera(school) -> User:
    user = create_user(
        "vera",
        email="vera@greenfield.example",
        password=PASSWORD,
        first_name="Vera",
        last_name="Vance",
        job_title="Office manager",
        check_password=False,
    )
    set_membership(user, school, [Role.VIEWER])
    return user


@pytest.fixture
def switch(school, sam) -> ConfigurationItem:
    return create_item(
        school,
        sam,
        {
            "name": "ICT suite 2 switch",
            "kind": "network_device",
            "identifier": "SW-02",
            "location": "ICT suite 2",
            "users_affected": 30,
        },
    )


def make_items(school: School, actor: User, count: int, prefix: str = "PC") -> None:
    for n in range(count):
        create_item(school, actor, {"name": f"{prefix} {n:04d}", "identifier": f"{prefix}-{n}"})
