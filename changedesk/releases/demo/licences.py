"""The demo's licences (see `releases.demo`): the licence log of Greenfield Primary, written
through `services.licences` as Peter, the release manager.

- Windows 11 Education: per device, 60 seats through the trust's agreement, on the sixteen
  ICT laptops (made here, "Laptop ICT-01"…, if the demo has none): **under-used**;
- Microsoft 365 A3: per user, given to the staff who sign in and two who do not;
- Adobe Creative Cloud for education: a subscription of 25 seats **expiring** in three weeks
  (within its 60 days' notice);
- SMART Notebook and SIMS: site licences (SIMS renewed each year);
- Minecraft Education: per user, **over-allocated**: 32 pupils given it while it had 32
  seats, then the seats lowered to the 30 the school renewed.
"""

from __future__ import annotations

from datetime import timedelta

from changedesk.accounts.models import School, User
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.configuration.services import create_item
from changedesk.releases.choices import LicenceKind
from changedesk.releases.models import Licence
from changedesk.releases.services import licences as services

LAPTOPS = 16
STAFF = ("peter", "olivia", "ivan", "sam", "fiona", "tom")
PUPILS = 32


def _laptops(school: School, people: dict[str, User]) -> list[ConfigurationItem]:
    tags = [f"ICT-{n:02d}" for n in range(1, LAPTOPS + 1)]
    found = {
        i.identifier: i
        for i in ConfigurationItem.objects.filter(school=school, identifier__in=tags)
    }
    for tag in tags:
        if tag not in found:
            found[tag] = create_item(
                school,
                people["sam"],
                {
                    "name": f"Laptop {tag}",
                    "kind": ItemKind.DEVICE_GROUP,
                    "identifier": tag,
                    "location": "Laptop trolley A",
                    "users_affected": 1,
                },
            )
    return [found[tag] for tag in tags]


def seed(school: School, people: dict[str, User]) -> None:
    peter = people["peter"]
    today = services.today_in(school)
    have = set(Licence.objects.filter(school=school).values_list("product", flat=True))
    laptops = _laptops(school, people)
    staff = [people[name] for name in STAFF if name in people]
    this_september = today.replace(month=9, day=1)
    if this_september > today:
        this_september = this_september.replace(year=today.year - 1)
    year_end = this_september.replace(year=this_september.year + 1) - timedelta(days=1)

    def add(product: str, **data: object) -> Licence | None:
        if product in have:
            return None
        return services.save_licence(school, peter, {"product": product, **data})

    windows = add(
        "Windows 11 Education",
        kind=LicenceKind.PER_DEVICE,
        seats=60,
        bought_on=this_september,
        expires_on=year_end.replace(year=year_end.year + 2),
        supplier="Oakfield Learning Trust (Microsoft EES agreement)",
        order_reference="TRUST-EES-2026",
        notes="Through the trust's agreement: the school may use up to 60.",
    )
    if windows:
        for laptop in laptops:
            services.assign(windows, peter, {"item": laptop})
    office = add(
        "Microsoft 365 A3",
        kind=LicenceKind.PER_USER,
        seats=10,
        bought_on=this_september,
        expires_on=year_end,
        supplier="Oakfield Learning Trust (Microsoft EES agreement)",
        order_reference="TRUST-EES-2026",
    )
    if office:
        for person in staff:
            services.assign(office, peter, {"user": person})
        for name in ("Mrs J. Patel (supply teacher)", "Mr D. Okafor (governor)"):
            services.assign(office, peter, {"person": name})
    adobe = add(
        "Adobe Creative Cloud for education",
        kind=LicenceKind.SUBSCRIPTION,
        seats=25,
        bought_on=today - timedelta(days=365 - 21),
        expires_on=today + timedelta(days=21),
        notice_days=60,
        supplier="Softcat",
        order_reference="SC-448172",
        notes="For the art club and Year 6 media: renew before it lapses.",
    )
    if adobe:
        for laptop in laptops:
            services.assign(adobe, peter, {"item": laptop})
        for person in staff[:3]:
            services.assign(adobe, peter, {"user": person})
    add(
        "SMART Notebook",
        kind=LicenceKind.SITE,
        bought_on=this_september,
        expires_on=year_end,
        supplier="SMART Technologies",
        order_reference="SM-8812",
        notes="Every interactive whiteboard in school.",
    )
    add(
        "SIMS",
        kind=LicenceKind.SITE,
        bought_on=this_september,
        expires_on=year_end,
        notice_days=90,
        supplier="ESS (Education Software Solutions)",
        order_reference="ESS-SIMS-ANNUAL",
        notes="The MIS: renewed each year in the summer term.",
    )
    minecraft = add(
        "Minecraft Education",
        kind=LicenceKind.PER_USER,
        seats=PUPILS,
        bought_on=this_september,
        expires_on=year_end,
        supplier="Microsoft",
        order_reference="MS-MCE-0931",
        notes="Coding club and Year 5 computing.",
    )
    if minecraft:
        for n in range(1, PUPILS + 1):
            services.assign(minecraft, peter, {"person": f"Year 5 pupil {n:02d}"})
        # Renewed for 30: two more pupils hold it than it has seats.
        services.save_licence(school, peter, {"seats": 30}, minecraft)
