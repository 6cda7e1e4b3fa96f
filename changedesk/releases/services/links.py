"""The one rule for what a write may link to, for the pages and the API alike: a row of the
school, by id or as a row, and not over (a closed or cancelled release, an RFC in a terminal
state, an install request done or declined, a retired item are refused)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, gettext_noop

from changedesk.accounts.models import School
from changedesk.changes.choices import TERMINAL_STATES
from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.errors import InvalidAction
from changedesk.releases.choices import OPEN_RELEASE_STATES, OPEN_REQUEST_STATES
from changedesk.releases.models import InstallRequest, Release

FIX = gettext_noop("Some fields need correcting.")
# What a bad link is told, by the noun the caller names it with: whole sentences, so that
# each translates (a noun alone would not take Welsh's mutations).
GIVE_ID = {
    "a service": gettext_noop("Give a service's id."),
    "an item": gettext_noop("Give an item's id."),
    "a release": gettext_noop("Give a release's id."),
    "an RFC": gettext_noop("Give an RFC's id."),
    "an install request": gettext_noop("Give an install request's id."),
}
NOT_OF_SCHOOL = {
    "a service": gettext_noop("Not a service of %(school)s."),
    "an item": gettext_noop("Not an item of %(school)s."),
    "a release": gettext_noop("Not a release of %(school)s."),
    "an RFC": gettext_noop("Not an RFC of %(school)s."),
    "an install request": gettext_noop("Not an install request of %(school)s."),
}


def row_of(model: type[Any], value: Any, school: School, field: str, noun: str) -> Any:
    """`value` (a row or an id) as a row of `model` of `school`, or None for none."""
    if value is None or value == "":
        return None
    if isinstance(value, model):
        row = value
    elif isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        row = model._default_manager.filter(pk=value).first()
    else:
        said = gettext(GIVE_ID.get(noun, gettext_noop("Give its id.")))
        raise InvalidAction(gettext(FIX), {field: said})
    if row is None or row.school_id != school.pk:
        said = gettext(NOT_OF_SCHOOL.get(noun, gettext_noop("Not one of %(school)s.")))
        raise InvalidAction(gettext(FIX), {field: said % {"school": school.name}})
    return row


def open_link(model: type[Any], value: Any, school: School, field: str, noun: str) -> Any:
    """`_row_of`, refusing what is over: a closed or cancelled release, an RFC in a terminal
    state, an install request done or declined, a retired item. The one rule of the pages'
    and the API's links."""
    row = row_of(model, value, school, field, noun)
    if row is None:
        return None
    if isinstance(row, Release) and row.state not in OPEN_RELEASE_STATES:
        raise InvalidAction(
            gettext(FIX),
            {
                field: gettext("The release is %(state)s.")
                % {"state": row.get_state_display().lower()}
            },
        )
    if isinstance(row, Change) and row.state in TERMINAL_STATES:
        raise InvalidAction(
            gettext(FIX),
            {field: gettext("The RFC is %(state)s.") % {"state": row.get_state_display().lower()}},
        )
    if isinstance(row, InstallRequest) and row.state not in OPEN_REQUEST_STATES:
        raise InvalidAction(
            gettext(FIX),
            {
                field: gettext("The install request is %(state)s.")
                % {"state": row.get_state_display().lower()}
            },
        )
    if isinstance(row, ConfigurationItem) and not row.is_active:
        kind = noun.split()[-1]
        said = {
            "service": gettext("The service is retired."),
            "item": gettext("The item is retired."),
        }.get(kind, gettext("It is retired."))
        raise InvalidAction(gettext(FIX), {field: said})
    return row
