"""What the release management tests share: the release roles at Greenfield Primary.

  rachel  release manager (the network manager)
  bella   build developer (a technician)
  isaac   installer (a technician's apprentice)

With the root conftest's personas (olivia the technician, sam the school administrator,
fiona the headteacher, oscar at another school) for who may not.
"""

from __future__ import annotations

import pytest

from changedesk.accounts.choices import Role
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.conftest import member


@pytest.fixture
def rachel(school):
    return member("rachel", school, [Role.RELEASE_MANAGER])


@pytest.fixture
def bella(school):
    return member("bella", school, [Role.BUILD_DEVELOPER])


@pytest.fixture
def isaac(school):
    return member("isaac", school, [Role.INSTALLER])


@pytest.fixture
def service(school):
    """A service that wants a build procedure."""
    return ConfigurationItem.objects.create(
        school=school, name="Curriculum laptops", kind=ItemKind.SERVICE
    )


@pytest.fixture
def laptop(school):
    return ConfigurationItem.objects.create(
        school=school, name="Laptop ICT-07", kind=ItemKind.DEVICE_GROUP, identifier="ICT-07"
    )
