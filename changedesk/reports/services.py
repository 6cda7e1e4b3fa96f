"""Writes of the reports app's settings: how often a school reports (a week or a month).

FITS asks for the figures "always at the same frequency", so the choice is the school's, made
by its administrator (`permissions.may_set_frequency`), kept in one `ReportSettings` row.
(The report archive's writes are `reports/archive.py`'s.)
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from changedesk.accounts import permissions as accounts_permissions
from changedesk.accounts.models import School, User
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.reports.models import Period, ReportSettings
from changedesk.reports.permissions import may_set_frequency


def set_frequency(school: School, user: User, frequency: str) -> ReportSettings:
    """Set how often `school` reports ("week" or "month"), as its administrator."""
    user = accounts_permissions.with_roles(user)
    if not may_set_frequency(user, school):
        raise NotPermitted(
            gettext("Only the school administrator of %(school)s may do that.")
            % {"school": school.name}
        )
    if frequency not in Period.values:
        raise InvalidAction(
            gettext("Choose how often the school reports."),
            {"frequency": gettext("Choose week or month.")},
        )
    with transaction.atomic():
        settings, _ = ReportSettings.objects.select_for_update().get_or_create(school=school)
        settings.frequency = frequency
        settings.save()
    return settings
