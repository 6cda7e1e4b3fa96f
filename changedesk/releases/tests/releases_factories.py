"""What the release tests share: builds (documented or not), a release with builds, and
planned windows."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from changedesk.accounts.models import School, User
from changedesk.releases.models import Build, BuildVersion, Release
from changedesk.releases.services import releases as services


def make_build(
    school: School,
    name: str,
    *,
    documented: bool = True,
    service=None,
    approved_at: datetime | None = None,
) -> Build:
    build = Build.objects.create(school=school, name=name, service=service)
    if documented:
        version = BuildVersion.objects.create(
            school=school,
            build=build,
            number=1,
            state="approved",
            approved_at=approved_at or timezone.now(),
        )
        build.approved_version = version
        build.save()
    return build


def window(days: int = 30, length: int = 7) -> dict[str, datetime]:
    start = (timezone.now() + timedelta(days=days)).replace(microsecond=0)
    return {"planned_start": start, "planned_end": start + timedelta(days=length)}


def make_release(school: School, manager: User, title: str = "Summer refresh", **data) -> Release:
    return services.create_release(school, manager, {"title": title, **data})
