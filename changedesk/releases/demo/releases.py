"""The demo's releases and install requests (see `releases.demo`; runs last, after the
policy, licences, library and builds).

- “Summer 2027 refresh: new image and three upgrades” (next summer), managed by peter, in
  its build step with the builds the builds seed made, and two RFCs olivia raised for it,
  planned inside the summer release window (the published policy's window named “Summer”,
  else late July to the end of August).
- Last summer's release, closed (when the builds seed left a documented build to release).
- Install requests: tom's open one (Scratch 3 for the coding unit), one ivan accepted, one
  done.

Everything goes through the services and the workflow; what exists (by title) is left."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from changedesk.accounts.models import School, User
from changedesk.changes.services import create_change
from changedesk.releases import workflow
from changedesk.releases.models import Build, InstallRequest, Release, ReleaseWindow
from changedesk.releases.services import releases as services
from changedesk.releases.services import requests as requests_services

SUMMER_TITLE = "Summer {year} refresh: new image and three upgrades"
LAST_TITLE = "Summer {year} refresh: curriculum laptops"
RFCS = (
    (
        "Install the new curriculum laptop image on the ICT suite laptops",
        "Re-image the 60 ICT suite laptops with the summer build (new image, Office and "
        "browser upgrades), 20 a day.",
        "The old image is slow to sign in and runs software that is out of support.",
        2,
        3,
    ),
    (
        "Upgrade the classroom display software in every classroom",
        "Install the new version of the interactive display software on every classroom PC "
        "from the release's build.",
        "The current version stops receiving security updates in September.",
        9,
        2,
    ),
)
REQUESTS = (
    # (what, where, reason, who asks, state, installer)
    (
        "Scratch 3 on the Year 6 laptops for the coding unit",
        "Year 6 laptop trolley",
        "The Year 6 coding unit starts after half term.",
        "tom",
        "open",
        "",
    ),
    (
        "GeoGebra on the maths room PCs",
        "Maths room PCs",
        "For the Year 5 shape and space lessons.",
        "tom",
        "accepted",
        "ivan",
    ),
    (
        "Audacity on the music room PC",
        "Music room PC",
        "To record the choir for the summer concert.",
        "fiona",
        "done",
        "ivan",
    ),
)


def _summer(school: School, year: int) -> tuple[datetime, datetime]:
    """The summer release window of `year`: the policy's, else 20 July to 31 August."""
    window = (
        ReleaseWindow.objects.filter(
            school=school,
            policy__state="published",
            name__icontains="summer",
            starts_at__year=year,
        )
        .order_by("starts_at")
        .first()
    )
    if window is not None:
        return window.starts_at, window.ends_at
    zone = school.zone
    return (
        datetime.combine(date(year, 7, 20), time(8, 0), tzinfo=zone),
        datetime.combine(date(year, 8, 31), time(17, 0), tzinfo=zone),
    )


def seed(school: School, people: dict[str, User]) -> None:
    today = timezone.now().astimezone(school.zone).date()
    year = today.year + (1 if today >= date(today.year, 7, 1) else 0)
    peter = people["peter"]
    builds = list(Build.objects.filter(school=school, is_active=True).order_by("name")[:4])
    _summer_release(school, people, peter, builds, year)
    _last_summer(school, peter, builds, year - 1)
    _requests(school, people)


def _summer_release(
    school: School, people: dict[str, User], peter: User, builds: list[Build], year: int
) -> None:
    title = SUMMER_TITLE.format(year=year)
    if Release.objects.filter(school=school, title=title).exists():
        return
    start, end = _summer(school, year)
    begins = start + timedelta(days=7)
    release = services.create_release(
        school,
        peter,
        {
            "title": title,
            "description": "The new curriculum laptop image, and upgrades of the office suite, "
            "the browser and the classroom display software, installed over the summer "
            "holiday while the building is quiet.",
            "manager": peter,
            "planned_start": begins,
            "planned_end": min(end, begins + timedelta(days=21)),
        },
    )
    for build in builds:
        services.add_build(release.pk, peter, build)
    olivia = people["olivia"]
    for rfc_title, description, reason, day, days in RFCS:
        at = datetime.combine(
            (begins + timedelta(days=day)).astimezone(school.zone).date(),
            time(9, 0),
            tzinfo=school.zone,
        )
        change = create_change(
            school,
            olivia,
            {
                "title": rfc_title,
                "description": description,
                "reason": reason,
                "details": "Follow the build's install checklist on each machine.",
                "impact": "The machines are out of use while they are installed (holiday).",
                "risk": "Low: tested on two machines first.",
                "fallback_plan": "Put the previous image back from the library.",
                "planned_start": at,
                "planned_end": at + timedelta(days=days, hours=-1),
            },
        )
        services.add_change(release.pk, peter, change)
    if builds:
        workflow.perform(release.pk, "build", peter, comment="Builds under way for the summer.")


def _last_summer(school: School, peter: User, builds: list[Build], year: int) -> None:
    title = LAST_TITLE.format(year=year)
    documented = [b for b in builds if b.approved_version_id is not None][:1]
    if not documented or Release.objects.filter(school=school, title=title).exists():
        return
    start, _end = _summer(school, year)
    release = services.create_release(
        school,
        peter,
        {
            "title": title,
            "description": "Last summer's refresh of the curriculum laptops.",
            "manager": peter,
            "planned_start": start + timedelta(days=7),
            "planned_end": start + timedelta(days=14),
        },
    )
    services.add_build(release.pk, peter, documented[0])
    for action in ("build", "release", "install", "close"):
        workflow.perform(release.pk, action, peter)


def _requests(school: School, people: dict[str, User]) -> None:
    for what, where, reason, asker, state, installer in REQUESTS:
        if asker not in people or InstallRequest.objects.filter(school=school, what=what).exists():
            continue
        found = requests_services.request_install(
            school, people[asker], {"what": what, "where": where, "reason": reason}
        )
        if state in ("accepted", "done") and installer in people:
            requests_services.accept(found.pk, people[installer])
        if state == "done" and installer in people:
            requests_services.done(found.pk, people[installer], answer="Installed and tested.")
