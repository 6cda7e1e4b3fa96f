"""Fixtures of the spreadsheets tests: an administrator of the other school."""

from __future__ import annotations

import pytest

from changedesk.accounts.choices import Role
from changedesk.conftest import member


@pytest.fixture
def hilda(other_school):
    """The school administrator of Hillside Academy (not Greenfield's)."""
    return member("hilda", other_school, [Role.SCHOOL_ADMIN])
