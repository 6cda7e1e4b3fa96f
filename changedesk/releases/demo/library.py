"""The demo's library (see `releases.demo`): eight pieces at the demo school, linked to the
licence log where the licences' seed made the licence; one piece out with olivia (due back
next week), one overdue with ivan (due back three days ago), and one taken and returned
last month."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from changedesk.accounts.models import School, User
from changedesk.releases.models import Checkout, Licence, Software
from changedesk.releases.services import library as services

# title, vendor, version, kind, location, checksum, the licence's product (a part of it).
PIECES = [
    ("Windows 11 Education build image", "Microsoft", "24H2", "image",
     r"\\deploy01\DeploymentShare$\Operating Systems\W11-Edu-24H2\install.wim",
     "sha256:3b5f1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c", "Windows 11"),
    ("Microsoft Office LTSC 2024 installer", "Microsoft", "2024", "installer",
     r"\\deploy01\DeploymentShare$\Applications\Office-LTSC-2024\setup.exe",
     "sha256:9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9", "Office"),
    ("SIMS client installer", "Education Software Solutions", "7.214", "installer",
     r"\\deploy01\DeploymentShare$\Applications\SIMS\SIMSClientSetup.exe",
     "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", "SIMS"),
    ("Adobe Creative Cloud licence key", "Adobe", "2026", "licence_key",
     "The school office safe, envelope 4", "", "Adobe"),
    ("SMART Notebook 24 installer", "SMART Technologies", "24.1", "installer",
     r"\\deploy01\DeploymentShare$\Applications\SMART-Notebook-24\SMARTNotebook.msi",
     "sha256:5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", "SMART"),
    ("Scratch Desktop", "Scratch Foundation", "3.29.1", "installer",
     r"\\deploy01\DeploymentShare$\Applications\Scratch\Scratch-3.29.1-Setup.exe",
     "sha256:c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00", ""),
    ("Dell driver pack USB stick", "Dell", "Latitude 3540, 2026-09", "media",
     "ICT office, cupboard B, shelf 2", "", ""),
    ("Firewall firmware", "Fortinet", "FortiOS 7.4.8", "installer",
     r"\\deploy01\Firmware\FGT_60F-v7.4.8.out",
     "sha256:7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c", ""),
]  # fmt: skip


def seed(school: School, people: dict[str, User]) -> None:
    """Made once: when the school's library has the first piece already, it is left."""
    if Software.objects.filter(school=school, title=PIECES[0][0]).exists():
        return
    keeper = people["peter"]
    made: dict[str, Software] = {}
    for title, vendor, version, kind, location, checksum, product in PIECES:
        licence = (
            Licence.objects.filter(school=school, product__icontains=product).order_by("id").first()
            if product
            else None
        )
        made[title] = services.save_software(
            school,
            keeper,
            {
                "title": title,
                "vendor": vendor,
                "version": version,
                "kind": kind,
                "location": location,
                "checksum": checksum,
                "licence": licence,
            },
        )
    today = services.today_in(school)
    now = timezone.now()
    # Out with olivia, due back next week (through the service, as a person would).
    services.take_out(
        made["SMART Notebook 24 installer"],
        keeper,
        {
            "taken_by": people["olivia"],
            "due_back": today + timedelta(days=7),
            "purpose": "Installing on the new interactive panels in Years 5 and 6",
        },
    )
    # Overdue with ivan, and one taken and returned last month: the book's past, written
    # as it was (the service refuses a due day in the past).
    Checkout.objects.create(
        school=school,
        software=made["Dell driver pack USB stick"],
        taken_by=people["ivan"],
        taken_at=now - timedelta(days=10),
        due_back=today - timedelta(days=3),
        purpose="Reimaging the Year 4 laptop trolley",
        recorded_by=keeper,
    )
    Checkout.objects.create(
        school=school,
        software=made["Windows 11 Education build image"],
        taken_by=people["olivia"],
        taken_at=now - timedelta(days=40),
        due_back=today - timedelta(days=33),
        purpose="Building the curriculum laptop image",
        recorded_by=keeper,
        returned_at=now - timedelta(days=34),
        returned_to=keeper,
        return_notes="Checked the image's checksum on return: it matches.",
    )
