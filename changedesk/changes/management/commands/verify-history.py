"""`changedesk verify-history`: every RFC's hash chain, checked."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from changedesk.changes.history import verify_all
from changedesk.changes.models import Change, ChangeEvent
from changedesk.lib.management import base


class Command(base.Command):
    help = "check every RFC's hash-chained history for tampering"
    description = (
        "Check every RFC's history chain. Exits 1 and names the first broken link of each "
        "RFC whose history was altered in the database."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        broken = list(verify_all())
        changes = Change.objects.count()
        if broken:
            for link in broken:
                self.stdout.write(f"BROKEN {link}")
            first = f"; first: {broken[0]}" if len(broken) > 1 else f": {broken[0]}"
            raise CommandError(
                f"the history of {len(broken)} of {changes} RFCs was altered in the database{first}"
            )
        self.stdout.write(f"OK: {ChangeEvent.objects.count()} events in {changes} RFCs")
