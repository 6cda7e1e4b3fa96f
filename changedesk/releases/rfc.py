"""How release management plugs into the RFC (through `changes.extensions`, registered in
`apps.py`).

- The RFC page says which release the RFC is part of (“Part of release …”, with its step
  and a link), and offers the short install request form with the RFC named: FITS's
  installation needs arriving from an RFC (infrastructure). Any member of the school may
  send it (`permissions.may_request_install`); an RFC closed, rejected or withdrawn offers
  none.
- The worker reminds whoever has a piece of the library past its due day
  (`services.library.overdue_checkouts`) and tells the release managers of licences coming
  up to expiry or over-allocated (`services.licences.licence_warnings`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from changedesk.accounts.current import current_user
from changedesk.changes.choices import TERMINAL_STATES
from changedesk.changes.extensions import Extension, Job, Panel
from changedesk.changes.models import Change
from changedesk.releases import permissions
from changedesk.releases.models import Release
from changedesk.releases.services import library, licences

# What the RFC's panel shows of its release (releases/releases/_rfc_panel.html): read alone.
PANEL_FIELDS = ("title", "state", "planned_start", "planned_end")


def _panel(request: HttpRequest, change: Change) -> dict[str, Any] | None:
    # The release of its link (an RFC is in one at most: no order needed), with only what
    # the panel shows of it.
    found = Release.objects.filter(change_links__change=change).only(*PANEL_FIELDS).order_by()
    release = next(iter(found[:1]), None)
    user = current_user(request)
    may_request = change.state not in TERMINAL_STATES and permissions.may_request_install(
        user, change.school
    )
    if release is None and not may_request:
        return None
    return {"release": release, "may_request": may_request}


EXTENSION = Extension(
    app="releases",
    panels=(Panel("releases/releases/_rfc_panel.html", _panel, place="main"),),
    jobs=(
        Job("release-library-overdue", library.overdue_checkouts),
        Job("release-licence-warnings", licences.licence_warnings),
    ),
)
