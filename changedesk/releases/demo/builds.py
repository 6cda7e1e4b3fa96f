"""The demo's build procedures (see `releases.demo`): the services they hang on, three
builds (the laptop image approved twice, the SIMS client approved, SMART Notebook waiting
for approval, Wi-Fi left undocumented), and installations by Ivan on the ICT laptops: most
installed, one failed, one half done."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from changedesk.accounts.models import School, User
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.configuration.services import create_item
from changedesk.releases.models import Build, Installation, RunningBuild, Software
from changedesk.releases.services import builds as services

LAPTOP_BUILD = "Curriculum laptop image 2027"

# name, kind, identifier, location, users: made when the school has no item of that tag.
SERVICES = [
    ("Curriculum laptops", ItemKind.SERVICE, "SVC-LAPTOPS", "ICT suite 1 and the trolleys", 240),
    ("Interactive whiteboards", ItemKind.SERVICE, "SVC-BOARDS", "Every classroom", 30),
    ("Wi-Fi", ItemKind.SERVICE, "SVC-WIFI", "Whole school", 400),
]
LAPTOPS = [
    (f"Laptop ICT-{n:02d}", ItemKind.DEVICE_GROUP, f"ICT-{n:02d}", "Laptop trolley A", 1)
    for n in range(1, 7)
]

LAPTOP_COMPONENTS = [
    ("Windows 11 Education build image", "24H2"),
    ("Microsoft Office LTSC 2024 installer", "2024"),
    ("Scratch Desktop", "3.29.1"),
    ("Dell driver pack USB stick", "Latitude 3540, 2026-09"),
]
LAPTOP_STEPS = [
    "Check the laptop out of the trolley log and plug it into mains power and the wired "
    "network in the ICT office.",
    "Update the BIOS to the version in the Dell driver pack and set the boot order to "
    "network first.",
    "PXE boot and choose the task sequence “Curriculum laptop 2027” on deploy01.",
    "Enter the asset tag (ICT-nn) as the computer name when asked.",
    "Let the task sequence apply the Windows 11 Education image, the Dell drivers and "
    "Office LTSC 2024 (about 40 minutes).",
    "Sign in as the local ICT account and check the laptop has joined the domain in the "
    "Pupils\\Laptops organisational unit.",
    "Run gpupdate /force and restart so the pupil policies and the Wi-Fi profile apply.",
    "Install Scratch Desktop from the library share and pin it to the Start menu.",
    "Run Windows Update until nothing is left to install.",
]
LAPTOP_STEPS_V2 = [
    *LAPTOP_STEPS,
    "Turn on BitLocker and check the recovery key is saved to the directory.",
]
LAPTOP_STABILITY = (
    "Tested on three Latitude 3540 laptops against the live network for a week before "
    "approval: pupils signed in, printed and used Wi-Fi in lessons; the other suites' PCs, "
    "the MIS and the printers were not affected. The task sequence is run from the ICT "
    "office's wired network only, so the classrooms' Wi-Fi is not loaded during the build."
)
LAPTOP_CRITERIA = [
    "A pupil test account signs in within two minutes.",
    "The laptop joins the pupil Wi-Fi on its own after a restart.",
    "Office opens a document from the pupil's home drive and saves it back.",
    "A test page prints to the ICT suite printer.",
    "Scratch Desktop opens and runs the sample project.",
]
LAPTOP_CRITERIA_V2 = [*LAPTOP_CRITERIA, "BitLocker is on and its recovery key is stored."]

SIMS_STEPS = [
    "Close SIMS on the PC and check no one is signed in to it.",
    "Run the SIMS client installer from the library share as the local ICT account.",
    "Point the client at the MIS server (SRV-002) in the connection settings.",
    "Sign in with the ICT test account and open the register for a test class.",
    "Remove the previous client's desktop shortcuts.",
]
SIMS_CRITERIA = [
    "The client starts and shows version 7.214.",
    "The register opens for a test class and saves a mark.",
    "A report prints to the office printer.",
]
SMART_STEPS = [
    "Sign in to the classroom PC as the local ICT account.",
    "Uninstall SMART Notebook 22 and restart.",
    "Install SMART Notebook 24 from the library share with the school's licence key.",
    "Run the SMART Product Drivers check and calibrate the board.",
    "Open last term's sample lesson file and check it converts.",
]
SMART_CRITERIA = [
    "The board responds to touch and pen across the whole screen.",
    "A saved Notebook 22 lesson opens and is editable.",
    "The teacher's account is signed in to SMART with the school's licence.",
]


def _component(school: School, title: str, version: str) -> dict[str, Any]:
    piece = Software.objects.filter(school=school, title=title).order_by("id").first()
    return {"software": piece.pk} if piece else {"title": title, "version": version}


def _items(school: School, people: dict[str, User], rows: list[Any]) -> dict[str, Any]:
    by_tag = {i.identifier: i for i in ConfigurationItem.objects.filter(school=school)}
    for name, kind, tag, location, users in rows:
        if tag not in by_tag:
            by_tag[tag] = create_item(
                school,
                people["sam"],
                {
                    "name": name,
                    "kind": kind,
                    "identifier": tag,
                    "location": location,
                    "users_affected": users,
                },
            )
    return by_tag


def _approved(build: Build, author: User, manager: User, parts: dict[str, Any], note: str) -> Any:
    version = services.new_version(build, author)
    services.save_version(version, author, parts)
    services.submit(version, author)
    return services.approve(version, manager, note)


def _install(
    version: Any, ivan: User, item: Any, days_ago: int, failed: str = "", half: bool = False
) -> Installation:
    installation = services.start_installation(version, ivan, {"item": item})
    steps = len(installation.checklist)
    if half:
        services.record(
            installation,
            ivan,
            {
                "checklist": [n < steps // 2 for n in range(steps)],
                "notes": "Paused: the task sequence is still applying the image.",
            },
        )
        return installation
    results = [{"result": "passed", "note": ""} for _ in installation.results]
    if failed:
        results[3] = {"result": "failed", "note": failed}
    services.record(
        installation,
        ivan,
        {
            "checklist": [True] * steps,
            "results": results,
            "notes": "Printer queue to be checked by Olivia." if failed else "",
        },
    )
    done = services.finish(installation, ivan)
    when = timezone.now() - timedelta(days=days_ago)
    Installation.objects.filter(pk=done.pk).update(
        started_at=when - timedelta(hours=1), finished_at=when
    )
    RunningBuild.objects.filter(installation=done).update(since=when)
    return done


def seed(school: School, people: dict[str, User]) -> None:
    """Made once: left as it is when the laptop build exists."""
    if Build.objects.filter(school=school, name=LAPTOP_BUILD).exists():
        return
    olivia, peter, ivan = people["olivia"], people["peter"], people["ivan"]
    items = _items(school, people, SERVICES + LAPTOPS)

    laptops = services.save_build(
        school,
        olivia,
        {
            "name": LAPTOP_BUILD,
            "service": items["SVC-LAPTOPS"],
            "description": "The image every curriculum laptop gets from September 2027: "
            "Windows 11 Education, Office, Scratch and the Dell drivers.",
        },
    )
    components = [_component(school, t, v) for t, v in LAPTOP_COMPONENTS]
    first = _approved(
        laptops,
        olivia,
        peter,
        {
            "label": "2027.1",
            "components": components,
            "steps": LAPTOP_STEPS,
            "stability_tests": LAPTOP_STABILITY,
            "criteria": LAPTOP_CRITERIA,
        },
        "Tested on the three pilot laptops: approved.",
    )
    _install(first, ivan, items["ICT-01"], days_ago=30)
    second = _approved(
        laptops,
        olivia,
        peter,
        {
            "label": "2027.2",
            "steps": LAPTOP_STEPS_V2,
            "criteria": LAPTOP_CRITERIA_V2,
            "notes": "Adds BitLocker, as the trust's data protection officer asked.",
        },
        "BitLocker added: approved. 2027.1 is superseded.",
    )
    for n, tag in enumerate(["ICT-01", "ICT-02", "ICT-03", "ICT-04"]):
        _install(second, ivan, items[tag], days_ago=10 - n)
    _install(
        second,
        ivan,
        items["ICT-05"],
        days_ago=5,
        failed="No test page: the suite printer's queue was paused.",
    )
    _install(second, ivan, items["ICT-06"], days_ago=0, half=True)

    mis = next(
        (i for i in items.values() if i.kind == ItemKind.SERVICE and i.identifier == "SVC-MIS"),
        None,
    )
    sims = services.save_build(
        school,
        olivia,
        {
            "name": "SIMS client 2026",
            "service": mis,
            "description": "The SIMS client on the office and staff-room PCs.",
        },
    )
    _approved(
        sims,
        olivia,
        peter,
        {
            "label": "7.214",
            "components": [_component(school, "SIMS client installer", "7.214")],
            "steps": SIMS_STEPS,
            "criteria": SIMS_CRITERIA,
            "stability_tests": "Installed on one office PC for a week: the MIS server and the "
            "other clients were not affected.",
        },
        "Approved for the office PCs.",
    )

    smart = services.save_build(
        school,
        olivia,
        {
            "name": "SMART Notebook 24",
            "service": items["SVC-BOARDS"],
            "description": "SMART Notebook 24 on the classroom PCs driving the boards.",
        },
    )
    version = services.new_version(smart, olivia)
    services.save_version(
        version,
        olivia,
        {
            "label": "24.1",
            "components": [_component(school, "SMART Notebook 24 installer", "24.1")],
            "steps": SMART_STEPS,
            "criteria": SMART_CRITERIA,
            "stability_tests": "Tried in Year 6's classroom for two days: the board, the "
            "projector and the classroom PC's other software kept working.",
        },
    )
    services.submit(version, olivia)
